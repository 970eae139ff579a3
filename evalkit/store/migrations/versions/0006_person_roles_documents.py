"""Who may do what (roles recorded in the workspace), and work products kept in the database.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

- ``person_roles``: a signed-in person's roles (rater, adjudicator, lead_sme, certifier, coordinator,
  psychometrician, admin), by username, who granted each and when. The hub's groups and, on PostgreSQL, what each
  person's database role may read and write follow this table.
- ``submission_documents``: the work product's bytes beside the submission, so that a rater whose server runs as
  their own system user (and cannot read the workspace folder) reads it through the database, where row-level
  security decides who may. On SQLite the documents already in the workspace's folder are copied in.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic. Revision ids are numbers (NNNN): see evalkit.store.migrate.new_revision.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

#: The meta table's schema_version at this revision (an older evalkit refuses a database newer than it knows).
SCHEMA_VERSION = 6

#: Documents larger than this stay only in the folder (the view says so); 0006 copies nothing bigger.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


def _set_schema_version(version: int) -> None:
    op.execute(sa.text("UPDATE meta SET value = :value WHERE key = 'schema_version'")
               .bindparams(value=str(version)))


def _copy_workspace_documents(documents: sa.Table) -> None:
    """Copy the documents of a SQLite workspace's submissions into the new table (a PostgreSQL database has no
    workspace folder here: ``evalkit documents load`` copies them)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or not bind.engine.url.database:
        return
    folder = Path(bind.engine.url.database).resolve().parent
    rows = bind.execute(sa.text("SELECT id, document FROM submissions WHERE document IS NOT NULL")).all()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    for submission_id, stored in rows:
        path = (folder / stored).resolve()
        if not path.is_relative_to(folder / "documents") or not path.is_file() \
                or path.stat().st_size > MAX_DOCUMENT_BYTES:
            continue
        content = path.read_bytes()
        bind.execute(documents.insert().values(submission_id=submission_id, name=path.name, content=content,
                                               sha256=hashlib.sha256(content).hexdigest(), stored_at=now))


def upgrade() -> None:
    op.create_table(
        "person_roles",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(32), primary_key=True),
        sa.Column("granted_by", sa.Text, nullable=False),
        sa.Column("granted_at", sa.DateTime, nullable=False),
    )
    documents = op.create_table(
        "submission_documents",
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("stored_at", sa.DateTime, nullable=False),
    )
    _copy_workspace_documents(documents)
    _set_schema_version(SCHEMA_VERSION)


def downgrade() -> None:
    op.drop_table("submission_documents")
    op.drop_table("person_roles")
    _set_schema_version(SCHEMA_VERSION - 1)
