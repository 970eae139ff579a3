"""A candidate's work product rendered as HTML, for reading in place beside the rubric.

Markdown, plain text, PDF (its text, and the original to download) and Word ``.docx`` (as text) are supported.
Everything from the file is escaped: a work product is untrusted input shown inside the evaluator's session, so raw
HTML in Markdown is shown as text, links cannot run script, and remote images are not fetched (an image URL would
tell a third party that the document is being read). A missing, unreadable or unsupported file gives a message in
the view, never a traceback.
"""
from __future__ import annotations

import base64
import html
import tempfile
from pathlib import Path

import mistune

from ..messages import show

__all__ = ["SUPPORTED_SUFFIXES", "MAX_TEXT_CHARS", "MAX_DOWNLOAD_BYTES", "DOCUMENTS_FOLDER", "DocumentError",
           "document_path", "render_document", "render_content", "document_view", "MAX_DOCUMENT_BYTES"]

#: Work products live here, inside the workspace folder; nothing outside it is ever read for a rater.
DOCUMENTS_FOLDER = "documents"

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".text", ".pdf", ".docx")

#: Text beyond this is cut (with a note): the view is sent to the browser whole.
MAX_TEXT_CHARS = 400_000

#: A PDF up to this size is also offered for download from the view (as a data URL).
MAX_DOWNLOAD_BYTES = 15 * 1024 * 1024

#: Work products up to this size are also kept in the database (migration 0006 uses the same figure).
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


class DocumentError(ValueError):
    """A submission's document that is not a file inside the workspace's documents folder."""


def document_path(workspace, stored) -> Path | None:
    """Where a submission's document is: ``stored`` (``documents/...``, as on the submission) under the workspace.

    Returns None when the submission has no document. Raises :class:`DocumentError` for an absolute path, one with
    ``..``, one outside ``documents/``, or one that a link leads out of the documents folder: a rater's page must
    never show ``/etc/passwd`` or another workspace's files. Without a workspace folder (a database by URL) the
    path is checked as written.

    Examples
    --------
    >>> document_path("/srv/ws", "documents/plan.md")
    PosixPath('/srv/ws/documents/plan.md')
    >>> document_path("/srv/ws", "../plan.md")
    Traceback (most recent call last):
    ...
    evalkit.evaluation.documents.DocumentError: document '../plan.md' is not in the workspace's documents folder; \
expected a path such as documents/plan.pdf
    """
    if not stored:
        return None
    relative = Path(stored)
    if relative.is_absolute() or ".." in relative.parts or len(relative.parts) < 2 \
            or relative.parts[0] != DOCUMENTS_FOLDER:
        raise DocumentError(f"document {show(str(stored))} is not in the workspace's documents folder; expected a "
                            f"path such as {DOCUMENTS_FOLDER}/plan.pdf")
    if workspace is None:
        return relative
    path = Path(workspace) / relative
    if not path.resolve().is_relative_to((Path(workspace) / DOCUMENTS_FOLDER).resolve()):
        raise DocumentError(f"document {show(str(stored))} leads outside the workspace's documents folder (a link); "
                            "copy the file itself into the folder")
    return path


def document_view(workspace, stored) -> tuple[str, str]:
    """(file name, HTML) of a submission's document for the rater's page; a refused path shows why, not the file."""
    try:
        path = document_path(workspace, stored)
    except DocumentError as exc:
        return "not shown", _message(str(exc))
    return (path.name if path else "no document"), render_document(path)


def render_document(path) -> str:
    """The document as an HTML fragment (``<div class="ek-document ...">``) that is safe to show.

    Parameters
    ----------
    path : str, Path or None
        The work product's file. None means the submission has no document.

    Returns
    -------
    str
        The rendered document, or a message saying why it cannot be shown (missing, unreadable, unsupported).
    """
    if path is None:
        return _message("No document is attached to this submission.")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return _message(f"{path.name}: {suffix or 'files without an extension'} cannot be shown here "
                        f"(supported: {', '.join(SUPPORTED_SUFFIXES)}). Ask the certification office for a copy.")
    if not path.is_file():
        return _message(f"{path.name}: the file is missing (expected at {path}). "
                        "Ask the certification office to attach it again.")
    try:
        body = _RENDERERS[suffix](path)
    # The parsers behind these formats raise many unrelated types for a damaged file (zip, XML, PDF stream
    # errors...); whatever the cause, the evaluator needs one readable line, not a traceback.
    except Exception as exc:  # noqa: BLE001
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return _message(f"{path.name} cannot be read: {reason}. Ask the certification office for a readable copy.")
    return f'<div class="ek-document ek-doc-{suffix.lstrip(".")}">{body}</div>'


