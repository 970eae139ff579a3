"""Delivery by e-mail: the outbox, SMTP settings and sending, against a real SMTP server (aiosmtpd on a free
localhost port) that keeps every message it accepts; a send run killed with SIGKILL and run again; the call
scorecard and the end-of-day report queued and delivered."""
import asyncio
import collections
import email
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from conftest import ROOT, free_port

from evalkit import callcert as cc
from evalkit.cli import main
from evalkit.delivery import (KINDS, DeliveryError, SmtpSettings, configure_smtp, counts, enqueue, messages, pending,
                              queue_message, requeue, send_pending, smtp_settings, validate_address)
from evalkit.delivery import send as send_module
from evalkit.store import StoreError, audit, meta, open_store, outbox

SENDER = "certification@example.org"


# --- the SMTP server -------------------------------------------------------------------------------------------


class Recorder:
    """An aiosmtpd handler that keeps every message it accepts, and can misbehave on request.

    refuse_rcpt: addresses refused at RCPT (550); data_replies: replies given to the next DATA commands instead of
    accepting (e.g. 451 twice); vanish_after: after accepting this many messages the server stops listening and
    drops the connection before answering the next DATA; hold_rcpt: numbers of RCPT commands (counted over the
    server's life) whose reply is held until the client goes away (``holding`` is set meanwhile).
    """

    def __init__(self, refuse_rcpt=(), data_replies=(), vanish_after=None, hold_rcpt=()):
        self.received = []
        self.refuse_rcpt = set(refuse_rcpt)
        self.data_replies = list(data_replies)
        self.vanish_after = vanish_after
        self.hold_rcpt = set(hold_rcpt)
        self.rcpt_count = 0
        self.holding = threading.Event()
        self.controller = None
        self.logins = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_count += 1
        if self.rcpt_count in self.hold_rcpt:
            self.holding.set()
            while True:  # until the client is killed: losing the connection cancels this handler
                await asyncio.sleep(0.01)
        if address in self.refuse_rcpt:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.vanish_after is not None and len(self.received) >= self.vanish_after:
            self.controller.server.close()  # new connections are refused from now on
            server.transport.close()  # and this one is dropped before the server answers
            await asyncio.sleep(60)  # cancelled by the lost connection
        if self.data_replies:
            return self.data_replies.pop(0)
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.received.append({
            "from": envelope.mail_from, "to": list(envelope.rcpt_tos), "subject": message["Subject"],
            "message_id": message["Message-ID"], "date": message["Date"], "message": message,
            "body": message.get_body(("plain",)).get_content().replace("\r\n", "\n"),
            "attachments": {part.get_filename(): part.get_payload(decode=True)
                            for part in message.iter_attachments()}})
        return "250 2.0.0 OK: queued"


@pytest.fixture
def smtp():
    """Start a recording SMTP server: ``smtp(Recorder(...))`` -> (recorder, SmtpSettings for it)."""
    started = []

    def start(recorder=None, **controller_kwargs):
        recorder = recorder or Recorder()
        controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), **controller_kwargs)
        controller.start()
        recorder.controller = controller
        started.append(controller)
        return recorder, SmtpSettings("127.0.0.1", controller.port, sender=SENDER, timeout=10)

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture(autouse=True)
def no_smtp_environment(monkeypatch):
    for name in ("HOST", "PORT", "STARTTLS", "FROM", "USER", "PASSWORD"):
        monkeypatch.delenv(f"EVALKIT_SMTP_{name}", raising=False)


def table_counts(store):
    with store.read() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in (outbox, audit)}


def attachment(tmp_path, name="letter.html", content="<p>Dear Ann</p>"):
    path = tmp_path / name
    path.write_text(content)
    return path


def queue_some(store, n, tmp_path=None, kind="result_letter"):
    files = [attachment(tmp_path)] if tmp_path is not None else []
    return [queue_message(store, kind, f"person{i}@example.org", f"Your result {i}", f"Dear person {i},\nPassed.",
                          files, ref=f"submission:{i}") for i in range(1, n + 1)]


def statuses(store):
    return {r["id"]: r["status"] for r in messages(store)}


# --- queueing --------------------------------------------------------------------------------------------------


