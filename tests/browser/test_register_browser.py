"""The public register in a real browser (chromium, opened from the folder as ``file://``, no server): a visitor
searches the register by name, opens the verification page of a valid and of a withdrawn certificate, and types an
unknown code into the verification form. Harness and fixtures: tests/browser/conftest.py."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from evalkit.certification import decide_and_issue, publish, record_result, withdraw
from evalkit.evaluation import workflow

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PEOPLE = (("REG-1", "Ann", "Lee"), ("REG-2", "José", "Núñez"), ("REG-3", "<script>alert('x')</script>", "O'Brien"),
          ("REG-4", "Bo", "Leeming"), ("REG-5", "Di", "Ho"))


@pytest.fixture
def register(store, tmp_path):
    """A register published today: four valid certificates (one holder with a hostile name) and a withdrawn one."""
    today = dt.date.today()
    passed = today - dt.timedelta(days=40)
    codes = {}
    for cid, first, last in PEOPLE:
        workflow.add_candidate(store, cid, first, last, email=f"{cid.lower()}@mail.example", organisation="Acme")
        for i in range(1, 5):
            record_result(store, cid, "CCMA", f"knowledge_{i}", 80, 100, passed - dt.timedelta(days=4 - i))
        codes[cid] = decide_and_issue(store, cid, "CCMA", tmp_path / "pdf", on=passed + dt.timedelta(days=10),
                                      actor="office.kim")["code"]
    withdraw(store, codes["REG-5"], "misuse of the designation", actor="board.chair")
    return publish(store, tmp_path / "register"), codes


def _watch(page) -> list[str]:
    """Console errors (a blocked script reports its Content-Security-Policy violation there) and dialogs."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def test_a_visitor_searches_the_register(page, register):
    index, _ = register
    problems = _watch(page)
    page.goto(index.as_uri())
    search = page.locator("#search")
    search.wait_for()  # shown by the page's script: the policy let it run
    rows = page.locator("#register tbody tr:visible")
    assert rows.count() == 4 and page.locator("#count").inner_text() == "4 certified persons"
    assert "Di Ho" not in page.locator("#register").inner_text()  # withdrawn: not in the register
    hostile = page.locator("#register tbody tr", has_text="O'Brien")
    assert hostile.locator("td").first.inner_text() == "<script>alert('x')</script> O'Brien"  # text, never run
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "register_index.png"), full_page=True)

    search.fill("lee")
    assert [r.locator("td").first.inner_text() for r in rows.all()] == ["Ann Lee", "Bo Leeming"]
    assert page.locator("#count").inner_text() == "2 of 4 shown"
    search.fill("ann lee")
    assert [r.locator("td").first.inner_text() for r in rows.all()] == ["Ann Lee"]
    search.fill("nunez")  # accents need not be typed
    assert [r.locator("td").first.inner_text() for r in rows.all()] == ["José Núñez"]
    page.screenshot(path=str(ARTIFACTS / "register_search.png"), full_page=True)
    search.fill("CCMA-2")  # part of a certificate number: every CCMA certificate issued this year or later
    assert rows.count() == 4
    search.fill("nobody at all")
    assert rows.count() == 0 and page.locator("#none").is_visible()
    assert page.locator("#count").inner_text() == "0 of 4 shown"
    search.fill("")
    assert rows.count() == 4 and not page.locator("#none").is_visible()
    assert problems == []


def test_a_visitor_verifies_a_valid_and_a_withdrawn_certificate(page, register):
    index, codes = register
    problems = _watch(page)
    page.goto((index.parent / "verify" / f"{codes['REG-1']}.html").as_uri())
    verdict = page.locator("#verdict")
    assert verdict.locator(".state:visible").inner_text() == "Valid"
    assert "Ann Lee" in verdict.inner_text() and "CIAC-Certified Management Associate" in verdict.inner_text()
    assert "@mail.example" not in page.content() and "Acme" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "register_verify_valid.png"), full_page=True)

    page.goto((index.parent / "verify" / f"{codes['REG-5']}.html").as_uri())
    assert verdict.locator(".state:visible").inner_text() == "Withdrawn"
    assert "This certificate was withdrawn: its holder is not certified." in verdict.inner_text()
    assert "Valid until" not in verdict.inner_text()
    page.screenshot(path=str(ARTIFACTS / "register_verify_withdrawn.png"), full_page=True)
    page.get_by_role("link", name="Register of certified persons").click()
    page.locator("#search").wait_for()
    assert problems == []


def test_a_visitor_types_codes_into_the_verification_form(page, register):
    index, codes = register
    problems = _watch(page)
    page.goto((index.parent / "verify" / "index.html").as_uri())
    code, result = page.locator("#code"), page.locator("#result")
    code.fill("abcde-fghjk")
    page.get_by_role("button", name="Verify").click()
    result.wait_for()
    assert result.locator(".state").inner_text() == "Unknown"
    assert "No certificate in this register has the code ABCDEFGHJK." in result.inner_text()
    page.screenshot(path=str(ARTIFACTS / "register_verify_unknown.png"), full_page=True)

    code.fill("O1IL")
    code.press("Enter")
    assert result.locator(".state").inner_text() == "Unknown"
    assert "\u201cO1IL\u201d is not a verification code" in result.inner_text()

    known = codes["REG-2"]
    code.fill(f"{known[:5].lower()} {known[5:].lower()}")  # as read aloud: lower case, with a space
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"**/verify/{known}.html")
    assert page.locator("#verdict .state:visible").inner_text() == "Valid"
    assert "José Núñez" in page.locator("#verdict").inner_text()
    assert problems == []
