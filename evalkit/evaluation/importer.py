"""Import submissions from a CSV file: every row or none.

Columns (header row required; extra columns are refused so a misspelt one is not silently ignored):
``candidate_id, first_name, last_name, email, program, received_on, manager_signoff, document,
previous_submission, eligibility_override``.
A candidate not yet registered is registered from the row; for one already registered, names given in the row
must match the registered ones (a mistyped id is refused, not filed under someone else). ``manager_signoff`` is
yes/no (true/false, 1/0). ``previous_submission`` (optional) is the id of the deficient submission a row corrects;
``eligibility_override`` (optional) is the admin's reason to admit a candidate the program's eligibility rule set
does not (see :mod:`evalkit.evaluation.admission`).
"""
from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import sqlalchemy as sa

from ..messages import one_line
from ..store import Store, candidates, submissions, utcnow
from . import admission, workflow

__all__ = ["COLUMNS", "REQUIRED", "read_table", "import_submissions"]

COLUMNS = ("candidate_id", "first_name", "last_name", "email", "program", "received_on", "manager_signoff",
           "document", "previous_submission", "eligibility_override")
REQUIRED = ("candidate_id", "program", "received_on", "manager_signoff")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}


def _flag(value: str) -> bool:
    v = (value or "").strip().lower()
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise workflow.WorkflowError(f"manager_signoff {value!r} is not yes or no")


def _check_same_person(candidate_id: str, registered: tuple[str, str], given: tuple) -> None:
    """A known candidate id with another name in the row is most likely a mistyped id: it would file this work
    product, and its result letter, under someone else. Names left blank are not compared."""
    def norm(name) -> str:
        return " ".join((name or "").split()).casefold()
    if any(norm(g) and norm(g) != norm(r) for g, r in zip(given, registered)):
        raise workflow.WorkflowError(f"candidate {candidate_id} is registered as {' '.join(registered)}, not "
                                     f"{' '.join(' '.join(g.split()) for g in given if norm(g))}")


