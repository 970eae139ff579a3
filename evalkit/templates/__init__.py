"""The Jinja templates of evalkit's reports and letters (the ``*.j2`` files in this folder) and the environment
that loads them.

A template is compiled once per process: :func:`environment` returns one environment per set of options, and
an environment keeps the templates it has compiled. Undefined names raise (``StrictUndefined``), so a template
and the code that fills it cannot drift apart silently.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import jinja2

__all__ = ["TEMPLATES_DIR", "environment", "markdown_text"]

#: The folder of the template files.
TEMPLATES_DIR = Path(__file__).resolve().parent


# Characters that start Markdown constructs anywhere in a line: emphasis, code, links and images, raw HTML such as
# <script>, headings, table cells, strikethrough, entities.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|!~&])")
# A list marker at the start of a value ("- x", "+ x", "1. x", "1) x").
_LIST_MARKER = re.compile(r"^([-+]|\d+[.)])(?=\s)")


def markdown_text(value) -> str:
    r"""``value`` as literal text inside Markdown: on one line, with every character Markdown could read as markup
    backslash-escaped, so a name or a note cannot inject HTML, a ``javascript:`` link, a remote image or a heading.

    The Markdown report's environment applies it to every ``{{ value }}`` (Jinja's ``finalize``).

    Examples
    --------
    >>> print(markdown_text("<script>alert(1)</script> [x](javascript:alert(1))"))
    \<script\>alert(1)\</script\> \[x\](javascript:alert(1))
    >>> print(markdown_text("# Smith | Jones\n ![i](http://evil/x.png)"))
    \# Smith \| Jones \!\[i\](http://evil/x.png)
    >>> print(markdown_text("1. first"), markdown_text("- not a list"), markdown_text("-"))
    1\. first \- not a list -
    """
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))
    return _LIST_MARKER.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], text)


@lru_cache(maxsize=None)
def environment(autoescape: bool, **options) -> jinja2.Environment:
    """The environment that loads the templates of this folder, one per set of options.

    Parameters
    ----------
    autoescape : bool
        Escape every value (HTML templates) or not (Markdown).
    **options
        Further :class:`jinja2.Environment` options, such as ``keep_trailing_newline=True``, or
        ``finalize=markdown_text`` for a Markdown template.

    Returns
    -------
    jinja2.Environment
        With ``StrictUndefined``. Shared by every caller with the same options: add nothing to it.
    """
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, **options)
    return env
