"""SMTP: where evalkit's e-mail goes (the settings), and an outbox row as the e-mail that is sent.

The settings come from the workspace setting ``smtp`` (``{"host", "port", "starttls", "from", "username"}``, set
with :func:`configure_smtp` or ``evalkit outbox configure``) and from the environment, which wins where both give
a value: ``EVALKIT_SMTP_HOST``, ``EVALKIT_SMTP_PORT``, ``EVALKIT_SMTP_STARTTLS`` (``1``/``0``),
``EVALKIT_SMTP_FROM``, ``EVALKIT_SMTP_USER``. The password is read only from ``EVALKIT_SMTP_PASSWORD``: it is never
stored in the database (a workspace setting holding one is refused).

:func:`build_message` makes the :class:`email.message.EmailMessage` of an outbox row: the text body, the
attachments with MIME types guessed from their names, the row's Message-ID and its queueing time as the Date (so a
message sent again is the same message). Each attachment is read once and its SHA-256 compared with the one
recorded when it was queued; a file that changed or vanished is refused with :class:`AttachmentChanged`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import mimetypes
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Mapping

from ..messages import show
from ..store import Store
from .outbox import DeliveryError, validate_address

__all__ = ["SmtpSettings", "AttachmentChanged", "smtp_settings", "configure_smtp", "build_message", "connect",
           "ENVIRONMENT", "PREVIEW_SENDER"]

#: The environment variables read, by setting.
ENVIRONMENT = {"host": "EVALKIT_SMTP_HOST", "port": "EVALKIT_SMTP_PORT", "starttls": "EVALKIT_SMTP_STARTTLS",
               "from": "EVALKIT_SMTP_FROM", "username": "EVALKIT_SMTP_USER", "password": "EVALKIT_SMTP_PASSWORD"}
#: The sender of a dry run's messages when no sender address is set.
PREVIEW_SENDER = "evalkit@example.invalid"
_STORED = ("host", "port", "starttls", "from", "username")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


class AttachmentChanged(DeliveryError):
    """An attachment that is no longer the file that was queued (changed, or gone)."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send. ``password`` comes from the environment only; it is not shown in the repr."""

    host: str
    port: int = 25
    starttls: bool = False
    sender: str = ""
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:
        return (f"SmtpSettings(host={self.host!r}, port={self.port}, starttls={self.starttls}, "
                f"sender={self.sender!r}, username={self.username!r}, password={'***' if self.password else None})")

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def _port(value, where: str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise DeliveryError(f"{where} {show(value)} is not a TCP port (1-65535)")
    return int(text)


def _flag(value, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise DeliveryError(f"{where} {show(value)} is not yes or no (1/0, true/false)")


def _word(value, where: str, what: str = "a host name") -> str:
    """One word of text (a host name, a user name): no spaces, no line breaks, at most 253 characters."""
    if not isinstance(value, str) or not value.strip() or any(c.isspace() or not c.isprintable()
                                                              for c in value.strip()) or len(value) > 253:
        raise DeliveryError(f"{where} {show(value)} is not {what}")
    return value.strip()


def smtp_settings(store: Store | None = None, environ: Mapping[str, str] | None = None,
                  preview: bool = False) -> SmtpSettings:
    """The SMTP settings: the workspace setting ``smtp``, overridden by the environment.

    With ``preview`` (a dry run, which talks to no server) a missing host is allowed and a missing sender address
    is :data:`PREVIEW_SENDER`.

    Raises
    ------
    DeliveryError
        No host (``"no SMTP host: ..."``), no sender address, a bad port or address, a user name without
        ``EVALKIT_SMTP_PASSWORD``, a password that would travel unencrypted, or a workspace setting holding a
        password.

    Examples
    --------
    >>> smtp_settings(environ={"EVALKIT_SMTP_HOST": "mail.example.org", "EVALKIT_SMTP_PORT": "587",
    ...                        "EVALKIT_SMTP_STARTTLS": "1", "EVALKIT_SMTP_FROM": "certification@example.org",
    ...                        "EVALKIT_SMTP_USER": "certification", "EVALKIT_SMTP_PASSWORD": "s3cret"})
    SmtpSettings(host='mail.example.org', port=587, starttls=True, sender='certification@example.org', ...
                 password=***)
    >>> smtp_settings(environ={})
    Traceback (most recent call last):
    ...
    evalkit.delivery.outbox.DeliveryError: no SMTP host: set EVALKIT_SMTP_HOST or `evalkit outbox configure --host HOST`
    """
    environ = os.environ if environ is None else environ
    stored = store.get_setting("smtp", {}) if store is not None else {}
    if not isinstance(stored, dict):
        raise DeliveryError(f"workspace setting smtp {show(stored)} is not a mapping of host, port, starttls, from, "
                            "username")
    if "password" in stored:
        raise DeliveryError("workspace setting smtp holds a password; the password is read only from "
                            "EVALKIT_SMTP_PASSWORD: remove it with `evalkit outbox configure --host HOST ...`")
    unknown = sorted(set(stored) - set(_STORED))
    if unknown:
        raise DeliveryError(f"workspace setting smtp has unknown keys {', '.join(unknown)}; expected "
                            f"{', '.join(_STORED)}")
    values, where = {}, {}
    for key in _STORED:
        env = environ.get(ENVIRONMENT[key])
        if env not in (None, ""):
            values[key], where[key] = env, ENVIRONMENT[key]
        elif stored.get(key) not in (None, ""):
            values[key], where[key] = stored[key], f"workspace setting smtp.{key}"
    if preview:
        values.setdefault("host", "")
        values.setdefault("from", PREVIEW_SENDER)
        where.setdefault("from", "sender address")
    if "host" not in values:
        raise DeliveryError("no SMTP host: set EVALKIT_SMTP_HOST or `evalkit outbox configure --host HOST`")
    host = _word(values["host"], where["host"]) if values["host"] else ""
    starttls = _flag(values["starttls"], where["starttls"]) if "starttls" in values else False
    port = _port(values["port"], where["port"]) if "port" in values else (587 if starttls else 25)
    if "from" not in values:
        raise DeliveryError("no sender address: set EVALKIT_SMTP_FROM or `evalkit outbox configure --from ADDRESS`")
    sender = validate_address(values["from"], where["from"])
    username = _word(str(values["username"]), where["username"], "a user name") if "username" in values else None
    password = environ.get(ENVIRONMENT["password"]) or None
    if username and not password and not preview:
        raise DeliveryError(f"SMTP user {show(username)} is set but EVALKIT_SMTP_PASSWORD is not")
    if username and not starttls and host not in _LOOPBACK and not preview:
        raise DeliveryError(f"SMTP user {show(username)} on {host}:{port} without STARTTLS would send the password "
                            "unencrypted; turn STARTTLS on")
    return SmtpSettings(host, port, starttls, sender, username or None, password if username else None)


def configure_smtp(store: Store, host: str, port: int | None = None, starttls: bool = False,
                   sender: str | None = None, username: str | None = None, actor: str = "admin") -> dict:
    """Store the workspace's SMTP settings (never a password); returns them as stored.

    Examples
    --------
    >>> import tempfile
    >>> from evalkit.store import open_store
    >>> store = open_store(tempfile.mkdtemp() + "/ws", create=True)
    >>> configure_smtp(store, "mail.example.org", 587, True, "certification@example.org")
    {'host': 'mail.example.org', 'port': 587, 'starttls': True, 'from': 'certification@example.org'}
    >>> smtp_settings(store, environ={}).where
    'mail.example.org:587'
    """
    value = {"host": _word(host, "SMTP host")}
    if port is not None:
        value["port"] = _port(port, "SMTP port")
    value["starttls"] = _flag(starttls, "STARTTLS")
    if sender is not None:
        value["from"] = validate_address(sender, "sender address")
    if username:
        value["username"] = _word(username, "SMTP user", "a user name")
    store.set_setting("smtp", value, actor)
    return value


def _verified(attachment: Mapping, n: int) -> bytes:
    """The attachment's bytes, if they are still those that were queued."""
    path, name = attachment["path"], attachment["name"]
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise AttachmentChanged(f"attachment {n} {name} ({path}) has vanished since it was queued") from None
    except OSError as exc:
        raise AttachmentChanged(f"attachment {n} {name} ({path}) cannot be read: {exc.strerror}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != attachment["sha256"]:
        raise AttachmentChanged(f"attachment {n} {name} ({path}) changed since it was queued (SHA-256 now "
                                f"{digest[:12]}..., queued {attachment['sha256'][:12]}...)")
    return data


def build_message(row: Mapping, sender: str) -> EmailMessage:
    """The e-mail of an outbox row, from ``sender``; each attachment is re-hashed first.

    Raises
    ------
    AttachmentChanged
        An attachment changed or vanished since the message was queued (the message names which).

    Examples
    --------
    >>> import datetime as dt
    >>> row = {"recipient": "ann.lee@example.org", "subject": "Your result", "body": "Dear Ann,\\n...",
    ...        "attachments": "[]", "message_id": "<1f2e@evalkit>", "created_at": dt.datetime(2026, 3, 2, 9, 30)}
    >>> message = build_message(row, "certification@example.org")
    >>> message["To"], message["Message-ID"], message["Date"]
    ('ann.lee@example.org', '<1f2e@evalkit>', 'Mon, 02 Mar 2026 09:30:00 +0000')
    """
    files = row["attachments"]
    files = json.loads(files) if isinstance(files, str) else list(files or ())
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row["recipient"]
    message["Subject"] = row["subject"]
    created = row["created_at"]
    if isinstance(created, str):
        created = dt.datetime.fromisoformat(created)
    message["Date"] = format_datetime(created.replace(tzinfo=dt.timezone.utc))
    message["Message-ID"] = row["message_id"]
    message.set_content(row["body"])
    for n, attachment in enumerate(files, 1):
        data = _verified(attachment, n)
        kind, encoding = mimetypes.guess_type(attachment["name"])
        if kind is None or encoding is not None:  # unknown, or compressed (.gz): send the bytes as they are
            kind = "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=attachment["name"])
    return message


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    """An open SMTP connection: EHLO, STARTTLS (certificate verified) when set, LOGIN when a user is set.

    Raises ``OSError`` or :class:`smtplib.SMTPException` as smtplib does; :mod:`evalkit.delivery.send` sorts them
    into temporary and permanent failures.
    """
    conn = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        conn.ehlo()
        if settings.starttls:
            conn.starttls(context=ssl.create_default_context())
            conn.ehlo()
        if settings.username:
            conn.login(settings.username, settings.password or "")
    except BaseException:
        conn.close()
        raise
    return conn
