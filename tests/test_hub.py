"""The hub's pieces without a hub: its configuration, the spawner's choices, people's names and database URLs, the
no-role page, accounts, the demo's copy into PostgreSQL, and the `evalkit hub` / `evalkit roles` commands.
The hub itself, in a real browser: tests/browser/test_hub_browser.py."""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from traitlets.config import Config

from evalkit.access import grant
from evalkit.cli import main
from evalkit.evaluation import workflow
from evalkit.hub.config import HubSettings, apply
from evalkit.hub.people import person_database_url, refusal
from evalkit.hub.spawner import landing_url, server_args
from evalkit.store import open_store, raters


def settings(**changes) -> HubSettings:
    base = dict(workspace="postgresql+psycopg://postgres@/evalkit?host=/run/pg", state_dir="/srv/hub",
                python="/opt/venv/bin/python", proxy="/opt/chp", notebooks="/srv/hub/notebooks", port=8123,
                admins=["office.kim"], groups={"rater": ["sme.ana", "sme.bo"], "admin": ["office.kim"]})
    return HubSettings(**{**base, **changes})


def test_the_hub_listens_on_localhost_and_signs_up_only_with_approval():
    c = Config()
    apply(c, settings())
    assert (c.JupyterHub.ip, c.JupyterHub.port, c.JupyterHub.hub_ip) == ("127.0.0.1", 8123, "127.0.0.1")
    assert c.JupyterHub.authenticator_class.__name__ == "EvalkitAuthenticator"
    assert c.NativeAuthenticator.open_signup is False
    assert c.NativeAuthenticator.minimum_password_length >= 10
    assert c.Authenticator.admin_users == {"office.kim"}
    assert c.Authenticator.username_pattern.startswith("^") and c.Authenticator.username_pattern.endswith("$")
    assert c.JupyterHub.admin_access is False and c.JupyterHub.shutdown_on_logout is True
    assert c.JupyterHub.load_groups["rater"] == {"users": ["sme.ana", "sme.bo"]}
    assert c.Spawner.env_keep == ["LANG", "LC_ALL"]  # nothing else of the hub's environment reaches a person
    assert c.JupyterHub.db_url == "sqlite:////srv/hub/hub/jupyterhub.sqlite"


def test_idle_culler_and_settle_services():
    c = Config()
    apply(c, settings(idle_timeout=900))
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert "--timeout=900" in services["idle-culler"]["command"]
    assert services["settle"]["command"][-4:] == ["settle", "--watch", "-w", settings().workspace]
    assert {r["name"] for r in c.JupyterHub.load_roles} == {"idle-culler"}
    sqlite = Config()
    apply(sqlite, settings(workspace="/srv/ws", idle_timeout=0))
    assert sqlite.JupyterHub.services == []  # SQLite: no settle service (every kernel can read all scores anyway)


def test_each_role_lands_on_its_page_and_only_some_get_jupyterlab():
    assert landing_url({"page": "score_submissions.ipynb", "lab": False}) == "/voila/render/score_submissions.ipynb"
    assert landing_url({"page": "rater_agreement.ipynb", "lab": True}) == "/lab/tree/rater_agreement.ipynb"
    assert landing_url(None) == "/"
    rater = server_args({"page": "score_submissions.ipynb", "lab": False})
    assert "--ServerApp.jpserver_extensions=jupyterlab=False" in rater
    assert "--ServerApp.terminals_enabled=False" in rater
    assert "--KernelManager.transport=ipc" in rater  # kernel channels on sockets in the person's own home
    admin = server_args({"page": "admin.ipynb", "lab": True}, "/srv/hub/lab-settings")
    assert not any("jupyterlab=False" in a or "terminals_enabled" in a for a in admin)
    assert "--LabApp.app_settings_dir=/srv/hub/lab-settings" in admin


