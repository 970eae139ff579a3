"""Certificates, the public register and recertification (issue 12, items 1-3; ISO/IEC 17024): the decision and
its decider, numbers and verification codes, the PDF in the certifying body's style with its QR code, reissue,
suspension, reinstatement, withdrawal, expiry, recertification from the previous expiry, the register's pages, and
the commands."""
import base64
import datetime as dt
import hashlib
import re
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import segno
import sqlalchemy as sa
from pypdf import PdfReader

from evalkit.certification import (ResultError, decide_and_issue, history, publish, recertify, record_result,
                                   reinstate, reissue, suspend, verify, withdraw)
from evalkit.certification import certificates as cert_mod
from evalkit.certification.certificates import (CODE_ALPHABET, certificate_content, certificates,
                                                render_certificate_html, verification_url)
from evalkit.certification.register import code_hash
from evalkit.cli import main
from evalkit.evaluation import workflow as wf
from evalkit.store import audit, certificate_events
from evalkit.store import certificates as certificates_table

D = dt.date


@pytest.fixture
def s(store):
    for name, adjudicator in (("r1", False), ("r2", False), ("adj", True)):
        wf.add_rater(store, name, name.upper(), is_adjudicator=adjudicator)
    return store


def _ccma(store, cid: str, first: str, last: str, certified_on: D, **details) -> None:
    """A candidate certified in CCMA on ``certified_on``: four knowledge assessments passed, the last that day
    (CCMA has no work product)."""
    wf.add_candidate(store, cid, first, last, **details)
    for i in range(1, 5):
        record_result(store, cid, "CCMA", f"knowledge_{i}", 80, 100, certified_on - dt.timedelta(days=4 - i))


def _icmi_sl_with_adjudication(store, cid: str = "ICMI-1", decided_on: D = D(2026, 3, 20)) -> int:
    """An ICMI Strategic Leader candidate whose Performance Assessment r1 and r2 scored apart and ``adj``
    adjudicated to a pass on ``decided_on``."""
    wf.add_candidate(store, cid, "Priya", "Raman")
    sid = wf.receive_submission(store, cid, "ICMI-SL", D(2026, 3, 2), True)
    wf.assign_raters(store, sid, ["r1", "r2"])
    rubric = wf.rubric_for(store, wf.submission(store, sid)["rubric_version"])
    ids = [c.id for c in rubric.criteria]
    wf.submit_final(store, sid, "r1", {**{c: 3 for c in ids}, ids[0]: 4}, today=decided_on)
    assert wf.submit_final(store, sid, "r2", {**{c: 3 for c in ids}, ids[0]: 1}, {ids[0]: "No evidence."},
                           today=decided_on) == "adjudication"
    wf.assign_adjudicator(store, sid, "adj")
    assert wf.adjudicate(store, sid, "adj", {c: 3 for c in ids}, {}, today=decided_on) == "decided"
    assert wf.decided_result(store, sid)["result"] == "pass"
    return sid


def _pdf_text(path) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(str(path)).pages).split())


def _events(store, number: str) -> list[tuple]:
    return [(e["event"], e["on_date"], e["by"], e["reason"], e["valid_until"]) for e in history(store, number)]


def _count(store, table) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


# --- issue -------------------------------------------------------------------------------------------------------