def render_content(name: str, content: bytes) -> str:
    """:func:`render_document` of a file's ``content`` (the copy kept in the database), under its ``name``."""
    with tempfile.TemporaryDirectory(prefix="evalkit-doc-") as folder:
        path = Path(folder) / Path(name).name
        path.write_bytes(content)
        return render_document(path)


def _message(text: str) -> str:
    return f'<div class="ek-document ek-doc-error" role="alert">{html.escape(text)}</div>'


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # older Windows editors; a stray byte must not hide the rest
    return _truncated(text)


def _truncated(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[:MAX_TEXT_CHARS] + f"\n\n[... the document continues; only the first {MAX_TEXT_CHARS:,} characters " \
                                   "are shown]"


class _SafeRenderer(mistune.HTMLRenderer):
    """Escapes raw HTML (``escape=True``), drops remote images, and opens links in a new tab without an opener."""

    def image(self, text: str, url: str, title: str | None = None) -> str:
        return f'<span class="ek-doc-image">[image: {html.escape(text or url)}]</span>'

    def link(self, text: str, url: str, title: str | None = None) -> str:
        anchor = super().link(text, url, title)
        return anchor.replace("<a ", '<a target="_blank" rel="noopener noreferrer" ', 1)


_markdown = mistune.create_markdown(renderer=_SafeRenderer(escape=True), plugins=["table", "strikethrough"])


def _render_markdown(path: Path) -> str:
    return _markdown(_read_text(path))


def _render_text(path: Path) -> str:
    return f'<pre class="ek-doc-pre">{html.escape(_read_text(path))}</pre>'


def _render_pdf(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(path)
    if reader.is_encrypted:
        reader.decrypt("")  # many PDFs are "encrypted" with an empty password; a real one raises below
    pages = [(page.extract_text() or "").strip() for page in reader.pages]
    parts = [_pdf_download(path)]
    if not any(pages):
        parts.append('<p class="ek-doc-note">This PDF has no text to show (it may be a scan): '
                     "download the original to read it.</p>")
    text = _truncated("\n\f".join(pages))
    for number, page in enumerate(text.split("\f"), start=1):
        if page.strip():
            parts.append(f'<h4 class="ek-doc-page">Page {number}</h4>'
                         f'<pre class="ek-doc-pre">{html.escape(page.strip())}</pre>')
    return "".join(parts)


def _pdf_download(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_DOWNLOAD_BYTES:
        return (f'<p class="ek-doc-note">The original PDF ({size / 2**20:.0f} MB) is too large to offer here; '
                "ask the certification office for it.</p>")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<p class="ek-doc-note"><a download="{html.escape(path.name)}" '
            f'href="data:application/pdf;base64,{data}">Download the original PDF</a> '
            "(charts and layout are only in the original)</p>")


def _render_docx(path: Path) -> str:
    import docx
    from docx.table import Table

    document = docx.Document(str(path))
    parts, length = [], 0
    for block in document.iter_inner_content():
        if length > MAX_TEXT_CHARS:
            parts.append(f'<p class="ek-doc-note">[... the document continues; only the first {MAX_TEXT_CHARS:,} '
                         "characters are shown]</p>")
            break
        length += len(block.text) if not isinstance(block, Table) else sum(len(c.text) for r in block.rows
                                                                          for c in r.cells)
        if isinstance(block, Table):
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(cell.text)}</td>" for cell in row.cells) + "</tr>"
                           for row in block.rows)
            parts.append(f"<table>{rows}</table>")
            continue
        text = "".join(f"<strong>{html.escape(r.text)}</strong>" if r.bold else html.escape(r.text)
                       for r in block.runs)
        if not text.strip():
            continue
        style = (block.style.name if block.style is not None else "") or ""
        if style.startswith("Heading") or style == "Title":
            level = min(int(style.rsplit(" ", 1)[-1]) if style[-1:].isdigit() else 1, 4)
            parts.append(f"<h{level}>{text}</h{level}>")
        elif style.startswith("List"):
            parts.append(f'<p class="ek-doc-li">• {text}</p>')
        else:
            parts.append(f"<p>{text}</p>")
    if not parts:
        return '<p class="ek-doc-note">This Word document has no text.</p>'
    return "".join(parts)


_RENDERERS = {".md": _render_markdown, ".markdown": _render_markdown, ".txt": _render_text, ".text": _render_text,
              ".pdf": _render_pdf, ".docx": _render_docx}
