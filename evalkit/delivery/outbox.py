"""The outbox: every e-mail evalkit sends is first a row of the ``outbox`` table, queued in the same transaction
as what it announces (a letter, a certificate, a report), and sent later by :mod:`evalkit.delivery.send`.

What is queued is checked here, before anything is stored: the kind, one plausible address (no second address, no
line break that would inject a header), a one-line subject, and each attachment an existing file, recorded with
its absolute path, its name and its SHA-256 so that the sender can refuse a file that changed after queueing. The
Message-ID is made once, here, so that a message sent again carries the same one.

A row's ``status`` is ``pending`` (queued), ``sending`` (claimed by a send run that has not yet recorded the
server's answer), ``sent`` or ``failed`` (with the reason in ``last_error``).

Examples
--------
>>> import tempfile
>>> from evalkit.store import open_store
>>> store = open_store(tempfile.mkdtemp() + "/ws", create=True)
>>> row = queue_message(store, "reminder", "ann.lee@example.org", "Your work product is due", "Dear Ann, ...")
>>> row["status"], row["message_id"].endswith("@evalkit>")
('pending', True)
>>> counts(store)
{'pending': 1, 'sending': 0, 'sent': 0, 'failed': 0}
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from pathlib import Path
from typing import Iterable

import sqlalchemy as sa

from ..messages import checked_reason, show
from ..store import Store, Transaction, outbox, utcnow

__all__ = ["KINDS", "STATUSES", "DeliveryError", "validate_address", "file_sha256", "enqueue", "queue_message",
           "messages", "pending", "counts", "requeue"]

#: What evalkit sends; an outbox row's ``kind`` is one of these.
KINDS = ("result_letter", "appeal_letter", "reminder", "certificate", "eod_report", "call_scorecard")

#: An outbox row's ``status``, in the order a message passes through them (``failed`` ends it too).
STATUSES = ("pending", "sending", "sent", "failed")

_MAX_ADDRESS = 254  # RFC 5321's limit on a forward path, less the angle brackets
_MAX_SUBJECT = 400
_MAX_REF = 200
# Characters a bare address (no display name, no quoting) does not hold: whitespace, controls, and the specials of
# RFC 5322 that would make it a list, a group, a comment or a quoted string.
_NOT_IN_ADDRESS = re.compile(r'[\s\x00-\x1f\x7f<>()\[\],;:"\\\u0085\u2028\u2029]')
_DOMAIN_LABEL = re.compile(r"^[A-Za-z0-9\u0080-\U0010ffff](?:[A-Za-z0-9\u0080-\U0010ffff-]*"
                           r"[A-Za-z0-9\u0080-\U0010ffff])?$")


class DeliveryError(ValueError):
    """Something that cannot be queued or sent as asked, with the reason in one line."""


def validate_address(address, what: str = "recipient") -> str:
    """``address`` checked as one plain e-mail address (``name@example.org``); returns it without surrounding spaces.

    One address, on one line, at most 254 characters, with one ``@``, a local part and a domain with a dot; no
    display name, no list, no line break (which would let a value add a header of its own).

    Raises
    ------
    DeliveryError
        ``"<what> '<address>' is not an e-mail address: <why>"``.

    Examples
    --------
    >>> validate_address(" ann.lee@example.org ")
    'ann.lee@example.org'
    >>> validate_address("ann@example.org\\r\\nBcc: all@example.org")
    Traceback (most recent call last):
    ...
    evalkit.delivery.outbox.DeliveryError: recipient 'ann@...' is not an e-mail address: it holds a line break
    >>> validate_address("ann@localhost", "agent 3's e-mail")
    Traceback (most recent call last):
    ...
    evalkit.delivery.outbox.DeliveryError: agent 3's e-mail 'ann@localhost' is not an e-mail address: the domain ...
    """
    def refuse(why: str):
        return DeliveryError(f"{what} {show(address)} is not an e-mail address: {why}")

    if not isinstance(address, str):
        raise refuse("expected text")
    if re.search(r"[\r\n\x0b\x0c\x1c-\x1e\u0085\u2028\u2029]", address):
        raise refuse("it holds a line break")
    text = address.strip(" \t")
    if not text:
        raise refuse("it is empty")
    if len(text) > _MAX_ADDRESS:
        raise refuse(f"it is {len(text):,} characters long; expected at most {_MAX_ADDRESS}")
    if text.count("@") != 1:
        raise refuse("expected exactly one @" if "@" in text else "it has no @")
    if _NOT_IN_ADDRESS.search(text):
        raise refuse("it holds a space, a control character or one of <>()[],;:\"\\ (one plain address is expected)")
    local, domain = text.split("@")
    if not local or len(local) > 64 or local.startswith(".") or local.endswith(".") or ".." in local:
        raise refuse("the part before the @ is empty, longer than 64 characters or has a misplaced dot")
    if "." not in domain:
        raise refuse("the domain has no dot")
    if not all(_DOMAIN_LABEL.match(label) for label in domain.split(".")):
        raise refuse("the domain is not a host name")
    return text


def file_sha256(path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _attachment(item, n: int) -> dict:
    if not isinstance(item, (str, os.PathLike)) or not str(item).strip():
        raise DeliveryError(f"attachment {n} {show(item)} is not a file path")
    path = Path(item).expanduser()
    try:
        path = path.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        raise DeliveryError(f"attachment {n} {path} does not exist") from None
    except OSError as exc:
        raise DeliveryError(f"attachment {n} {path} cannot be read: {exc.strerror}") from None
    if not path.is_file():
        raise DeliveryError(f"attachment {n} {path} is not a file")
    try:
        digest = file_sha256(path)
    except OSError as exc:
        raise DeliveryError(f"attachment {n} {path} cannot be read: {exc.strerror}") from None
    return {"path": str(path), "name": path.name, "sha256": digest}


def _values(kind, recipient, subject, body, attachments, ref) -> dict:
    """The outbox row to insert, every value checked; raises :class:`DeliveryError` before anything is stored."""
    if kind not in KINDS:
        raise DeliveryError(f"kind {show(kind)} is not one of {', '.join(KINDS)}")
    recipient = validate_address(recipient)
    subject = checked_reason(subject, "subject", DeliveryError, _MAX_SUBJECT, line_breaks="refuse")
    if not isinstance(body, str) or not body.strip():
        raise DeliveryError(f"body {show(body)} is not text" if not isinstance(body, str) else
                            "body is empty; expected the text of the message")
    if "\x00" in body:
        raise DeliveryError("body holds a NUL character; expected text")
    if isinstance(attachments, (str, os.PathLike)):
        attachments = [attachments]  # one path, not its characters
    files = [_attachment(item, n) for n, item in enumerate(attachments or (), 1)]
    ref = checked_reason(ref, "ref", DeliveryError, _MAX_REF, required=False, line_breaks="refuse")
    return {"kind": kind, "recipient": recipient, "subject": subject, "body": body,
            "attachments": json.dumps(files, ensure_ascii=False), "ref": ref,
            "message_id": f"<{uuid.uuid4().hex}@evalkit>", "status": "pending", "attempts": 0, "last_error": None,
            "created_at": utcnow(), "sent_at": None}


def enqueue(tx: Transaction, kind: str, recipient: str, subject: str, body: str, attachments: Iterable = (),
            ref: str | None = None) -> dict:
    """Queue one e-mail inside the caller's transaction ``tx``, so that it is recorded together with what it
    announces (or not at all).

    Parameters
    ----------
    tx : Transaction
        From ``store.transaction(actor)``; the message is inserted (and audited) there.
    kind : str
        One of :data:`KINDS`.
    recipient : str
        One e-mail address (:func:`validate_address`).
    subject : str
        One line.
    body : str
        The text of the message (plain text, UTF-8).
    attachments : iterable of paths
        Existing files; each is recorded with its absolute path, name and SHA-256.
    ref : str, optional
        What the message is about, e.g. ``"submission:12"``.

    Returns
    -------
    dict
        The outbox row as stored (with ``id`` and ``message_id``; ``attachments`` is the JSON text).

    Raises
    ------
    DeliveryError
        A bad value, named in one line; nothing is inserted (and the caller's transaction rolls back if the error
        is let through).

    Examples
    --------
    >>> import tempfile
    >>> from evalkit.store import open_store
    >>> store = open_store(tempfile.mkdtemp() + "/ws", create=True)
    >>> with store.transaction("admin") as tx:
    ...     row = enqueue(tx, "certificate", "bo.ng@example.org", "Your CCOM certificate", "Dear Bo, ...",
    ...                   ref="certificate:7")
    >>> row["kind"], row["ref"], row["attachments"]
    ('certificate', 'certificate:7', '[]')
    >>> with store.transaction("admin") as tx:
    ...     enqueue(tx, "certificate", "bo.ng@example.org", "Line one\\nBcc: x@example.org", "...")
    Traceback (most recent call last):
    ...
    evalkit.delivery.outbox.DeliveryError: subject 'Line one\\nBcc: x@example.org' is not one line (it holds ...)
    """
    return tx.insert(outbox, _values(kind, recipient, subject, body, attachments, ref), action="outbox_queue")


def queue_message(store: Store, kind: str, recipient: str, subject: str, body: str, attachments: Iterable = (),
                  ref: str | None = None, actor: str = "admin") -> dict:
    """Queue one e-mail in a transaction of its own; the arguments and the result are as for :func:`enqueue`."""
    values = _values(kind, recipient, subject, body, attachments, ref)  # refuse before opening the transaction
    with store.transaction(actor) as tx:
        return tx.insert(outbox, values, action="outbox_queue")


def _decoded(row) -> dict:
    return {**row, "attachments": json.loads(row["attachments"] or "[]")}


def _status(status: str | None) -> str | None:
    if status is not None and status not in STATUSES:
        raise DeliveryError(f"status {show(status)} is not one of {', '.join(STATUSES)}")
    return status


def messages(store: Store, status: str | None = None, ids: Iterable[int] | None = None) -> list[dict]:
    """Outbox rows, oldest first: all, or those with ``status`` (one of :data:`STATUSES`), or those ``ids``;
    ``attachments`` decoded to a list of ``{"path", "name", "sha256"}``."""
    query = sa.select(outbox).order_by(outbox.c.id)
    if _status(status) is not None:
        query = query.where(outbox.c.status == status)
    if ids is not None:
        query = query.where(outbox.c.id.in_([int(i) for i in ids]))
    with store.read() as conn:
        return [_decoded(r) for r in conn.execute(query).mappings()]


def pending(store: Store) -> list[dict]:
    """The messages waiting to be sent (``pending``), oldest first."""
    return messages(store, "pending")


def counts(store: Store) -> dict[str, int]:
    """How many messages are in each status, every status listed (in the order of :data:`STATUSES`)."""
    with store.read() as conn:
        found = dict(conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)).all())
    return {s: int(found.get(s, 0)) for s in STATUSES}


def requeue(store: Store, ids: Iterable[int], actor: str = "admin") -> list[int]:
    """Put failed messages back in the queue (``pending``, attempts from zero) once their cause is fixed; returns
    their ids. An unknown id, or a message that is not ``failed``, is refused and nothing changes."""
    ids = sorted({int(i) for i in ids})
    with store.transaction(actor) as tx:
        found = {r.id: r.status for r in tx.execute(sa.select(outbox.c.id, outbox.c.status)
                                                   .where(outbox.c.id.in_(ids)))}
        for i in ids:
            if i not in found:
                raise DeliveryError(f"unknown outbox message {i}")
            if found[i] != "failed":
                raise DeliveryError(f"outbox message {i} is {found[i]}; only a failed message is queued again")
        for i in ids:
            tx.update(outbox, {"id": i}, {"status": "pending", "attempts": 0}, action="outbox_requeue")
    return ids
