"""Appeals of a decided result (issue 12, item 4; ISO/IEC 17024 9.8): lodged within the period, decided by someone
who took no part in the evaluation, and, when upheld, a fresh blind evaluation by raters who did not evaluate the
original; the original scores stay in the record."""
import datetime as dt

import pytest
import sqlalchemy as sa

from eligible_profiles import add_eligible_candidate
from evalkit.certification import candidate_status
from evalkit.cli import main
from evalkit.evaluation import appeals
from evalkit.evaluation import workflow as wf
from evalkit.store import appeals as appeals_table
from evalkit.store import assignments, audit, decisions

D = dt.date
RECEIVED, DECIDED, LETTER = D(2026, 5, 1), D(2026, 5, 22), D(2026, 5, 29)


@pytest.fixture
def s(store):
    add_eligible_candidate(store, "C-1", "Ann", "Lee", "ann@example.org")
    for name in ("r1", "r2", "r3", "r4"):
        wf.add_rater(store, name, name.upper())
    wf.add_rater(store, "adj", "ADJ", is_adjudicator=True)
    return store


def _score(store, sid, raters, level, day):
    rubric = wf.rubric_for(store, wf.submission(store, sid)["rubric_version"])
    chosen = {c.id: level for c in rubric.criteria}
    for r in raters:
        wf.submit_final(store, sid, r, chosen, {c: "Develop further." for c in chosen} if level < 3 else {}, today=day)


def _deficient(store, notify=True):
    sid = wf.receive_submission(store, "C-1", "CCOM", RECEIVED, True)
    wf.assign_raters(store, sid, ["r1", "r2"])
    _score(store, sid, ("r1", "r2"), 1, DECIDED)
    if notify:
        wf.record_notification(store, sid, LETTER, [])
    return sid


def _count(store) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(appeals_table)).scalar()


def test_an_appeal_is_lodged_within_its_period_on_a_decided_result_only(s):
    sid = wf.receive_submission(s, "C-1", "CCOM", RECEIVED, True)
    with pytest.raises(wf.WorkflowError, match=rf"submission {sid} is received; only a decided result can be appealed"):
        appeals.lodge(s, sid, D(2026, 6, 1), "unfair")
    wf.assign_raters(s, sid, ["r1", "r2"])
    _score(s, sid, ("r1", "r2"), 1, DECIDED)
    with pytest.raises(wf.WorkflowError, match="before submission .* was decided on 2026-05-22"):
        appeals.lodge(s, sid, D(2026, 5, 20), "unfair")
    wf.record_notification(s, sid, LETTER, [])
    # 30 days after the letter of 29 May: the period closes on 28 June
    with pytest.raises(wf.WorkflowError, match=r"appeal received 2026-06-29, after the appeal period ended 2026-06-28 "
                                               r"\(30 days after the result letter of 2026-05-29\)"):
        appeals.lodge(s, sid, D(2026, 6, 29), "unfair")
    with pytest.raises(wf.WorkflowError, match="the grounds of the appeal is empty"):
        appeals.lodge(s, sid, D(2026, 6, 28), "   ")
    assert _count(s) == 0
    row = appeals.lodge(s, sid, D(2026, 6, 28), "The rubric's OM2 anchor was misread.\n\nSee page 4.")
    # received on Sunday 28 June, it counts from Monday 29 June; 30 business days on (Independence Day observed on
    # Friday 3 July): Tuesday 11 August, counted by hand
    assert row["due_on"] == D(2026, 8, 11) and row["grounds"].startswith("The rubric's OM2")
    with pytest.raises(wf.WorkflowError, match=rf"submission {sid} was already appealed \(appeal {row['id']}\)"):
        appeals.lodge(s, sid, D(2026, 6, 28), "again")


