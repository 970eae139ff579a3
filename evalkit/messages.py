"""Messages for people: every error is one short line, whatever text it quotes.

A value from a file, a form or a command line may hold line breaks or run to megabytes; quoted raw, it would
break "one line per problem" or bury the message. :func:`one_line` escapes line breaks and cuts, :func:`show`
quotes a value shortened.
"""
from __future__ import annotations

import reprlib

__all__ = ["one_line", "show"]

_LINE_BREAKS = str.maketrans({"\n": "\\n", "\r": "\\r", "\x0b": "\\v", "\x0c": "\\f", "\x1c": "\\x1c",
                              "\x1d": "\\x1d", "\x1e": "\\x1e", "\x85": "\\x85", "\u2028": "\\u2028",
                              "\u2029": "\\u2029"})
_repr = reprlib.Repr()  # Python 3.11's takes no arguments
_repr.maxlevel, _repr.maxdict, _repr.maxlist, _repr.maxtuple, _repr.maxset = 2, 4, 4, 4, 4
_repr.maxstring, _repr.maxother, _repr.maxlong = 60, 60, 30


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