@pytest.mark.parametrize("name, problem", [
    ("sme.ana", None),
    ("postgres", "reserved"), ("root", "reserved"), ("evalkit_office", "reserved"), ("pg_read_all_data", "reserved"),
    ("daemon", "reserved"), ("messagebus", "reserved"),
    ("Ana", "not valid"), ("a/b", "not valid"), ("", "not valid"), ("x" * 33, "not valid"),
    ("sme.ana; DROP ROLE x", "not valid"),
])
def test_names_a_person_may_not_take(name, problem):
    found = refusal(name)
    assert (found is None) if problem is None else (problem in found)


def test_an_existing_system_account_the_hub_did_not_make_is_refused():
    import pwd
    existing = next(p.pw_name for p in pwd.getpwall() if p.pw_name.isalpha() and p.pw_name.islower()
                    and refusal(p.pw_name) and "already a system account" in refusal(p.pw_name))
    assert "choose another" in refusal(existing)


def test_a_persons_database_url_has_their_name_and_no_password():
    owner = "postgresql+psycopg://postgres:secret@/evalkit?host=/var/run/postgresql&port=5433"
    assert person_database_url(owner, "sme.ana") == \
        "postgresql+psycopg://sme.ana@/evalkit?host=/var/run/postgresql&port=5433"
    template = "postgresql+psycopg://{username}@db.example.org/evalkit?sslmode=verify-full"
    assert person_database_url(owner, "sme.ana", template) == \
        "postgresql+psycopg://sme.ana@db.example.org/evalkit?sslmode=verify-full"
    with pytest.raises(PermissionError):
        person_database_url(owner, "x@evil")


def test_the_no_role_page_is_one_escaped_line():
    from evalkit.hub.no_role import page
    html = page("a<b")
    assert html.count("<p") == 1 and "a&lt;b holds no role in this workspace" in html and "<b>a&lt;b</b>" in html
    assert "href='/hub/logout'" in html


def test_the_start_line_says_plainly_who_can_read_a_sqlite_workspace():
    from evalkit.hub.run import start_lines
    lines = start_lines(settings(workspace="/srv/ws", admins=[]), "/srv/ws")
    assert "http://127.0.0.1:8123/" in lines[0]
    assert any("EVERY signed-in person's kernel can read the whole workspace file" in line for line in lines)
    assert any("nobody holds the admin role" in line for line in lines)
    assert not any("EVERY" in line for line in start_lines(settings(), "postgresql+psycopg://postgres@/evalkit"))


def test_accounts_are_made_once_with_a_hashed_password(tmp_path):
    from nativeauthenticator.orm import UserInfo

    from evalkit.hub.accounts import _session, add_account, has_account
    db = tmp_path / "hub" / "jupyterhub.sqlite"
    assert add_account(db, "office.kim", "a long passphrase") is True
    assert add_account(db, "office.kim", "another one here") is False
    assert has_account(db, "office.kim") and not has_account(db, "sme.ana")
    assert oct(db.stat().st_mode & 0o777) == "0o600" and oct(db.parent.stat().st_mode & 0o777) == "0o700"
    session = _session(db)
    info = UserInfo.find(session, "office.kim")
    assert info.is_authorized and info.is_valid_password("a long passphrase") and b"passphrase" not in info.password
    session.close()


def test_sign_up_refuses_reserved_names(workspace):
    from evalkit.hub.authenticator import EvalkitAuthenticator
    auth = EvalkitAuthenticator(add_new_table=False, workspace=str(workspace))
    assert auth.validate_username("sme.ana")
    assert not auth.validate_username("postgres") and not auth.validate_username("root")
    assert not auth.validate_username("Ana Smith")


@pytest.mark.postgres
def test_the_demo_copy_into_postgresql_keeps_every_row_and_later_ids_follow(store, pg_url):
    from evalkit.hub.demo import copy_workspace
    workflow.add_rater(store, "sme.ana", "Ana Lima")
    grant(store, "sme.ana", "rater", actor="setup")
    target = open_store(pg_url, create=True)
    try:
        copied = copy_workspace(store, target)
        assert copied > 0
        assert [r["username"] for r in workflow.list_raters(target)] == ["sme.ana"]
        workflow.add_rater(target, "sme.bo", "Bo Berg")  # the id sequence was moved past the copied ids
        with target.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(raters)).scalar() == 2
    finally:
        target.dispose()


