"""Sending the outbox by SMTP: :func:`send_pending` (``evalkit outbox send``).

One run at a time per database (``store.exclusive("outbox")``; a second is refused at once). The run takes the
messages that are ``pending`` when it starts, oldest first, and sends them over one SMTP connection kept open
between messages. For each message:

1. its attachments are read and re-hashed (:func:`evalkit.delivery.smtp.build_message`); a file that changed or
   vanished since queueing makes the message ``failed``, naming the file, and nothing is sent;
2. it is **claimed**: ``pending`` -> ``sending``, ``attempts`` + 1, committed before the server hears of it;
3. MAIL FROM, RCPT TO and DATA go to the server;
4. the moment the server answers 250 to the DATA, the message is marked ``sent`` in a short transaction of its own;
   a permanent refusal (5xx) marks it ``failed`` with the server's reply; a temporary failure (4xx, the connection
   lost or timed out) puts it back to ``pending`` with the reason in ``last_error``, and it is tried again after a
   back-off (``backoff`` seconds, doubled each time), until it has had ``retries`` attempts in all: then it is
   ``failed``. A server that cannot be reached (refused, gone, 4xx on connecting) is tried ``retries`` times with
   the same back-off, one that refuses us (5xx on connecting, e.g. a wrong password) once; then the run stops, and
   what it had not sent stays ``pending`` for the next run.

What a killed run leaves, and what is guaranteed
-------------------------------------------------
A run stopped at any instant (``kill -9``, a power cut, Ctrl-C) leaves at most one message in ``sending``: the
one it was sending. The next run finds it (a row in ``sending`` while this run holds the lock can only come from a
run that died) and sends it again, with the same Message-ID and Date, as long as it has attempts left; ``last_error``
says it was interrupted.

* **Nothing is lost.** A message is marked ``sent`` only after the server answered 250 to its DATA; every other
  message is still ``pending`` (or ``sending``, which the next run treats as pending) until it is ``failed`` with
  a reason.
* **Nothing is sent twice, except in one window**: from the moment the final ``.`` of the DATA leaves this process
  to the commit of ``sent`` -- one network round trip, the server's own work before it answers, and a local commit
  (a few milliseconds against a nearby server). A run that dies inside that window, a connection lost inside it,
  or a failing commit of ``sent`` (the database unreachable) leaves a message that the server may already have
  accepted; it is sent again, and if the server did keep the first copy the recipient gets two, with the same
  Message-ID (which some mail systems use to drop the second). SMTP gives a client no way to ask whether a message
  arrived, so this window can be made small but not closed; evalkit chooses at-least-once over at-most-once here,
  because a result letter that never arrives is worse than one that arrives twice. A run that dies anywhere else --
  building the message, before the claim, after the claim but before the final ``.`` (waiting for a reply to MAIL
  FROM or RCPT TO, writing the message) -- never causes a second copy: a server does not accept a DATA that was not
  completed. ``tests/test_outbox.py`` kills a run with SIGKILL at such a moment, twice, and checks that every
  message arrived exactly once; it also shows the window: a run that dies after the 250 causes a second copy.
* **Nothing is half-recorded**: every change of a row is one transaction, with its audit record.

Not guaranteed: delivery to the mailbox after the server accepted the message (bounces that come back later are not
read), and messages queued while a run is going are sent by the next run.

``dry_run_dir`` writes each message that a run would send as ``<outbox id>.eml`` in that folder and changes
nothing in the database: nothing is claimed or marked sent.
"""
from __future__ import annotations

import smtplib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

from .. import outputs
from ..messages import one_line
from ..store import Store, outbox, utcnow
from .outbox import DeliveryError, counts
from .smtp import AttachmentChanged, SmtpSettings, build_message, connect, smtp_settings

__all__ = ["SendSummary", "send_pending", "MAX_BACKOFF"]

#: The longest wait, in seconds, between two tries.
MAX_BACKOFF = 60.0


