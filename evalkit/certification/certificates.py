"""Certificates: the decision to certify, the certificate issued, and what happens to it afterwards
(ISO/IEC 17024: decision on certification, certificates, suspension and withdrawal, recertification).

One certificate per candidate and program, with a number (``CIAC-CCMA-2026-000001``: certifying body, program,
year certified, the program's sequence) and a verification code (ten characters of :data:`CODE_ALPHABET`, which
leaves out 0/O and 1/I/L) that both stay the same for the certificate's life: reissued, suspended, reinstated,
recertified. Every change is a row of ``certificate_events`` (who, when, why, the file issued and its SHA-256) on
top of the audit log.

* :func:`decide_and_issue` decides and issues: the candidate's status in the program must hold the designation
  (certified, or recertification due), and the deciding admin must not have rated or adjudicated the candidate's
  work product in that program.
* :func:`reissue` writes a new PDF of the same certificate (a lost copy, a corrected name), with a reason; not
  while it is suspended.
* :func:`suspend`, :func:`reinstate`, :func:`withdraw` change its status, with a reason. Withdrawal is final: a
  withdrawn certificate is never reinstated, reissued or recertified.
* :func:`recertify` extends an active certificate by the program's ``recertification_years`` counted from its
  previous expiry (29 February becomes 28 February), and only inside the recertification window: from
  ``recertification_notice_days`` before the expiry up to the expiry itself. There is no grace period: once
  expired, a certificate cannot be recertified: the candidate must certify again.
* :func:`verify` answers what a verifier may know from a code: valid, expired, suspended, withdrawn or unknown,
  with the holder's name, the designation, the number and the expiry, nothing else about the person.

Every date (of the decision, of an event) defaults to today and may not lie in the future.

The certificate's PDF is ``certificate.html.j2`` in the certifying body's style, rendered by WeasyPrint with a QR
code (segno, an inline SVG) of the verification URL ``<register_url>/verify/<CODE>.html``; the workspace setting
``register_url`` gives the published register's address (default :data:`DEFAULT_REGISTER_URL`).
"""
from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import markupsafe
import sqlalchemy as sa

from ..calendar import as_date, long_date
from ..delivery.outbox import enqueue
from ..evaluation import workflow
from ..instruments.programs import Program, add_years
from ..messages import checked_reason, show
from ..outputs import output_folder, write_private
from ..store import Store, StoreConflict, assignments, candidates, certificate_events
from ..store import certificates as certificates_table
from ..store import raters, submissions, utcnow
from ..templates import environment
from .results import ResultError, candidate_status

__all__ = ["CODE_ALPHABET", "CODE_LENGTH", "STATES", "DEFAULT_REGISTER_URL", "decide_and_issue", "reissue", "suspend",
           "reinstate", "withdraw", "recertify", "verify", "certificates", "certificate", "history", "new_code",
           "normal_code", "register_url", "verification_url", "certificate_content", "render_certificate_html",
           "certificate_pdf", "long_date", "mark_reminded"]

#: The characters of a verification code: digits and capitals without 0/O and 1/I/L, which people misread.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
#: What :func:`verify` says of a code.
STATES = ("valid", "expired", "suspended", "withdrawn", "unknown")
#: The published register's address when the workspace sets no ``register_url``.
DEFAULT_REGISTER_URL = "https://register.example.org"
_RETRIES = 5  # attempts at a new certificate when another is saved with the same number at the same moment
_REASON_CHARS = 2000


def new_code() -> str:
    """A fresh verification code: :data:`CODE_LENGTH` characters of :data:`CODE_ALPHABET`, from ``secrets``.

    Examples
    --------
    >>> code = new_code()
    >>> len(code), set(code) <= set(CODE_ALPHABET), any(c in code for c in "0O1IL")
    (10, True, False)
    """
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normal_code(text) -> str:
    """A code as typed, in the form it is stored: capitals, without spaces and hyphens.

    Examples
    --------
    >>> normal_code(" abcde-fghjk ")
    'ABCDEFGHJK'
    """
    return "".join(str(text).split()).replace("-", "").upper()


def register_url(store: Store) -> str:
    """The published register's address: the workspace setting ``register_url``, else
    :data:`DEFAULT_REGISTER_URL`; without a trailing slash."""
    base = store.get_setting("register_url", DEFAULT_REGISTER_URL)
    if not isinstance(base, str) or not base.strip().startswith(("https://", "http://")) or len(base.split()) != 1:
        raise ResultError(f"workspace setting register_url is {show(base)}; expected the register's address, "
                          "such as https://register.example.org")
    return base.strip().rstrip("/")


