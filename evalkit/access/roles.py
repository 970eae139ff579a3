"""The roles a signed-in person may hold, recorded in the workspace's ``person_roles`` table.

Every action checks the table when it runs (:func:`require`), so a person removed from a role while their server
runs is refused at their next action; on PostgreSQL the row-level security policies read the same table, so the
refusal holds against raw SQL in that person's kernel too.
"""
from __future__ import annotations

import re

import sqlalchemy as sa

from ..messages import show
from ..store import Store, person_roles, utcnow
from .identity import AccessError

__all__ = ["ROLES", "OFFICE_ROLES", "LANDING", "USERNAME_PATTERN", "check_username", "grant", "revoke", "roles_of",
           "holders", "require", "landing_page", "quoted_role", "role_exists", "sync_office_membership"]

#: The roles, and what each one does.
ROLES = {
    "rater": "scores the submissions assigned to them (SME evaluator)",
    "adjudicator": "resolves submissions whose raters disagree",
    "lead_sme": "scores benchmark submissions and calibrates the raters",
    "certifier": "scores agents' certification calls",
    "coordinator": "runs the call-certification team (Cert Coordinator)",
    "psychometrician": "reads every score to check rater agreement and the instrument's validity",
    "admin": "runs the certification office: candidates, submissions, raters, letters, certificates, appeals",
    "candidate": "completes their own self-assessment (linked to their candidate record: evalkit candidates "
                 "link-person)",
    "agent": "reads their own call scorecards and sends their end-of-day report (linked to their agent record)",
}

#: Roles that read candidates' contact details and every score (on PostgreSQL: the ``evalkit_office`` group).
OFFICE_ROLES = ("admin", "psychometrician")

#: The page each role lands on after signing in (notebooks/…), most senior first: a person with several roles
#: lands on the first of theirs. ``lab``: the role may open JupyterLab.
LANDING = {
    "admin": {"page": "admin.ipynb", "lab": True},
    "psychometrician": {"page": "rater_agreement.ipynb", "lab": True},
    "coordinator": {"page": "call_certification.ipynb", "lab": False},
    "certifier": {"page": "call_certification.ipynb", "lab": False},
    "adjudicator": {"page": "adjudicate.ipynb", "lab": False},
    "lead_sme": {"page": "score_submissions.ipynb", "lab": False},
    "rater": {"page": "score_submissions.ipynb", "lab": False},
    "agent": {"page": "agent.ipynb", "lab": False},
    "candidate": {"page": "self_assessment.ipynb", "lab": False},
}

#: A username is also a system user and a PostgreSQL role: lower-case letters, digits, ``.``, ``_`` and ``-``,
#: starting with a letter, at most 32 characters (the system's limit).
USERNAME_PATTERN = re.compile(r"[a-z][a-z0-9._-]{0,31}")


def check_username(username) -> str:
    """The username, or :class:`AccessError` saying what a username may hold.

    Examples
    --------
    >>> check_username("sme.ana")
    'sme.ana'
    >>> check_username("Robert'); DROP TABLE")
    Traceback (most recent call last):
    ...
    evalkit.access.identity.AccessError: username "Robert'); DROP TABLE" is not valid; expected 1-32 lower-case \
letters, digits, '.', '_' or '-', starting with a letter
    """
    if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
        raise AccessError(f"username {show(username)} is not valid; expected 1-32 lower-case letters, digits, '.', "
                          "'_' or '-', starting with a letter")
    return username


def _check_role(role) -> str:
    if role not in ROLES:
        raise AccessError(f"unknown role {show(role)}; expected one of {', '.join(ROLES)}")
    return role


def roles_of(store: Store, username: str) -> set[str]:
    """The roles ``username`` holds now."""
    with store.read() as conn:
        return set(conn.execute(sa.select(person_roles.c.role).where(person_roles.c.username == username)).scalars())


