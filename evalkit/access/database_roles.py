"""PostgreSQL login roles for people.

Each person signed in through the hub connects to PostgreSQL as a role of their own name, through the server's
Unix socket with peer authentication (the operating system vouches for the name; there is no password to leak).
The role is a member of ``evalkit_people``, which holds the table privileges; what it may read and write row by
row is decided by the policies of migration 0007, from the ``person_roles`` table. A person who holds an office
role (admin, psychometrician) is also in ``evalkit_office``, which may read candidates' contact details.
Run as the database's owner (the hub does, when it starts a person's server).
"""
from __future__ import annotations

from ..store import Store
from .identity import AccessError
from .roles import quoted_role, role_exists, sync_office_membership

__all__ = ["provision_person", "drop_person"]


def provision_person(store: Store, username: str) -> bool:
    """Make ``username``'s login role (no password; peer authentication) in ``evalkit_people`` if it is missing,
    and sync its office membership; returns True when the role was made. Refused on SQLite, which has no roles."""
    if store.is_sqlite:
        raise AccessError("a SQLite workspace has no database roles; people's servers share the file (use "
                          "PostgreSQL for confidentiality between people)")
    with store.engine.begin() as conn:
        made = not role_exists(conn, username)
        if made:
            conn.exec_driver_sql(f"CREATE ROLE {quoted_role(conn, username)} LOGIN IN ROLE evalkit_people")
        else:
            conn.exec_driver_sql(f"GRANT evalkit_people TO {quoted_role(conn, username)}")
        sync_office_membership(conn, username)
    return made


def drop_person(store: Store, username: str) -> None:
    """Stop ``username`` signing in to the database (their role stays, without LOGIN, so that what they wrote keeps
    its owner's name in the catalogue)."""
    with store.engine.begin() as conn:
        if role_exists(conn, username):
            conn.exec_driver_sql(f"ALTER ROLE {quoted_role(conn, username)} NOLOGIN")
            conn.exec_driver_sql(f"REVOKE evalkit_people FROM {quoted_role(conn, username)}")
