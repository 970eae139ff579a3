"""The agent's side of call certification: end-of-day self-reports, training days, the missing-report flag."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from evalkit import callcert as cc
from evalkit import certification as cert
from evalkit.store import audit, cc_notes, cc_self_reports

D = dt.date
START = D(2026, 11, 23)  # a Monday
TODAY = D(2026, 11, 24)


@pytest.fixture
def team(any_store):
    s = any_store
    jane = cc.add_agent(s, "Jane", "Agent", START, certifier="cert.gil")
    jim = cc.add_agent(s, "Jim", "Other", START, equipment_issue="No headset")
    later = cc.add_agent(s, "Lea", "Later", D(2026, 12, 7))
    cert.link_person(s, "jane", agent_id=jane)
    cert.link_person(s, "jim", agent_id=jim)
    return s, jane, jim, later


def _counts(store):
    with store.read() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                     for t in (cc_self_reports, cc_notes, audit))


def test_training_days_are_the_two_business_days_before_call_certs():
    days = cc.training_days(START)
    assert [(d.on_date, d.title) for d in days] == [(D(2026, 11, 19), "Training day 1"),
                                                    (D(2026, 11, 20), "Training day 2 (morning)")]
    assert days[0].what == "systems and scripting" and days[1].what == "role plays and call shadowing"
    # over Thanksgiving (Thu 26, a federal holiday): a Monday start after it trains on Wed 25 and Fri 27
    assert [d.on_date for d in cc.training_days(D(2026, 11, 30))] == [D(2026, 11, 25), D(2026, 11, 27)]


def test_an_agent_reports_through_the_form_and_it_is_a_progress_note(team):
    s, jane, *_ = team
    report = cc.submit_self_report(s, jane, "Three TBT modules, one role play.", "Billing 1, Billing 2",
                                   "", reporter="jane", on_date=TODAY, today=TODAY)
    assert report["tbt_modules"] == ["Billing 1", "Billing 2"] and report["via"] == "form"
    assert report["line"] == ("2026-11-24 - Jane Agent - Three TBT modules, one role play; TBT modules: Billing 1, "
                              "Billing 2; Blockers: none")
    [row] = cc.self_reports(s, on_date=TODAY)
    assert (row["agent"], row["progress"], row["entered_by"]) == ("Agent, Jane", "Three TBT modules, one role play.",
                                                                  "jane")
    assert [n["line"] for n in cc.notes(s, jane)] == [report["line"]]


def test_the_coordinator_enters_an_emailed_report(team):
    s, _, jim, _ = team
    report = cc.submit_self_report(s, jim, "Waiting for IT all day.", None, "No headset", via="email",
                                   actor="coord.hal", on_date=TODAY, today=TODAY)
    assert report["entered_by"] == "coord.hal" and report["line"].endswith("Blockers: No headset (by e-mail)")


@pytest.mark.parametrize("kwargs, message", [
    ({"agent_id": "jim", "reporter": "jane"}, r"^jane is agent 1; an agent reports only their own progress, not "
                                              r"agent 2's$"),
    ({"reporter": "stranger"}, r"^stranger is not linked to an agent; ask the Cert Coordinator to link you$"),
    ({"on_date": D(2026, 11, 25)}, r"^report date 2026-11-25 is in the future; report at the end of the day"),
    ({"on_date": D(2026, 11, 18)}, r"^report date 2026-11-18 is before agent 1's first training day 2026-11-19$"),
    ({"progress": "  "}, r"^progress is empty; expected a sentence or two$"),
    ({"progress": "x" * 2001}, r"^progress is 2,001 characters; expected at most 2,000$"),
    ({"via": "sms"}, r"^via 'sms' is not one of form, email$"),
    ({"agent_id": 99}, r"^unknown agent 99$"),
    ({"tbt_modules": [1, 2]}, r"^TBT modules \[1, 2\]: expected module names"),
])
def test_bad_reports_are_one_line_and_store_nothing(team, kwargs, message):
    s, jane, jim, _ = team
    args = {"agent_id": jane, "progress": "Did things.", "tbt_modules": "A", "blockers": "", "on_date": TODAY,
            "reporter": "jane", "today": TODAY, **kwargs}
    if args["agent_id"] == "jim":
        args["agent_id"] = jim
    before = _counts(s)
    with pytest.raises(cc.CallCertError, match=message) as info:
        cc.submit_self_report(s, **args)
    assert "\n" not in str(info.value) and _counts(s) == before


def test_a_second_report_for_a_day_is_refused(team):
    s, jane, *_ = team
    cc.submit_self_report(s, jane, "Day done.", [], "", reporter="jane", on_date=TODAY, today=TODAY)
    before = _counts(s)
    with pytest.raises(cc.CallCertError, match=r"^agent 1 already reported for 2026-11-24 \(by form\); add a note"):
        cc.submit_self_report(s, jane, "Again.", [], "", via="email", actor="coord", on_date=TODAY, today=TODAY)
    assert _counts(s) == before


def test_missing_reports_flags_agents_in_certification_who_have_not_reported(team):
    s, jane, jim, later = team
    assert [r["name"] for r in cc.missing_reports(s, TODAY)] == ["Agent, Jane", "Other, Jim"]
    cc.submit_self_report(s, jane, "Day done.", [], "", reporter="jane", on_date=TODAY, today=TODAY)
    assert [(r["agent_id"], r["day"]) for r in cc.missing_reports(s, TODAY)] == [(jim, 2)]
    assert cc.missing_reports(s, START - dt.timedelta(days=1)) == []  # nobody in call certs yet


TEAM_ROWS = ("- Self-reports missing: 1 (Other, Jim)\n"
             "- Certifiers: cert.gil: 0 call(s) today, connected to Agent, Jane\n"
             "- Waiting for a certifier (no equipment issue): none\n"
             "- IT tickets open: none\n"
             "- Morning touch base: not recorded\n")


def test_every_end_of_day_report_has_the_team_view_and_the_missing_reports(team, tmp_path):
    from evalkit.widgets.callcert import CoordinatorDashboard
    s, jane, jim, _ = team
    cc.submit_self_report(s, jane, "Day done.", [], "", reporter="jane", on_date=TODAY, today=TODAY)
    assert TEAM_ROWS in cc.eod_report(s, TODAY).markdown
    # the e-mail to the distribution list: in the Markdown body and the HTML attached
    cc.set_eod_recipients(s, ["ops@example.org"])
    [queued] = cc.queue_eod_report(s, TODAY, folder=tmp_path / "outbox")
    assert TEAM_ROWS in queued["body"]
    [attached] = (tmp_path / "outbox").glob("*/callcert-eod-2026-11-24.html")
    assert "Self-reports missing" in attached.read_text() and "Other, Jim" in attached.read_text()
    # the coordinator's notebook view writes and shows the same report
    board = CoordinatorDashboard(s, today=TODAY, reports_folder=tmp_path / "reports")
    md, _ = board.create_report()
    assert TEAM_ROWS in md.read_text() and "Self-reports missing" in board.report_view.value


# --- the pages in the kernel (the browser test is tests/browser/test_self_assessment_browser.py) ---------------


def test_the_agent_page_shows_calls_and_sends_a_report(team, monkeypatch):
    from evalkit.widgets.agent import AgentPage
    s, jane, *_ = team
    cc.score_call(s, jane, "cert.gil", {c.id: 4 for c in cc.load_scorecard().criteria}, "Clear opening.", "",
                  "Calm tone.", scored_on=START)
    page = AgentPage(s, jane, reporter="jane", today=TODAY)
    assert "Clear opening." in page.calls.value and "Calm tone." in page.calls.value
    assert "Training day 1" in page.timeline.value and "2026-11-19" in page.timeline.value
    assert not page.send() and "Not sent: progress is empty" in page.message.value
    page.progress.value, page.modules.value = "Shadowed two calls.", "Billing 1"
    assert page.send() and "sent to the Cert Coordinator" in page.message.value
    assert "Shadowed two calls." in page.reports.value
    other = AgentPage(s, jane, reporter="jim", today=TODAY)  # someone else's sign-in on Jane's page
    other.progress.value = "x"
    assert not other.send() and "an agent reports only their own progress" in other.message.value


def test_the_coordinator_dashboard_flags_missing_reports(team):
    from evalkit.widgets.callcert import CoordinatorDashboard
    s, jane, *_ = team
    board = CoordinatorDashboard(s, today=TODAY)
    assert "2 agent(s) have not self-reported for 2026-11-24: Agent, Jane (#1); Other, Jim (#2)" in board.table.value
    cc.submit_self_report(s, jane, "Day done.", [], "", reporter="jane", on_date=TODAY, today=TODAY)
    board.refresh()
    assert "1 agent(s) have not self-reported for 2026-11-24: Other, Jim (#2)" in board.table.value


# --- the command line ----------------------------------------------------------------------------------------


def _run(capsys, *argv):
    from evalkit.cli import main
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_coordinator_enters_an_emailed_report_and_lists_the_missing(workspace, capsys):
    from evalkit.store import open_store
    s = open_store(workspace)
    try:
        jane = cc.add_agent(s, "Jane", "Agent", dt.date.today())
        jim = cc.add_agent(s, "Jim", "Other", dt.date.today())
    finally:
        s.dispose()
    code, out, _ = _run(capsys, "callcert", "self-report", "-w", workspace, "--missing")
    assert code == 0 and out.startswith("2 agent(s) have not self-reported for") and f"#{jim} Other, Jim" in out
    code, out, _ = _run(capsys, "callcert", "self-report", "-w", workspace, jane, "--progress", "Calls 1-2 done.",
                        "--modules", "Billing 1", "--blockers", "VPN drops")
    assert code == 0 and out.strip().endswith("Jane Agent - Calls 1-2 done; TBT modules: Billing 1; Blockers: VPN "
                                              "drops (by e-mail)")
    code, out, err = _run(capsys, "callcert", "self-report", "-w", workspace, jane, "--progress", "Again.")
    assert code == 1 and "already reported" in err and len(err.strip().splitlines()) == 1
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    code, out, err = _run(capsys, "callcert", "self-report", "-w", workspace, jim, "--progress", "x", "--date",
                          tomorrow)
    assert code == 1 and f"report date {tomorrow} is in the future" in err and len(err.strip().splitlines()) == 1
    code, out, err = _run(capsys, "callcert", "self-report", "-w", workspace, jim)
    assert code == 1 and "give the agent and --progress" in err


def test_it_tickets_and_the_touch_base_are_in_the_team_view(team):
    s, jane, jim, _ = team
    cc.set_equipment_issue(s, jim, None)
    ticket = cc.open_equipment_ticket(s, jim, "No headset", "IT-4821", opened_on=START, today=TODAY)
    assert cc.agent(s, jim)["equipment_issue"] == "No headset (IT ticket IT-4821)"
    with pytest.raises(cc.CallCertError, match="^agent 2 already has IT ticket IT-4821 open; close it first$"):
        cc.open_equipment_ticket(s, jim, "Monitor", "IT-1", today=TODAY)
    with pytest.raises(cc.CallCertError, match="^IT ticket reference is empty"):
        cc.open_equipment_ticket(s, jane, "Monitor", " ", today=TODAY)
    with pytest.raises(cc.CallCertError, match="^ticket date 2026-11-25 is in the future$"):
        cc.open_equipment_ticket(s, jane, "Monitor", "IT-2", opened_on=D(2026, 11, 25), today=TODAY)
    [open_] = cc.equipment_tickets(s, TODAY)
    assert (open_["ticket_ref"], open_["age"], open_["agent"]) == ("IT-4821", 1, "Other, Jim")
    cc.add_touch_base(s, "Lin takes Jim once IT is done.", "coord.hal", on_date=TODAY, today=TODAY)
    md = cc.eod_report(s, TODAY).markdown
    assert "- IT tickets open: Other, Jim: No headset (IT ticket IT-4821, open 1 business day(s))" in md
    assert "- Morning touch base: coord.hal: Lin takes Jim once IT is done." in md
    closed = cc.close_equipment_ticket(s, jim, TODAY, today=TODAY)
    assert closed["closed_on"] == TODAY and cc.agent(s, jim)["equipment_issue"] is None
    assert cc.equipment_tickets(s, TODAY) == [] and len(cc.equipment_tickets(s, START)) == 1
    with pytest.raises(cc.CallCertError, match="^agent 2 has no open IT ticket$"):
        cc.close_equipment_ticket(s, jim, today=TODAY)


def test_tickets_and_touch_base_from_the_command_line(workspace, capsys):
    from evalkit.store import open_store
    s = open_store(workspace)
    try:
        jim = cc.add_agent(s, "Jim", "Other", dt.date.today())
    finally:
        s.dispose()
    code, out, _ = _run(capsys, "callcert", "ticket", "-w", workspace, jim, "--issue", "No headset", "--ref", "IT-9")
    assert code == 0 and out.strip() == f"agent {jim}: IT ticket IT-9 opened {dt.date.today()}: No headset"
    code, out, err = _run(capsys, "callcert", "ticket", "-w", workspace, jim, "--issue", "x", "--ref", "IT-10")
    assert code == 1 and "already has IT ticket IT-9 open" in err
    code, out, _ = _run(capsys, "callcert", "ticket", "-w", workspace, jim, "--close")
    assert code == 0 and "IT ticket IT-9 closed" in out
    code, out, _ = _run(capsys, "callcert", "touch-base", "-w", workspace, "--note", "All four certifiers in.",
                        "--by", "coord.hal")
    assert code == 0 and out.strip() == f"{dt.date.today()} - coord.hal - touch base: All four certifiers in."


def test_the_eod_report_command_has_the_team_view(workspace, capsys):
    from evalkit.store import open_store
    s = open_store(workspace)
    try:
        cc.add_agent(s, "Jim", "Other", dt.date.today())
    finally:
        s.dispose()
    code, out, _ = _run(capsys, "callcert", "eod-report", "-w", workspace)
    assert code == 0 and "- Self-reports missing: 1 (Other, Jim)" in out and "- Morning touch base: not recorded" in out
