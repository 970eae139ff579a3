"""The Jinja templates of evalkit's reports and letters (the ``*.j2`` files in this folder) and the environment
that loads them.

A template is compiled once per process: :func:`environment` returns one environment per set of options, and
an environment keeps the templates it has compiled. Undefined names raise (``StrictUndefined``), so a template
and the code that fills it cannot drift apart silently.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

__all__ = ["TEMPLATES_DIR", "environment", "one_line", "markdown_cell"]

#: The folder of the template files.
TEMPLATES_DIR = Path(__file__).resolve().parent


def one_line(value) -> str:
    """``value`` as text on one line: every run of whitespace, line breaks included, becomes one space.

    Examples
    --------
    >>> one_line("Completed TBT\\n  modules 1-4 ")
    'Completed TBT modules 1-4'
    """
    return " ".join(str(value).split())


def markdown_cell(value) -> str:
    """``value`` as the text of a Markdown table cell: on one line, with ``|`` escaped.

    Examples
    --------
    >>> markdown_cell("Smith | Jones")
    'Smith \\\\| Jones'
    """
    return one_line(value).replace("|", "\\|")


@lru_cache(maxsize=None)
def environment(autoescape: bool, **options) -> jinja2.Environment:
    """The environment that loads the templates of this folder, one per set of options.

    Parameters
    ----------
    autoescape : bool
        Escape every value (HTML templates) or not (Markdown).
    **options
        Further :class:`jinja2.Environment` options, such as ``keep_trailing_newline=True``.

    Returns
    -------
    jinja2.Environment
        With ``StrictUndefined`` and the filters ``line`` (:func:`one_line`) and ``md`` (:func:`markdown_cell`).
        Shared by every caller with the same options: add nothing to it.
    """
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, **options)
    env.filters.update(line=one_line, md=markdown_cell)
    return env
