"""Recertification reminders (issue 12, item 3): the papermill template on a warm kernel, once per certificate
expiring within the window, recorded on the certificate and queued by e-mail; a second run reminds nobody again."""
import datetime as dt
import json

import sqlalchemy as sa

from evalkit.certification import certificates as certs
from evalkit.certification import record_result
from evalkit.cli import main
from evalkit.delivery.outbox import messages
from evalkit.evaluation import workflow as wf
from evalkit.letters.reminders import due_for_reminder, reminder_content, render_reminder_html, run_reminders
from evalkit.store import certificate_events


def _certified(store, ext, days_left, tmp_path):
    """A CCMA holder whose certificate expires ``days_left`` days from today."""
    wf.add_candidate(store, ext, "Ann", f"Lee-{ext}", f"{ext.lower()}@example.org")
    last = dt.date.today() + dt.timedelta(days=days_left)
    last = last.replace(year=last.year - 3)
    for i in range(1, 5):
        record_result(store, ext, "CCMA", f"knowledge_{i}", 80, 100, last - dt.timedelta(days=4 - i))
    return certs.decide_and_issue(store, ext, "CCMA", tmp_path / "certificates", actor="office.kim")


def test_reminders_go_once_to_those_due_within_the_window(store, tmp_path, capsys):
    due = _certified(store, "C-1", 30, tmp_path)
    _certified(store, "C-2", 200, tmp_path)  # not yet within the 90 days
    assert [c["number"] for c in due_for_reminder(store)] == [due["number"]]
    # each certificate went to its holder by e-mail with the PDF, queued when it was issued
    sent = {m["recipient"]: m for m in messages(store) if m["kind"] == "certificate"}
    assert set(sent) == {"c-1@example.org", "c-2@example.org"}
    assert sent["c-1@example.org"]["attachments"][0]["sha256"] == due["sha256"]
    assert f"/verify/{due['code']}.html" in sent["c-1@example.org"]["body"]
    assert [c["number"] for c in due_for_reminder(store, window_days=365)] == sorted(
        c["number"] for c in certs.certificates(store))
    content = reminder_content(store, due["number"], dt.date.today())
    assert content["renewed_until"].year == content["valid_until"].year + 3
    page = render_reminder_html(content)
    assert due["number"] in page and "Call Center Industry Advisory Council" in page

    assert main(["reminders", "--dry-run", "-w", str(store.workspace)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 reminder(s) due (dry run: nothing written)"
    assert main(["status", "-w", str(store.workspace)]) == 0
    out = capsys.readouterr().out
    assert "certificates: 2 valid (1 due for recertification), 0 expired, 0 suspended, 0 withdrawn\n" in out
    assert f"  {due['number']:<24} Ann Lee-C-1" in out
    rows = run_reminders(store.workspace, tmp_path / "reminders", actor="office.kim")
    assert [(r["certificate"], r["status"]) for r in rows] == [(due["number"], "issued")]
    [html_file, pdf_file] = rows[0]["files"]
    assert html_file["path"].endswith(".html") and pdf_file["path"].endswith(".pdf")
    assert (tmp_path / "reminders" / f"reminder_{due['number']}_{dt.date.today()}.ipynb").exists()  # the record
    with store.read() as conn:
        events = conn.execute(sa.select(certificate_events.c.event, certificate_events.c.by,
                                        certificate_events.c.sha256)
                              .where(certificate_events.c.event == "remind")).all()
    assert [tuple(e) for e in events] == [("remind", "office.kim", pdf_file["sha256"])]
    [queued] = [m for m in messages(store) if m["kind"] == "reminder"]
    assert queued["recipient"] == "c-1@example.org" and queued["id"] == rows[0]["emailed"]
    assert queued["attachments"][0]["sha256"] == pdf_file["sha256"]
    assert run_reminders(store.workspace, tmp_path / "reminders") == []  # reminded once per expiry date
    assert due_for_reminder(store) == []