def test_nobody_involved_in_the_evaluation_decides_the_appeal(s):
    sid = _deficient(s)
    row = appeals.lodge(s, sid, D(2026, 6, 10), "bias")
    assert appeals.involved(s.read(), sid) == {"r1", "r2", "raters in agreement"}
    for who in ("r1", "r2"):
        with pytest.raises(wf.WorkflowError, match=rf"^{who} took part in the evaluation of submission {sid} and "
                                                   r"cannot decide its appeal; another person must$"):
            appeals.decide(s, row["id"], "upheld", "reason", D(2026, 6, 20), actor=who)
    with pytest.raises(wf.WorkflowError, match="outcome 'maybe': expected one of upheld, dismissed"):
        appeals.decide(s, row["id"], "maybe", "reason", D(2026, 6, 20), actor="office.kim")
    done = appeals.decide(s, row["id"], "dismissed", "The anchors were applied as written.", D(2026, 6, 20),
                          actor="office.kim")
    assert (done["outcome"], done["decided_by"], done["reevaluation_id"]) == ("dismissed", "office.kim", None)
    with pytest.raises(wf.WorkflowError, match="already decided \\(dismissed\\)"):
        appeals.decide(s, row["id"], "upheld", "changed my mind", D(2026, 6, 21), actor="office.lee")
    with s.read() as conn:
        actions = [a for (a,) in conn.execute(sa.select(audit.c.action).where(audit.c.entity == "appeals"))]
    assert actions == ["appeal", "decide_appeal"]


def test_an_upheld_appeal_opens_a_fresh_blind_evaluation_by_raters_who_did_not_evaluate_it(s, capsys):
    sid = _deficient(s)
    ws = str(s.workspace)
    assert main(["appeals", "lodge", str(sid), "--received", "2026-06-10", "--grounds", "OM2 was misread",
                 "-w", ws]) == 0
    appeal_id = appeals.appeals_of(s)[0]["id"]
    assert capsys.readouterr().out == f"appeal {appeal_id} of submission {sid} recorded; decide it by 2026-07-24\n"
    assert main(["appeals", "decide", str(appeal_id), "--outcome", "upheld", "--reason", "The anchors were misread.",
                 "--on", "2026-06-20", "-w", ws]) == 0
    again = appeals.appeal(s, appeal_id)["reevaluation_id"]
    assert f"submission {again} is the fresh evaluation" in capsys.readouterr().out
    new = wf.submission(s, again)
    original = wf.submission(s, sid)
    assert (new["reevaluates_id"], new["state"], new["rubric_version"], new["received_on"]) == (
        sid, "received", original["rubric_version"], D(2026, 6, 20))
    assert new["due_on"] == wf.program(s, "CCOM").notification_due(D(2026, 6, 20))
    with pytest.raises(wf.WorkflowError, match="rater r1 cannot score submission .* evaluated the submission it "
                                               "re-evaluates"):
        wf.assign_raters(s, again, ["r1", "r3"])
    assert sorted(wf.assign_raters(s, again)) == ["r3", "r4"]  # automatic: never r1 or r2
    _score(s, again, ("r3", "r4"), 3, D(2026, 7, 1))
    assert wf.decided_result(s, again)["result"] == "pass"
    # the original scores and decision stay
    with s.read() as conn:
        assert conn.execute(sa.select(decisions.c.result).where(decisions.c.submission_id == sid)).scalar() == \
            "deficient"
        assert conn.execute(sa.select(sa.func.count()).select_from(assignments)
                            .where(assignments.c.submission_id == sid, assignments.c.status == "final")).scalar() == 2
    standing = candidate_status(s, "C-1", "CCOM", D(2026, 7, 2))
    assert standing.passed_on["work_product"] == D(2026, 7, 1)


