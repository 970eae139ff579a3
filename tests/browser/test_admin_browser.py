"""The admin notebook's candidate record in a real browser (Voila): an admin types a profile, is told in one line
why the candidate is not eligible, admits them with an override, and sees the candidates table say so. Harness and
fixtures: tests/browser/conftest.py."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evalkit.certification import candidacy, profile
from evalkit.evaluation import workflow
from evalkit.store import open_store

pytestmark = pytest.mark.browser

NOTEBOOK = "admin.ipynb"
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def admin_voila(start_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("admin-voila")
    shutil.copy(NOTEBOOKS / NOTEBOOK, root / NOTEBOOK)
    return start_server("voila", root, env={"JUPYTERHUB_USER": "office.kim"})


def test_an_admin_records_a_profile_and_admits_a_candidate_by_override(page, admin_voila, open_voila,
                                                                       browser_workspace):
    store = open_store(browser_workspace)
    try:
        workflow.add_candidate(store, "ADM-1", "Noor", "Haddad", actor="setup")  # this test's own candidate
    finally:
        store.dispose()
    open_voila(page, admin_voila, NOTEBOOK, selector=".ek-record")
    record = page.locator(".ek-record")
    record.scroll_into_view_if_needed()
    record.locator(".ek-record-candidate input").fill("ADM-1")
    record.locator(".ek-record-profile-text textarea").fill(
        "education: {highest: associate}\nexperience:\n"
        "  - {years: 0.5, role: management, call_center: true, employer: government}\n")
    record.locator("button.ek-record-save-button").click()
    record.locator(".ek-record-result").filter(has_text="Profile of ADM-1 saved.").wait_for()

    record.locator(".ek-record-program select").select_option("CCOM")
    record.locator("button.ek-record-apply-button").click()
    refusal = record.locator(".ek-record-result .ek-msg-error")
    refusal.wait_for()
    assert "ADM-1 is not eligible for CCOM: route 1 (in-role): 0.5 years of management experience" in \
        refusal.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    record.screenshot(path=str(ARTIFACTS / "admin_record_refused.png"))

    record.locator(".ek-record-override input").fill("acting manager for a year; employer's letter on file")
    record.locator("button.ek-record-apply-button").click()
    record.locator(".ek-record-result").filter(has_text="admitted by override of office.kim").wait_for()
    page.locator(".ek-admin table.ek-table").filter(has_text="ADM-1").filter(
        has_text="admitted by override of office.kim").wait_for()
    record.screenshot(path=str(ARTIFACTS / "admin_record_admitted.png"))

    store = open_store(browser_workspace)
    try:
        assert profile(store, "ADM-1")["experience"][0]["employer"] == "government"
        admitted = candidacy(store, "ADM-1", "CCOM")
        assert (admitted["override_by"], admitted["override_reason"]) == (
            "office.kim", "acting manager for a year; employer's letter on file")
    finally:
        store.dispose()