def read_table(path, columns: tuple[str, ...], required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """The data rows of a CSV file with a header: ``(line, {column: text})`` for each row, blank rows skipped.

    Parsed by the csv module on the file, so a line break, form feed, U+2028 or NEL inside a quoted field stays in
    the field; a row is named by the physical line it starts on. The header must name each of ``required`` and
    nothing outside ``columns``, each once. Any problem raises :class:`~evalkit.evaluation.workflow.WorkflowError`
    naming the file and line.
    """
    path = Path(path)
    try:
        # newline="": the csv module itself decides where a record ends, so a line break, form feed, U+2028 or
        # NEL inside a quoted field stays in the field instead of splitting the row.
        fh = open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise workflow.WorkflowError(f"{path}: file not found") from None
    except OSError as exc:  # a folder, no permission
        raise workflow.WorkflowError(f"{path}: cannot be read: {exc.strerror}") from None
    records: list[tuple[int, list[str]]] = []  # (the physical line a record starts on, its fields)
    with fh:
        reader = csv.reader(fh)
        try:
            start = 1
            for values in reader:
                if any(v.strip() for v in values):
                    records.append((start, values))
                start = reader.line_num + 1
        except UnicodeDecodeError:
            raise workflow.WorkflowError(f"{path}: not UTF-8 text; save the CSV as UTF-8") from None
        except csv.Error as exc:  # e.g. a field over the csv module's 131,072 characters
            raise workflow.WorkflowError(f"{path}:{reader.line_num}: {exc}; nothing was imported") from None
        except OSError as exc:
            raise workflow.WorkflowError(f"{path}: cannot be read: {exc.strerror}") from None
    header = [c.strip() for c in records[0][1]] if records else []
    unknown = [c for c in header if c not in columns]
    missing = [c for c in required if c not in header] if header else []
    twice = sorted({c for c in header if header.count(c) > 1})
    if not header or unknown or missing or twice:
        problems = ([f"has unknown column(s) {', '.join(one_line(c, 60) for c in unknown)}"] if unknown else []) + \
                   ([f"lacks {', '.join(missing)}"] if missing else []) + \
                   ([f"repeats {', '.join(twice)}"] if twice else []) + ([] if header else ["is empty"])
        raise workflow.WorkflowError(f"{path}:1: header {'; '.join(problems)}; expected columns "
                                     f"{', '.join(columns)}, each once")
    rows = []
    for line, values in records[1:]:
        if len(values) > len(header):
            raise workflow.WorkflowError(f"{path}:{line}: more fields than the header's {len(header)}; nothing was "
                                         "imported")
        rows.append((line, dict(zip(header, values))))
    return rows


def import_submissions(store: Store, path, actor: str = "admin") -> list[int]:
    """Register every row's submission in one transaction; returns the new submission ids.

    A bad row raises :class:`~evalkit.evaluation.workflow.WorkflowError` naming the file and line, and nothing is
    imported.
    """
    path = Path(path)
    records = read_table(path, COLUMNS, REQUIRED)
    # Each row on its own first, with no lock held: a 40,000-row file is parsed and checked while everyone else
    # goes on working; the write transaction below then only looks up and inserts, in a few set-wise statements.
    staged = []  # (where, candidate id, row, submission values)
    seen: set[tuple[str, str]] = set()
    for line, row in records:
        where = f"{path}:{line}"
        with _at(where):
            cand = workflow.candidate_external_id(row.get("candidate_id"))
            prog = (row.get("program") or "").strip()
            if (cand, prog) in seen:
                raise workflow.WorkflowError(f"candidate {cand} appears twice for {prog} in this file")
            seen.add((cand, prog))
            sub = workflow.receipt(store, prog, row.get("received_on"), _flag(row.get("manager_signoff")),
                                   (row.get("document") or "").strip() or None)
            sub["previous_id"] = _previous(row.get("previous_submission"))
            sub["override"] = admission.override_reason(row.get("eligibility_override") or None)
            staged.append((where, cand, row, sub))
    with store.transaction(actor) as tx:
        known = _registered(tx.conn, {cand for _, cand, _, _ in staged})
        taken = _submitted(tx.conn, [k["id"] for k in known.values()])
        new: dict[str, dict] = {}
        for where, cand, row, sub in staged:
            with _at(where):
                if cand in known:
                    _check_same_person(cand, (known[cand]["first_name"], known[cand]["last_name"]),
                                       (row.get("first_name"), row.get("last_name")))
                    if (known[cand]["id"], sub["program_id"]) in taken and sub["previous_id"] is None:
                        raise workflow.WorkflowError(f"candidate {cand} already has a {sub['program_id']} submission; "
                                                     "a corrected work product is a resubmission")
                elif cand not in new:
                    new[cand] = workflow.candidate_values(cand, row.get("first_name"), row.get("last_name"),
                                                          row.get("email"))
        ids = {cand: k["id"] for cand, k in known.items()}
        ids.update((r["external_id"], r["id"]) for r in tx.insert_many(candidates, list(new.values())))
        now = utcnow()
        first, made = [], {}
        for where, cand, row, sub in staged:
            override, previous = sub.pop("override"), sub["previous_id"]
            with _at(where):
                if previous is not None:  # a resubmission: checked and numbered as one received on its own
                    made[where] = workflow._receive(store, tx, cand, sub["program_id"], sub["received_on"],
                                                    sub["manager_signoff"], sub["document"], previous_id=previous)
                    continue
                if not sub["is_benchmark"]:
                    sub.update(admission.admit(tx, workflow.program(store, sub["program_id"]), ids[cand], cand,
                                               sub["received_on"], override))
            first.append((where, {**sub, "candidate_id": ids[cand], "attempt": 1, "created_at": now}))
        rows = tx.insert_many(submissions, [values for _, values in first], action="receive")
        workflow.keep_documents(tx, store, rows)
        made.update((where, r["id"]) for (where, _), r in zip(first, rows))
    return [made[where] for where, _, _, _ in staged]


def _previous(value) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 2**63):
        raise workflow.WorkflowError(f"previous_submission {text!r}: expected the id of a deficient submission")
    return int(text)


@contextlib.contextmanager
def _at(where: str):
    """A refusal names the file and line, and says that nothing was imported."""
    try:
        yield
    except workflow.WorkflowError as exc:
        raise workflow.WorkflowError(f"{where}: {exc}; nothing was imported") from None


def _chunks(items: list, size: int = 900):
    """Pieces small enough for SQLite's limit on the parameters of one statement."""
    return (items[i:i + size] for i in range(0, len(items), size))


def _registered(conn, external_ids: set[str]) -> dict[str, dict]:
    """The registered candidates among these ids: id and names by external id."""
    found = {}
    for part in _chunks(sorted(external_ids)):
        for r in conn.execute(sa.select(candidates.c.id, candidates.c.external_id, candidates.c.first_name,
                                        candidates.c.last_name).where(candidates.c.external_id.in_(part))).mappings():
            found[r["external_id"]] = dict(r)
    return found


def _submitted(conn, candidate_ids: list[int]) -> set[tuple[int, str]]:
    """(candidate, program) pairs that already have a submission."""
    taken = set()
    for part in _chunks(candidate_ids):
        query = sa.select(submissions.c.candidate_id, submissions.c.program_id).where(
            submissions.c.candidate_id.in_(part))
        taken.update((r.candidate_id, r.program_id) for r in conn.execute(query))
    return taken
