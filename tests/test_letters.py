"""Result letters: their content, escaping, refusals, and the papermill batch (manifest, late flag, PDF, a failing
letter, kill and resume, no leak between letters on a reused kernel)."""
import csv
import datetime as dt
import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import sqlalchemy as sa
import yaml

from evalkit import cli
from evalkit.calendar import add_business_days
from evalkit.delivery.outbox import messages as outbox_messages
from evalkit.evaluation import workflow
from evalkit.instruments.programs import default_programs_path
from evalkit.letters import batch as letters
from evalkit.letters.content import letter_content, render_letter_html
from evalkit.store import audit, notifications, open_store, resolved_scores, submissions
from eligible_profiles import add_eligible_candidate

ROOT = Path(__file__).resolve().parent.parent
RECEIVED = dt.date(2026, 9, 1)  # a Tuesday
DECIDED = dt.date(2026, 9, 22)
ISSUED = dt.date(2026, 9, 24)

FEEDBACK = {
    "PM1": "Support the assessment with twelve months of attrition data.",
    "OM1": "Explain the causes of each missed service-level objective.\n\nShow interval-level forecast error.",
    "OM2": "Base each operational recommendation on a documented gap.",
    "LB3": "Add an executive summary that states the main points plainly.",
}


def decide(store, ext, levels, feedback=None, first="Jane", last="Smith", organisation="Adatum Bank",
           program="CCOM"):
    """A submission decided by two raters in agreement, with the given levels (default 3) and feedback."""
    for username in ("r1", "r2"):
        try:
            workflow.add_rater(store, username, username.upper())
        except workflow.WorkflowError:
            pass
    add_eligible_candidate(store, ext, first, last, f"{ext.lower()}@example.org", organisation)
    sid = workflow.receive_submission(store, ext, program, RECEIVED, True)
    workflow.assign_raters(store, sid, ["r1", "r2"])
    rubric = workflow.rubric_for(store, workflow.submission(store, sid)["rubric_version"])
    chosen = {c.id: levels.get(c.id, 3) for c in rubric.criteria}
    for username in ("r1", "r2"):
        state = workflow.submit_final(store, sid, username, chosen, feedback or {}, today=DECIDED)
    assert state == "decided"
    return sid


def flat(page: str) -> str:
    """The page with runs of white space as single spaces (the template wraps its lines)."""
    return " ".join(page.split())


def deficient_levels():
    return {"PM1": 2, "OM1": 2, "OM2": 1, "LB3": 2}


# --- content -------------------------------------------------------------------------------------------------


def test_pass_letter_states_result_scores_and_settings(store):
    sid = decide(store, "CCOM-1", {"PM1": 4, "OM1": 4})
    c = letter_content(store, sid, ISSUED)
    assert (c["result"], c["passed"], c["deficiencies"], c["resubmit_by"]) == ("pass", True, [], None)
    assert (c["received_on"], c["decided_on"], c["issue_date"], c["attempt"]) == (RECEIVED, DECIDED, ISSUED, 1)
    assert c["program"]["name"] == "CIAC-Certified Operations Manager"
    assert [d["domain"] for d in c["domains"]] == ["People Management", "Operations Management",
                                                  "Customer Relationships", "Leadership & Business"]
    assert c["total"] > 75 and not c["late"]
    page = flat(render_letter_html(c))
    for text in ("Meets the standard", "meets the standard</strong>", "Jane Smith", "Adatum Bank", "CCOM-1",
                 "September 1, 2026", "September 22, 2026", "September 24, 2026", "Director of Certification",
                 "CIAC Certification Office", "info@ciac-cert.org", "held in strict confidence",
                 "evaluated independently by subject matter experts of the Call Center Industry Advisory Council",
                 "Your scores", f"{c['total']:g}%"):
        assert text in page, text
    assert "How to resubmit" not in page and "Areas of deficiency" not in page


def test_an_icmi_letter_goes_out_on_icmi_letterhead_naming_icmis_experts(store):
    # It went out on CIAC's letterhead, naming CIAC's SMEs: the workspace had one name for every program.
    sid = decide(store, "ICMI-1", {}, program="ICMI-SL")
    c = letter_content(store, sid, ISSUED)
    page = flat(render_letter_html(c))
    assert c["letterhead"][0] == "International Customer Management Institute (ICMI)"
    for text in ("International Customer Management Institute (ICMI)", "ICMI Professional Certification",
                 "evaluated independently by ICMI subject matter experts", "Certification Manager"):
        assert text in page, text
    assert "CIAC" not in page and "Call Center Industry Advisory Council" not in page