def test_issue_gives_a_number_a_code_the_dates_and_a_recorded_pdf(s, tmp_path):
    _ccma(s, "C-1", "Ann", "Lee", D(2025, 3, 4))
    _ccma(s, "C-2", "Bo", "Ng", D(2025, 3, 4))
    out = tmp_path / "certificates"  # created: its parent exists
    first = decide_and_issue(s, "C-1", "CCMA", out, on=D(2025, 4, 1), actor="office.kim")
    assert first["number"] == "CIAC-CCMA-2025-000001"
    assert len(first["code"]) == 10 and set(first["code"]) <= set(CODE_ALPHABET)
    assert not set(first["code"]) & set("0O1IL")
    assert (first["certified_on"], first["valid_until"], first["issued_on"]) == (D(2025, 3, 4), D(2028, 3, 4),
                                                                                D(2025, 4, 1))
    assert (first["status"], first["decided_by"]) == ("active", "office.kim")
    pdf = Path(first["file"])
    assert pdf == (out / "CIAC-CCMA-2025-000001.pdf").resolve() and pdf.read_bytes().startswith(b"%PDF")
    assert first["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    [event] = history(s, first["number"])
    assert (event["event"], event["on_date"], event["by"], event["file"], event["sha256"], event["valid_until"]) == (
        "issue", D(2025, 4, 1), "office.kim", str(pdf), first["sha256"], D(2028, 3, 4))
    second = decide_and_issue(s, "C-2", "CCMA", out, on=D(2025, 4, 2), actor="office.kim")
    assert second["number"] == "CIAC-CCMA-2025-000002" and second["code"] != first["code"]
    with s.read() as conn:
        logged = conn.execute(sa.select(audit.c.actor, audit.c.action, audit.c.entity)
                              .where(audit.c.entity.in_(["certificates", "certificate_events"]))).all()
    assert sorted(set(logged)) == [("office.kim", "issue", "certificate_events"),
                                   ("office.kim", "issue", "certificates")]


def test_a_second_issue_for_the_same_program_is_refused(s, tmp_path):
    _ccma(s, "C-1", "Ann", "Lee", D(2025, 3, 4))
    issued = decide_and_issue(s, "C-1", "CCMA", tmp_path, on=D(2025, 4, 1))
    with pytest.raises(ResultError, match=r"^candidate C-1 already has certificate CIAC-CCMA-2025-000001 in CCMA "
                                          r"\(issued 2025-04-01, now valid\); one certificate per candidate and "
                                          r"program: reissue it for a new copy$"):
        decide_and_issue(s, "C-1", "CCMA", tmp_path, on=D(2025, 5, 1))
    assert _count(s, certificates_table) == 1 and len(history(s, issued["code"])) == 1


def test_recertification_due_still_holds_the_designation_and_may_be_issued(s, tmp_path):
    _ccma(s, "C-1", "Ann", "Lee", D(2023, 1, 13))  # valid until 2026-01-13; due from 2025-10-15
    issued = decide_and_issue(s, "C-1", "CCMA", tmp_path, on=D(2025, 11, 1))
    assert (issued["certified_on"], issued["valid_until"]) == (D(2023, 1, 13), D(2026, 1, 13))


def test_a_candidate_who_is_not_certified_is_refused(s, tmp_path):
    wf.add_candidate(s, "C-3", "Cy", "Park")
    for i in range(1, 4):
        record_result(s, "C-3", "CCMA", f"knowledge_{i}", 80, 100, D(2025, 3, i))
    with pytest.raises(ResultError, match=r"^candidate C-3 is not certified in CCMA on 2025-04-01 \(status: in "
                                          r"progress: missing knowledge_4; complete by 2027-03-01\)$"):
        decide_and_issue(s, "C-3", "CCMA", tmp_path / "out", on=D(2025, 4, 1))
    _ccma(s, "C-4", "Di", "Ho", D(2021, 6, 4))  # lapsed on 2024-06-04
    with pytest.raises(ResultError, match=r"^candidate C-4 is not certified in CCMA on 2025-04-01 \(status: "
                                          r"expired: certification lapsed on 2024-06-04; recertify\)$"):
        decide_and_issue(s, "C-4", "CCMA", tmp_path / "out", on=D(2025, 4, 1))
    with pytest.raises(ResultError, match=r"^issue date 2199-01-01 is in the future$"):
        decide_and_issue(s, "C-4", "CCMA", tmp_path / "out", on=D(2199, 1, 1))
    assert _count(s, certificates_table) == 0 and not (tmp_path / "out").exists()


def test_whoever_rated_or_adjudicated_the_work_product_cannot_decide(s, tmp_path):
    _icmi_sl_with_adjudication(s)
    for who, did in (("r1", "rated"), ("r2", "rated"), ("adj", "adjudicated")):
        with pytest.raises(ResultError, match=rf"^{who} {did} candidate ICMI-1's ICMI-SL work product and so cannot "
                                              r"decide their certification; someone not involved in the evaluation "
                                              r"must decide$"):
            decide_and_issue(s, "ICMI-1", "ICMI-SL", tmp_path, on=D(2026, 4, 1), actor=who)
    assert _count(s, certificates_table) == 0
    issued = decide_and_issue(s, "ICMI-1", "ICMI-SL", tmp_path, on=D(2026, 4, 1), actor="office.kim")
    assert issued["number"] == "ICMI-ICMI-SL-2026-000001"
    assert (issued["certified_on"], issued["valid_until"]) == (D(2026, 3, 20), D(2029, 3, 20))
    # An ICMI certificate is ICMI's: its letterhead, its signatory, never CIAC's
    text = _pdf_text(issued["file"])
    for expected in ("International Customer Management Institute (ICMI)", "ICMI Professional Certification",
                     "Priya Raman", "ICMI Strategic Leader (ICMI-SL)", "ICMI-ICMI-SL-2026-000001",
                     "Certification Manager", "March 20, 2029", issued["code"]):
        assert expected in text
    assert "CIAC" not in text and "Call Center Industry Advisory Council" not in text


def test_a_conflicting_number_or_code_saved_meanwhile_is_retried(s, tmp_path, monkeypatch):
    _ccma(s, "C-1", "Ann", "Lee", D(2025, 3, 4))
    _ccma(s, "C-2", "Bo", "Ng", D(2025, 3, 4))
    taken = decide_and_issue(s, "C-1", "CCMA", tmp_path, on=D(2025, 4, 1))["code"]
    codes = iter([taken, "ABCDEFGHJK"])  # the first draw collides with C-1's code: the unique key refuses it
    monkeypatch.setattr(cert_mod, "new_code", lambda: next(codes))
    again = decide_and_issue(s, "C-2", "CCMA", tmp_path, on=D(2025, 4, 1))
    assert (again["code"], again["number"]) == ("ABCDEFGHJK", "CIAC-CCMA-2025-000002")
    assert _count(s, certificate_events) == 2


def test_simultaneous_issues_get_consecutive_numbers(any_store, tmp_path):
    """Four admins issue at the same moment, on SQLite and on PostgreSQL: each certificate gets its own number of
    the program's sequence (PostgreSQL: the unique number refuses a duplicate and the issue looks again)."""
    for k in range(4):
        _ccma(any_store, f"C-{k}", "Ann", f"Lee{k}", D(2025, 3, 4))
    barrier = threading.Barrier(4)

    def issue(k: int) -> str:
        barrier.wait()
        return decide_and_issue(any_store, f"C-{k}", "CCMA", tmp_path / "pdf", on=D(2025, 4, 1),
                                actor=f"admin{k}")["number"]

    with ThreadPoolExecutor(4) as pool:
        numbers = sorted(pool.map(issue, range(4)))
    assert numbers == [f"CIAC-CCMA-2025-00000{n}" for n in range(1, 5)]
    assert _count(any_store, certificate_events) == 4
    assert sorted(p.name for p in (tmp_path / "pdf").iterdir()) == [f"{n}.pdf" for n in numbers]


# --- the PDF and its QR code --------------------------------------------------------------------------------------


def test_the_pdf_names_holder_designation_number_dates_and_the_bodys_signatory(s, tmp_path):
    _ccma(s, "C-1", "Ann", "Lee", D(2025, 3, 4))
    issued = decide_and_issue(s, "C-1", "CCMA", tmp_path, on=D(2025, 4, 1))
    text = _pdf_text(issued["file"])
    for expected in ("Call Center Industry Advisory Council (CIAC)", "Certification Office", "CERTIFICATE",
                     "Ann Lee", "CIAC-Certified Management Associate (CCMA)", "CIAC-CCMA-2025-000001",
                     "Certified since March 4, 2025", "Issued on April 1, 2025", "Valid until March 4, 2028",
                     "Director of Certification", "CIAC Certification Office", issued["code"],
                     f"https://register.example.org/verify/{issued['code']}.html"):
        assert expected in text, expected
    assert "ICMI" not in text
    assert len(PdfReader(issued["file"]).pages) == 1
    assert stat.S_IMODE(Path(issued["file"]).stat().st_mode) == 0o600  # a certificate is the holder's


def test_the_qr_code_encodes_the_verification_url_of_the_workspaces_register(s, tmp_path):
    _ccma(s, "C-1", "Ann", "Lee", D(2025, 3, 4))
    s.set_setting("register_url", "https://certs.ciac.example/register/")
    issued = decide_and_issue(s, "C-1", "CCMA", tmp_path, on=D(2025, 4, 1))
    url = f"https://certs.ciac.example/register/verify/{issued['code']}.html"
    assert verification_url(s, issued["code"]) == url
    content = certificate_content(s, issued["number"])
    assert content["url"] == url
    page = render_certificate_html(content)
    drawn = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert drawn == segno.make(url, error="m").svg_inline(scale=3, border=2, title=None)
    assert drawn != segno.make(f"https://register.example.org/verify/{issued['code']}.html",
                               error="m").svg_inline(scale=3, border=2, title=None)
    assert url in page and "http" not in drawn  # the drawing holds modules only, no link to follow
    assert url in _pdf_text(issued["file"]).replace("/ ", "/")  # a long address may break after a slash
    s.set_setting("register_url", "register.example.org")
    with pytest.raises(ResultError, match=r"^workspace setting register_url is 'register.example.org'; expected "
                                          r"the register's address, such as https://register.example.org$"):
        verification_url(s, issued["code"])


def test_a_hostile_name_stays_text_on_the_certificate(s, tmp_path):
    _ccma(s, "C-1", "<script>alert(1)</script>", "O'Brien & <b>Sons</b>", D(2025, 3, 4))
    issued = decide_and_issue(s, "C-1", "CCMA", tmp_path, on=D(2025, 4, 1))
    page = render_certificate_html(certificate_content(s, issued["code"]))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; O&#39;Brien &amp; &lt;b&gt;Sons&lt;/b&gt;" in page
    assert "<script" not in page and "<b>" not in page
    assert "<script>alert(1)</script> O'Brien & <b>Sons</b>" in _pdf_text(issued["file"])


# --- reissue, suspension, reinstatement, withdrawal ---------------------------------------------------------------


def test_reissue_keeps_number_and_code_and_records_the_reason(s, tmp_path):
    _ccma(s, "C-1", "Ann", "Lee", D(2025, 3, 4))
    issued = decide_and_issue(s, "C-1", "CCMA", tmp_path / "first", on=D(2025, 4, 1), actor="office.kim")
    copy = reissue(s, issued["code"].lower()[:5] + "-" + issued["code"].lower()[5:], tmp_path / "copy",
                   "lost in a move; holder's request of 2025-05-30", actor="office.lee", on=D(2025, 6, 2))
    assert (copy["number"], copy["code"], copy["valid_until"]) == (issued["number"], issued["code"], D(2028, 3, 4))
    assert Path(copy["file"]) == (tmp_path / "copy" / f"{issued['number']}.pdf").resolve()
    assert copy["sha256"] != issued["sha256"] and Path(issued["file"]).exists()
    assert "This copy was issued on June 2, 2025" in _pdf_text(copy["file"])
    assert _events(s, issued["number"]) == [
        ("issue", D(2025, 4, 1), "office.kim", None, D(2028, 3, 4)),
        ("reissue", D(2025, 6, 2), "office.lee", "lost in a move; holder's request of 2025-05-30", D(2028, 3, 4))]
    assert history(s, issued["number"])[-1]["sha256"] == copy["sha256"]
    with pytest.raises(ResultError, match=r"^a reason is required to reissue certificate CIAC-CCMA-2025-000001$"):
        reissue(s, issued["number"], tmp_path / "copy", "   ")
    with pytest.raises(ResultError, match=r"^no certificate has the number or code 'XX-1'$"):
        reissue(s, "XX-1", tmp_path / "copy", "lost")


def test_suspension_reinstatement_and_withdrawal_with_their_reasons(s, tmp_path):
    _ccma(s, "C-1", "Ann", "Lee", D(2025, 3, 4))
    issued = decide_and_issue(s, "C-1", "CCMA", tmp_path, on=D(2025, 4, 1))
    number, code, today = issued["number"], issued["code"], D(2026, 1, 1)
    with pytest.raises(ResultError, match=rf"^a reason is required to suspend certificate {number}$"):
        suspend(s, number, "")
    assert suspend(s, code, "complaint under investigation (case 2025-7)", actor="board.chair",
                   on=D(2025, 9, 1))["status"] == "suspended"
    assert verify(s, code, today)["state"] == "suspended"
    with pytest.raises(ResultError, match=rf"^certificate {number} is already suspended$"):
        suspend(s, number, "again")
    with pytest.raises(ResultError, match=rf"^certificate {number} is suspended; it cannot be reissued; reinstate it "
                                          r"first$"):
        reissue(s, number, tmp_path, "lost")
    assert reinstate(s, number, "complaint dismissed", actor="board.chair", on=D(2025, 10, 1))["status"] == "active"
    assert verify(s, code, today)["state"] == "valid"
    with pytest.raises(ResultError, match=rf"^certificate {number} is active, not suspended; only a suspended "
                                          r"certificate is reinstated$"):
        reinstate(s, number, "again")
    assert withdraw(s, number, "misuse of the designation", actor="board.chair",
                    on=D(2025, 11, 3))["status"] == "withdrawn"
    assert verify(s, code, today)["state"] == "withdrawn"
    for change, word in ((reinstate, "reinstated"), (suspend, "suspended"), (withdraw, "withdrawn")):
        with pytest.raises(ResultError, match=rf"^certificate {number} was withdrawn; a withdrawn certificate "
                                              rf"cannot be {word}$"):
            change(s, number, "try")
    with pytest.raises(ResultError, match=rf"^certificate {number} is withdrawn; it cannot be reissued$"):
        reissue(s, number, tmp_path, "lost")
    with pytest.raises(ResultError, match=rf"^certificate {number} is withdrawn; it cannot be recertified$"):
        recertify(s, number, D(2026, 1, 1))
    assert [e[:4] for e in _events(s, number)] == [
        ("issue", D(2025, 4, 1), "admin", None),
        ("suspend", D(2025, 9, 1), "board.chair", "complaint under investigation (case 2025-7)"),
        ("reinstate", D(2025, 10, 1), "board.chair", "complaint dismissed"),
        ("withdraw", D(2025, 11, 3), "board.chair", "misuse of the designation")]


def test_verify_tells_expiry_by_the_date_and_nothing_else_about_the_person(s, tmp_path):
    _ccma(s, "C-1", "Ann", "Lee", D(2025, 3, 4), email="ann@example.org", organisation="Acme Contact Centres")
    issued = decide_and_issue(s, "C-1", "CCMA", tmp_path, on=D(2025, 4, 1))
    on_last_day = verify(s, issued["code"], D(2028, 3, 4))
    assert on_last_day == {"state": "valid", "code": issued["code"], "name": "Ann Lee",
                           "designation": "CIAC-Certified Management Associate",
                           "body": "Call Center Industry Advisory Council", "number": "CIAC-CCMA-2025-000001",
                           "valid_until": D(2028, 3, 4)}
    assert verify(s, issued["code"], D(2028, 3, 5))["state"] == "expired"
    assert verify(s, "  " + issued["code"].lower(), D(2028, 3, 5))["state"] == "expired"
    assert verify(s, "ABCDEFGHJK")["state"] == "unknown" and verify(s, "ABCDEFGHJK")["name"] is None
    assert [c["number"] for c in certificates(s, state="expired", today=D(2028, 3, 5))] == ["CIAC-CCMA-2025-000001"]
    assert certificates(s, state="valid", today=D(2028, 3, 5)) == []
    assert [c["state"] for c in certificates(s, program="CCMA", today=D(2026, 1, 1))] == ["valid"]
    with pytest.raises(ResultError, match=r"^state 'lapsed': expected one of valid, expired, suspended, withdrawn$"):
        certificates(s, state="lapsed")


# --- recertification ----------------------------------------------------------------------------------------------


def test_recertification_extends_from_the_previous_expiry_within_the_window(s, tmp_path):
    _ccma(s, "C-1", "Ann", "Lee", D(2023, 1, 13))
    issued = decide_and_issue(s, "C-1", "CCMA", tmp_path, on=D(2023, 2, 1))
    number = issued["number"]
    assert issued["valid_until"] == D(2026, 1, 13)
    # The window opens 90 days before 13 January 2026: 16 days left of October after the 15th, 30 of November,
    # 31 of December and 13 of January make 90, so 15 October 2025 (counted by hand)
    with pytest.raises(ResultError, match=rf"^certificate {number} is not due for recertification on 2025-10-14: "
                                          r"the window opens 2025-10-15 \(90 days before it expires on "
                                          r"2026-01-13\)$"):
        recertify(s, number, D(2025, 10, 14))
    renewed = recertify(s, number, D(2025, 10, 15), actor="office.kim", reason="60 CPD hours on file")
    assert renewed["valid_until"] == D(2029, 1, 13)  # three years from the old expiry, not from 15 October 2025
    assert (renewed["number"], renewed["code"], renewed["certified_on"]) == (number, issued["code"], D(2023, 1, 13))
    assert _events(s, number)[-1] == ("recertify", D(2025, 10, 15), "office.kim", "60 CPD hours on file",
                                      D(2029, 1, 13))
    assert verify(s, issued["code"], D(2027, 6, 1))["state"] == "valid"
    with pytest.raises(ResultError, match=r"the window opens 2028-10-15 \(90 days before it expires on 2029-01-13\)"):
        recertify(s, number, D(2025, 10, 16))


def test_recertification_on_the_expiry_day_but_never_after_it(s, tmp_path):
    _ccma(s, "C-1", "Ann", "Lee", D(2023, 1, 13))
    _ccma(s, "C-2", "Bo", "Ng", D(2023, 1, 13))
    late = decide_and_issue(s, "C-1", "CCMA", tmp_path, on=D(2023, 2, 1))["number"]
    with pytest.raises(ResultError, match=rf"^certificate {late} expired on 2026-01-13; an expired certificate cannot "
                                          r"be recertified: the candidate must certify again$"):
        recertify(s, late, D(2026, 1, 14))
    last_day = decide_and_issue(s, "C-2", "CCMA", tmp_path, on=D(2023, 2, 1))["number"]
    assert recertify(s, last_day, D(2026, 1, 13))["valid_until"] == D(2029, 1, 13)


def test_recertification_from_29_february(s, tmp_path):
    _ccma(s, "C-1", "Ann", "Lee", D(2024, 2, 29))  # certified on 29 February 2024
    issued = decide_and_issue(s, "C-1", "CCMA", tmp_path, on=D(2024, 3, 15))
    assert issued["valid_until"] == D(2027, 2, 28)  # 2027 has no 29 February
    # 90 days before 28 February 2027: 31 days of December, 31 of January, 28 of February = 90, so 30 November 2026
    with pytest.raises(ResultError, match=r"the window opens 2026-11-30 \(90 days before it expires on 2027-02-28\)"):
        recertify(s, issued["number"], D(2026, 11, 29))
    renewed = recertify(s, issued["number"], D(2026, 11, 30), out_dir=tmp_path / "renewed")
    assert renewed["valid_until"] == D(2030, 2, 28)
    assert "Valid until February 28, 2030" in _pdf_text(renewed["file"])
    assert history(s, issued["number"])[-1]["file"] == renewed["file"]


# --- the public register ------------------------------------------------------------------------------------------


def _register_workspace(s, tmp_path) -> dict:
    """Certificates in every state on 1 June 2026, holders with e-mail and organisation on record."""
    people = {"valid": ("CAND-0001", "Ann", "Lee", D(2025, 3, 4)),
              "expired": ("CAND-0002", "Bo", "Ng", D(2022, 1, 10)),
              "suspended": ("CAND-0003", "Cy", "Park", D(2025, 3, 4)),
              "withdrawn": ("CAND-0004", "Di", "Ho", D(2025, 3, 4)),
              "hostile": ("CAND-0005", "<script>alert('x')</script>", "O'Brien & <b>Sons</b>", D(2025, 3, 4)),
              "no certificate": ("CAND-0006", "Ed", "Uncertified", D(2025, 3, 4))}
    codes = {}
    for key, (cid, first, last, day) in people.items():
        _ccma(s, cid, first, last, day, email=f"{cid.lower()}@mail.example", organisation=f"Org of {cid}")
        if key != "no certificate":
            codes[key] = decide_and_issue(s, cid, "CCMA", tmp_path / "pdf", on=day + dt.timedelta(days=20))["code"]
    suspend(s, codes["suspended"], "under review", on=D(2026, 1, 5))
    withdraw(s, codes["withdrawn"], "fraud", on=D(2026, 1, 5))
    return codes


def _script_hashes(page: str) -> list[str]:
    return ["'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
            for m in re.findall(r"<script>(.*?)</script>", page, re.S)]


def test_the_register_lists_only_the_certified_and_only_what_a_register_shows(s, tmp_path):
    codes = _register_workspace(s, tmp_path)
    index = publish(s, tmp_path / "register", today=D(2026, 6, 1))
    assert index == tmp_path / "register" / "index.html"
    page = index.read_text()
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td class=\"number\">(.*?)</td><td>(.*?)</td></tr>", page)
    assert rows == [
        ("Ann Lee", "CIAC-Certified Management Associate", "CIAC-CCMA-2025-000001", "March 4, 2028"),
        ("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; O&#39;Brien &amp; &lt;b&gt;Sons&lt;/b&gt;",
         "CIAC-Certified Management Associate", "CIAC-CCMA-2025-000005", "March 4, 2028")]
    for absent in ("Bo Ng", "Cy Park", "Di Ho", "Uncertified", "@mail.example", "Org of", "CAND-000",
                   *codes.values(), "<b>", "alert('x')"):
        assert absent not in page, absent
    assert "2 certified persons" in page and 'href="verify/index.html"' in page
    # Only evalkit's own inline script runs: the policy names its hash, and the page loads nothing from elsewhere
    [script_hash] = _script_hashes(page)
    assert f"script-src {script_hash};" in page and "default-src 'none'" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert stat.S_IMODE(index.stat().st_mode) == 0o644