def verification_url(store: Store, code: str) -> str:
    """The address of a code's verification page in the published register (:mod:`.register` writes it)."""
    return f"{register_url(store)}/verify/{code}.html"


# --- reading ---------------------------------------------------------------------------------------------------


def _state(row, today: dt.date) -> str:
    if row["status"] in ("withdrawn", "suspended"):
        return row["status"]
    return "expired" if as_date(row["valid_until"]) < today else "valid"


def _listing_query():
    return (sa.select(certificates_table, candidates.c.external_id.label("candidate"), candidates.c.first_name,
                      candidates.c.last_name)
            .join(candidates, candidates.c.id == certificates_table.c.candidate_id))


def _find(conn, number_or_code) -> dict:
    key = str(number_or_code).strip()
    row = conn.execute(_listing_query().where(sa.or_(certificates_table.c.number == key,
                                                     certificates_table.c.code == normal_code(key)))
                       ).mappings().first()
    if row is None:
        raise ResultError(f"no certificate has the number or code {show(key)}")
    return dict(row)


def _described(store: Store, row: dict, today: dt.date) -> dict:
    program = workflow.program(store, row["program_id"])
    return {**row, "name": f"{row['first_name']} {row['last_name']}", "designation": program.name,
            "body": _body_name(program), "state": _state(row, today)}


def _body_name(program: Program) -> str:
    return program.certifying_body.name if program.certifying_body else program.body


def certificate(store: Store, number_or_code, today: dt.date | None = None) -> dict:
    """One certificate by its number or code: its columns, the holder (``candidate``, ``first_name``,
    ``last_name``, ``name``), ``designation``, certifying ``body`` and ``state`` (valid, expired, suspended,
    withdrawn) as of ``today``."""
    with store.read() as conn:
        row = _find(conn, number_or_code)
    return _described(store, row, today or dt.date.today())


def certificates(store: Store, program: str | None = None, state: str | None = None,
                 today: dt.date | None = None) -> list[dict]:
    """Every certificate (of ``program``; in ``state`` as of ``today``), by number, as :func:`certificate` gives
    them."""
    if state is not None and state not in STATES[:-1]:
        raise ResultError(f"state {show(state)}: expected one of {', '.join(STATES[:-1])}")
    query = _listing_query().order_by(certificates_table.c.number)
    if program is not None:
        workflow.program(store, program)  # an unknown program is an error, not an empty list
        query = query.where(certificates_table.c.program_id == program)
    with store.read() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    found = [_described(store, r, today or dt.date.today()) for r in rows]
    return [c for c in found if state is None or c["state"] == state]


def history(store: Store, number_or_code) -> list[dict]:
    """What happened to a certificate, oldest first: the rows of ``certificate_events``."""
    with store.read() as conn:
        cid = _find(conn, number_or_code)["id"]
        return [dict(r) for r in conn.execute(sa.select(certificate_events)
                                              .where(certificate_events.c.certificate_id == cid)
                                              .order_by(certificate_events.c.id)).mappings()]


def verify(store: Store, code, today: dt.date | None = None) -> dict:
    """What the register says of a verification code as of ``today``: ``state`` (one of :data:`STATES`), and for a
    known code the holder's ``name``, the ``designation``, its certifying ``body``, the ``number`` and
    ``valid_until``; nothing else about the person.

    Examples
    --------
    >>> import tempfile
    >>> from evalkit.demo import init_workspace
    >>> store = init_workspace(tempfile.mkdtemp() + "/ws")
    >>> verify(store, "ABCDE-FGHJK")
    {'state': 'unknown', 'code': 'ABCDEFGHJK', 'name': None, 'designation': None, 'body': None, 'number': None,
     'valid_until': None}
    """
    code = normal_code(code)
    with store.read() as conn:
        row = conn.execute(_listing_query().where(certificates_table.c.code == code)).mappings().first()
    if row is None:
        return {"state": "unknown", "code": code, "name": None, "designation": None, "body": None, "number": None,
                "valid_until": None}
    program = workflow.program(store, row["program_id"])
    return {"state": _state(row, today or dt.date.today()), "code": code,
            "name": f"{row['first_name']} {row['last_name']}", "designation": program.name,
            "body": _body_name(program),
            "number": row["number"], "valid_until": as_date(row["valid_until"])}


