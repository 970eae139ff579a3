"""Hub accounts made from the command line, before the hub starts: the first admin's (so that nobody else can
claim an admin's name by signing up first), the demo's, the tests'.

An account is NativeAuthenticator's row in the hub's database (bcrypt hash of the password), approved. Everyone
else signs up at ``/hub/signup`` and waits for an admin's approval. Do not run this while the hub runs: the hub
keeps what it read of its database and does not expect another writer.
"""
from __future__ import annotations

from pathlib import Path

import bcrypt

__all__ = ["add_account", "add_accounts", "has_account"]


def _session(hub_db: Path):
    from jupyterhub import orm
    from nativeauthenticator.orm import UserInfo  # noqa: F401 - registers its table with the hub's

    hub_db.parent.mkdir(parents=True, exist_ok=True)
    hub_db.parent.chmod(0o700)
    try:
        return orm.new_session_factory(f"sqlite:///{hub_db}")()
    except orm.DatabaseSchemaMismatch as exc:  # made by another JupyterHub version
        raise RuntimeError(f"{hub_db}: {exc}".replace("run `jupyterhub upgrade-db`",
                                                      "run `jupyterhub upgrade-db` in its folder")) from None


def has_account(hub_db: Path, username: str) -> bool:
    """Whether the hub's database has an account for ``username``."""
    from nativeauthenticator.orm import UserInfo

    if not hub_db.exists():
        return False
    db = _session(hub_db)
    try:
        return UserInfo.find(db, username) is not None
    finally:
        db.close()


def add_accounts(hub_db: Path, passwords: dict[str, str], approved: bool = True) -> list[str]:
    """Make an account for each ``{username: password}`` (approved unless told otherwise) that is not there yet;
    returns the usernames made. The hub's database is made if it does not exist yet."""
    from nativeauthenticator.orm import UserInfo

    db = _session(hub_db)
    made = []
    try:
        for username, password in passwords.items():
            if UserInfo.find(db, username) is None:
                db.add(UserInfo(username=username, password=bcrypt.hashpw(password.encode(), bcrypt.gensalt()),
                                is_authorized=approved))
                made.append(username)
        db.commit()
    finally:
        db.close()
    hub_db.chmod(0o600)
    return made


def add_account(hub_db: Path, username: str, password: str, approved: bool = True) -> bool:
    """Make ``username``'s account with ``password``; returns False, changing nothing, when it is already there."""
    return bool(add_accounts(hub_db, {username: password}, approved))