@dataclass
class SendSummary:
    """What a run did: messages sent and failed by it, pending after it, and why it stopped early, if it did."""

    sent: int = 0
    failed: int = 0
    pending: int = 0  # in the outbox after the run (pending, or sending left by a dead run)
    resumed: int = 0  # messages an interrupted run had left in "sending", taken up again
    errors: list = field(default_factory=list)  # (outbox id, error) of this run's failures and postponements
    files: list = field(default_factory=list)  # a dry run's .eml files
    stopped: str | None = None  # why the run stopped before the end (the server could not be reached)
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No message failed and the run was not stopped."""
        return self.failed == 0 and self.stopped is None

    def line(self) -> str:
        """``sent N, failed M, pending K`` (a dry run: ``written N, failed M, pending K``).

        Examples
        --------
        >>> SendSummary(sent=3, failed=1, pending=2).line()
        'sent 3, failed 1, pending 2'
        """
        done = f"written {len(self.files)}" if self.dry_run else f"sent {self.sent}"
        return f"{done}, failed {self.failed}, pending {self.pending}"


class _Unreachable(Exception):
    """The server cannot be reached (or refuses us) after every try: the run stops."""


def _reply(exc: BaseException) -> tuple[int | None, str]:
    """The SMTP reply code (None when there is none) and a one-line description of a failure."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
    elif isinstance(exc, smtplib.SMTPResponseException):
        code, text = exc.smtp_code, exc.smtp_error
    else:
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, ConnectionRefusedError):
            kind = "connection refused"
        elif isinstance(exc, TimeoutError):
            kind = "no answer in time"
        elif isinstance(exc, (smtplib.SMTPServerDisconnected, ConnectionError)):
            kind = "connection lost"
        elif isinstance(exc, smtplib.SMTPException):  # (an OSError too) e.g. no SMTPUTF8 for a non-ASCII address
            kind = "SMTP error"
        else:
            kind = "network error"
        return None, one_line(f"{kind}: {detail}", 300)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return code, one_line(f"{code} {' '.join(str(text).split())}", 300)