# --- the certificate's PDF -------------------------------------------------------------------------------------


def _body(program: Program):
    if program.certifying_body is None:
        raise ResultError(f"program {program.id} has no certifying body in programs.yaml (bodies); a certificate "
                          "names its body and signatory")
    return program.certifying_body


def _qr_svg(url: str) -> markupsafe.Markup:
    import segno

    # segno draws the modules only (no text of the URL in the SVG): safe to place in the page as it is.
    return markupsafe.Markup(segno.make(url, error="m").svg_inline(scale=3, border=2, title=None))


def _content(store: Store, row: dict, copy_issued_on: dt.date | None = None) -> dict:
    program = workflow.program(store, row["program_id"])
    body = _body(program)
    url = verification_url(store, row["code"])
    return {"body": {"id": body.id, "name": body.name, "letterhead": list(body.letterhead), "contact": body.contact,
                     "signatory": {"name": body.signatory_name, "title": body.signatory_title}},
            "holder": f"{row['first_name']} {row['last_name']}",
            "designation": {"id": program.id, "name": program.name}, "number": row["number"], "code": row["code"],
            "certified_on": as_date(row["certified_on"]), "issued_on": as_date(row["issued_on"]),
            "valid_until": as_date(row["valid_until"]), "copy_issued_on": copy_issued_on,
            "url": url, "qr_svg": _qr_svg(url)}


def certificate_content(store: Store, number_or_code, copy_issued_on: dt.date | None = None) -> dict:
    """What a certificate's PDF shows: the body (name, letterhead, signatory), the holder's full name, the
    designation, number, dates (``copy_issued_on``: the day of a reissued copy), verification code and URL, and
    the QR code of the URL (an inline SVG)."""
    with store.read() as conn:
        row = _find(conn, number_or_code)
    return _content(store, row, copy_issued_on)


def render_certificate_html(content: dict) -> str:
    """The certificate as a standalone HTML page (``certificate.html.j2``; every text escaped).

    Examples
    --------
    >>> content = {"body": {"id": "B", "name": "Body <&>", "letterhead": ["Body <&>", "Office"], "contact": "c",
    ...            "signatory": {"name": "Director", "title": "Office"}}, "holder": "<script>x</script>",
    ...            "designation": {"id": "P", "name": "Certified P"}, "number": "B-P-2026-000001",
    ...            "code": "ABCDEFGHJK", "certified_on": dt.date(2026, 3, 2), "issued_on": dt.date(2026, 3, 9),
    ...            "valid_until": dt.date(2029, 3, 2), "copy_issued_on": None,
    ...            "url": "https://r.example/verify/ABCDEFGHJK.html", "qr_svg": _qr_svg("https://r.example")}
    >>> page = render_certificate_html(content)
    >>> "&lt;script&gt;x&lt;/script&gt;" in page, "<script>" in page, "<svg" in page
    (True, False, True)
    """
    template = environment(True).get_template("certificate.html.j2", globals={"long_date": long_date})
    return template.render(c=content)


def _no_fetch(url, *args, **kwargs):
    raise ValueError(f"certificates load nothing from elsewhere (refused {url[:80]})")


def certificate_pdf(page_html: str) -> bytes:
    """The certificate page as PDF (WeasyPrint; any URL in the page is refused rather than fetched)."""
    import weasyprint

    return weasyprint.HTML(string=page_html, url_fetcher=_no_fetch).write_pdf()


def _write_pdf(tx, store: Store, folder: Path, certificate_id: int,
               copy_issued_on: dt.date | None = None) -> tuple[Path, str]:
    """Render the certificate as the transaction ``tx`` sees it to ``<number>.pdf`` in ``folder`` and queue it by
    e-mail to the holder where their address is known (in ``tx``: the copy and its message are recorded together);
    returns the file and its SHA-256."""
    row = dict(tx.execute(_listing_query().where(certificates_table.c.id == certificate_id)).mappings().one())
    path = folder / f"{row['number']}.pdf"
    content = _content(store, row, copy_issued_on)
    digest = write_private(path, certificate_pdf(render_certificate_html(content)))
    email = tx.execute(sa.select(candidates.c.email).where(candidates.c.id == row["candidate_id"])).scalar()
    if email:
        enqueue(tx, "certificate", email, f"{_body_name(workflow.program(store, row['program_id']))}: your "
                f"certificate {row['number']}",
                f"Dear {row['first_name']} {row['last_name']},\n\nPlease find attached your certificate "
                f"{row['number']}, valid until {row['valid_until']}. Anyone may verify it at "
                f"{verification_url(store, row['code'])}\n", [path], ref=f"certificate:{row['number']}")
    return path.resolve(), digest


