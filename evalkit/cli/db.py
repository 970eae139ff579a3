"""`evalkit db current | upgrade`: the database's schema revision, and bringing an older database up to it."""
from __future__ import annotations

from .common import add_workspace_arg, default_workspace


def _target(args) -> str:
    return args.workspace or default_workspace()


def cmd_current(args) -> None:
    from ..store import migrate

    state = migrate.schema_state(_target(args))
    head = migrate.HEAD_REVISION
    if state.status == "head":
        print(f"{state.revision} (head)")
    elif state.status == migrate.SCHEMA1:
        print("none: made by evalkit 0.1 (schema version 1); run `evalkit db upgrade`")
    elif state.status == "behind":
        print(f"{state.revision} (behind head {head}; run `evalkit db upgrade`)")
    elif state.status == "newer":
        print(f"{state.revision or 'none'}, schema version {state.schema_version} (newer than this evalkit's head "
              f"{head}: upgrade evalkit)")
    else:
        print(f"none: schema version {state.schema_version}, too old for `evalkit db upgrade`")


def cmd_upgrade(args) -> None:
    from ..store import migrate

    result = migrate.upgrade(_target(args))
    if not result.changed:
        print(f"{result.target} is already at {result.new} (head)")
    elif result.backup_path is None:
        print(f"upgraded {result.target} from {result.old} to {result.new} (no copy made: pg_dump is the backup)")
    else:
        print(f"upgraded {result.target} from {result.old} to {result.new}; backup: {result.backup_path}")


def register(sub) -> None:
    p = sub.add_parser("db", help="the database's schema: its revision, and upgrading it after an evalkit upgrade")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    c = dsub.add_parser("current", help="the schema revision of the database, and whether it is this evalkit's")
    add_workspace_arg(c)
    c.set_defaults(func=cmd_current)
    u = dsub.add_parser("upgrade", help="back up the database (SQLite) and upgrade its schema to this evalkit's")
    add_workspace_arg(u)
    u.set_defaults(func=cmd_upgrade)