def _permanent(code: int | None, exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # e.g. a non-ASCII address and no SMTPUTF8: not temporary
        return True
    return code is not None and 500 <= code < 600


class _Connection:
    """The SMTP connection of a run: opened when needed, with back-off, and dropped when it breaks."""

    def __init__(self, settings: SmtpSettings, tries: int, backoff: float, sleep: Callable[[float], None]):
        self.settings, self.tries, self.backoff, self.sleep = settings, tries, backoff, sleep
        self.conn: smtplib.SMTP | None = None

    def get(self) -> smtplib.SMTP:
        if self.conn is not None and self.conn.sock is not None:
            return self.conn
        self.drop()
        problem = ""
        for n in range(1, self.tries + 1):
            try:
                self.conn = connect(self.settings)
                return self.conn
            except (OSError, smtplib.SMTPException) as exc:
                code, problem = _reply(exc)
                if _permanent(code, exc):  # refused outright (e.g. 535 authentication failed): no use retrying
                    break
            if n < self.tries:
                self.sleep(min(self.backoff * 2 ** (n - 1), MAX_BACKOFF))
        raise _Unreachable(f"cannot send through {self.settings.where}: {problem}")

    def drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
        self.conn = None

    def quit(self) -> None:
        if self.conn is not None and self.conn.sock is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
        self.drop()


def _set(store: Store, actor: str, row_id: int, values: dict, action: str, expect: str) -> dict | None:
    """Change one message in a transaction of its own, if it is still in status ``expect``; the row after.

    A message this run holds in ``sending`` is not checked again: nothing else changes such a row while the run
    holds the lock (one read less per step)."""
    with store.transaction(actor) as tx:
        if expect != "sending":
            before = tx.get(outbox, {"id": row_id})
            if before is None or before["status"] != expect:
                return None
        return tx.update(outbox, {"id": row_id}, values, action=action)


def _resume_interrupted(store: Store, retries: int, actor: str, summary: SendSummary) -> None:
    """Messages left in ``sending`` by a run that died: back to ``pending`` to be sent again, or ``failed`` once
    their attempts are used up."""
    with store.transaction(actor) as tx:
        rows = tx.execute(sa.select(outbox.c.id, outbox.c.attempts).where(outbox.c.status == "sending")
                          .order_by(outbox.c.id)).all()
        for row_id, attempts in rows:
            note = (f"attempt {attempts} was interrupted (the sending run stopped before recording the server's "
                    "answer)")
            if attempts >= retries:
                tx.update(outbox, {"id": row_id}, {"status": "failed", "last_error": note + f"; not sent again: "
                          f"{attempts} of {retries} attempts used; it may have arrived: check, then "
                          "`evalkit outbox retry`"}, action="outbox_failed")
                summary.failed += 1
                summary.errors.append((row_id, "interrupted, attempts used up"))
            else:
                tx.update(outbox, {"id": row_id}, {"status": "pending", "last_error": note + "; sent again with the "
                          "same Message-ID"}, action="outbox_interrupted")
                summary.resumed += 1


def _dry_run(store: Store, settings: SmtpSettings, folder, progress, summary: SendSummary) -> None:
    folder = outputs.output_folder(folder, "dry-run")
    with store.read() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(outbox).where(outbox.c.status.in_(("pending", "sending")))
                                              .order_by(outbox.c.id)).mappings()]
    for done, row in enumerate(rows, 1):
        try:
            message = build_message(row, settings.sender)
        except AttachmentChanged as exc:
            summary.failed += 1
            summary.errors.append((row["id"], str(exc)))
            status = "failed"
        else:
            path = Path(folder) / f"{row['id']}.eml"
            outputs.write_private(path, message.as_bytes())
            summary.files.append(path)
            status = "written"
        if progress:
            progress(done, len(rows), {**row, "status": status})


