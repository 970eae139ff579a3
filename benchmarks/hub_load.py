"""Benchmark: the hub with N people signed in at once, each saving drafts through their own server, on PostgreSQL.

Run as root (the hub starts each person's server as their own system user), with the project's interpreter, after
``bash scripts/hub_packages.sh``::

    .venv/bin/python benchmarks/hub_load.py [--users 20] [--saves 50]

Makes a throw-away PostgreSQL cluster with peer authentication, a workspace where each of N raters has one work
product to score, and their hub accounts; starts `evalkit hub` on a free localhost port; then

* signs all N in at once (HTTP, as a browser does: the sign-in form, the hub starting their server, the OAuth
  hand-over) and times each from the sign-in to their scoring page (Voila's page, notebook executed);
* in each person's own server, starts a kernel (Jupyter's REST and websocket API, with their own session) and,
  once every kernel is ready, has all of them save 50 drafts at once (``workflow.save_draft`` on their database
  role, row-level security on), timing each save in the kernel;
* measures the memory of each person's server: the resident set of its process tree (server, the scoring page's
  kernel and the benchmark's kernel).

Prints p50/p95 save latency, memory per server and sign-in times. Figures only; nothing is asserted. Everything
it started (hub, proxy, servers, cluster) is stopped and the system users it made are removed.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import pwd
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import websocket

from evalkit.access import grant
from evalkit.certification import set_profile
from evalkit.evaluation import workflow
from evalkit.hub import run
from evalkit.hub.accounts import add_accounts
from evalkit.hub.people import is_hub_user
from evalkit.hub.postgres import LocalCluster
from evalkit.store import open_store

PASSWORD = "benchmark password"
#: A profile CIAC's CCOM eligibility rules admit (as tests/eligible_profiles.py).
ELIGIBLE = {"education": {"highest": "bachelor"},
            "experience": [{"years": 3, "role": "management", "call_center": True, "employer": "private"},
                           {"years": 2, "role": "strategic_leadership", "call_center": True, "employer": "private"}]}

#: Runs in each person's kernel: their queue's submission, then ``saves`` drafts, each timed.
KERNEL_CODE = """
import json, os, time
from evalkit.evaluation import workflow
from evalkit.store import open_store
store = open_store(os.environ["EVALKIT_WORKSPACE"])
me = os.environ["JUPYTERHUB_USER"]
sid = workflow.queue(store, me)[0]["submission"]
criteria = workflow.rubric_for(store, workflow.submission(store, sid)["rubric_version"]).criteria
times = []
for i in range({saves}):
    c = criteria[i % len(criteria)]
    start = time.perf_counter()
    workflow.save_draft(store, sid, me, levels={{c.id: c.scores[i % len(c.scores)]}})
    times.append(time.perf_counter() - start)
print("TIMES" + json.dumps(times))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(url: str, users: list[str]) -> None:
    store = open_store(url, create=True)
    workflow.sync_programs(store)
    store.set_setting("allow_rater_choice", False, actor="bench")
    partner = "bench.partner"
    workflow.add_rater(store, partner, "Second Rater", actor="bench")
    for i, username in enumerate(users):
        workflow.add_rater(store, username, f"Rater {i + 1}", actor="bench")
        grant(store, username, "rater", actor="bench")
        candidate = f"CCOM-{i + 1:04d}"
        workflow.add_candidate(store, candidate, "Jane", f"Doe{i + 1}")
        set_profile(store, candidate, ELIGIBLE)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # knowledge assessments first: a warning only
            sid = workflow.receive_submission(store, candidate, "CCOM", "2026-09-01", True)
        workflow.assign_raters(store, sid, [username, partner])
    store.dispose()


def sign_in(base: str, username: str) -> tuple[requests.Session, float]:
    """Sign in as a browser does and wait for the scoring page; returns the session and the seconds it took."""
    session = requests.Session()
    session.get(f"{base}/hub/login", timeout=30)
    start = time.monotonic()
    session.post(f"{base}/hub/login", data={"username": username, "password": PASSWORD,
                                            "_xsrf": session.cookies.get("_xsrf", path="/hub/")}, timeout=300)
    page = f"{base}/user/{username}/voila/render/score_submissions.ipynb"
    deadline = start + 600
    while time.monotonic() < deadline:
        # The hub's spawn-pending page until the server is up (then the OAuth hand-over and the page itself)
        r = session.get(page, timeout=300)
        if r.status_code == 200 and r.url.startswith(page):  # Voila answers once the notebook has run
            return session, time.monotonic() - start
        time.sleep(0.5)  # the spawn-pending page, until the server is up
    raise RuntimeError(f"{username}: no scoring page after 600 s")