def holders(store: Store) -> dict[str, set[str]]:
    """Every person with a role: {username: roles}, by username (the hub's groups are made from this)."""
    with store.read() as conn:
        rows = conn.execute(sa.select(person_roles.c.username, person_roles.c.role)
                            .order_by(person_roles.c.username)).all()
    found: dict[str, set[str]] = {}
    for username, role in rows:
        found.setdefault(username, set()).add(role)
    return found


def grant(store: Store, username: str, role: str, actor: str) -> bool:
    """Give ``username`` the ``role``; returns False when they already held it.

    On PostgreSQL a person who holds an office role (:data:`OFFICE_ROLES`) and has a database role is also put in
    the ``evalkit_office`` group (the column privileges on candidates' contact details). Only the database's owner
    may change group membership: when an admin grants from their own session, the hub syncs it as the owner when
    the person's server next starts; row-level security follows the recorded role at once either way."""
    check_username(username)
    _check_role(role)
    with store.transaction(actor) as tx:
        added = tx.insert_if_absent(person_roles, {"username": username, "role": role, "granted_by": actor,
                                                   "granted_at": utcnow()}, action="grant_role")
        if added and store.person is None and not store.is_sqlite:
            sync_office_membership(tx.conn, username)
    return added is not None


def revoke(store: Store, username: str, role: str, actor: str) -> bool:
    """Take ``role`` from ``username``; returns False when they did not hold it. Takes effect at their next
    action, even while their server runs."""
    check_username(username)
    _check_role(role)
    with store.transaction(actor) as tx:
        held = tx.get(person_roles, {"username": username, "role": role})
        if held is None:
            return False
        tx.delete(person_roles, {"username": username, "role": role}, action="revoke_role")
        if store.person is None and not store.is_sqlite:
            sync_office_membership(tx.conn, username)
    return True


def require(store: Store, username: str | None, *allowed: str) -> str:
    """The role of ``username`` that allows an action open to ``allowed``; :class:`AccessError` when they hold none
    of them (now: a role removed a moment ago no longer counts)."""
    for role in allowed:
        _check_role(role)
    if not username:
        raise AccessError("nobody is signed in; sign in through the hub")
    held = roles_of(store, username)
    for role in allowed:
        if role in held:
            return role
    wanted = " or ".join(allowed)
    raise AccessError(f"{username} does not hold the role {wanted}"
                      + ("" if held else " (no role at all)") + "; ask an admin of the certification office")


def landing_page(roles) -> dict | None:
    """Where a person with ``roles`` lands (``{"page", "lab", "role"}``), or None for no role at all.

    Examples
    --------
    >>> landing_page({"rater", "psychometrician"})
    {'page': 'rater_agreement.ipynb', 'lab': True, 'role': 'psychometrician'}
    >>> landing_page(set()) is None
    True
    """
    for role, landing in LANDING.items():
        if role in roles:
            return {**landing, "role": role}
    return None


# --- PostgreSQL: the office group follows the recorded roles ------------------------------------------------


def quoted_role(conn, username: str) -> str:
    """``username`` checked and quoted as a PostgreSQL identifier."""
    return conn.dialect.identifier_preparer.quote_identifier(check_username(username))


def role_exists(conn, username: str) -> bool:
    """Whether PostgreSQL has a role of that name."""
    return conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": username}).first() \
        is not None


def sync_office_membership(conn, username: str) -> None:
    """Put ``username``'s database role in ``evalkit_office`` exactly when they hold an office role (no role yet:
    nothing to do; :func:`provision_person` syncs it when it makes the role)."""
    if not role_exists(conn, username):
        return
    office = conn.execute(sa.select(sa.func.count()).select_from(person_roles).where(
        person_roles.c.username == username, person_roles.c.role.in_(OFFICE_ROLES))).scalar()
    verb = "GRANT evalkit_office TO {}" if office else "REVOKE evalkit_office FROM {}"
    conn.exec_driver_sql(verb.format(quoted_role(conn, username)))