# --- changes -----------------------------------------------------------------------------------------------------


def _day(value, what: str) -> dt.date:
    day = as_date(value if value is not None else dt.date.today(), what, ResultError)
    if day > dt.date.today():
        raise ResultError(f"{what} {day} is in the future")
    return day


def _reason(reason, what: str, required: bool = True) -> str | None:
    return checked_reason(reason, f"the reason to {what}", ResultError, _REASON_CHARS, required=required,
                          empty=f"a reason is required to {what}")


def _event(tx, cert: dict, event: str, on: dt.date, reason: str | None = None, valid_until: dt.date | None = None,
           file: Path | None = None, sha256: str | None = None) -> dict:
    return tx.insert(certificate_events, {
        "certificate_id": cert["id"], "event": event, "on_date": on, "by": tx.actor, "reason": reason,
        "valid_until": valid_until, "file": str(file) if file else None, "sha256": sha256, "at": utcnow()},
        action=event)


def _evaluators(conn, candidate_id: int, program_id: str) -> dict[str, set[str]]:
    """{rater username: {"rater", "adjudicator"}}: who scored the candidate's work products in the program."""
    rows = conn.execute(sa.select(raters.c.username, assignments.c.role)
                        .join(assignments, assignments.c.rater_id == raters.c.id)
                        .join(submissions, submissions.c.id == assignments.c.submission_id)
                        .where(submissions.c.candidate_id == candidate_id, submissions.c.program_id == program_id))
    found: dict[str, set[str]] = {}
    for username, role in rows:
        found.setdefault(username, set()).add(role)
    return found


def _next_number(conn, body_id: str, program_id: str, year: int) -> str:
    """The program's next number: the sequence runs on across years (``...-2026-000007`` after ``...-2025-000006``)."""
    numbers = conn.execute(sa.select(certificates_table.c.number)
                           .where(certificates_table.c.program_id == program_id)).scalars()
    last = max((int(n.rsplit("-", 1)[1]) for n in numbers if n.rsplit("-", 1)[-1].isdigit()), default=0)
    return f"{body_id}-{program_id}-{year}-{last + 1:06d}"


