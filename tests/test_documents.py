"""evalkit.documents: every supported format is readable in place, untrusted content is escaped, and a missing or
damaged file gives a message in the view instead of a traceback."""
from __future__ import annotations

from pathlib import Path

import docx
import pytest

from evalkit.evaluation import documents, workflow
from evalkit.evaluation.documents import DocumentError, document_path, document_view, render_document
from evalkit.store import open_store


def _pdf(path: Path, lines: list[str]) -> Path:
    """A minimal one-page PDF with the given lines of text in Helvetica (no PDF library writes text for us)."""
    text = " ".join(f"({line}) Tj T*" for line in lines)
    stream = f"BT /F1 12 Tf 14 TL 72 720 Td {text} ET".encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def test_markdown_is_rendered_with_headings_and_tables(tmp_path):
    path = tmp_path / "plan.md"
    path.write_text("# Improvement plan\n\n**Owner:** WFM lead\n\n| Action | When |\n|---|---|\n| Re-forecast | Q1 |\n")
    out = render_document(path)
    assert '<div class="ek-document ek-doc-md">' in out
    assert "<h1>Improvement plan</h1>" in out
    assert "<strong>Owner:</strong>" in out
    assert "<td>Re-forecast</td>" in out


def test_markdown_cannot_inject_html_script_or_fetch_remote_images(tmp_path):
    path = tmp_path / "evil.md"
    path.write_text('# Plan <script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\n'
                    "[click](javascript:alert(3)) ![chart](https://tracker.example/pixel.png)\n")
    out = render_document(path)
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "javascript:" not in out
    assert "tracker.example" not in out and "[image: chart]" in out


def test_markdown_links_open_in_a_new_tab_without_opener(tmp_path):
    path = tmp_path / "links.md"
    path.write_text("See [the standard](https://example.org/standard).")
    out = render_document(path)
    assert '<a target="_blank" rel="noopener noreferrer" href="https://example.org/standard">' in out


def test_plain_text_is_escaped_and_keeps_its_lines(tmp_path):
    path = tmp_path / "plan.txt"
    path.write_text("Service level <80%> & falling\nline two")
    out = render_document(path)
    assert '<pre class="ek-doc-pre">Service level &lt;80%&gt; &amp; falling\nline two</pre>' in out


def test_text_in_a_windows_encoding_is_still_shown(tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes("Caf\u00e9 \u2013 r\u00e9sum\u00e9".encode("cp1252"))
    assert "Café – résumé" in render_document(path)


def test_a_very_long_text_is_cut_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(documents, "MAX_TEXT_CHARS", 100)
    path = tmp_path / "long.txt"
    path.write_text("x" * 500)
    out = render_document(path)
    assert "x" * 100 in out and "x" * 101 not in out
    assert "only the first 100 characters are shown" in out


def test_docx_headings_paragraphs_bold_and_tables(tmp_path):
    document = docx.Document()
    document.add_heading("Operational Improvement Plan", level=1)
    paragraph = document.add_paragraph("Attrition is ")
    paragraph.add_run("38%").bold = True
    document.add_paragraph("Coaching <weekly>", style="List Bullet")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Action", "Owner"
    path = tmp_path / "plan.docx"
    document.save(path)
    out = render_document(path)
    assert "<h1>Operational Improvement Plan</h1>" in out
    assert "<p>Attrition is <strong>38%</strong></p>" in out
    assert "• Coaching &lt;weekly&gt;" in out
    assert "<td>Action</td><td>Owner</td>" in out


def test_pdf_text_is_shown_page_by_page_with_the_original_to_download(tmp_path):
    path = _pdf(tmp_path / "plan.pdf", ["Operational Improvement Plan", "Attrition 38% against 22%"])
    out = render_document(path)
    assert "ek-doc-pdf" in out and "Page 1" in out
    assert "Operational Improvement Plan" in out and "Attrition 38% against 22%" in out
    assert 'download="plan.pdf" href="data:application/pdf;base64,' in out


def test_a_pdf_too_large_to_embed_is_still_read_as_text(tmp_path, monkeypatch):
    monkeypatch.setattr(documents, "MAX_DOWNLOAD_BYTES", 10)
    out = render_document(_pdf(tmp_path / "big.pdf", ["Budget tied to retention"]))
    assert "too large to offer here" in out and "data:application" not in out
    assert "Budget tied to retention" in out


@pytest.mark.parametrize("name, content, expected", [
    ("plan.docx", b"this is not a zip file", "plan.docx cannot be read"),
    ("plan.pdf", b"%PDF-1.4 truncated", "plan.pdf cannot be read"),
    ("plan.xlsx", b"", ".xlsx cannot be shown here"),
    ("README", b"", "files without an extension cannot be shown here"),
])
def test_damaged_or_unsupported_files_give_a_message_not_a_traceback(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    out = render_document(path)
    assert 'class="ek-document ek-doc-error" role="alert"' in out
    assert expected in out


def test_missing_file_and_no_document_give_messages(tmp_path):
    out = render_document(tmp_path / "documents" / "gone.md")
    assert "ek-doc-error" in out and "gone.md: the file is missing" in out
    assert "No document is attached" in render_document(None)


def test_document_path_is_relative_to_the_workspace(tmp_path):
    assert document_path(tmp_path, "documents/a.md") == tmp_path / "documents" / "a.md"
    assert document_path(tmp_path, "documents/sub/a.md") == tmp_path / "documents" / "sub" / "a.md"
    assert document_path(tmp_path, None) is None


@pytest.mark.parametrize("stored", ["../x.md", "documents/../../x.md", "/etc/passwd", "/proc/self/environ",
                                    "evalkit.db", "documents", "notes/a.md"])
def test_a_document_outside_the_documents_folder_is_refused(tmp_path, stored):
    with pytest.raises(DocumentError, match="is not in the workspace's documents folder"):
        document_path(tmp_path, stored)
    name, view = document_view(tmp_path, stored)
    assert name == "not shown" and "ek-doc-error" in view and "documents folder" in view


def test_a_link_out_of_the_documents_folder_is_refused(tmp_path):
    (tmp_path / "documents").mkdir()
    secret = tmp_path / "secret.md"
    secret.write_text("# the rater must not see this")
    (tmp_path / "documents" / "plan.md").symlink_to(secret)
    with pytest.raises(DocumentError, match="leads outside the workspace's documents folder"):
        document_path(tmp_path, "documents/plan.md")
    assert "must not see" not in document_view(tmp_path, "documents/plan.md")[1]


@pytest.mark.parametrize("stored", ["../outside.md", "/etc/passwd", "/proc/self/environ"])
def test_receipt_refuses_a_document_outside_the_documents_folder(store, stored):
    with pytest.raises(workflow.WorkflowError, match="is not in the workspace's documents folder"):
        workflow.receive_submission(store, "C-9", "CCOM", "2026-09-01", True, document=stored)


def test_every_demo_document_renders(demo_workspace):
    store = open_store(demo_workspace)
    try:
        rows = workflow.due_report(store)
        seen = set()
        for row in rows:
            sub = workflow.submission(store, row["id"])
            path = document_path(store.workspace, sub["document"])
            out = render_document(path)
            assert "ek-doc-error" not in out, out
            if path.suffix == ".txt":  # plain text as a candidate types it: no raw Markdown tables or marks
                assert "|" not in path.read_text() and "**" not in path.read_text()
            assert "Improvement Plan" in out or "Performance Optimization Plan" in out
            seen.add(path.suffix)
    finally:
        store.dispose()
    assert {".md", ".txt", ".docx"} <= seen
