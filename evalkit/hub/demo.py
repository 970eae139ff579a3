"""`evalkit hub --demo`: the multi-user set-up on one machine, with nothing to configure.

A PostgreSQL cluster of its own under the state folder (peer authentication, :mod:`evalkit.hub.postgres`), the
demo workspace copied into it (the same synthetic candidates, raters and scores as `evalkit init --demo`), the
demo's people given their roles, and an admin account whose password is printed once, on the first start.
"""
from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

import sqlalchemy as sa

from ..access import grant, holders
from ..demo import build_demo
from ..evaluation import workflow
from ..store import Store, StoreError, metadata, open_store
from .accounts import add_account
from .postgres import LocalCluster

__all__ = ["DEMO_ADMIN", "DEMO_PSYCHOMETRICIAN", "copy_workspace", "demo_roles", "prepare_demo"]

#: The demo's admin when its workspace names none (an account is made for the admin), and psychometrician.
DEMO_ADMIN = "office.admin"
DEMO_PSYCHOMETRICIAN = "psy.demo"


def copy_workspace(source: Store, target: Store, batch: int = 2000) -> int:
    """Copy every row of ``source`` into ``target``, a new database of the same schema revision whose tables are
    empty, table by table in foreign-key order; PostgreSQL's id sequences are moved past the copied ids.
    Returns the number of rows copied."""
    copied = 0
    with source.read() as src, target.engine.begin() as dst:
        for table in metadata.sorted_tables:
            if table.name == "meta":
                continue
            rows = [dict(r._mapping) for r in src.execute(sa.select(table))]
            for start in range(0, len(rows), batch):
                dst.execute(table.insert(), rows[start:start + batch])
            copied += len(rows)
            key = list(table.primary_key.columns)
            if dst.dialect.name == "postgresql" and len(key) == 1 and isinstance(key[0].type, sa.Integer):
                sequence = dst.execute(sa.select(sa.func.pg_get_serial_sequence(table.name, key[0].name))).scalar()
                if sequence and rows:
                    dst.execute(sa.select(sa.func.setval(sequence, max(r[key[0].name] for r in rows))))
    return copied


def demo_roles(store: Store) -> None:
    """The demo's people and their roles: every demo rater a rater (adjudicators and the lead SME theirs too),
    an admin and a psychometrician."""
    for rater in workflow.list_raters(store):
        grant(store, rater["username"], "rater", actor="setup")
        if rater["is_adjudicator"]:
            grant(store, rater["username"], "adjudicator", actor="setup")
        if rater["is_lead"]:
            grant(store, rater["username"], "lead_sme", actor="setup")
    grant(store, DEMO_ADMIN, "admin", actor="setup")
    grant(store, DEMO_PSYCHOMETRICIAN, "psychometrician", actor="setup")


def prepare_demo(state_dir: Path, hub_db: Path, say=print) -> tuple[LocalCluster, str, str, str | None]:
    """Start (making on first use) the demo's cluster and workspace; returns the cluster, the owner's URL, the
    admin's username and their new password (None when the account was made on an earlier start)."""
    cluster = LocalCluster(state_dir / "pg").start()
    try:
        url = cluster.owner_url()
        try:
            store = open_store(url)
        except StoreError:  # an empty database (not an evalkit database yet): build the demo
            store = None
        if store is None:
            say("evalkit: building the demo workspace (a minute, once)")
            with tempfile.TemporaryDirectory(prefix="evalkit-demo-") as folder:
                build_demo(Path(folder) / "ws")
                source = open_store(Path(folder) / "ws")
                store = open_store(url, create=True)
                copy_workspace(source, store)
                source.dispose()
            store.set_setting("allow_rater_choice", False, actor="setup")  # who scores is who signed in
        if not holders(store):
            demo_roles(store)
        admin = min(u for u, roles in holders(store).items() if "admin" in roles)
        store.dispose()
        password = secrets.token_urlsafe(12)
        if not add_account(hub_db, admin, password):
            password = None  # made on an earlier start
        return cluster, url, admin, password
    except BaseException:
        cluster.stop()
        raise
