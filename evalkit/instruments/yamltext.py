"""Instrument YAML read safely: bounded before it is parsed, no anchors or aliases, one short line per problem.

Rubrics and programs are written by people and may come from outside the office, so the text is screened on
libyaml's event stream (which builds nothing and needs no recursion) before anything is composed:

* a file over :data:`MAX_BYTES` is refused unread;
* nesting deeper than :data:`MAX_DEPTH` is refused at the first event past it (a composer recurses per level:
  tens of thousands of levels overflow Python's stack, or libyaml's C stack);
* anchors and aliases are refused: the formats never need them, and an alias is how a few lines of YAML expand
  to gigabytes ("billion laughs") or to a structure that contains itself;
* a number longer than :data:`MAX_NUMBER_CHARS` is refused (Python will not convert a 4,300-digit integer).

Every message is one line: :func:`one_line` escapes line breaks and :func:`show` shortens a value.
"""
from __future__ import annotations

import re
import reprlib

import yaml

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NUMBER_CHARS", "Loader", "screen", "show", "one_line", "yaml_error"]

MAX_BYTES = 1_048_576
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 40

# libyaml's loader where it is installed: a letter or a form parses its rubric in a few milliseconds, not 30.
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NUMBER = re.compile(r"[-+]?[0-9][0-9_:.xXoObBa-fA-F]*")
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


def yaml_error(name: str, exc: yaml.YAMLError) -> str:
    """A YAML syntax error as one line naming the file and line."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{name}:{mark.line + 1}" if mark else name
    column = f" (column {mark.column + 1})" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return one_line(f"{where}: YAML syntax error{column}: {problem}; expected valid YAML (check the indentation, "
                    "and quote text containing ': ' or ' #')")


def screen(text: str, name: str) -> str | None:
    """The first reason not to compose ``text``, as one line naming ``name`` and the line; None if it is safe.

    A syntax error found while screening is reported as :func:`yaml_error` does.

    Examples
    --------
    >>> screen("a: &x [1]\\nb: *x\\n", "r.yaml")
    'r.yaml:1: anchor &x; expected plain YAML without anchors (&) or aliases (*)'
    >>> screen("id: 1" + "0" * 50, "r.yaml")
    'r.yaml:1: id: is a 51-character number; expected at most 40 characters'
    >>> screen("id: ccom\\n", "r.yaml") is None
    True
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        return f"{name}: is {size:,} bytes; expected at most {MAX_BYTES:,} (is this the right file?)"
    depth = 0
    key = None  # the last plain key seen, to name where a long number is
    try:
        for event in yaml.parse(text, Loader=Loader):
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent):
                return f"{name}:{line}: alias *{one_line(event.anchor)[:40]}; expected plain YAML without anchors " \
                       "(&) or aliases (*)"
            if getattr(event, "anchor", None) is not None:
                return f"{name}:{line}: anchor &{one_line(event.anchor)[:40]}; expected plain YAML without anchors " \
                       "(&) or aliases (*)"
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    return f"{name}:{line}: nested {depth} levels deep; expected at most {MAX_DEPTH}"
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, yaml.ScalarEvent):
                plain = event.implicit[0] or event.tag is not None  # resolved as a number, or tagged as one
                if plain and len(event.value) > MAX_NUMBER_CHARS and _NUMBER.fullmatch(event.value):
                    where = f"{one_line(key)[:60]}: " if key else ""
                    return f"{name}:{line}: {where}is a {len(event.value)}-character number; expected at most " \
                           f"{MAX_NUMBER_CHARS} characters"
                key = event.value
    except yaml.YAMLError as exc:
        return yaml_error(name, exc)
    return None