def test_every_certificate_has_a_verification_page_in_its_state(s, tmp_path):
    codes = _register_workspace(s, tmp_path)
    folder = publish(s, tmp_path / "register", today=D(2026, 6, 1)).parent / "verify"
    pages = {p.name for p in folder.iterdir()}
    assert pages == {f"{c}.html" for c in codes.values()} | {"index.html"}
    expected = {"valid": "This certificate is valid: its holder is certified until March 4, 2028.",
                "expired": "This certificate expired on January 10, 2025: its holder is no longer certified.",
                "suspended": "This certificate is suspended",
                "withdrawn": "This certificate was withdrawn: its holder is not certified.",
                "hostile": "This certificate is valid"}
    for key, code in codes.items():
        page = (folder / f"{code}.html").read_text()
        assert expected[key] in page, key
        assert "@mail.example" not in page and "Org of" not in page and "CAND-000" not in page
        assert ("Valid until" in page) == (key != "withdrawn")
        assert all(f"script-src {h};" in page for h in _script_hashes(page))
    hostile = (folder / f"{codes['hostile']}.html").read_text()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in hostile and "alert('x')" not in hostile
    lookup = (folder / "index.html").read_text()
    assert not any(code in lookup for code in codes.values())  # hashes, not the codes
    known = re.search(r'<script type="application/json" id="known">(.*?)</script>', lookup).group(1)
    assert known == str(sorted(code_hash(c) for c in codes.values())).replace("'", '"')


