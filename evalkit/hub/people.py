"""People as the operating system and the database know them: one system user per person (their server runs as
it), and the database URL their kernel opens.

The hub makes a person's system user when an admin approves them (and again, if missing, when their server
starts): ``useradd --create-home``, home folder 0700, so one person's kernel cannot read another's files, nor, as a
different user, their process environment (``/proc/<pid>/environ`` is readable by its own user only). A username
that is already a system user the hub did not make (``root``, ``postgres``, a service account) is refused: a
person signed in under it would run their server as that account.
"""
from __future__ import annotations

import grp
import os
import pwd
import subprocess
import urllib.parse

from ..access import USERNAME_PATTERN, AccessError, check_username
from ..messages import show

__all__ = ["HUB_USER_COMMENT", "RESERVED_PREFIXES", "RESERVED_NAMES", "refusal", "check_person_name",
           "is_hub_user", "ensure_system_user", "person_database_url"]

#: The comment (GECOS) field of every system user the hub makes; an existing user without it is not a person.
HUB_USER_COMMENT = "evalkit hub person"

#: Names no person may take: the database's own roles and group roles, and system accounts by convention.
RESERVED_PREFIXES = ("evalkit", "pg_", "postgres", "systemd", "_")
RESERVED_NAMES = frozenset({"root", "nobody", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail",
                            "news", "uucp", "proxy", "www-data", "backup", "list", "irc", "gnats", "sshd",
                            "messagebus", "jupyterhub"})


def is_hub_user(username: str) -> bool:
    """Whether ``username`` is a system user the hub made (its comment field says so)."""
    try:
        entry = pwd.getpwnam(username)
    except KeyError:
        return False
    return entry.pw_gecos.split(",")[0] == HUB_USER_COMMENT


def refusal(username, owner_role: str | None = None) -> str | None:
    """Why ``username`` cannot be a person's name (one line), or None when it can.

    Examples
    --------
    >>> refusal("sme.ana") is None
    True
    >>> refusal("postgres")
    "username 'postgres' is reserved (a system or database account); choose another"
    >>> refusal("Ana Smith")
    "username 'Ana Smith' is not valid; expected 1-32 lower-case letters, digits, '.', '_' or '-', starting with a letter"
    """
    try:
        check_username(username)
    except AccessError as exc:
        return str(exc)
    if username in RESERVED_NAMES or username.startswith(RESERVED_PREFIXES) or username == owner_role:
        return f"username {show(username)} is reserved (a system or database account); choose another"
    try:
        pwd.getpwnam(username)
    except KeyError:
        return None
    if not is_hub_user(username):
        return f"username {show(username)} is already a system account on this server; choose another"
    return None


def check_person_name(username, owner_role: str | None = None) -> str:
    """``username``, or :class:`AccessError` with :func:`refusal`'s line."""
    problem = refusal(username, owner_role)
    if problem:
        raise AccessError(problem)
    return username


def ensure_system_user(username: str, group: str | None = None) -> bool:
    """Make ``username``'s system user (home folder 0700, no login shell) if it is missing; returns True when made.

    ``group``: a supplementary group the user is put in (a SQLite workspace's group, so that their kernel can
    open the shared file). Needs root.
    """
    check_person_name(username)
    made = False
    try:
        pwd.getpwnam(username)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/usr/sbin/nologin",
                        "--comment", HUB_USER_COMMENT, username], check=True, capture_output=True, text=True)
        made = True
    entry = pwd.getpwnam(username)
    os.chmod(entry.pw_dir, 0o700)
    if group and username not in grp.getgrnam(group).gr_mem:
        subprocess.run(["usermod", "--append", "--groups", group, username], check=True, capture_output=True)
    return made


def person_database_url(owner_url: str, username: str, template: str | None = None) -> str:
    """The URL ``username``'s kernel opens: ``template`` with ``{username}`` filled in when given (a remote server
    with per-user credentials), else the owner's URL with the user replaced and any password dropped (the same
    server and database, over its Unix socket, where peer authentication vouches for the name).

    Examples
    --------
    >>> person_database_url("postgresql+psycopg://postgres@/evalkit?host=/run/postgresql", "sme.ana")
    'postgresql+psycopg://sme.ana@/evalkit?host=/run/postgresql'
    >>> person_database_url("postgresql+psycopg://o@db/e", "sme.ana", "postgresql+psycopg://{username}@db/e")
    'postgresql+psycopg://sme.ana@db/e'
    """
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccessError(f"username {show(username)} is not valid")
    if template:
        return template.replace("{username}", username)
    parts = urllib.parse.urlsplit(owner_url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, f"{urllib.parse.quote(username, safe='.')}@{host}", parts.path,
                                    parts.query, parts.fragment))
