"""`evalkit hub`: the multi-user set-up (JupyterHub for a workspace), and `evalkit roles`: who may do what.

``evalkit hub -w postgresql+psycopg://postgres@/evalkit?host=/var/run/postgresql`` serves the workspace to its
people on 127.0.0.1 (the organisation's TLS proxy in front: docs/operators.md); ``--demo`` makes and serves a
demo workspace on a PostgreSQL cluster of its own, with nothing to configure. ``--account NAME`` makes an approved
hub account (the first admin's, before anyone can sign up under that name) and exits.

``evalkit roles grant NAME ROLE`` / ``revoke`` / ``list``: the roles recorded in the workspace, which decide each
person's page, their hub groups and, on PostgreSQL, what their database role may read.
"""
from __future__ import annotations

import getpass
import os
import signal
import sys
from pathlib import Path
from urllib.parse import unquote

from .common import CommandError, actor, command, default_workspace, group, store_from, whole_number

__all__ = ["DEFAULT_PORT", "DEFAULT_STATE", "register"]

DEFAULT_PORT = 8000
#: The hub's state (its database of accounts, the served notebooks; the demo's PostgreSQL cluster).
DEFAULT_STATE = Path(__file__).resolve().parents[2] / ".hub" / "state"


def _read_password(username: str) -> str:
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {username}: ")
        if getpass.getpass("again: ") != password:
            raise CommandError("the two passwords differ; nothing was made")
    if len(password) < 10:
        raise CommandError("a password needs at least 10 characters; nothing was made")
    return password


def cmd_hub(args) -> None:
    from ..hub import run
    from ..hub.accounts import add_account
    from ..hub.people import refusal
    from ..store.engine import safe_url

    state = Path(args.state_dir or DEFAULT_STATE).resolve()
    hub_db = state / "hub" / "jupyterhub.sqlite"
    if args.account:
        problem = refusal(args.account)
        if problem:
            raise CommandError(problem)
        try:
            made = add_account(hub_db, args.account, _read_password(args.account))
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        if not made:
            raise CommandError(f"{args.account} already has a hub account")
        print(f"evalkit: {args.account} has an approved hub account; give them roles with `evalkit roles grant`")
        return
    if args.demo and args.workspace:
        raise CommandError("--demo makes its own workspace: leave out -w")
    if os.geteuid() != 0:
        raise CommandError("evalkit hub runs as root: it starts each person's server as that person's own "
                           "system user")
    cluster = None
    # A service manager (or a test) stops us with SIGTERM: stop the hub and everything it started, not orphan it.
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        if args.demo:
            from ..hub.demo import prepare_demo
            try:
                cluster, workspace, admin, password = prepare_demo(state, hub_db, say=print)
            except RuntimeError as exc:  # the PostgreSQL server missing or failing to start
                raise CommandError(str(exc).splitlines()[0]) from None
            if password:
                print(f"evalkit: the demo's admin signs in as {admin} with the password {password} (shown this "
                      "once)", flush=True)
        else:
            workspace = args.workspace or default_workspace()
        try:
            settings = run.prepare(workspace, state, port=args.port, idle_timeout=args.idle_timeout,
                                   person_url=args.person_url, extra_config=args.config)
        except run.HubError as exc:
            raise CommandError(str(exc)) from None
        shown = unquote(safe_url(settings.workspace)) if "://" in settings.workspace else settings.workspace
        for line in run.start_lines(settings, shown):
            print(line, flush=True)
        proc = run.start(settings)
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            code = 0
        finally:
            run.stop(proc, settings)
        if code not in (0, -15):
            raise CommandError(f"JupyterHub stopped with exit status {code}")
    except KeyboardInterrupt:
        pass
    finally:
        if cluster is not None:
            cluster.stop()


def _sigterm_as_interrupt(_signum, _frame):
    raise KeyboardInterrupt


def _role(text: str) -> str:
    from ..access import ROLES

    if text not in ROLES:
        raise CommandError(f"unknown role {text!r}; expected one of {', '.join(ROLES)}")
    return text


def cmd_roles_grant(args) -> None:
    from ..access import AccessError, grant

    store = store_from(args)
    try:
        added = grant(store, args.username, _role(args.role), actor())
    except AccessError as exc:
        raise CommandError(str(exc)) from None
    print(f"{args.username}: {'now holds' if added else 'already held'} the role {args.role}")


def cmd_roles_revoke(args) -> None:
    from ..access import AccessError, revoke

    store = store_from(args)
    try:
        removed = revoke(store, args.username, _role(args.role), actor())
    except AccessError as exc:
        raise CommandError(str(exc)) from None
    print(f"{args.username}: {'no longer holds' if removed else 'did not hold'} the role {args.role}")


def cmd_roles_list(args) -> None:
    from ..access import ROLES, holders

    found = holders(store_from(args))
    if not found:
        print("nobody holds a role yet: `evalkit roles grant NAME ROLE`")
    for username, roles in found.items():
        print(f"{username:<32} {', '.join(r for r in ROLES if r in roles)}")


def register(sub) -> None:
    p = command(sub, "hub", cmd_hub, "serve the workspace to its people: JupyterHub on localhost, one server per "
                                     "signed-in person, each on their role's page (run as root)")
    p.add_argument("--port", type=whole_number(1, 65535), default=DEFAULT_PORT,
                   help=f"the TCP port on 127.0.0.1 (default {DEFAULT_PORT}); the TLS proxy forwards to it")
    p.add_argument("--demo", action="store_true",
                   help="make (first time) and serve a demo workspace on a PostgreSQL cluster of its own")
    p.add_argument("--idle-timeout", type=whole_number(0, 7 * 24 * 3600), default=3600, metavar="S",
                   help="stop a person's server after S idle seconds (default 3600; 0: never)")
    p.add_argument("--state-dir", default=None, metavar="DIR",
                   help=f"the hub's own files: accounts, served pages, the demo's database (default {DEFAULT_STATE})")
    p.add_argument("--person-url", default=None, metavar="TEMPLATE",
                   help="the database URL of a person's kernel, {username} filled in (a remote PostgreSQL server "
                        "with per-user credentials); default: the workspace's server over its Unix socket")
    p.add_argument("--config", default=None, metavar="FILE",
                   help="a JupyterHub configuration file of your own, loaded after evalkit's (e.g. the "
                        "organisation's OAuth or LDAP sign-in: docs/operators.md)")
    p.add_argument("--account", default=None, metavar="NAME",
                   help="make an approved hub account for NAME (password from the terminal or stdin) and exit")

    roles = group(sub, "roles", "who may do what: the roles recorded in the workspace")
    g = command(roles, "grant", cmd_roles_grant, "give a person a role")
    r = command(roles, "revoke", cmd_roles_revoke, "take a role from a person (refused at their next action)")
    for parser in (g, r):
        @parser.later  # the roles come with the database layer: imported when the command is used
        def _role_arguments(parser) -> None:
            from ..access import ROLES

            parser.add_argument("username")
            parser.add_argument("role", help=f"one of {', '.join(ROLES)}")
    command(roles, "list", cmd_roles_list, "everyone with a role, and their roles")
