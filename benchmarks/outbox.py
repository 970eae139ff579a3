"""Messages per second: queueing N e-mails with a small attachment and sending them with ``send_pending`` to a
local SMTP server.

Builds a throw-away workspace, writes N small attachments (2 KB of HTML each), queues one message per attachment
(one transaction per message, as a letter batch does), starts an aiosmtpd server in a process of its own on a free
localhost port, which keeps the Message-ID of what it accepts, and times ``evalkit.delivery.send_pending`` (one
SMTP connection, a claim and a ``sent`` commit per message, each with its audit record). Also times a dry run (the
``.eml`` files) of the same messages.

Run: ``.venv/bin/python benchmarks/outbox.py [--messages 1000] [--keep DIR]``. Prints figures; asserts only that
every message arrived once.
"""
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where this file's name would shadow evalkit's modules.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import multiprocessing
import os
import platform
import shutil
import socket
import tempfile
import time

from aiosmtpd.controller import Controller

from evalkit.delivery import SmtpSettings, counts, queue_message, send_pending
from evalkit.demo import init_workspace


class Counter:
    """An SMTP handler that accepts every message and writes its Message-ID to a file, one a line."""

    def __init__(self, path: Path):
        self.out = open(path, "a", buffering=1)

    async def handle_DATA(self, server, session, envelope):
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                self.out.write(line.split(b":", 1)[1].strip().decode() + "\n")
                break
        return "250 2.0.0 OK"


def serve(port: int, ids: Path, ready, stop) -> None:
    """The SMTP server, in a process of its own (in this one it would compete for the GIL with the sender)."""
    controller = Controller(Counter(ids), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--keep", help="build in this folder and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    n = args.messages
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="evalkit-bench-outbox-"))
    server = None
    try:
        store = init_workspace(base / "ws")
        files = base / "files"
        files.mkdir()
        started = time.perf_counter()
        for i in range(n):
            path = files / f"letter-{i:05d}.html"
            path.write_text(f"<html><body><p>Dear candidate {i},</p>" + "<p>Your result.</p>" * 100 + "</body></html>")
            queue_message(store, "result_letter", f"candidate{i}@example.org", f"Your result ({i})",
                          f"Dear candidate {i},\n\nyour result letter is attached.\n", [path],
                          ref=f"submission:{i}", actor="bench")
        queued = time.perf_counter() - started
        print(f"queued {n} messages in {queued:.2f} s ({n / queued:.0f}/s)", flush=True)

        started = time.perf_counter()
        preview = send_pending(store, dry_run_dir=base / "eml")
        dry = time.perf_counter() - started
        assert len(preview.files) == n

        port, ids = free_port(), base / "received.txt"
        ready, stop = multiprocessing.Event(), multiprocessing.Event()
        server = multiprocessing.Process(target=serve, args=(port, ids, ready, stop))
        server.start()
        assert ready.wait(30), "the SMTP server did not start"
        settings = SmtpSettings("127.0.0.1", port, sender="certification@example.org")
        summary = send_pending(store, settings, actor="bench")
        assert summary.sent == n and summary.ok, summary.line()
        stop.set()
        server.join(30)
        received = ids.read_text().split()
        assert len(received) == len(set(received)) == n and counts(store)["sent"] == n

        print(f"\n{n} messages, 2 KB attachment each, SQLite workspace, aiosmtpd on localhost (own process); "
              f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs")
        print(f"{'step':<44}{'seconds':>9}{'messages/s':>12}")
        for name, seconds in (("queue (one transaction per message)", queued),
                              ("send_pending, dry run (.eml files)", dry),
                              ("send_pending by SMTP", summary.seconds)):
            print(f"{name:<44}{seconds:>9.2f}{n / seconds:>12.0f}")
        store.dispose()
    finally:
        if server is not None and server.is_alive():
            stop.set()
            server.join(30)
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