def test_deficient_letter_gives_feedback_by_domain_and_a_business_day_deadline(store):
    sid = decide(store, "CCOM-2", deficient_levels(), FEEDBACK)
    issue = dt.date(2026, 11, 20)  # 60 business days later crosses Thanksgiving, Christmas, New Year, MLK Day
    c = letter_content(store, sid, issue)
    assert c["result"] == "deficient"
    assert [(g["domain"], [i["id"] for i in g["criteria"]]) for g in c["deficiencies"]] == [
        ("People Management", ["PM1"]), ("Operations Management", ["OM1", "OM2"]),
        ("Leadership & Business", ["LB3"])]
    om1 = c["deficiencies"][1]["criteria"][0]
    assert om1["feedback"] == ["Explain the causes of each missed service-level objective.",
                               "Show interval-level forecast error."]
    assert om1["must_meet"] and om1["label"] == "Developing"
    assert c["resubmit_by"] == add_business_days(issue, 60) == dt.date(2027, 2, 19)
    assert len(c["failed_must_meet"]) == 2  # OM1 and OM2 must meet the standard
    assert c["late"]  # 30 business days from September 1 is October 14
    page = flat(render_letter_html(c))
    for text in ("Does not yet meet the standard", "Areas of deficiency", "People Management",
                 "Operations Management", "Leadership &amp; Business", "Show interval-level forecast error.",
                 "Base each operational recommendation on a documented gap.", "February 19, 2027",
                 "60 business days", "attempt 2", "(must meet the standard)"):
        assert text in page, text
    assert "Customer Relationships</h3>" not in page  # no deficiency there


def test_scores_are_left_out_where_the_program_does_not_disclose_them(tmp_path):
    rubrics = tmp_path / "rubrics"
    shutil.copytree(default_programs_path().parent, rubrics)
    config = yaml.safe_load((rubrics / "programs.yaml").read_text())
    config["defaults"]["disclose_scores"] = False
    (rubrics / "programs.yaml").write_text(yaml.safe_dump(config))
    from evalkit.demo import init_workspace
    store = init_workspace(tmp_path / "ws", programs_path=rubrics / "programs.yaml")
    sid = decide(store, "CCOM-3", deficient_levels(), FEEDBACK)
    c = letter_content(store, sid, ISSUED)
    page = render_letter_html(c)
    assert not c["disclose_scores"]
    assert "Your scores" not in page and f"{c['total']:g}%" not in page and "Rated" not in page
    assert "Base each operational recommendation" in page  # feedback is always given
    store.dispose()


HOSTILE = {"first": "<script>alert('x')</script>", "last": "O'Brien & <b>Sons</b>",
           "organisation": '<img src=x onerror="alert(1)">', "feedback": "Fix <i>this</i> & <script>that</script>."}


def hostile_submission(store):
    # The letterhead and signatory come from the program's certifying body: a programs.yaml edited by someone
    # careless or hostile must still be shown as text.
    rubrics = Path(store.workspace) / "rubrics"
    shutil.copytree(default_programs_path().parent, rubrics)
    programs = rubrics / "programs.yaml"
    programs.write_text(programs.read_text()
                        .replace("letterhead: [Call Center Industry Advisory Council (CIAC), Certification Office]",
                                 "letterhead: ['<b>Council</b> & Co', 'Office <u>2</u>']")
                        .replace("signatory: {name: Director of Certification, title: CIAC Certification Office}",
                                 "signatory: {name: 'Dr <em>Who</em>', title: 'A & B'}"))
    workflow.sync_programs(store, programs)
    return decide(store, "CCOM-9", {"PM1": 2}, {"PM1": HOSTILE["feedback"]}, first=HOSTILE["first"],
                  last=HOSTILE["last"], organisation=HOSTILE["organisation"])


def test_every_text_from_people_is_escaped(store):
    sid = hostile_submission(store)
    page = flat(render_letter_html(letter_content(store, sid, ISSUED)))
    for raw in ("<script>", "<b>", "<img", "<i>", "<em>", "<u>"):
        assert raw not in page, raw
    for escaped in ("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;", "O&#39;Brien &amp; &lt;b&gt;Sons&lt;/b&gt;",
                    "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;", "Fix &lt;i&gt;this&lt;/i&gt; &amp;",
                    "&lt;b&gt;Council&lt;/b&gt; &amp; Co", "Dr &lt;em&gt;Who&lt;/em&gt;"):
        assert escaped in page, escaped


