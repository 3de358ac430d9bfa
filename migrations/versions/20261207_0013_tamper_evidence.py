"""tamper evidence (issue 32): records' digests and the audit log's hash chain

``result_records.digest``: the SHA-256 of the record as posted and its household rows.
``audit_log.prev_hash`` and ``audit_log.hash``: each entry's hash covers its fields and the hash of
its county's previous entry, the chain ``hygiene check`` verifies; ``ix_audit_log_chain``
(county_id, id) finds a county's last entry, which ``audit.record`` reads for every new one.

The rows stored before this revision get theirs here, computed by ``hygiene.digests`` as the app
computes them for new rows: so the chain and the digests vouch for the data from the upgrade on (what
was altered before it cannot be told; docs/decisions.md, issue 32). The audit log is append-only:
its guard is set aside for these UPDATEs only (PostgreSQL: the trigger disabled; SQLite: the
triggers dropped and made again), as in 0012. Plain ADD/DROP COLUMN on both databases, so SQLite
does not rebuild the tables and their triggers stay.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hygiene import digests

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_GUARDS = ("UPDATE", "DELETE")  # migration 0001's triggers on audit_log


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _set_guards_aside(sqlite: bool) -> None:
    if sqlite:
        for operation in SQLITE_GUARDS:
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{operation.lower()}")
    else:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")


def _restore_guards(sqlite: bool) -> None:
    if sqlite:
        for operation in SQLITE_GUARDS:
            op.execute(
                f"""CREATE TRIGGER audit_log_no_{operation.lower()} BEFORE {operation} ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"""
            )
    else:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


def _chain_existing_entries(bind: sa.Connection) -> None:
    log = digests.AUDIT_LOG
    counties = bind.scalars(sa.select(log.c.county_id).distinct().order_by(log.c.county_id)).all()
    for county_id in counties:
        prev_hash: str | None = None
        updates = []
        for entry in bind.execute(sa.select(log).where(log.c.county_id == county_id).order_by(log.c.id)).mappings():
            own = digests.entry_hash(prev_hash, entry)
            updates.append({"entry_id": entry["id"], "prev_hash": prev_hash, "own": own})
            prev_hash = own
        if updates:
            bind.execute(
                sa.text("UPDATE audit_log SET prev_hash = :prev_hash, hash = :own WHERE id = :entry_id"), updates
            )


def _digest_existing_records(bind: sa.Connection) -> None:
    updates = [{"record_id": record_id, "digest": now} for record_id, _, now in digests.record_digests(bind)]
    if updates:
        bind.execute(sa.text("UPDATE result_records SET digest = :digest WHERE id = :record_id"), updates)


def upgrade() -> None:
    sqlite = _sqlite()
    bind = op.get_bind()
    op.add_column("result_records", sa.Column("digest", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_log_chain", "audit_log", ["county_id", "id"])
    _digest_existing_records(bind)
    _set_guards_aside(sqlite)
    _chain_existing_entries(bind)
    _restore_guards(sqlite)


def downgrade() -> None:
    op.drop_index("ix_audit_log_chain", table_name="audit_log")
    for table, column in (("audit_log", "hash"), ("audit_log", "prev_hash"), ("result_records", "digest")):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