def decide_and_issue(store: Store, candidate: str, program_id: str, out_dir, on=None, actor: str = "admin") -> dict:
    """Decide that the candidate is certified in the program and issue the certificate; returns it (the stored
    columns) with ``file`` (the PDF, ``<number>.pdf`` in ``out_dir``) and its ``sha256``.

    Refused, in one line, when the candidate's status on ``on`` (default: today) does not hold the designation,
    when ``actor`` rated or adjudicated the candidate's work product in the program (the decision is taken by
    someone not involved in the evaluation), and when the candidate already has a certificate for the program
    (:func:`reissue` gives a new copy).

    Examples
    --------
    >>> import datetime as dt, tempfile
    >>> from evalkit.demo import init_workspace
    >>> from evalkit.certification import record_result
    >>> store = init_workspace(tempfile.mkdtemp() + "/ws")
    >>> _ = workflow.add_candidate(store, "C-1", "Ann", "Lee")
    >>> for i in range(1, 5):
    ...     _ = record_result(store, "C-1", "CCMA", f"knowledge_{i}", 80, 100, dt.date(2025, 3, i))
    >>> issued = decide_and_issue(store, "C-1", "CCMA", tempfile.mkdtemp(), on=dt.date(2025, 4, 1))
    >>> issued["number"], issued["valid_until"], Path(issued["file"]).name
    ('CIAC-CCMA-2025-000001', datetime.date(2028, 3, 4), 'CIAC-CCMA-2025-000001.pdf')
    >>> verify(store, issued["code"], today=dt.date(2026, 1, 1))["state"]
    'valid'
    """
    on = _day(on, "issue date")
    standing = candidate_status(store, candidate, program_id, on)
    status = standing.status
    if not status.holds:
        raise ResultError(f"candidate {candidate} is not certified in {program_id} on {on} (status: {status.state}: "
                          f"{status.detail})")
    body = _body(standing.program)
    with store.read() as conn:
        involved = _evaluators(conn, workflow.candidate_id(conn, candidate), program_id).get(actor)
    if involved:
        did = " and ".join(word for role, word in (("rater", "rated"), ("adjudicator", "adjudicated"))
                           if role in involved)
        raise ResultError(f"{actor} {did} candidate {candidate}'s {program_id} work product and so cannot decide "
                          "their certification; someone not involved in the evaluation must decide")
    folder = output_folder(out_dir, "certificate")
    for attempt in range(_RETRIES):
        try:
            with store.transaction(actor) as tx:
                cid = workflow.candidate_id(tx.conn, candidate)
                existing = tx.execute(sa.select(certificates_table).where(
                    certificates_table.c.candidate_id == cid, certificates_table.c.program_id == program_id)
                ).mappings().first()
                if existing is not None:
                    raise ResultError(
                        f"candidate {candidate} already has certificate {existing['number']} in {program_id} (issued "
                        f"{existing['issued_on']}, now {_state(existing, on)}); one certificate per candidate and "
                        "program: reissue it for a new copy")
                row = tx.insert(certificates_table, {
                    "number": _next_number(tx.conn, body.id, program_id, status.since.year), "code": new_code(),
                    "candidate_id": cid, "program_id": program_id, "certified_on": status.since,
                    "valid_until": status.until, "status": "active", "decided_by": tx.actor, "issued_on": on,
                    "created_at": utcnow()}, action="issue")
                path, digest = _write_pdf(tx, store, folder, row["id"])
                _event(tx, row, "issue", on, None, row["valid_until"], path, digest)
            return {**row, "file": str(path), "sha256": digest}
        except StoreConflict:  # another certificate took the number (or this one was issued) meanwhile: look again
            if attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _locked(tx, number_or_code) -> dict:
    row = _find(tx.conn, number_or_code)
    if tx.conn.dialect.name == "postgresql":  # two admins changing one certificate at once: the second waits
        tx.execute(sa.select(certificates_table.c.id).where(certificates_table.c.id == row["id"]).with_for_update())
        row = _find(tx.conn, number_or_code)
    return row


def reissue(store: Store, number_or_code, out_dir, reason: str, actor: str = "admin", on=None) -> dict:
    """Write a new PDF of the certificate (same number and code, its present dates) to ``out_dir``, for a reason
    (a lost copy, a corrected name); returns the certificate with ``file`` and ``sha256``. Refused for a withdrawn
    or suspended certificate."""
    on = _day(on, "reissue date")
    folder = output_folder(out_dir, "certificate")
    with store.transaction(actor) as tx:
        row = _locked(tx, number_or_code)
        reason = _reason(reason, f"reissue certificate {row['number']}")
        if row["status"] != "active":
            advice = "" if row["status"] == "withdrawn" else "; reinstate it first"
            raise ResultError(f"certificate {row['number']} is {row['status']}; it cannot be reissued{advice}")
        path, digest = _write_pdf(tx, store, folder, row["id"], copy_issued_on=on)
        _event(tx, row, "reissue", on, reason, as_date(row["valid_until"]), path, digest)
    return {**_plain(row), "file": str(path), "sha256": digest}


def _plain(row: dict) -> dict:
    return {c.name: row[c.name] for c in certificates_table.c}


def _set_status(store: Store, number_or_code, event: str, reason, actor: str, on) -> dict:
    on = _day(on, f"{event} date")
    with store.transaction(actor) as tx:
        row = _locked(tx, number_or_code)
        number, status = row["number"], row["status"]
        reason = _reason(reason, f"{event} certificate {number}")
        if status == "withdrawn":
            done = {"suspend": "suspended", "reinstate": "reinstated", "withdraw": "withdrawn"}[event]
            raise ResultError(f"certificate {number} was withdrawn; a withdrawn certificate cannot be {done}")
        if event == "suspend" and status == "suspended":
            raise ResultError(f"certificate {number} is already suspended")
        if event == "reinstate" and status != "suspended":
            raise ResultError(f"certificate {number} is {status}, not suspended; only a suspended certificate is "
                              "reinstated")
        new = {"suspend": "suspended", "reinstate": "active", "withdraw": "withdrawn"}[event]
        after = tx.update(certificates_table, {"id": row["id"]}, {"status": new}, action=event)
        _event(tx, row, event, on, reason, as_date(row["valid_until"]))
    return _plain(after)