def test_undecided_submissions_are_refused_with_the_reason(demo_copy, capsys):
    store = open_store(demo_copy)
    by_state = {}
    with store.read() as conn:
        for sid, state, bench in conn.execute(sa.select(submissions.c.id, submissions.c.state,
                                                        submissions.c.is_benchmark)):
            by_state.setdefault("benchmark" if bench else state, sid)
    for state, reason in (("received", r"not decided \(received\)"), ("scoring", r"not decided \(scoring\)"),
                          ("adjudication", "awaits the adjudicator"), ("benchmark", "benchmark")):
        with pytest.raises(workflow.WorkflowError, match=reason):
            letter_content(store, by_state[state], dt.date.today())
    with pytest.raises(workflow.WorkflowError, match="unknown submission"):
        letter_content(store, 99999, dt.date.today())
    decided = by_state["decided"]
    with pytest.raises(workflow.WorkflowError, match="is in the future"):
        letter_content(store, decided, dt.date.today() + dt.timedelta(days=1))
    with pytest.raises(workflow.WorkflowError, match="before the decision"):
        letter_content(store, decided, dt.date(2000, 1, 3))
    store.dispose()

    asked = [by_state[s] for s in ("received", "scoring", "adjudication")]
    code = cli.main(["letters", "-w", str(demo_copy), "--only", *map(str, asked)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("evalkit: error: no letter issued, 3 refused: ") and len(err.splitlines()) == 1
    assert f"submission {by_state['adjudication']} is not decided (adjudication)" in err and "adjudicator" in err
    assert not (demo_copy / "letters" / "manifest.json").exists() or all(
        r["status"] == "refused" for r in json.loads((demo_copy / "letters" / "manifest.json").read_text())["letters"])
    store = open_store(demo_copy)
    assert all(workflow.submission(store, s)["state"] != "notified" for s in asked)
    store.dispose()


# --- the batch ---------------------------------------------------------------------------------------------


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def notified(store):
    with store.read() as conn:
        return {r["submission_id"]: dict(r) for r in conn.execute(sa.select(notifications)).mappings()}


def test_batch_issues_each_letter_once_with_a_manifest_and_late_flags(demo_copy, capsys):
    store = open_store(demo_copy)
    waiting = [r for r in workflow.due_report(store) if r["state"] == "decided"]
    assert len(waiting) >= 8
    late_expected = {r["id"] for r in waiting if r["late"]}
    assert late_expected and late_expected != {r["id"] for r in waiting}
    seen = []
    batch = letters.run_batch(demo_copy, jobs=2, progress=lambda done, total, row: seen.append((done, total)))
    assert batch.ok and batch.count("issued") == len(waiting)
    assert seen[-1] == (len(waiting), len(waiting))
    # kernels were reused: two workers, each started one kernel
    assert sum(k["kernel_starts"] for k in batch.kernel_stats) <= 2
    assert sum(k["letters"] for k in batch.kernel_stats) == len(waiting)

    out = demo_copy / "letters"
    rows = json.loads((out / "manifest.json").read_text())["letters"]
    with open(out / "manifest.csv", newline="") as f:
        csv_rows = list(csv.DictReader(f))
    assert [r["submission"] for r in rows] == sorted(r["id"] for r in waiting)
    assert list(csv_rows[0]) == list(letters.MANIFEST_FIELDS)
    records = notified(store)
    for row, csv_row in zip(rows, csv_rows):
        sid = row["submission"]
        assert row["status"] == "issued" and row["error"] is None and row["seconds"] > 0
        assert row["late"] == (sid in late_expected) and csv_row["late"] == ("yes" if row["late"] else "no")
        assert row["result"] in ("pass", "deficient") and row["candidate"]
        assert [Path(f["path"]).suffix for f in row["files"]] == [".ipynb", ".html"]
        for f in row["files"]:
            assert sha256(out / f["path"]) == f["sha256"]
            assert (out / f["path"]).stat().st_mode & 0o077 == 0  # confidential: owner only
        assert csv_row["sha256"].split(";") == [f["sha256"] for f in row["files"]]
        recorded = json.loads(records[sid]["files"])
        assert [(Path(f["path"]).name, f["sha256"]) for f in recorded] == [(f["path"], f["sha256"])
                                                                           for f in row["files"]]
        assert records[sid]["late"] == row["late"] and records[sid]["issued_on"] == dt.date.today()
        assert workflow.submission(store, sid)["state"] == "notified"
    # each letter is queued by e-mail to its candidate, recorded with the notification, with the page's hash
    queued = {m["ref"]: m for m in outbox_messages(store) if m["kind"] == "result_letter"}
    assert set(queued) == {f"submission:{r['submission']}" for r in rows}
    for row in rows:
        message = queued[f"submission:{row['submission']}"]
        assert row["emailed"] == message["id"] and message["status"] == "pending"
        assert message["recipient"] == workflow.submission_record(store, row["submission"])["email"]
        [attached] = message["attachments"]
        assert attached["sha256"] == row["files"][1]["sha256"]
    # the executed notebook is the record: it holds the parameters and the letter's data
    nb = nbformat.read(out / rows[0]["files"][0]["path"], as_version=4)
    assert nb.metadata.papermill.parameters["submission_id"] == rows[0]["submission"]
    assert letters._letter_output(nb)[0]["result"] == rows[0]["result"]
    page = (out / rows[0]["files"][1]["path"]).read_text()
    assert "show_letter" not in page and "In&nbsp;[" not in page and "<script" not in page
    for loader in ("src=", "href=", "<link", "@import", "url("):  # nothing loaded from elsewhere
        assert loader not in page, loader

    # `evalkit status` lists the letters issued late
    assert cli.main(["status", "-w", str(demo_copy)]) == 0
    status = capsys.readouterr().out
    assert "letters issued late" in status
    for sid in late_expected:
        assert f"#{sid:<5} issued {dt.date.today()}" in status

    # running again: nothing to do; asking for a notified one: skipped; --force re-issues, record kept
    again = letters.run_batch(demo_copy, jobs=1)
    assert again.rows == [] and again.ok
    first = rows[0]["submission"]
    skipped = letters.run_batch(demo_copy, only=[first])
    assert [r["status"] for r in skipped.rows] == ["skipped"] and "--force" in skipped.rows[0]["error"]
    before = notified(store)[first]
    forced = letters.run_batch(demo_copy, only=[first], force=True, jobs=1)
    assert [(r["status"], r["error"]) for r in forced.rows] == [("reissued", None)]  # the same letter again
    assert notified(store)[first] == before
    assert sha256(out / rows[0]["files"][1]["path"]) == rows[0]["files"][1]["sha256"]  # same letter
    assert notification_log(store, [r["id"] for r in waiting]) == {r["id"]: 1 for r in waiting}
    store.dispose()


def test_the_manifest_is_appended_a_row_at_a_time_and_stays_valid_after_every_write(store, workspace, tmp_path,
                                                                                    monkeypatch):
    # a letter's row costs one write to the end of each file, never rewriting them (growing the JSON's room is a
    # rewrite, as rare as doubling makes it); every write lies within one page of the file, the only kind a kill
    # cannot cut in two, and both files are valid after each write, hence at any moment
    out = tmp_path / "letters"
    out.mkdir()
    monkeypatch.setattr(letters._Manifest, "ROOM", 4096)
    writes, rewrites = [], []
    real_pwrite, real_write_private = letters.os.pwrite, letters.outputs.write_private

    def pwrite(fd, data, offset):
        writes.append((offset, len(data)))
        done = real_pwrite(fd, data, offset)
        json.loads((out / "manifest.json").read_text())
        with open(out / "manifest.csv", newline="") as f:
            list(csv.DictReader(f))
        return done

    def write_private(path, content):
        rewrites.append(Path(path).name)
        return real_write_private(path, content)

    monkeypatch.setattr(letters.os, "pwrite", pwrite)
    monkeypatch.setattr(letters.outputs, "write_private", write_private)
    manifest = letters._Manifest(out, store)
    assert rewrites == ["manifest.json", "manifest.csv"]
    n = 400
    for i in range(1, n + 1):
        row = letters._row(i, status="issued", candidate=f"Candidate «{i}» \"quoted\", with, commas",
                           error="x" * (i % 300))
        manifest.append([{**row, "files": [{"path": f"{i:05d}.html", "sha256": "0" * 64}]}])
    manifest.append([letters._row(7, status="failed", error="later row of the same submission")])
    assert all(offset // letters._Manifest.PAGE == (offset + size - 1) // letters._Manifest.PAGE
               for offset, size in writes)
    assert len(writes) >= 2 * n and len(rewrites) <= 2 + 2 * 10  # a few doublings of the JSON's room, not one a row
    rows = letters._Manifest.load(out)
    assert len(rows) == n and rows[7]["status"] == "failed" and rows[8]["status"] == "issued"
    with open(out / "manifest.csv", newline="") as f:
        by_csv = {}
        for r in csv.DictReader(f):  # empty lines keep rows off page boundaries; the later row of one counts
            by_csv[int(r["submission"])] = r
    assert len(by_csv) == n and by_csv[7]["status"] == "failed" and by_csv[9]["candidate"].startswith("Candidate «9»")
    manifest.close()  # one row per submission, nothing else
    doc = json.loads((out / "manifest.json").read_text())
    assert [r["submission"] for r in doc["letters"]] == list(range(1, n + 1))
    assert (out / "manifest.csv").read_text().count("\n\n") == 0


def notification_log(store, ids):
    """How many times the audit log saw each submission's notification written."""
    with store.read() as conn:
        keys = conn.execute(sa.select(audit.c.entity_id).where(audit.c.entity == "notifications")).scalars()
        counts = {}
        for key in keys:
            sid = json.loads(key)["submission_id"]
            counts[sid] = counts.get(sid, 0) + 1
    return {sid: counts.get(sid, 0) for sid in ids}


def test_pdf_export_and_escaping_through_the_batch(store, workspace):
    sid = hostile_submission(store)
    passed = decide(store, "CCOM-10", {"PM1": 4}, first="Ana", last="Lima")
    batch = letters.run_batch(workspace, pdf=True, jobs=1, issue_date=ISSUED)
    assert batch.ok and batch.count("issued") == 2
    from pypdf import PdfReader
    by_sid = {r["submission"]: r for r in batch.rows}
    pdf = batch.out / by_sid[sid]["files"][2]["path"]
    assert pdf.suffix == ".pdf" and pdf.read_bytes().startswith(b"%PDF")
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages)
    for expected in ("<script>alert('x')</script>", "O'Brien & <b>Sons</b>", "Does not yet meet the standard",
                     "Fix <i>this</i> & <script>that</script>.", "How to resubmit", "Confidential",
                     "held in strict confidence", "September 24, 2026"):
        assert expected in text, expected
    assert "show_letter" not in text and "from evalkit" not in text
    html_page = (batch.out / by_sid[sid]["files"][1]["path"]).read_text()
    assert "<script>" not in html_page and "&lt;script&gt;" in html_page
    pass_text = " ".join(p.extract_text() for p in PdfReader(batch.out / by_sid[passed]["files"][2]["path"]).pages)
    assert "Meets the standard" in pass_text and "Ana Lima" in pass_text and "resubmit" not in pass_text
    assert not any(r["late"] for r in batch.rows)  # received September 1: due October 14


def test_a_failing_letter_is_reported_and_the_others_go_on(demo_copy, capsys):
    store = open_store(demo_copy)
    waiting = [r["id"] for r in workflow.due_report(store) if r["state"] == "decided"]
    broken = waiting[len(waiting) // 2]
    with store.transaction("test") as tx:  # bad data: a decision that lost its resolved scores
        tx.execute(sa.delete(resolved_scores).where(resolved_scores.c.submission_id == broken,
                                                    resolved_scores.c.criterion_id.in_(["PM1", "OM1"])))
    assert cli.main(["letters", "-w", str(demo_copy), "--jobs", "2"]) == 1
    err = capsys.readouterr().err
    # what the batch is doing is said before the workers' 10-20 s start-up, not after the first letter
    assert err.startswith(f"letters: {len(waiting)} letter(s) to issue; starting 2 worker(s), each with a kernel")
    assert f"submission {broken}: failed: WorkflowError: submission {broken}: the decision has no resolved " \
           "level for PM1, OM1" in err
    rows = {r["submission"]: r for r in json.loads((demo_copy / "letters" / "manifest.json").read_text())["letters"]}
    assert rows[broken]["status"] == "failed" and rows[broken]["files"] == []
    assert all(rows[s]["status"] == "issued" for s in waiting if s != broken)
    assert workflow.submission(store, broken)["state"] == "decided"  # not notified
    failed_nb = nbformat.read(next((demo_copy / "letters" / "failed").glob(f"{broken:05d}_*.ipynb")), 4)
    assert any(o.get("output_type") == "error" for c in failed_nb.cells for o in c.get("outputs", []))
    assert not list((demo_copy / "letters").glob(f"{broken:05d}_*"))
    store.dispose()


PROBE = '''\
import builtins, json, os, sys, threading, time
import evalkit.evaluation.workflow
from IPython import get_ipython

_ip = get_ipython()
_leaks = [name for name, leaked in [
    ("variable", "marker" in globals()),
    ("import", "leaky_module" in sys.modules),
    ("monkeypatch", hasattr(json, "leaked_by")),
    ("builtins", hasattr(builtins, "leaked_by")),
    ("event callback", any(getattr(f, "__name__", "") == "leaky_callback"
                           for f in _ip.events.callbacks["post_run_cell"])),
    ("display formatter", dict in _ip.display_formatter.formatters["text/html"].type_printers),
    ("environment", "EVALKIT_LEAK" in os.environ),
    ("working directory", os.getcwd() == "/"),
    ("evalkit state", hasattr(evalkit.evaluation.workflow, "leaked_by")),
] if leaked]
assert not _leaks, f"leaked from an earlier letter: {_leaks}"
marker = submission_id
action = ACTIONS.get(submission_id)
if action == "import":
    import leaky_module
elif action == "display":
    def leaky_callback(result):
        print("LEAKED OUTPUT")
    _ip.events.register("post_run_cell", leaky_callback)
    _ip.display_formatter.formatters["text/html"].for_type(dict, lambda d: "<b>LEAKED</b>")
elif action == "environment":
    os.environ["EVALKIT_LEAK"] = "1"
elif action == "cwd":
    os.chdir("/")
elif action == "evalkit":
    evalkit.evaluation.workflow.leaked_by = submission_id
elif action == "thread":
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
elif action == "die":
    os._exit(1)
'''


def test_nothing_leaks_from_one_letter_into_the_next_on_a_reused_kernel(demo_copy, tmp_path, monkeypatch):
    store = open_store(demo_copy)
    waiting = sorted(r["id"] for r in workflow.due_report(store) if r["state"] == "decided")
    actions = ["variable", "evalkit", "import", "display", "environment", "cwd", "thread", "die"]
    plan = dict(zip(waiting, actions))
    (tmp_path / "leaky_module.py").write_text("import builtins, json\njson.leaked_by = builtins.leaked_by = 1\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    template = nbformat.read(letters.TEMPLATE, as_version=4)
    probe = nbformat.v4.new_code_cell(f"ACTIONS = {plan!r}\n" + PROBE)
    template.cells.insert(2, probe)
    nbformat.write(template, tmp_path / "probe.ipynb")

    batch = letters.run_batch(demo_copy, jobs=1, template=tmp_path / "probe.ipynb")
    status = {r["submission"]: r for r in batch.rows}
    died = waiting[actions.index("die")]
    assert status[died]["status"] == "failed" and "DeadKernelError" in status[died]["error"]
    assert all(status[s]["status"] == "issued" for s in waiting if s != died), \
        {s: r["error"] for s, r in status.items() if r["error"]}
    (stats,) = batch.kernel_stats
    reasons = stats["retirements"]
    # what the letters changed was found, and their kernels replaced; the others kept theirs
    assert len(reasons) == 7 and stats["kernel_starts"] == 8 and stats["letters"] == len(waiting)
    for expected in ("globals of evalkit.evaluation.workflow", "imported leaky_module", "IPython events",
                     "display formatters", "environment", "working directory", "threads", "the kernel died"):
        assert any(expected in r for r in reasons), (expected, reasons)
    for sid in waiting:
        if sid != died:
            nb = nbformat.read(demo_copy / "letters" / f"{sid:05d}_{status[sid]['candidate_id']}.ipynb", 4)
            if sid > waiting[actions.index("display")]:
                assert "LEAKED" not in json.dumps([c.get("outputs") for c in nb.cells])
            # every letter's cells are numbered as on a new kernel (the parameters cell, whose defaults the
            # injected cell replaces, is not run)
            assert [c.execution_count for c in nb.cells if c.cell_type == "code"] == [None, 1, 2, 3]
    store.dispose()


EVALKIT_PROBE = '''\
import hashlib, json, sys
import evalkit.letters.content, evalkit.store, evalkit.templates


def _picture():
    # evalkit's state as this test sees it, independently of the engine's own check: every evalkit module's globals
    # (names and identities), what the containers among them hold, the attributes of evalkit's classes and the
    # number of entries of its lru caches
    out = {}
    for name in sorted(n for n in sys.modules if n == "evalkit" or n.startswith("evalkit.")):
        for key, value in sorted(vars(sys.modules[name]).items(), key=lambda kv: kv[0]):
            if key in ("__builtins__", "__warningregistry__"):
                continue
            held = id(value)
            if isinstance(value, dict):
                held = [held, sorted((str(k), id(v)) for k, v in value.items())]
            elif isinstance(value, (list, set)):
                held = [held, sorted(map(id, value))]
            elif isinstance(value, type) and value.__module__.startswith("evalkit"):
                held = [held, sorted((k, id(v)) for k, v in vars(value).items())]
            elif hasattr(value, "cache_info"):
                held = [held, value.cache_info().currsize]
            out[f"{name}.{key}"] = held
    return out


_seen = [name for name, seen in [
    ("a dict entry", "leaked_by" in evalkit.letters.content._HELPERS),
    ("a class attribute", hasattr(evalkit.store.Store, "leaked_by")),
    ("the kept store", any("leaked_by" in s.cache for s in evalkit.letters.content._kept_stores.values())),
] if seen]  # a cache entry left behind would change the picture
assert not _seen, f"leaked from an earlier letter: {_seen}"
print(hashlib.sha256(json.dumps(_picture()).encode()).hexdigest())
action = ACTIONS.get(submission_id)
if action == "dict":
    evalkit.letters.content._HELPERS["leaked_by"] = submission_id
elif action == "class":
    evalkit.store.Store.leaked_by = submission_id
elif action == "cache":
    evalkit.templates.environment(True, line_comment_prefix="## leaked")
elif action == "store":
    for _store in evalkit.letters.content._kept_stores.values():
        _store.cache["leaked_by"] = submission_id
del _picture, _seen
'''


def test_evalkit_stays_loaded_and_its_state_is_the_same_for_every_letter(demo_copy, tmp_path):
    # evalkit is kept loaded between letters (re-importing it for each one threw its caches away): its state at
    # the start of every letter on a kernel is the same, and a letter that changes it in place (a dict entry, a
    # class attribute, a cache entry, the kept store's cache) gets its kernel replaced before the next letter
    store = open_store(demo_copy)
    waiting = sorted(r["id"] for r in workflow.due_report(store) if r["state"] == "decided")
    actions = [None, None, "dict", None, "class", "cache", "store", None]
    plan = dict(zip(waiting, actions))
    template = nbformat.read(letters.TEMPLATE, as_version=4)
    template.cells.insert(2, nbformat.v4.new_code_cell(
        f"ACTIONS = {plan!r}\n" + EVALKIT_PROBE))
    nbformat.write(template, tmp_path / "probe.ipynb")

    batch = letters.run_batch(demo_copy, jobs=1, template=tmp_path / "probe.ipynb")
    status = {r["submission"]: r for r in batch.rows}
    assert all(status[s]["status"] == "issued" for s in waiting), {s: r["error"] for s, r in status.items()}
    (stats,) = batch.kernel_stats
    # each change is found in the module that holds it (and in those that import what was changed)
    reasons = stats["retirements"]
    assert len(reasons) == 4 and stats["kernel_starts"] == 5
    for reason, module in zip(reasons, ("evalkit.letters.content", "evalkit.store.database", "evalkit.templates",
                                        "evalkit.letters.content")):
        assert reason.startswith("the notebook changed the state of ") and module in reason, reasons
    # the picture each letter took of evalkit at its start is the same as the previous letter's on the same kernel
    pictures = []
    for sid in waiting:
        nb = nbformat.read(demo_copy / "letters" / f"{sid:05d}_{status[sid]['candidate_id']}.ipynb", 4)
        probe = next(c for c in nb.cells if "ACTIONS" in c.source)
        pictures.append("".join(o["text"] for o in probe.outputs if o.get("name") == "stdout").strip())
    same_kernel = [i for i in range(1, len(waiting)) if plan.get(waiting[i - 1]) is None]
    assert len(same_kernel) >= 3
    for i in same_kernel:
        assert pictures[i] == pictures[i - 1], (i, actions)
    store.dispose()


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_batch_killed_mid_way_and_run_again_issues_every_letter_exactly_once(demo_copy):
    store = open_store(demo_copy)
    waiting = sorted(r["id"] for r in workflow.due_report(store) if r["state"] == "decided")

    def issued():
        with store.read() as conn:
            return set(conn.execute(sa.select(notifications.c.submission_id)
                                    .where(notifications.c.submission_id.in_(waiting))).scalars())

    batch = subprocess.Popen([sys.executable, "-m", "evalkit.cli", "letters", "-w", str(demo_copy), "--jobs", "2"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(issued()) < 2 and batch.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    helpers = _descendants(batch.pid)
    batch.send_signal(signal.SIGKILL)
    batch.wait()
    before = issued()
    assert 2 <= len(before) < len(waiting), "the batch was not killed half-way"
    # the manifest the killed batch left is valid: JSON and CSV, a row (or the later of two) per letter it did
    out = demo_copy / "letters"
    left = json.loads((out / "manifest.json").read_text())["letters"]
    with open(out / "manifest.csv", newline="") as f:
        left_csv = [r for r in csv.DictReader(f) if r["submission"]]
    assert {r["submission"] for r in left} == {int(r["submission"]) for r in left_csv}
    deadline = time.monotonic() + 20  # its workers and kernels notice and exit
    while any(_alive(p) for p in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in helpers if _alive(p)], "processes of the killed batch are still running"

    again = letters.run_batch(demo_copy, jobs=2)
    assert again.ok and {r["submission"] for r in again.rows} == set(waiting) - before
    assert issued() == set(waiting)
    assert notification_log(store, waiting) == {sid: 1 for sid in waiting}
    out = demo_copy / "letters"
    rows = json.loads((out / "manifest.json").read_text())["letters"]
    assert sorted(r["submission"] for r in rows) == waiting
    records = notified(store)
    for row in rows:
        assert row["status"] == "issued" and row["files"]
        recorded = [(Path(f["path"]).name, f["sha256"]) for f in json.loads(records[row["submission"]]["files"])]
        assert recorded == [(f["path"], f["sha256"]) for f in row["files"]]
        for f in row["files"]:
            assert sha256(out / f["path"]) == f["sha256"]
    letters_on_disk = sorted(p.name for p in out.iterdir() if p.suffix in (".ipynb", ".html"))
    assert len(letters_on_disk) == 2 * len(waiting)  # one notebook and one page per letter, nothing else
    assert not [p for p in out.iterdir() if ".tmp" in p.name]
    store.dispose()


def test_admin_view_shows_pipeline_and_due_dates_previews_and_issues_letters(demo_copy):
    from evalkit.widgets.admin import AdminApp

    store = open_store(demo_copy)
    app = AdminApp(demo_copy, jobs=1)
    counts = workflow.pipeline_counts(store)
    for state in workflow.STATES:
        assert f">{state}<" in app.pipeline.value
    assert f'<td class="num">{sum(sum(v.values()) for v in counts.values())}</td></tr></table>' in app.pipeline.value
    due = [r for r in workflow.due_report(store) if r["late"] or r["due_this_week"]]
    assert app.due.value.count("<tr class=\"ek-late\">") == sum(r["late"] for r in due) > 0
    assert all(f"#{r['id']}<" in app.due.value for r in due)
    waiting = [r["id"] for r in workflow.due_report(store) if r["state"] == "decided"]
    assert [value for _, value in app.choice.options] == sorted(waiting)
    first = workflow.submission_record(store, app.choice.value)
    assert 'class="evalkit-letter"' in app.preview.value and first["last_name"] in app.preview.value

    by_program = {}
    for sid in waiting:
        by_program.setdefault(workflow.submission(store, sid)["program_id"], []).append(sid)
    program, chosen = min(by_program.items(), key=lambda kv: len(kv[1]))
    app.program.value, app.pdf.value = program, False
    app.run_button.click()
    assert "letter(s) issued" in app.result.value and "ek-msg-ok" in app.result.value
    assert app.progress.value == app.progress.max == len(chosen)
    assert all(workflow.submission(store, sid)["state"] == "notified" for sid in chosen)
    assert app.run_button.description == f"Issue {len(waiting) - len(chosen)} letter(s)"
    app.close()
    store.dispose()


def test_admin_view_lists_candidates_by_certification_status(demo_workspace):
    from evalkit.certification import standings
    from evalkit.widgets.admin import AdminApp

    app = AdminApp(demo_workspace, jobs=1)
    try:
        assert app.status_filter.label == "every status"  # the prompt, not an empty box
        everyone = standings(app.store)
        assert app.candidates.value.count("<tr class=\"ek-cert-") == len(everyone) > 0
        app.status_filter.value = "recertification due"
        due = [s for s in everyone if s.status.state == "recertification due"]
        assert app.candidates.value.count("<tr class=\"ek-cert-") == len(due) > 0
        assert all(s.candidate in app.candidates.value for s in due)
        assert "ek-cert-certified" not in app.candidates.value
    finally:
        app.close()