def send_pending(store: Store, settings: SmtpSettings | None = None, dry_run_dir=None, retries: int = 3,
                 progress: Callable[[int, int, dict], None] | None = None, backoff: float = 1.0,
                 actor: str = "admin", sleep: Callable[[float], None] = time.sleep) -> SendSummary:
    """Send the pending messages of the outbox (see the module's documentation for what is guaranteed).

    Parameters
    ----------
    store : Store
    settings : SmtpSettings, optional
        Default: :func:`evalkit.delivery.smtp.smtp_settings` (workspace setting and environment).
    dry_run_dir : path, optional
        Write each message as ``<outbox id>.eml`` in this folder instead of sending it; the database is not changed.
    retries : int
        Attempts a message gets in all (across runs) before a temporary failure makes it ``failed``; also the tries
        to reach the server before the run stops.
    progress : callable, optional
        Called as ``progress(done, total, row)`` after each message, ``row["status"]`` its status after this run.
    backoff : float
        Seconds before the second try, doubled for each further one (at most :data:`MAX_BACKOFF`).
    actor : str
        Who the changes are recorded as, in the audit log.

    Returns
    -------
    SendSummary

    Raises
    ------
    DeliveryError
        Bad settings (no host, no sender) or a bad ``retries``.
    StoreError
        Another send run is working on this database.

    Examples
    --------
    >>> import tempfile
    >>> from evalkit.store import open_store
    >>> from evalkit.delivery.outbox import queue_message
    >>> store = open_store(tempfile.mkdtemp() + "/ws", create=True)
    >>> _ = queue_message(store, "reminder", "ann.lee@example.org", "Due on Friday", "Dear Ann, ...")
    >>> summary = send_pending(store, dry_run_dir=tempfile.mkdtemp())
    >>> summary.line(), [p.name for p in summary.files]
    ('written 1, failed 0, pending 1', ['1.eml'])
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or not 1 <= retries <= 100:
        raise DeliveryError(f"retries {retries!r} is not a whole number from 1 to 100")
    if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or not 0 <= backoff <= MAX_BACKOFF:
        raise DeliveryError(f"backoff {backoff!r} is not a number of seconds from 0 to {MAX_BACKOFF:g}")
    started = time.perf_counter()
    summary = SendSummary(dry_run=dry_run_dir is not None)
    if dry_run_dir is not None:
        _dry_run(store, settings or smtp_settings(store, preview=True), dry_run_dir, progress, summary)
    else:
        settings = settings or smtp_settings(store)
        with store.exclusive("outbox"):
            _send(store, settings, retries, progress, backoff, actor, sleep, summary)
    tally = counts(store)
    summary.pending = tally["pending"] + tally["sending"]
    summary.seconds = time.perf_counter() - started
    return summary


def _send(store: Store, settings: SmtpSettings, retries: int, progress, backoff: float, actor: str, sleep,
          summary: SendSummary) -> None:
    _resume_interrupted(store, retries, actor, summary)
    with store.read() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(outbox).where(outbox.c.status == "pending")
                                              .order_by(outbox.c.id)).mappings()]
    connection = _Connection(settings, retries, backoff, sleep)
    try:
        for done, row in enumerate(rows, 1):
            status = _send_one(store, connection, row, retries, backoff, actor, sleep, summary)
            if status is None:  # the server could not be reached: the rest stay pending
                break
            if progress:
                progress(done, len(rows), {**row, "status": status})
    finally:
        connection.quit()


def _send_one(store: Store, connection: _Connection, row: dict, retries: int, backoff: float, actor: str, sleep,
              summary: SendSummary) -> str | None:
    """Send one message, with its retries; its status afterwards, or None when the run has to stop."""
    row_id = row["id"]
    try:
        message = build_message(row, connection.settings.sender)
    except AttachmentChanged as exc:
        if _set(store, actor, row_id, {"status": "failed", "last_error": str(exc)}, "outbox_failed", "pending"):
            summary.failed += 1
            summary.errors.append((row_id, str(exc)))
        return "failed"
    tries_here = 0
    while True:
        try:
            conn = connection.get()
        except _Unreachable as exc:
            summary.stopped = str(exc)
            return None
        claimed = _set(store, actor, row_id, {"status": "sending", "attempts": row["attempts"] + 1},
                       "outbox_claim", "pending")
        if claimed is None:  # changed by someone else since the run started (requeued, ...): leave it
            return "skipped"
        row = claimed
        try:
            conn.send_message(message, from_addr=connection.settings.sender, to_addrs=[row["recipient"]])
        except (OSError, smtplib.SMTPException) as exc:
            failure = exc
            code, problem = _reply(exc)
        else:
            # The server has the message: record it at once (the only window for a second copy ends here).
            _set(store, actor, row_id, {"status": "sent", "sent_at": utcnow(), "last_error": None}, "outbox_sent",
                 "sending")
            summary.sent += 1
            return "sent"
        if code is None or code == 421:  # the connection is gone (or closing): a new one for the next try
            connection.drop()
        if _permanent(code, failure):
            _set(store, actor, row_id, {"status": "failed", "last_error": problem}, "outbox_failed", "sending")
            summary.failed += 1
            summary.errors.append((row_id, problem))
            return "failed"
        if row["attempts"] >= retries:
            error = f"gave up after {row['attempts']} attempts: {problem}"
            _set(store, actor, row_id, {"status": "failed", "last_error": error}, "outbox_failed", "sending")
            summary.failed += 1
            summary.errors.append((row_id, error))
            return "failed"
        row = _set(store, actor, row_id, {"status": "pending", "last_error": problem}, "outbox_retry", "sending")
        summary.errors.append((row_id, problem))
        tries_here += 1
        sleep(min(backoff * 2 ** (tries_here - 1), MAX_BACKOFF))
