"""The workspace as the hub sees it: opened once per process as its owner, and what the hub reads from it."""
from __future__ import annotations

import functools
import grp
import os
import subprocess
from pathlib import Path

from ..access import holders
from ..store import Store, open_store

__all__ = ["owner_store", "groups_and_admins", "share_sqlite_workspace"]


@functools.lru_cache(maxsize=None)
def owner_store(workspace: str) -> Store:
    """The workspace opened as its owner (root: on PostgreSQL the owner role through the ident map), kept open
    for the life of the hub process."""
    return open_store(workspace)


def groups_and_admins(store: Store) -> tuple[dict[str, list[str]], list[str]]:
    """The hub's groups (one per role: its holders) and its admins (the workspace's admins)."""
    groups: dict[str, list[str]] = {}
    for username, roles in holders(store).items():
        for role in roles:
            groups.setdefault(role, []).append(username)
    return {role: sorted(users) for role, users in sorted(groups.items())}, groups.get("admin", [])


def share_sqlite_workspace(folder: Path, group: str) -> None:
    """Let the members of the system group ``group`` (every person the hub makes) open a SQLite workspace: the
    group is made if missing and owns the folder (read-write, new files inherit the group) and its files.

    This is what makes SQLite the single-desk store: every signed-in person's kernel can then read the whole
    file, whatever their role. Needs root.
    """
    try:
        grp.getgrnam(group)
    except KeyError:
        subprocess.run(["groupadd", "--system", group], check=True, capture_output=True)
    gid = grp.getgrnam(group).gr_gid
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        os.chown(path, -1, gid)
        mode = path.stat().st_mode & 0o7777
        if path.is_dir():
            os.chmod(path, (mode | 0o2070) & ~0o007)
        else:
            os.chmod(path, (mode | 0o060) & ~0o007)
