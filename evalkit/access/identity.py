"""Who is signed in.

With a hub, the person is who the hub signed in: on PostgreSQL the database session itself says so (each person
connects as their own role through the server's Unix socket with peer authentication, so their kernel cannot claim
to be anyone else); on SQLite it is ``$JUPYTERHUB_USER``, which the hub sets and a person could change in their own
kernel, which is why SQLite is the single-desk store (the docs and the hub's start line say so). Without a hub
there is no signed-in person (None): the single-desk views then work as before.
"""
from __future__ import annotations

import os

from ..store import Store

__all__ = ["AccessError", "signed_in_user"]


class AccessError(PermissionError):
    """An action refused because of who is asking: no role, a role removed, a bad username."""


def signed_in_user(store: Store | None = None) -> str | None:
    """The signed-in person: the database's session user when ``store`` is a PostgreSQL database opened as a
    person, else the hub's ``$JUPYTERHUB_USER``, else None (no hub)."""
    if store is not None and store.person is not None:
        return store.person
    return os.environ.get("JUPYTERHUB_USER") or None