def test_open_appeals_show_in_status_with_their_due_date(s, capsys):
    sid = _deficient(s)
    row = appeals.lodge(s, sid, D(2026, 6, 10), "bias")
    assert main(["status", "--today", "2026-07-27", "-w", str(s.workspace)]) == 0
    out = capsys.readouterr().out
    assert "appeals open (1):" in out
    assert f"appeal #{row['id']:<4} submission #{sid:<5} CCOM     due 2026-07-24  1 business day(s) late; next: " \
           "acknowledge" in out
    [listed] = appeals.open_appeals(s, D(2026, 7, 1))
    assert (listed["step"], listed["days_left"], listed["late"]) == ("acknowledge", 16, False)
    appeals.acknowledge(s, row["id"], D(2026, 6, 11))
    appeals.decide(s, row["id"], "dismissed", "no ground", D(2026, 6, 30), actor="office.kim")
    assert appeals.open_appeals(s, D(2026, 7, 1))[0]["step"] == "send the outcome"
    appeals.record_outcome_notified(s, row["id"], D(2026, 7, 1))
    assert appeals.open_appeals(s, D(2026, 7, 1)) == []
    with pytest.raises(wf.WorkflowError, match="already sent on 2026-07-01"):
        appeals.record_outcome_notified(s, row["id"], D(2026, 7, 2))


def test_appeal_letters_acknowledge_then_give_the_outcome_and_are_queued_by_email(s, tmp_path, capsys):
    from pypdf import PdfReader

    from evalkit.delivery.outbox import messages
    sid = _deficient(s)
    row = appeals.lodge(s, sid, D(2026, 6, 10), "The grader ignored section 3. <script>alert(1)</script>")
    ws = str(s.workspace)
    assert main(["appeals", "letter", str(row["id"]), "--out", str(tmp_path / "letters"), "--on", "2026-06-11",
                 "-w", ws]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"appeal {row['id']}: acknowledgement letter ") and "e-mail queued (outbox" in out
    page = (tmp_path / "letters" / f"appeal{row['id']:05d}_acknowledgement.html").read_text()
    assert "Your appeal has been received" in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page and "July 24, 2026" in page  # decided no later than its due date
    assert appeals.appeal(s, row["id"])["acknowledged_on"] == D(2026, 6, 11)
    with pytest.raises(wf.WorkflowError, match="needs no letter now"):
        from evalkit.letters.appeals import write_appeal_letter
        write_appeal_letter(s, row["id"], tmp_path / "letters", D(2026, 6, 12))
    appeals.decide(s, row["id"], "upheld", "Section 3 was not read.", D(2026, 6, 20), actor="office.kim")
    assert main(["appeals", "letter", str(row["id"]), "--out", str(tmp_path / "letters"), "--on", "2026-06-22",
                 "-w", ws]) == 0
    pdf = tmp_path / "letters" / f"appeal{row['id']:05d}_outcome.pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(pdf).pages).split())
    assert "Your appeal is upheld" in text and "Section 3 was not read." in text
    assert "Call Center Industry Advisory Council" in text
    again = appeals.appeal(s, row["id"])
    assert again["outcome_notified_on"] == D(2026, 6, 22)
    queued = [m for m in messages(s) if m["kind"] == "appeal_letter"]
    assert [m["recipient"] for m in queued] == ["ann@example.org"] * 2
    assert queued[1]["attachments"][0]["name"] == pdf.name


def test_the_result_letter_of_a_fresh_evaluation_says_so(s):
    from evalkit.letters.content import letter_content, render_letter_html
    sid = _deficient(s)
    row = appeals.lodge(s, sid, D(2026, 6, 10), "bias")
    again = appeals.decide(s, row["id"], "upheld", "misread", D(2026, 6, 20), actor="office.kim")["reevaluation_id"]
    wf.assign_raters(s, again, ["r3", "r4"])
    _score(s, again, ("r3", "r4"), 3, D(2026, 7, 1))
    page = " ".join(render_letter_html(letter_content(s, again, D(2026, 7, 2))).split())
    assert "2 (a fresh evaluation after your appeal was upheld)" in page and "(resubmission)" not in page
    assert "(resubmission)" not in " ".join(render_letter_html(letter_content(s, sid, LETTER)).split())
