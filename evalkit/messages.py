"""Messages for people: every error is one short line, whatever text it quotes.

A value from a file, a form or a command line may hold line breaks or run to megabytes; quoted raw, it would
break "one line per problem" or bury the message. :func:`one_line` escapes line breaks and cuts, :func:`show`
quotes a value shortened. :func:`checked_reason` checks the free text a person gives for an action (a reason,
grounds, a subject line) the same way wherever it is asked for.
"""
from __future__ import annotations

import re
import reprlib
from typing import Callable

__all__ = ["one_line", "show", "checked_reason"]

_LINE_BREAKS = str.maketrans({"\n": "\\n", "\r": "\\r", "\x0b": "\\v", "\x0c": "\\f", "\x1c": "\\x1c",
                              "\x1d": "\\x1d", "\x1e": "\\x1e", "\x85": "\\x85", "\u2028": "\\u2028",
                              "\u2029": "\\u2029"})
_repr = reprlib.Repr()  # Python 3.11's takes no arguments
_repr.maxlevel, _repr.maxdict, _repr.maxlist, _repr.maxtuple, _repr.maxset = 2, 4, 4, 4, 4
_repr.maxstring, _repr.maxother, _repr.maxlong = 60, 60, 30
# Anything that ends a line somewhere (a mail header must stay one line), and the other control characters.
_NOT_ONE_LINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u0085\u2028\u2029]")
_LINE_BREAK_RULES = ("keep", "join", "refuse")


def show(value) -> str:
    """A value as a message shows it: its repr, shortened, on one line.

    Examples
    --------
    >>> show("a" * 100)
    "'aaaaaaaaaaaaaaaaaaaaaaaaaaa...aaaaaaaaaaaaaaaaaaaaaaaaaaaa'"
    >>> show({"k": ["x\\ny"]})
    "{'k': ['x\\\\ny']}"
    """
    return one_line(_repr.repr(value))


def one_line(text: str, limit: int = 400) -> str:
    """``text`` with its line breaks escaped, cut to ``limit`` characters.

    Examples
    --------
    >>> one_line("key\\nwith a break")
    'key\\\\nwith a break'
    """
    text = str(text).translate(_LINE_BREAKS)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def checked_reason(value, what: str, error: Callable[[str], Exception], max_length: int = 2000, *,
                   required: bool = True, empty: str | None = None, line_breaks: str = "keep") -> str | None:
    """A person's free text for an action (a reason, grounds, a subject line), checked; returns it stripped.

    Parameters
    ----------
    value : str or None
        The text as given; None means none was given.
    what : str
        What the text is, as the messages name it (``"the reason for the appeal's outcome"``).
    error : callable
        The exception class (or any callable) made from the one-line message, such as ``WorkflowError``.
    max_length : int
        The most characters the checked text may have.
    required : bool
        Whether text must be given: if not, None or blank text returns None.
    empty : str, optional
        The whole message for missing or blank text where it is required; by default
        ``"<what> is empty; expected text"`` (``"... expected one line of text"`` when line breaks are refused).
    line_breaks : {"keep", "join", "refuse"}
        ``"keep"`` strips the ends only; ``"join"`` makes every run of whitespace, line breaks included, one space;
        ``"refuse"`` refuses a line break or any other control character (a tab excepted) anywhere in the value.

    Returns
    -------
    str or None
        The text without surrounding whitespace (joined onto one line for ``"join"``); None for none where none
        is allowed.

    Raises
    ------
    Exception
        ``error(message)``, the message one line naming ``what``: for a value that is not text, holds a line break
        where those are refused, is missing or blank where required, or is longer than ``max_length``.

    Examples
    --------
    >>> checked_reason("  complaint under investigation ", "the reason", ValueError)
    'complaint under investigation'
    >>> checked_reason("verified\\n  by phone", "the override reason", ValueError, 500, line_breaks="join")
    'verified by phone'
    >>> checked_reason("   ", "the reason", ValueError, required=False) is None
    True
    >>> checked_reason(" ", "the override reason", ValueError, empty="the override reason is empty; say why")
    Traceback (most recent call last):
    ...
    ValueError: the override reason is empty; say why
    >>> checked_reason("x" * 501, "the override reason", ValueError, 500)
    Traceback (most recent call last):
    ...
    ValueError: the override reason is 501 characters long; expected at most 500
    >>> checked_reason("Result\\r\\nBcc: all@example.org", "subject", ValueError, 400, line_breaks="refuse")
    Traceback (most recent call last):
    ...
    ValueError: subject 'Result\\r\\nBcc: all@example.org' is not one line (...)
    >>> checked_reason(42, "the reason", ValueError)
    Traceback (most recent call last):
    ...
    ValueError: the reason is 42; expected text
    """
    if line_breaks not in _LINE_BREAK_RULES:
        raise ValueError(f"line_breaks is {show(line_breaks)}; expected one of {', '.join(_LINE_BREAK_RULES)}")
    if empty is None:
        empty = f"{what} is empty; expected {'one line of text' if line_breaks == 'refuse' else 'text'}"
    if value is not None and not isinstance(value, str):
        raise error(f"{what} is {show(value)}; expected text")
    if value is not None and line_breaks == "refuse" and _NOT_ONE_LINE.search(value):
        raise error(f"{what} {show(value)} is not one line (it holds a line break or a control character)")
    text = "" if value is None else " ".join(value.split()) if line_breaks == "join" else value.strip()
    if not text:
        if required:
            raise error(empty)
        return None
    if len(text) > max_length:
        raise error(f"{what} is {len(text):,} characters long; expected at most {max_length:,}")
    return text