def open_kernel(base: str, username: str, session: requests.Session) -> websocket.WebSocket:
    api = f"{base}/user/{username}/api"
    xsrf = session.cookies.get("_xsrf", path=f"/user/{username}/")
    if xsrf is None:  # the server sets its own _xsrf cookie on a page it serves
        session.get(f"{base}/user/{username}/api/status", timeout=60)
        xsrf = session.cookies.get("_xsrf", path=f"/user/{username}/") or session.cookies.get("_xsrf")
    r = session.post(f"{api}/kernels", json={"name": "python3"}, headers={"X-XSRFToken": xsrf or ""}, timeout=120)
    r.raise_for_status()
    kernel = r.json()["id"]
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    ws = websocket.create_connection(f"{base.replace('http', 'ws', 1)}/user/{username}/api/kernels/{kernel}/channels",
                                     header=[f"Cookie: {cookie}"], timeout=600)
    _execute(ws, "import evalkit.evaluation.workflow")  # warm: imports done before the timed saves
    return ws


def _execute(ws: websocket.WebSocket, code: str) -> str:
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "", "session": "",
                                   "version": "5.3", "date": ""},
                        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                        "content": {"code": code, "silent": False, "store_history": False,
                                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
    out = []
    while True:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = msg["header"]["msg_type"]
        if kind == "stream":
            out.append(msg["content"]["text"])
        elif kind == "error":
            raise RuntimeError("\n".join(msg["content"]["traceback"])[-2000:])
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(out)


def server_memory(username: str) -> float:
    """MB resident in ``username``'s server's process tree (everything running as that user)."""
    uid = pwd.getpwnam(username).pw_uid
    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid != uid:
                    continue
                status = (entry / "status").read_text()
            except OSError:
                continue
            found = re.search(r"VmRSS:\s+(\d+) kB", status)
            total += int(found.group(1)) if found else 0
    return total / 1024


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--saves", type=int, default=50)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("hub_load: run as root (people's servers run as their own system users)")
    tag = secrets.token_hex(2)
    users = [f"bench.{i + 1:02d}.{tag}" for i in range(args.users)]
    base_dir = Path(tempfile.mkdtemp(prefix="evalkit-hubload-"))
    base_dir.chmod(0o711)
    cluster = LocalCluster(base_dir / "pg")
    proc = settings = None
    began = time.monotonic()
    try:
        cluster.start()
        url = cluster.owner_url()
        build(url, users)
        state = base_dir / "state"
        add_accounts(state / "hub" / "jupyterhub.sqlite", dict.fromkeys(users, PASSWORD))
        settings = run.prepare(url, state, port=_free_port(), idle_timeout=0)
        log = open(base_dir / "hub.log", "wb")
        proc = run.start(settings, log)
        base = f"http://127.0.0.1:{settings.port}"
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the hub did not start; its log: {base_dir / 'hub.log'}")
            try:
                if requests.get(f"{base}/hub/login", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        print(f"hub_load: {args.users} people, {args.saves} saves each; {platform.processor() or platform.machine()}"
              f", {os.cpu_count()} cores; hub up after {time.monotonic() - began:.0f} s", flush=True)

        with ThreadPoolExecutor(args.users) as pool:
            signed = list(pool.map(lambda u: sign_in(base, u), users))
        sign_in_times = [t for _, t in signed]
        print(f"sign-in to scoring page, all {args.users} at once: median {statistics.median(sign_in_times):.1f} s, "
              f"slowest {max(sign_in_times):.1f} s", flush=True)
        memory_page = [server_memory(u) for u in users]

        with ThreadPoolExecutor(args.users) as pool:
            sockets = list(pool.map(lambda pair: open_kernel(base, pair[0], pair[1][0]), zip(users, signed)))
        barrier = threading.Barrier(args.users)
        code = KERNEL_CODE.format(saves=args.saves)

        def saves(ws):
            barrier.wait()
            out = _execute(ws, code)
            return json.loads(out.split("TIMES", 1)[1])
        started = time.monotonic()
        with ThreadPoolExecutor(args.users) as pool:
            timings = list(pool.map(saves, sockets))
        wall = time.monotonic() - started
        latencies = [t * 1000 for per_user in timings for t in per_user]
        memory = [server_memory(u) for u in users]
        for ws in sockets:
            ws.close()
        print(f"save latency ({len(latencies)} saves, {args.users} people at once, {wall:.1f} s in all): "
              f"p50 {pct(latencies, 50):.0f} ms, p95 {pct(latencies, 95):.0f} ms, max {max(latencies):.0f} ms")
        print(f"memory per person's server (server + scoring page's kernel): median "
              f"{statistics.median(memory_page):.0f} MB, max {max(memory_page):.0f} MB; with the benchmark's kernel "
              f"too: median {statistics.median(memory):.0f} MB; all {args.users}: {sum(memory):.0f} MB")
    finally:
        if proc is not None:
            run.stop(proc, settings)
        cluster.stop()
        for username in users:
            if is_hub_user(username):
                subprocess.run(["userdel", "--remove", username], capture_output=True)
                subprocess.run(["groupdel", username], capture_output=True)
        if not os.environ.get("HUB_LOAD_KEEP"):
            shutil.rmtree(base_dir, ignore_errors=True)
        print(f"hub_load: done in {time.monotonic() - began:.0f} s (everything stopped)")


if __name__ == "__main__":
    main()
