"""A letter's files from its executed template: the letter's output, the HTML page, the PDF.

Light on purpose (the standard library, Jinja2 and evalkit's templates folder): the batch's worker processes and the
kernels import it, and neither needs the database layer or nbconvert for it.

The page is nbconvert's export of the letter's output through ``nbconvert_letter.html.j2`` (the letter's HTML inside
that template's ``header`` and ``footer`` blocks, no code, nothing loaded from elsewhere). Those two blocks are
rendered here with Jinja2 straight from the template file, which gives the same bytes as nbconvert (a test
compares them) without importing nbconvert and running its exporter for every letter.
"""
from __future__ import annotations

import re
from functools import lru_cache

from ..templates import TEMPLATES_DIR

__all__ = ["CONTENT_MIMETYPE", "PAGE_TEMPLATE", "letter_output", "export_html", "letter_page", "export_pdf"]

#: Mimetype of the letter's data in the executed notebook (the record of what was computed).
CONTENT_MIMETYPE = "application/vnd.evalkit.letter+json"

#: The nbconvert template of a letter's page.
PAGE_TEMPLATE = TEMPLATES_DIR / "nbconvert_letter.html.j2"


def letter_output(nb) -> tuple[dict, str]:
    """The letter's data and HTML from an executed template (the output carrying the letter mimetype)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") in ("display_data", "execute_result") and \
                    CONTENT_MIMETYPE in output.get("data", {}):
                return output["data"][CONTENT_MIMETYPE], output["data"]["text/html"]
    raise ValueError("the executed template displayed no letter (expected an output with "
                     f"{CONTENT_MIMETYPE}; does it call evalkit.letters.content.show_letter?)")


@lru_cache(maxsize=4)
def _frame(path: str, mtime_ns: int):
    """The ``header`` and ``footer`` blocks of the page template, compiled (one per version of the file)."""
    import jinja2

    source = open(path, encoding="utf-8").read()
    blocks = {}
    for name in ("header", "footer"):
        found = re.search(r"\{%-?\s*block\s+" + name + r"\s*-?%\}.*?\{%-?\s*endblock\s+" + name + r"\s*-?%\}",
                          source, re.DOTALL)
        if found is None:
            raise ValueError(f"{path} has no {name} block")
        blocks[name] = jinja2.Environment(autoescape=False).from_string(found.group(0))
    return blocks["header"], blocks["footer"]


def letter_page(letter_html: str, title: str) -> str:
    """The standalone page of a letter's HTML, as nbconvert exports it through :data:`PAGE_TEMPLATE`."""
    header, footer = _frame(str(PAGE_TEMPLATE), PAGE_TEMPLATE.stat().st_mtime_ns)
    resources = {"letter_title": title}
    return header.render(resources=resources) + letter_html + footer.render(resources=resources)


def export_html(nb) -> str:
    """The letter of an executed template as a standalone HTML page (no code, nothing loaded from elsewhere)."""
    content, letter = letter_output(nb)
    title = content.get("title") or (f"Result letter: {content['candidate']['name']} ({content['program']['id']}, "
                                     f"submission {content['submission']})")
    return letter_page(letter, title)


def _no_fetch(url, *args, **kwargs):
    raise ValueError(f"letters load nothing from elsewhere (refused {url[:80]})")


def export_pdf(page_html: str) -> bytes:
    """The letter page as PDF (WeasyPrint; any URL in the page is refused rather than fetched)."""
    import weasyprint

    return weasyprint.HTML(string=page_html, url_fetcher=_no_fetch).write_pdf()
