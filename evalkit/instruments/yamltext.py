"""Instrument YAML read safely: bounded before it is parsed, no anchors or aliases, one short line per problem.

Rubrics and programs are written by people and may come from outside the office, so the text is screened on
libyaml's event stream (which builds nothing and needs no recursion) before anything is composed:

* a file over :data:`MAX_BYTES` is refused unread;
* nesting deeper than :data:`MAX_DEPTH` is refused at the first event past it (a composer recurses per level:
  tens of thousands of levels overflow Python's stack, or libyaml's C stack);
* anchors and aliases are refused: the formats never need them, and an alias is how a few lines of YAML expand
  to gigabytes ("billion laughs") or to a structure that contains itself;
* a number longer than :data:`MAX_NUMBER_CHARS` is refused (Python will not convert a 4,300-digit integer).

Every message is one line (:mod:`evalkit.messages`).
"""
from __future__ import annotations

import re
from typing import Callable

import yaml

from ..messages import one_line, show

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NUMBER_CHARS", "Loader", "screen", "yaml_error", "load_yaml_text",
           "line_index", "duplicate_keys", "format_path", "Checker"]

MAX_BYTES = 1_048_576
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 40

# libyaml's loader where it is installed: a letter or a form parses its rubric in a few milliseconds, not 30.
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NUMBER = re.compile(r"[-+]?[0-9][0-9_:.xXoObBa-fA-F]*")
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


def load_yaml_text(text: str, name: str, error: Callable[[str], Exception], compose: bool = True
                   ) -> tuple[yaml.Node | None, object]:
    """``text`` screened, then composed and loaded: ``(node, data)``, or ``error`` raised with one line.

    Parameters
    ----------
    text : str
        The YAML text.
    name : str
        The file (or other source) the messages name.
    error : callable
        Makes the exception to raise from the one-line problem, such as ``ProgramError`` or
        ``lambda problem: RubricError([problem])``.
    compose : bool
        Compose the node tree too (for line numbers); False loads the data only and returns None for the node.

    Returns
    -------
    tuple
        The document's root node (None for an empty document, or when ``compose`` is False) and its data.

    Raises
    ------
    Exception
        ``error(problem)`` with the first reason :func:`screen` gives, or the syntax error as :func:`yaml_error`
        words it.

    Examples
    --------
    >>> node, data = load_yaml_text("id: ccom\\n", "r.yaml", ValueError)
    >>> node.start_mark.line, data
    (0, {'id': 'ccom'})
    >>> load_yaml_text("a: &x [1]\\n", "r.yaml", ValueError)
    Traceback (most recent call last):
    ...
    ValueError: r.yaml:1: anchor &x; expected plain YAML without anchors (&) or aliases (*)
    """
    problem = screen(text, name)
    if problem is None:
        try:
            node = yaml.compose(text, Loader=Loader) if compose else None
            return node, yaml.load(text, Loader=Loader)
        except yaml.YAMLError as exc:
            problem = yaml_error(name, exc)
    raise error(problem)


# --- checking a composed document: places and problems -------------------------------------------------------


def line_index(node: yaml.Node, path: tuple = (), index: dict | None = None) -> dict:
    """Map every YAML path (tuple of keys/indices) to its 1-based line in the file."""
    if index is None:
        index = {}
    index[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            index[path + (key.value,)] = key.start_mark.line + 1
            line_index(value, path + (key.value,), index)
            index[path + (key.value,)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            line_index(item, path + (i,), index)
    return index


def duplicate_keys(node: yaml.Node, path: tuple = ()) -> list[tuple[tuple, int, str]]:
    """YAML silently keeps the last of two equal keys; a rubric author means something by both, so refuse."""
    found = []
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key, value in node.value:
            if key.value in seen:
                found.append((path + (key.value,), key.start_mark.line + 1, key.value))
            seen.add(key.value)
            found += duplicate_keys(value, path + (key.value,))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found += duplicate_keys(item, path + (i,))
    return found


def format_path(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


class Checker:
    def __init__(self, name: str, lines: dict):
        self.name = name
        self.lines = lines
        self.problems: list[str] = []

    def fail(self, path: tuple, message: str, line: int | None = None) -> None:
        probe = path
        while line is None and probe is not None:
            line = self.lines.get(probe)
            probe = probe[:-1] if probe else None
        where = f"{self.name}:{line}" if line else self.name
        self.problems.append(f"{where}: {format_path(path)}: {message}")

    def get(self, mapping: dict, path: tuple, key: str, kind, what: str, required: bool = True):
        if key not in mapping or mapping[key] is None:
            if required:
                self.fail(path + (key,), f"missing; expected {what}")
            return None
        value = mapping[key]
        if kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind is str:
            ok = isinstance(value, str) and value.strip() != ""
        else:
            ok = isinstance(value, kind)
        if not ok:
            self.fail(path + (key,), f"is {show(value)}; expected {what}")
            return None
        return value