def test_queue_records_the_message_with_its_attachment_hash(store, tmp_path):
    path = attachment(tmp_path)
    row = queue_message(store, "result_letter", " ann.lee@example.org ", "Your CCOM result", "Dear Ann,\n...", [path],
                        ref="submission:12", actor="lee")
    assert row["recipient"] == "ann.lee@example.org" and row["status"] == "pending" and row["attempts"] == 0
    assert row["message_id"].startswith("<") and row["message_id"].endswith("@evalkit>")
    (stored,) = messages(store)
    assert stored["attachments"] == [{"path": str(path.resolve()), "name": "letter.html",
                                      "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}]
    assert pending(store)[0]["id"] == row["id"] and counts(store)["pending"] == 1
    with store.read() as conn:
        entry = conn.execute(sa.select(audit).where(audit.c.entity == "outbox")).mappings().one()
    assert entry["actor"] == "lee" and entry["action"] == "outbox_queue"
    assert queue_message(store, "reminder", "bo@example.org", "s", "b")["message_id"] != row["message_id"]


def test_enqueue_is_part_of_the_callers_transaction(store):
    with pytest.raises(DeliveryError):
        with store.transaction("admin") as tx:
            tx.upsert(meta, {"key": "setting:letter-marker"}, {"value": "1"})  # the "letter"
            enqueue(tx, "result_letter", "ann@example.org", "Your result", "Dear Ann")
            enqueue(tx, "result_letter", "not an address", "Your result", "Dear Ann")
    assert store.get_setting("letter-marker") is None and table_counts(store)["outbox"] == 0
    with store.transaction("admin") as tx:
        tx.upsert(meta, {"key": "setting:letter-marker"}, {"value": "1"})
        enqueue(tx, "result_letter", "ann@example.org", "Your result", "Dear Ann")
    assert store.get_setting("letter-marker") == 1 and table_counts(store)["outbox"] == 1


@pytest.mark.parametrize("change, message", [
    ({"recipient": "ann.example.org"}, "recipient 'ann.example.org' is not an e-mail address: it has no @"),
    ({"recipient": "ann@localhost"}, "recipient 'ann@localhost' is not an e-mail address: the domain has no dot"),
    ({"recipient": "ann@example.org\r\nBcc: all@example.org"},
     "recipient 'ann@example.org\\r\\nBcc: all@example.org' is not an e-mail address: it holds a line break"),
    ({"recipient": "ann@example.org\nBcc: all@example.org"}, "it holds a line break"),
    ({"recipient": "ann@example.org, bo@example.org"}, "expected exactly one @"),
    ({"recipient": "Ann <ann@example.org>"}, "one plain address is expected"),
    ({"recipient": "a" * 250 + "@example.org"}, "is 262 characters long; expected at most 254"),
    ({"recipient": ""}, "recipient '' is not an e-mail address: it is empty"),
    ({"recipient": None}, "recipient None is not an e-mail address: expected text"),
    ({"recipient": "ann@exa mple.org"}, "one plain address is expected"),
    ({"recipient": "ann@-example.org"}, "the domain is not a host name"),
    ({"recipient": ".ann@example.org"}, "misplaced dot"),
    ({"subject": "Your result\r\nBcc: all@example.org"},
     "subject 'Your result\\r\\nBcc: all@example.org' is not one line"),
    ({"subject": "Your result\nX-Injected: 1"}, "is not one line"),
    ({"subject": "   "}, "subject is empty"),
    ({"subject": "x" * 401}, "subject is 401 characters long; expected at most 400"),
    ({"subject": None}, "subject is empty; expected one line of text"),
    ({"subject": 5}, "subject is 5; expected text"),
    ({"body": ""}, "body is empty"),
    ({"body": b"bytes"}, "body b'bytes' is not text"),
    ({"kind": "newsletter"}, "kind 'newsletter' is not one of result_letter, appeal_letter"),
    ({"attachments": ["{tmp}/missing.pdf"]}, "attachment 1 {tmp}/missing.pdf does not exist"),
    ({"attachments": ["{tmp}"]}, "attachment 1 {tmp} is not a file"),
    ({"attachments": ["{tmp}/ok.html", ""]}, "attachment 2 '' is not a file path"),
    ({"ref": "submission:1\nx"}, "ref 'submission:1\\nx' is not one line"),
])
def test_bad_input_is_refused_in_one_line_and_stores_nothing(store, tmp_path, change, message):
    attachment(tmp_path, "ok.html")
    args = {"kind": "result_letter", "recipient": "ann@example.org", "subject": "Your result", "body": "Dear Ann",
            "attachments": [], "ref": None}
    for key, value in change.items():
        args[key] = [v.format(tmp=tmp_path) for v in value] if key == "attachments" else value
    before = table_counts(store)
    with pytest.raises(DeliveryError) as caught:
        queue_message(store, **args)
    assert str(caught.value) == message.format(tmp=tmp_path) or message.format(tmp=tmp_path) in str(caught.value)
    assert "\n" not in str(caught.value) and isinstance(caught.value, ValueError)
    assert table_counts(store) == before


def test_kinds_and_addresses():
    assert KINDS == ("result_letter", "appeal_letter", "reminder", "certificate", "eod_report", "call_scorecard")
    assert validate_address("Ann.O'Brien+ccom@mail.example.co.uk") == "Ann.O'Brien+ccom@mail.example.co.uk"
    assert validate_address("zoë@exämple.de") == "zoë@exämple.de"


# --- settings --------------------------------------------------------------------------------------------------


def test_settings_from_the_workspace_and_the_environment(store):
    with pytest.raises(DeliveryError, match="^no SMTP host: set EVALKIT_SMTP_HOST"):
        smtp_settings(store, environ={})
    configure_smtp(store, "mail.example.org", None, True, SENDER, "cert")
    with pytest.raises(DeliveryError, match="SMTP user 'cert' is set but EVALKIT_SMTP_PASSWORD is not"):
        smtp_settings(store, environ={})
    got = smtp_settings(store, environ={"EVALKIT_SMTP_PASSWORD": "pw"})
    assert (got.host, got.port, got.starttls, got.sender, got.username, got.password) == \
        ("mail.example.org", 587, True, SENDER, "cert", "pw")
    assert "pw" not in repr(got)
    env = {"EVALKIT_SMTP_HOST": "relay.example.org", "EVALKIT_SMTP_PORT": "2525", "EVALKIT_SMTP_PASSWORD": "pw",
           "EVALKIT_SMTP_FROM": "other@example.org"}
    got = smtp_settings(store, environ=env)
    assert (got.host, got.port, got.sender) == ("relay.example.org", 2525, "other@example.org")
    stored = json.dumps(store.get_setting("smtp"))
    assert "pw" not in stored and "password" not in stored


@pytest.mark.parametrize("setting, env, message", [
    ({"host": "mail.example.org"}, {}, "no sender address: set EVALKIT_SMTP_FROM"),
    ({"host": "mail.example.org", "from": SENDER, "password": "x"}, {}, "workspace setting smtp holds a password"),
    ({"host": "mail.example.org", "from": SENDER}, {"EVALKIT_SMTP_PORT": "99999"},
     "EVALKIT_SMTP_PORT '99999' is not a TCP port"),
    ({"host": "mail.example.org", "from": SENDER}, {"EVALKIT_SMTP_STARTTLS": "maybe"},
     "EVALKIT_SMTP_STARTTLS 'maybe' is not yes or no"),
    ({"host": "mail.example.org", "from": "nobody"}, {}, "workspace setting smtp.from 'nobody' is not an e-mail"),
    ({"host": "mail.example.org", "from": SENDER, "username": "u"}, {"EVALKIT_SMTP_PASSWORD": "pw"},
     "without STARTTLS would send the password unencrypted"),
    ({"host": "mail.example.org", "from": SENDER, "hots": "x"}, {}, "workspace setting smtp has unknown keys hots"),
])
def test_bad_settings_are_one_line(store, setting, env, message):
    store.set_setting("smtp", setting)
    with pytest.raises(DeliveryError) as caught:
        smtp_settings(store, environ=env)
    assert message in str(caught.value) and "\n" not in str(caught.value)


# --- sending ---------------------------------------------------------------------------------------------------


def test_send_delivers_each_message_once_and_marks_it_sent(store, smtp, tmp_path):
    recorder, settings = smtp()
    queued = queue_some(store, 3, tmp_path)
    queued.append(queue_message(store, "certificate", "zoe@example.org", "Your certificate", "Dear Zoë, ✓",
                                [attachment(tmp_path, "cert.pdf", "%PDF-1.7 fake"),
                                 attachment(tmp_path, "data.bin", "\x00\x01")]))
    seen = []
    summary = send_pending(store, settings, progress=lambda done, total, row: seen.append((done, total,
                                                                                             row["status"])))
    assert (summary.sent, summary.failed, summary.pending, summary.stopped) == (4, 0, 0, None)
    assert summary.line() == "sent 4, failed 0, pending 0" and summary.ok
    assert seen == [(1, 4, "sent"), (2, 4, "sent"), (3, 4, "sent"), (4, 4, "sent")]
    assert [m["message_id"] for m in recorder.received] == [q["message_id"] for q in queued]
    first = recorder.received[0]
    assert first["to"] == ["person1@example.org"] and first["from"] == SENDER
    assert first["subject"] == "Your result 1" and first["body"].strip() == "Dear person 1,\nPassed."
    data = first["attachments"]["letter.html"]
    assert data == b"<p>Dear Ann</p>"
    assert hashlib.sha256(data).hexdigest() == messages(store)[0]["attachments"][0]["sha256"]
    assert first["message"].get_content_type() == "multipart/mixed"
    parts = {p.get_filename(): p.get_content_type() for p in recorder.received[3]["message"].iter_attachments()}
    assert parts == {"cert.pdf": "application/pdf", "data.bin": "application/octet-stream"}
    assert recorder.received[3]["body"].strip() == "Dear Zoë, ✓"
    for row in messages(store):
        assert row["status"] == "sent" and row["attempts"] == 1 and row["sent_at"] is not None
        assert row["last_error"] is None
    with store.read() as conn:
        actions = collections.Counter(conn.execute(sa.select(audit.c.action).where(audit.c.entity == "outbox"))
                                      .scalars())
    assert actions == {"outbox_queue": 4, "outbox_claim": 4, "outbox_sent": 4}
    again = send_pending(store, settings)
    assert (again.sent, again.failed, again.pending) == (0, 0, 0) and len(recorder.received) == 4


def test_a_message_sent_again_is_the_same_message(store, smtp):
    recorder, settings = smtp()
    (row,) = queue_some(store, 1)
    send_pending(store, settings)
    with store.transaction("admin") as tx:  # as if the first attempt had been lost
        tx.update(outbox, {"id": row["id"]}, {"status": "pending"})
    time.sleep(1.1)
    send_pending(store, settings)
    one, two = recorder.received
    assert one["message_id"] == two["message_id"] == row["message_id"] and one["date"] == two["date"]


def test_dry_run_writes_eml_files_and_changes_nothing(store, smtp, tmp_path):
    recorder, settings = smtp()
    queued = queue_some(store, 3, tmp_path)
    before = table_counts(store)
    out = tmp_path / "preview"
    summary = send_pending(store, settings, dry_run_dir=out)
    assert summary.line() == "written 3, failed 0, pending 3"
    assert sorted(p.name for p in out.iterdir()) == [f"{q['id']}.eml" for q in queued]
    parsed = email.message_from_bytes((out / f"{queued[1]['id']}.eml").read_bytes(), policy=policy.default)
    assert parsed["To"] == "person2@example.org" and parsed["Message-ID"] == queued[1]["message_id"]
    assert parsed["From"] == SENDER
    assert [p.get_payload(decode=True) for p in parsed.iter_attachments()] == [b"<p>Dear Ann</p>"]
    assert recorder.received == [] and table_counts(store) == before
    assert set(statuses(store).values()) == {"pending"}
    # without any SMTP settings a dry run still previews, from a placeholder sender
    summary = send_pending(store, dry_run_dir=tmp_path / "preview2")
    assert len(summary.files) == 3 and "From: evalkit@example.invalid" in summary.files[0].read_text()


def test_an_attachment_changed_or_gone_after_queueing_is_refused(store, smtp, tmp_path):
    recorder, settings = smtp()
    changed = attachment(tmp_path, "changed.html")
    gone = attachment(tmp_path, "gone.html")
    first = queue_message(store, "result_letter", "a@example.org", "A", "a", [changed])
    second = queue_message(store, "result_letter", "b@example.org", "B", "b", [attachment(tmp_path, "fine.html"), gone])
    third = queue_message(store, "result_letter", "c@example.org", "C", "c")
    changed.write_text("<p>Dear Ann, you failed</p>")
    gone.unlink()
    summary = send_pending(store, settings)
    assert (summary.sent, summary.failed) == (1, 2) and not summary.ok
    assert [m["message_id"] for m in recorder.received] == [third["message_id"]]
    rows = {r["id"]: r for r in messages(store)}
    assert rows[first["id"]]["status"] == "failed"
    assert rows[first["id"]]["last_error"].startswith(f"attachment 1 changed.html ({changed}) changed since it was "
                                                      "queued (SHA-256 now ")
    assert rows[second["id"]]["status"] == "failed"
    assert rows[second["id"]]["last_error"] == f"attachment 2 gone.html ({gone}) has vanished since it was queued"


def test_a_refusal_marks_the_message_failed_with_the_servers_reply(store, smtp):
    recorder, settings = smtp(Recorder(refuse_rcpt={"person2@example.org"}))
    queued = queue_some(store, 3)
    summary = send_pending(store, settings)
    assert (summary.sent, summary.failed, summary.pending) == (2, 1, 0)
    rows = {r["id"]: r for r in messages(store)}
    refused = rows[queued[1]["id"]]
    assert refused["status"] == "failed" and refused["attempts"] == 1
    assert refused["last_error"] == "550 5.1.1 <person2@example.org>: mailbox unavailable"
    assert summary.errors == [(refused["id"], refused["last_error"])]
    assert [m["to"] for m in recorder.received] == [["person1@example.org"], ["person3@example.org"]]


def test_a_refused_data_is_failed_too(store, smtp):
    recorder, settings = smtp(Recorder(data_replies=["554 5.7.1 message rejected as spam"]))
    queue_some(store, 2)
    summary = send_pending(store, settings)
    assert (summary.sent, summary.failed) == (1, 1)
    assert messages(store, "failed")[0]["last_error"] == "554 5.7.1 message rejected as spam"


def test_a_non_ascii_address_needs_a_server_with_smtputf8(store, smtp):
    queue_message(store, "reminder", "zoë@exämple.de", "Erinnerung", "Liebe Zoë")
    _, plain = smtp(enable_SMTPUTF8=False)
    summary = send_pending(store, plain)
    assert summary.failed == 1 and messages(store)[0]["last_error"].startswith("SMTP error: ")
    recorder, settings = smtp(enable_SMTPUTF8=True)
    requeue(store, [1])
    assert send_pending(store, settings).sent == 1 and recorder.received[0]["to"] == ["zoë@exämple.de"]


def test_temporary_failures_are_retried_with_backoff_then_failed(store, smtp):
    waits = []
    recorder, settings = smtp(Recorder(data_replies=["451 4.3.0 try again later"] * 2))
    (first,) = queue_some(store, 1)
    summary = send_pending(store, settings, backoff=0.5, sleep=waits.append)
    row = messages(store)[0]
    assert (summary.sent, row["status"], row["attempts"]) == (1, "sent", 3) and waits == [0.5, 1.0]
    assert len(recorder.received) == 1
    recorder.data_replies = ["451 4.3.0 try again later"] * 5
    (second,) = queue_some(store, 1)
    summary = send_pending(store, settings, retries=3, backoff=0, sleep=waits.append)
    row = messages(store, ids=[second["id"]])[0]
    assert (summary.failed, row["status"], row["attempts"]) == (1, "failed", 3)
    assert row["last_error"] == "gave up after 3 attempts: 451 4.3.0 try again later"


def test_a_server_that_disappears_half_way_leaves_the_rest_pending(store, smtp):
    recorder, settings = smtp(Recorder(vanish_after=5))
    queued = queue_some(store, 10)
    waits = []
    summary = send_pending(store, settings, backoff=0.01, sleep=waits.append)
    assert (summary.sent, summary.failed, summary.pending) == (5, 0, 5) and not summary.ok
    assert summary.stopped.startswith(f"cannot send through 127.0.0.1:{settings.port}: connection refused: ")
    assert len(waits) == 3  # one back-off after the lost message, two between the three tries to reconnect
    rows = messages(store)
    assert [r["status"] for r in rows] == ["sent"] * 5 + ["pending"] * 5
    in_flight = rows[5]
    assert in_flight["attempts"] == 1 and in_flight["last_error"].startswith("connection lost: ")
    assert all(r["attempts"] == 0 and r["last_error"] is None for r in rows[6:])
    # the server comes back (a new one): a re-run delivers exactly the rest
    again, settings = smtp()
    summary = send_pending(store, settings)
    assert (summary.sent, summary.failed, summary.pending) == (5, 0, 0)
    arrived = [m["message_id"] for m in recorder.received + again.received]
    assert sorted(arrived) == sorted(q["message_id"] for q in queued) and len(set(arrived)) == 10


def test_an_unreachable_server_stops_the_run_and_sends_nothing(store):
    queue_some(store, 2)
    settings = SmtpSettings("127.0.0.1", free_port(), sender=SENDER, timeout=2)
    summary = send_pending(store, settings, retries=2, backoff=0)
    assert summary.line() == "sent 0, failed 0, pending 2"
    assert summary.stopped.startswith(f"cannot send through 127.0.0.1:{settings.port}: connection refused: ")
    assert all(r["status"] == "pending" and r["attempts"] == 0 for r in messages(store))


def test_login_uses_the_password_from_the_environment(store, smtp, monkeypatch):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    recorder, _ = smtp(auth_require_tls=False, authenticator=authenticator)
    configure_smtp(store, "127.0.0.1", recorder.controller.port, False, SENDER, "cert")
    monkeypatch.setenv("EVALKIT_SMTP_PASSWORD", "s3cret")
    queue_some(store, 1)
    assert send_pending(store).sent == 1 and logins == [(b"cert", b"s3cret")]
    monkeypatch.setenv("EVALKIT_SMTP_PASSWORD", "wrong")
    queue_some(store, 1)
    summary = send_pending(store, backoff=0)
    assert summary.stopped.startswith("cannot send through 127.0.0.1") and "535" in summary.stopped
    # one connection: smtplib tried PLAIN, then LOGIN; an authentication failure is not retried
    assert logins[1:] == [(b"cert", b"wrong")] * 2


def test_send_on_sqlite_and_postgresql(any_store, smtp, tmp_path):
    recorder, settings = smtp(Recorder(refuse_rcpt={"person2@example.org"}))
    queued = queue_some(any_store, 3, tmp_path)
    summary = send_pending(any_store, settings)
    assert (summary.sent, summary.failed, summary.pending) == (2, 1, 0)
    assert [r["status"] for r in messages(any_store)] == ["sent", "failed", "sent"]
    assert [m["message_id"] for m in recorder.received] == [queued[0]["message_id"], queued[2]["message_id"]]
    with any_store.exclusive("outbox"):
        with pytest.raises(StoreError, match="another outbox run is working on"):
            send_pending(any_store, settings)


def test_one_send_run_at_a_time(store, smtp):
    recorder, settings = smtp()
    queue_some(store, 1)
    with store.exclusive("outbox"):
        with pytest.raises(StoreError, match="another outbox run is working on"):
            send_pending(store, settings)
    assert send_pending(store, settings).sent == 1


def test_a_message_left_sending_by_a_dead_run_is_sent_again_once(store, smtp):
    recorder, settings = smtp()
    queued = queue_some(store, 2)
    with store.transaction("admin") as tx:  # a run claimed the first message and died before the server had it
        tx.update(outbox, {"id": queued[0]["id"]}, {"status": "sending", "attempts": 1})
    summary = send_pending(store, settings)
    assert (summary.sent, summary.resumed) == (2, 1)
    row = messages(store)[0]
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert [m["message_id"] for m in recorder.received] == [q["message_id"] for q in queued]


def test_a_message_left_sending_with_no_attempts_left_is_failed_not_resent(store, smtp):
    recorder, settings = smtp()
    (row,) = queue_some(store, 1)
    with store.transaction("admin") as tx:
        tx.update(outbox, {"id": row["id"]}, {"status": "sending", "attempts": 3})
    summary = send_pending(store, settings, retries=3)
    assert summary.failed == 1 and recorder.received == []
    assert "it may have arrived" in messages(store)[0]["last_error"]
    assert requeue(store, [row["id"]]) == [row["id"]]
    assert send_pending(store, settings).sent == 1
    with pytest.raises(DeliveryError, match=f"outbox message {row['id']} is sent; only a failed message"):
        requeue(store, [row["id"]])


def test_the_documented_window_a_death_between_the_250_and_the_commit_sends_a_second_copy(store, smtp, monkeypatch):
    """The residual window the send module documents: the server accepted the message, the run died before it
    recorded ``sent``. The next run sends it again, with the same Message-ID: a duplicate, never a loss."""
    recorder, settings = smtp()
    (row,) = queue_some(store, 1)
    real_set = send_module._set

    def die_before_recording_sent(store_, actor, row_id, values, action, expect):
        if action == "outbox_sent":
            raise KeyboardInterrupt  # as a kill right after the server's 250
        return real_set(store_, actor, row_id, values, action, expect)

    monkeypatch.setattr(send_module, "_set", die_before_recording_sent)
    with pytest.raises(KeyboardInterrupt):
        send_pending(store, settings)
    monkeypatch.setattr(send_module, "_set", real_set)
    assert statuses(store) == {row["id"]: "sending"} and len(recorder.received) == 1
    assert send_pending(store, settings).sent == 1
    assert [m["message_id"] for m in recorder.received] == [row["message_id"]] * 2


# --- kill -9 ---------------------------------------------------------------------------------------------------


def _send_process(workspace, port):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALKIT_SMTP_")}
    env.update(EVALKIT_SMTP_HOST="127.0.0.1", EVALKIT_SMTP_PORT=str(port), EVALKIT_SMTP_FROM=SENDER)
    return subprocess.Popen([sys.executable, "-m", "evalkit.cli", "outbox", "send", "-w", str(workspace)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_while_held(recorder, proc):
    """SIGKILL the send run while the server holds its reply to a RCPT (the message claimed, not accepted)."""
    assert recorder.holding.wait(60), proc.communicate()[1] if proc.poll() is not None else "no RCPT held"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL
    recorder.holding.clear()


def test_a_send_killed_with_sigkill_and_run_again_delivers_every_message_exactly_once(workspace, smtp, tmp_path):
    store = open_store(workspace)
    queued = queue_some(store, 12, tmp_path)
    # RCPT 4 is message 4 of the first run; the second run starts again with message 4 (RCPT 5), so RCPT 8 is
    # message 7.
    recorder, settings = smtp(Recorder(hold_rcpt={4, 8}))
    for delivered, killed in ((3, 4), (6, 7)):
        _kill_while_held(recorder, _send_process(workspace, settings.port))
        time.sleep(0.2)  # the server notices the lost connection
        assert len(recorder.received) == delivered
        rows = messages(store)
        assert [r["status"] for r in rows[:killed]] == ["sent"] * (killed - 1) + ["sending"]
        assert {r["status"] for r in rows[killed:]} == {"pending"}
    proc = _send_process(workspace, settings.port)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.startswith("sent 6, failed 0, pending 0")
    assert "1 message(s) left in 'sending' by an interrupted run were sent again" in err
    arrived = collections.Counter(m["message_id"] for m in recorder.received)
    assert arrived == collections.Counter(q["message_id"] for q in queued)  # each exactly once
    rows = messages(store)
    assert {r["status"] for r in rows} == {"sent"}
    assert [r["attempts"] for r in rows] == [1, 1, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1]
    assert all(m["attachments"]["letter.html"] == b"<p>Dear Ann</p>" for m in recorder.received)
    store.dispose()


# --- the command line ------------------------------------------------------------------------------------------


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_list_send_retry(workspace, smtp, capsys, monkeypatch, tmp_path):
    recorder, settings = smtp(Recorder(refuse_rcpt={"person3@example.org"}))
    store = open_store(workspace)
    queue_some(store, 3, tmp_path)
    code, out, _ = run(capsys, "outbox", "list", "-w", workspace)
    assert code == 0 and out.splitlines()[-1] == "3 message(s) listed; in the outbox: 3 pending, 0 sending, 0 sent, " \
                                                "0 failed"
    code, out, err = run(capsys, "outbox", "send", "--dry-run", tmp_path / "eml", "-w", workspace)
    assert code == 0 and out.startswith("written 3, failed 0, pending 3 (dry run")
    assert sorted(p.name for p in (tmp_path / "eml").iterdir()) == ["1.eml", "2.eml", "3.eml"]
    code, _, err = run(capsys, "outbox", "send", "-w", workspace)
    assert code == 1 and err.strip() == "evalkit: error: no SMTP host: set EVALKIT_SMTP_HOST or `evalkit outbox " \
                                        "configure --host HOST`"
    code, out, _ = run(capsys, "outbox", "configure", "--host", "127.0.0.1", "--port", settings.port, "--from",
                       SENDER, "-w", workspace)
    assert code == 0 and out.startswith("SMTP settings stored: host=127.0.0.1")
    code, out, err = run(capsys, "outbox", "send", "-w", workspace)
    assert code == 1 and out.startswith("sent 2, failed 1, pending 0 in ")
    assert "outbox 3: 550 5.1.1 <person3@example.org>: mailbox unavailable" in err
    assert err.strip().splitlines()[-1] == "evalkit: error: 1 message(s) failed; `evalkit outbox list --status " \
                                           "failed` shows why"
    code, out, _ = run(capsys, "outbox", "list", "--status", "failed", "-w", workspace)
    assert code == 0 and "person3@example.org" in out and "mailbox unavailable" in out and "person1" not in out
    recorder.refuse_rcpt.clear()
    assert run(capsys, "outbox", "retry", 3, "-w", workspace)[:2] == (0, "1 message(s) queued again; send them "
                                                                        "with `evalkit outbox send`\n")
    code, out, _ = run(capsys, "outbox", "send", "-w", workspace)
    assert code == 0 and out.startswith("sent 1, failed 0, pending 0")
    assert len(recorder.received) == 3
    store.dispose()


@pytest.mark.parametrize("argv, code, message", [
    (["outbox", "retry", "99"], 1, "evalkit: error: unknown outbox message 99"),
    (["outbox", "send", "--retries", "0"], 2, "expected 1 to 100, got 0"),
    (["outbox", "list", "--status", "lost"], 2, "invalid choice: 'lost'"),
    (["outbox", "configure", "--host", "mail.example.org", "--from", "x@y"], 1,
     "evalkit: error: sender address 'x@y' is not an e-mail address: the domain has no dot"),
    (["outbox", "send", "--dry-run", "{tmp}/no/eml"], 1,
     "evalkit: error: cannot create the dry-run folder {tmp}/no/eml: folder {tmp}/no does not exist"),
])
def test_cli_bad_input_is_one_line(workspace, capsys, tmp_path, argv, code, message):
    store = open_store(workspace)
    before = table_counts(store)
    got, _, err = run(capsys, *[a.format(tmp=tmp_path) for a in argv], "-w", workspace)
    assert got == code and message.format(tmp=tmp_path) in err.strip().splitlines()[-1]
    if code == 1:
        assert len(err.strip().splitlines()) == 1
    assert table_counts(store) == before
    store.dispose()


# --- call certification by e-mail ------------------------------------------------------------------------------


def scored_agent(store, email=None):
    aid = cc.add_agent(store, "Jane", "O'Brien", "2025-11-24", certifier="Dana Alvarez")
    if email:
        cc.set_agent_email(store, aid, email, "coordinator")
    levels = {c.id: 4 for c in cc.load_scorecard().criteria}
    cc.score_call(store, aid, "Dana Alvarez", {**levels, "RES3": 3}, "Clear greeting.",
                  "RES3: read the disclosure in full.", "Calm and confident.", "2025-11-24")
    return aid


def test_call_scorecard_is_queued_and_delivered_to_the_agent(store, smtp):
    recorder, settings = smtp()
    aid = scored_agent(store, "jane.obrien@example.org")
    row = cc.queue_call_scorecard(store, aid, 1, actor="coordinator")
    assert (row["kind"], row["recipient"], row["ref"]) == ("call_scorecard", "jane.obrien@example.org",
                                                           f"cc_call:{aid}:1")
    assert cc.queue_call_scorecard(store, aid, 1)["id"] == row["id"]  # queued once
    assert send_pending(store, settings).sent == 1
    (got,) = recorder.received
    assert got["to"] == ["jane.obrien@example.org"]
    assert got["subject"] == "Call certification: your call 1 of 5, score 94.8 (pass)"
    body = got["body"]
    for text in ("Dear Jane,", "Score: 94.8 (pass; a call passes at 85)", "Calls passed so far: 1 of 1 scored",
                 "What went well:\nClear greeting.", "What was marked down:\nRES3: read the disclosure in full.",
                 "A positive remark:\nCalm and confident."):
        assert text in body
    assert cc.queue_call_scorecard(store, aid, 1)["status"] == "sent"  # still once


def test_call_scorecard_without_an_e_mail_address_is_skipped(store):
    aid = scored_agent(store)
    assert cc.queue_call_scorecard(store, aid, 1) is None and table_counts(store)["outbox"] == 0
    with pytest.raises(cc.CallCertError, match=f"agent {aid} has no call 2"):
        cc.queue_call_scorecard(store, aid, 2)


def test_agent_email_is_checked_and_can_be_removed(store):
    aid = cc.add_agent(store, "Jane", "Smith", "2025-11-24")
    with pytest.raises(DeliveryError, match=f"agent {aid}'s e-mail 'jane@x' is not an e-mail address"):
        cc.set_agent_email(store, aid, "jane@x")
    assert cc.set_agent_email(store, aid, "jane@example.org") == "jane@example.org"
    assert cc.agent(store, aid)["email"] == "jane@example.org"
    assert cc.set_agent_email(store, aid, "") is None and cc.agent(store, aid)["email"] is None
    with pytest.raises(cc.CallCertError, match="unknown agent 99"):
        cc.set_agent_email(store, 99, "jane@example.org")


def test_eod_report_is_queued_to_the_distribution_list_with_the_html_attached(store, smtp, workspace):
    recorder, settings = smtp()
    scored_agent(store)
    with pytest.raises(cc.CallCertError, match="the workspace setting eod_recipients is not set"):
        cc.queue_eod_report(store, "2025-11-24")
    with pytest.raises(DeliveryError, match="eod_recipients item 2 'ops' is not an e-mail address"):
        cc.set_eod_recipients(store, ["lead@example.org", "ops"])
    assert cc.set_eod_recipients(store, ["lead@example.org", "ops@example.org", "OPS@example.org"]) == \
        ["lead@example.org", "ops@example.org"]
    rows = cc.queue_eod_report(store, "2025-11-24", "coordinator")
    assert [r["recipient"] for r in rows] == ["lead@example.org", "ops@example.org"]
    html = Path(json.loads(rows[0]["attachments"])[0]["path"])
    assert html.parent.parent == workspace / "outbox-files" and html.name == "callcert-eod-2025-11-24.html"
    later = cc.queue_eod_report(store, "2025-11-24")  # a second report of the day: a file of its own
    assert json.loads(later[0]["attachments"])[0]["path"] != str(html)
    assert send_pending(store, settings).sent == 4
    got = recorder.received[0]
    assert got["subject"] == "Call certification: end-of-day report, Monday 2025-11-24"
    report = cc.eod_report(store, "2025-11-24")
    assert got["body"] == report.markdown
    assert got["attachments"] == {"callcert-eod-2025-11-24.html": html.read_bytes()}
    assert got["message"].get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in got["message"].iter_attachments()] == ["text/html"]


def test_callcert_cli_email_commands(workspace, smtp, capsys):
    recorder, settings = smtp()
    levels = ",".join(f"{c.id}=4" for c in cc.load_scorecard().criteria)
    assert run(capsys, "callcert", "add-agent", "Jane", "Smith", "--start", "2025-11-24", "-w", workspace)[0] == 0
    code, out, _ = run(capsys, "callcert", "score-call", 1, "--certifier", "Pat Lee", "--levels", levels,
                       "--went-well", "Good", "--positive", "Great tone", "--date", "2025-11-24", "--email",
                       "-w", workspace)
    assert code == 0 and out.splitlines()[-1] == "agent 1 has no e-mail address: call 1's scorecard was not queued " \
                                                 "(`evalkit callcert agent-email 1 ADDRESS`)"
    code, out, err = run(capsys, "callcert", "agent-email", 1, "jane@x", "-w", workspace)
    assert code == 1 and err.strip() == "evalkit: error: agent 1's e-mail 'jane@x' is not an e-mail address: the " \
                                        "domain has no dot"
    assert run(capsys, "callcert", "agent-email", 1, "jane@example.org", "-w", workspace)[1] == \
        "agent 1: scorecards go to jane@example.org\n"
    code, out, _ = run(capsys, "callcert", "email-call", 1, 1, "-w", workspace)
    assert code == 0 and out.startswith("call 1's scorecard queued for jane@example.org (outbox 1, pending)")
    code, _, err = run(capsys, "callcert", "eod-report", "--date", "2025-11-24", "--email", "-w", workspace)
    assert code == 1 and "the workspace setting eod_recipients is not set" in err
    assert run(capsys, "callcert", "eod-recipients", "lead@example.org", "-w", workspace)[1] == \
        "end-of-day report goes to: lead@example.org\n"
    code, out, _ = run(capsys, "callcert", "eod-report", "--date", "2025-11-24", "--email", "-w", workspace)
    assert code == 0 and out == "end-of-day report for 2025-11-24 queued for 1 recipient(s) (outbox 2); " \
                                "`evalkit outbox send` sends it\n"
    code, out, _ = run(capsys, "outbox", "send", "--retries", "2", "-w", workspace)
    assert code == 1  # no SMTP host yet
    configure_smtp(open_store(workspace), "127.0.0.1", settings.port, False, SENDER)
    code, out, _ = run(capsys, "outbox", "send", "-w", workspace)
    assert code == 0 and out.startswith("sent 2, failed 0, pending 0")
    assert [m["to"] for m in recorder.received] == [["jane@example.org"], ["lead@example.org"]]
