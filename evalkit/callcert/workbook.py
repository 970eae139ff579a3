"""The agent's scorecard workbook (.xlsx), and where call-certification files go.

openpyxl is imported when a workbook is written, not with the package.
"""
from __future__ import annotations

from pathlib import Path

from .. import outputs
from ..evaluation import workflow
from ..store import Store
from .records import agent, calls
from .rules import CALL_PASS_MARK, CALLS_REQUIRED, CallCertError, certify, scorecard_filename

__all__ = ["output_folder", "export_scorecard"]


def output_folder(store: Store, name: str, folder=None) -> Path:
    """``folder`` if given, else ``<workspace>/<name>`` (a database URL has no workspace folder: give one)."""
    if folder is None and store.workspace is None:
        raise CallCertError(f"this store has no workspace folder; give a folder for the {name}")
    return outputs.output_folder(folder if folder is not None else store.workspace / name, name)


def export_scorecard(store: Store, agent_id: int, folder=None) -> Path:
    """Write the agent's scorecard workbook (.xlsx) after the fifth call and return its path.

    One workbook holds all five calls: a ``Summary`` sheet (agent, calls passed, pass rate, result, one row per
    call) and one sheet per call (``Call 1`` ... ``Call 5``: every scorecard item with its level and descriptor,
    the score and the coaching note). It is named by :func:`scorecard_filename` and written to ``folder``
    (default ``<workspace>/scorecards``), readable by its owner only; an earlier export is replaced.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    info = agent(store, agent_id)
    done = calls(store, info["id"])
    if len(done) < CALLS_REQUIRED:
        raise CallCertError(f"agent {info['id']} has {len(done)} of {CALLS_REQUIRED} calls scored; the scorecard is "
                            "exported after the fifth call")
    cert = certify([c["score"] for c in done])
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    fills = {True: PatternFill("solid", fgColor="C6EFCE"), False: PatternFill("solid", fgColor="FFC7CE")}

    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append(["Call Certification Scorecard"])
    ws["A1"].font = Font(bold=True, size=14)
    for key, value in [("Agent", info["name"]), ("Start date", info["start_date"]),
                       ("Certifier(s)", ", ".join(dict.fromkeys(c["certifier"] for c in done))),
                       ("Calls passed", f"{cert.calls_passed} of {CALLS_REQUIRED}"),
                       ("Pass rate", cert.pass_rate / 100), ("Result", cert.status.capitalize()),
                       ("Call pass mark", CALL_PASS_MARK)]:
        ws.append([key, value])
        ws.cell(ws.max_row, 1).font = bold
    ws["B6"].number_format = "0%"
    ws["B3"].number_format = "yyyy-mm-dd"
    ws.cell(7, 2).fill = fills[cert.passed]
    ws.append([])
    ws.append(["Call", "Date", "Certifier", "Score", "Result", "Duration (h)", "Scorecard version"])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for c in done:
        ws.append([c["call_no"], c["scored_on"], c["certifier"], round(c["score"], 1),
                   "Pass" if c["passed"] else "Fail", c["duration_hours"], c["rubric_version"]])
        ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd"
        ws.cell(ws.max_row, 5).fill = fills[c["passed"]]
    for col, width in zip("ABCDEFG", (18, 14, 22, 10, 10, 13, 20)):
        ws.column_dimensions[col].width = width

    for c in done:
        rubric = workflow.rubric_for(store, c["rubric_version"])
        sheet = wb.create_sheet(f"Call {c['call_no']}")
        for key, value in [("Agent", info["name"]), ("Call", c["call_no"]), ("Date", c["scored_on"]),
                           ("Certifier", c["certifier"]), ("Score", round(c["score"], 1)),
                           ("Result", "Pass" if c["passed"] else "Fail")]:
            sheet.append([key, value])
            sheet.cell(sheet.max_row, 1).font = bold
        sheet["B3"].number_format = "yyyy-mm-dd"
        sheet["B6"].fill = fills[c["passed"]]
        sheet.append([])
        sheet.append(["Domain", "Item", "Assesses", "Weight", "Level", "Label", "Descriptor", "Meets standard"])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for crit in rubric.criteria:
            level = crit.level(c["levels"][crit.id])
            sheet.append([crit.domain, crit.id, crit.assesses, crit.weight, level.score, level.label, level.descriptor,
                          "Yes" if crit.meets(level.score) else "No"])
            for cell in sheet[sheet.max_row]:
                cell.alignment = wrap
        sheet.append([])
        for key, text in [("What went well", c["went_well"]), ("What was marked down", c["marked_down"]),
                          ("Positive remark", c["positive"])]:
            sheet.append([key, text])
            sheet.cell(sheet.max_row, 1).font = bold
            sheet.cell(sheet.max_row, 2).alignment = wrap
        for col, width in zip("ABCDEFGH", (20, 40, 50, 8, 7, 18, 60, 15)):
            sheet.column_dimensions[col].width = width

    outputs.text_cells_only(wb)  # a name or a note typed as "=HYPERLINK(...)" stays text
    path = output_folder(store, "scorecards", folder) / \
        f"{scorecard_filename(info['last_name'], info['first_name'], cert.pass_rate)}.xlsx"
    outputs.write_private(path, wb.save)
    return path