# --- the commands ------------------------------------------------------------------------------------------


def test_roles_grant_list_revoke(workspace, capsys):
    ws = str(workspace)
    assert main(["roles", "grant", "sme.ana", "rater", "-w", ws]) == 0
    assert main(["roles", "grant", "sme.ana", "rater", "-w", ws]) == 0
    assert main(["roles", "grant", "psy.pat", "psychometrician", "-w", ws]) == 0
    out = capsys.readouterr().out
    assert "sme.ana: now holds the role rater" in out and "already held" in out
    assert main(["roles", "list", "-w", ws]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == ["psy.pat", "sme.ana"]
    assert main(["roles", "revoke", "sme.ana", "rater", "-w", ws]) == 0
    assert "no longer holds" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["roles", "grant", "sme.ana", "boss"], "unknown role 'boss'"),
    (["roles", "grant", "Robert'); DROP TABLE", "rater"], "is not valid"),
    (["roles", "revoke", "sme.ana", "wizard"], "unknown role"),
    (["hub", "--demo", "-w", "somewhere"], "--demo makes its own workspace"),
    (["hub", "--account", "postgres"], "reserved"),
])
def test_bad_input_is_one_line(workspace, capsys, argv, message):
    if "-w" not in argv and argv[0] == "roles":
        argv = argv + ["-w", str(workspace)]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("evalkit: error:") and message in err and "\n" not in err


@pytest.mark.skipif(os.geteuid() != 0, reason="evalkit hub refuses to start unless run as root")
def test_hub_on_a_missing_workspace_is_one_line(tmp_path, capsys):
    from conftest import free_port
    assert main(["hub", "-w", str(tmp_path / "nowhere"), "--state-dir", str(tmp_path / "state"),
                 "--port", str(free_port())]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("evalkit: error:") and "is not an evalkit workspace" in err and "\n" not in err


@pytest.mark.skipif(os.geteuid() != 0, reason="makes a system group")
def test_a_sqlite_workspace_is_shared_with_the_peoples_group(workspace):
    import grp
    import secrets
    import subprocess

    from evalkit.hub.workspace import share_sqlite_workspace
    group = f"evalkit-t{secrets.token_hex(3)}"
    try:
        share_sqlite_workspace(workspace, group)
        gid = grp.getgrnam(group).gr_gid
        db = workspace / "evalkit.db"
        assert workspace.stat().st_gid == db.stat().st_gid == gid
        assert workspace.stat().st_mode & 0o7777 == 0o2770  # group read-write, new files inherit the group
        assert db.stat().st_mode & 0o777 == 0o660  # and nobody else
    finally:
        subprocess.run(["groupdel", group], capture_output=True)


def test_the_operators_own_configuration_file_is_loaded_after_evalkits(tmp_path, monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    from evalkit.hub.config import CONFIG_FILE, save_settings
    extra = tmp_path / "sign_in.py"
    extra.write_text("c.JupyterHub.authenticator_class = 'generic-oauth'\nc.GenericOAuthenticator.client_id = 'ek'\n")
    path = tmp_path / "settings.json"
    save_settings(settings(extra_config=str(extra)), path)
    monkeypatch.setenv("EVALKIT_HUB_SETTINGS", str(path))
    config = PyFileConfigLoader(CONFIG_FILE.name, str(CONFIG_FILE.parent)).load_config()
    assert config.JupyterHub.authenticator_class == "generic-oauth"  # the operator's line wins
    assert config.GenericOAuthenticator.client_id == "ek"
    assert config.JupyterHub.ip == "127.0.0.1" and config.EvalkitSpawner.workspace == settings().workspace


def test_an_account_from_the_command_line(tmp_path, monkeypatch, capsys):
    import io

    from evalkit.hub.accounts import has_account
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase\n"))
    assert main(["hub", "--account", "office.kim", "--state-dir", str(tmp_path)]) == 0
    assert has_account(tmp_path / "hub" / "jupyterhub.sqlite", "office.kim")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["hub", "--account", "sme.ana", "--state-dir", str(tmp_path)]) == 1
    assert "at least 10 characters" in capsys.readouterr().err