def suspend(store: Store, number_or_code, reason: str, actor: str = "admin", on=None) -> dict:
    """Suspend the certificate (the holder may not claim the designation meanwhile), for a reason; returns it.
    Refused for a suspended or withdrawn certificate."""
    return _set_status(store, number_or_code, "suspend", reason, actor, on)


def reinstate(store: Store, number_or_code, reason: str, actor: str = "admin", on=None) -> dict:
    """Lift a suspension, for a reason; returns the certificate. Only a suspended certificate is reinstated."""
    return _set_status(store, number_or_code, "reinstate", reason, actor, on)


def withdraw(store: Store, number_or_code, reason: str, actor: str = "admin", on=None) -> dict:
    """Withdraw the certificate for good, for a reason; returns it. A withdrawn certificate is never reinstated,
    reissued or recertified."""
    return _set_status(store, number_or_code, "withdraw", reason, actor, on)


def recertify(store: Store, number_or_code, on=None, actor: str = "admin", reason: str | None = None,
              out_dir=None) -> dict:
    """Recertify: the certificate's ``valid_until`` moves on by the program's ``recertification_years`` from its
    previous expiry (not from ``on``; 29 February becomes 28 February); returns the certificate, with ``file`` and
    ``sha256`` when ``out_dir`` asks for its new PDF.

    Allowed only inside the recertification window: from the program's ``recertification_notice_days`` before the
    expiry up to the expiry day itself. There is no grace period: an expired certificate is refused (the candidate
    certifies again). Refused for a suspended or withdrawn certificate.

    Examples
    --------
    >>> import datetime as dt, tempfile
    >>> from evalkit.demo import init_workspace
    >>> from evalkit.certification import record_result
    >>> store = init_workspace(tempfile.mkdtemp() + "/ws")
    >>> _ = workflow.add_candidate(store, "C-1", "Ann", "Lee")
    >>> for i in range(1, 5):
    ...     _ = record_result(store, "C-1", "CCMA", f"knowledge_{i}", 80, 100, dt.date(2023, 1, 9 + i))
    >>> issued = decide_and_issue(store, "C-1", "CCMA", tempfile.mkdtemp(), on=dt.date(2023, 2, 1))
    >>> issued["valid_until"]
    datetime.date(2026, 1, 13)
    >>> recertify(store, issued["number"], on=dt.date(2025, 12, 1))["valid_until"]
    datetime.date(2029, 1, 13)
    """
    on = _day(on, "recertification date")
    folder = output_folder(out_dir, "certificate") if out_dir is not None else None
    with store.transaction(actor) as tx:
        row = _locked(tx, number_or_code)
        number, until = row["number"], as_date(row["valid_until"])
        reason = _reason(reason, f"recertify certificate {number}", required=False)
        if row["status"] != "active":
            raise ResultError(f"certificate {number} is {row['status']}; it cannot be recertified")
        program = workflow.program(store, row["program_id"])
        opens = until - dt.timedelta(days=program.recertification_notice_days)
        if on > until:
            raise ResultError(f"certificate {number} expired on {until}; an expired certificate cannot be recertified: "
                              "the candidate must certify again")
        if on < opens:
            raise ResultError(f"certificate {number} is not due for recertification on {on}: the window opens {opens} "
                              f"({program.recertification_notice_days} days before it expires on {until})")
        new_until = add_years(until, program.recertification_years)
        after = tx.update(certificates_table, {"id": row["id"]}, {"valid_until": new_until}, action="recertify")
        path = digest = None
        if folder is not None:
            path, digest = _write_pdf(tx, store, folder, row["id"], copy_issued_on=on)
        _event(tx, row, "recertify", on, reason, new_until, path, digest)
    found = _plain(after)
    return {**found, "file": str(path), "sha256": digest} if path else found


def mark_reminded(tx, number_or_code, on: dt.date, file: Path, sha256: str) -> dict:
    """Record, inside the caller's transaction, that the recertification reminder for the certificate's present
    expiry date went out on ``on`` (the letter ``file`` and its SHA-256): it is not reminded again for that date."""
    cert = _locked(tx, number_or_code)
    return _event(tx, cert, "remind", on, valid_until=cert["valid_until"], file=file, sha256=sha256)