def test_publishing_again_replaces_the_pages(s, tmp_path):
    codes = _register_workspace(s, tmp_path)
    publish(s, tmp_path / "register", today=D(2026, 6, 1))
    suspend(s, codes["valid"], "audit", on=D(2026, 6, 2))
    index = publish(s, tmp_path / "register", today=D(2026, 6, 2))
    assert "Ann Lee" not in index.read_text() and "1 certified person<" in index.read_text()
    assert "This certificate is suspended" in (index.parent / "verify" / f"{codes['valid']}.html").read_text()
    assert not [p for p in index.parent.rglob("*") if ".evalkit-" in p.name]  # no temporary file left


# --- commands -----------------------------------------------------------------------------------------------------


def test_certificate_commands(s, tmp_path, capsys, monkeypatch):
    ws, out = str(s.workspace), str(tmp_path / "pdf")
    _ccma(s, "C-1", "Ann", "Lee", D(2023, 1, 13))
    monkeypatch.setenv("JUPYTERHUB_USER", "office.kim")
    assert main(["certificates", "issue", "C-1", "CCMA", "--out", out, "--on", "2023-02-01", "-w", ws]) == 0
    [c] = certificates(s)
    pdf = Path(out).resolve() / "CIAC-CCMA-2023-000001.pdf"
    assert capsys.readouterr().out == (f"certificate CIAC-CCMA-2023-000001 issued to C-1 (CCMA), valid until "
                                       f"2026-01-13; verification code {c['code']}; {pdf}\n")
    assert c["decided_by"] == "office.kim"
    assert main(["certificates", "issue", "C-1", "CCMA", "--out", out, "--on", "2023-02-01", "-w", ws]) == 1
    assert capsys.readouterr().err == ("evalkit: error: candidate C-1 already has certificate CIAC-CCMA-2023-000001 "
                                       "in CCMA (issued 2023-02-01, now valid); one certificate per candidate and "
                                       "program: reissue it for a new copy\n")
    assert main(["certificates", "issue", "C-9", "CCMA", "--out", out, "-w", ws]) == 1
    assert capsys.readouterr().err == "evalkit: error: unknown candidate 'C-9'\n"
    assert main(["certificates", "issue", "C-1", "CCMA", "--out", str(tmp_path / "no" / "pdf"), "--on",
                 "2023-02-01", "-w", ws]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    number = c["number"]
    assert main(["certificates", "reissue", number, "--out", out, "--reason", "lost", "--on", "2023-03-01",
                 "-w", ws]) == 0
    assert capsys.readouterr().out == f"certificate {number} reissued; {pdf}\n"
    with pytest.raises(SystemExit) as usage:  # a reason is required: argparse says so
        main(["certificates", "suspend", number, "-w", ws])
    assert usage.value.code == 2
    capsys.readouterr()
    assert main(["certificates", "suspend", number, "--reason", " ", "-w", ws]) == 1
    assert capsys.readouterr().err == f"evalkit: error: a reason is required to suspend certificate {number}\n"
    for action, done in (("suspend", "suspended"), ("reinstate", "reinstated")):
        assert main(["certificates", action, number, "--reason", "review", "--on", "2024-01-02", "-w", ws]) == 0
        assert capsys.readouterr().out == f"certificate {number} {done}\n"
    assert main(["certificates", "recertify", number, "--on", "2025-10-14", "-w", ws]) == 1
    assert capsys.readouterr().err.startswith(f"evalkit: error: certificate {number} is not due for recertification")
    assert main(["certificates", "recertify", c["code"], "--on", "2025-10-15", "-w", ws]) == 0
    assert capsys.readouterr().out == f"certificate {number} recertified: valid until 2029-01-13\n"
    assert main(["certificates", "list", "--today", "2026-06-01", "-w", ws]) == 0
    assert capsys.readouterr().out.split() == [number, "C-1", "Ann", "Lee", "CCMA", "valid", "valid", "until",
                                               "2029-01-13", "code", c["code"]]
    assert main(["certificates", "list", "--state", "expired", "--today", "2026-06-01", "-w", ws]) == 0
    assert capsys.readouterr().out == "no certificates expired\n"
    assert main(["certificates", "show", number, "-w", ws]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in shown[2:]] == ["issue", "reissue", "suspend", "reinstate", "recertify"]
    assert main(["certificates", "withdraw", number, "--reason", "fraud", "-w", ws]) == 0
    capsys.readouterr()
    assert main(["certificates", "reinstate", number, "--reason", "appeal", "-w", ws]) == 1
    assert capsys.readouterr().err == (f"evalkit: error: certificate {number} was withdrawn; a withdrawn certificate "
                                       "cannot be reinstated\n")


def test_a_rater_cannot_issue_from_the_command_line(s, tmp_path, capsys, monkeypatch):
    _icmi_sl_with_adjudication(s)
    monkeypatch.setenv("JUPYTERHUB_USER", "r2")
    assert main(["certificates", "issue", "ICMI-1", "ICMI-SL", "--out", str(tmp_path), "--on", "2026-04-01",
                 "-w", str(s.workspace)]) == 1
    assert capsys.readouterr().err == ("evalkit: error: r2 rated candidate ICMI-1's ICMI-SL work product and so cannot "
                                       "decide their certification; someone not involved in the evaluation must "
                                       "decide\n")


def test_register_commands(s, tmp_path, capsys):
    ws = str(s.workspace)
    codes = _register_workspace(s, tmp_path)
    capsys.readouterr()
    assert main(["register", "publish", "--out", str(tmp_path / "reg"), "--today", "2026-06-01", "-w", ws]) == 0
    assert capsys.readouterr().out == f"register published: {tmp_path / 'reg' / 'index.html'}\n"
    assert main(["register", "verify", codes["valid"], "--today", "2026-06-01", "-w", ws]) == 0
    assert capsys.readouterr().out == ("valid: Ann Lee, CIAC-Certified Management Associate (Call Center Industry "
                                       "Advisory Council), certificate CIAC-CCMA-2025-000001, valid until "
                                       "2028-03-04\n")
    assert main(["register", "verify", codes["withdrawn"], "-w", ws]) == 0
    assert capsys.readouterr().out.startswith("withdrawn: Di Ho, CIAC-Certified Management Associate")
    assert main(["register", "verify", "abcde-fghjk", "-w", ws]) == 0
    assert capsys.readouterr().out == "unknown: no certificate has the code ABCDEFGHJK\n"
    assert main(["register", "publish", "--out", str(tmp_path / "no" / "reg"), "-w", ws]) == 1
    assert capsys.readouterr().err == (f"evalkit: error: cannot create the register folder {tmp_path / 'no' / 'reg'}: "
                                       f"folder {tmp_path / 'no'} does not exist\n")
