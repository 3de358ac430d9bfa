"""the audit log carries its county (issue 20)

``audit_log`` gets ``county_id`` (NOT NULL, a foreign key to ``counties``): the county of the
entry's entity, so that the last large table can be sharded by county with the others
(docs/scaling.md) and an entity's history is read by county. ``ix_audit_log_entity`` becomes
(county_id, entity, entity_id).

The entity is no foreign key (``entity``, ``entity_id`` as text), so existing entries are filled with
one UPDATE per entity type, from the entity's table: a village period's quota and assessment are
recorded on the village period's id, an account by its unit (county staff: their county; a township
or village account: its unit's), an inspection assignment by "period code:township code", a county
by its own id. The log is append-only (triggers of the initial migration): on PostgreSQL its trigger
is disabled for these UPDATEs only; on SQLite making the column NOT NULL rebuilds the table, which
drops the triggers, so they are dropped first and made again at the end.

An entry whose county cannot be found (its entity's row missing, or an entity type unknown here) is
not left NULL nor guessed: the migration stops, naming the entries (docs/decisions.md, issue 20).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENTITY_ID = "CAST(audit_log.entity_id AS INTEGER)"

# Each entity type and the county of its entity (a scalar subquery on the entry's row).
COUNTY_OF_ENTITY: dict[str, str] = {
    **{
        entity: f"SELECT county_id FROM {table} WHERE {table}.id = {ENTITY_ID}"
        for entity, table in (
            ("household", "households"),
            ("village_period", "village_periods"),
            ("award_quota", "village_periods"),  # recorded on its village period's id
            ("village_assessment", "village_periods"),  # likewise
            ("notice", "notices"),
            ("objection", "objections"),
            ("plaque", "plaques"),
            ("spot_check", "spot_checks"),
            ("inspection_team", "inspection_teams"),
            ("township", "townships"),
            ("village", "villages"),
            ("group", '"groups"'),
        )
    },
    "county": f"SELECT id FROM counties WHERE counties.id = {ENTITY_ID}",
    "user": (
        "SELECT COALESCE(users.county_id, townships.county_id, villages.county_id) FROM users"
        " LEFT JOIN townships ON townships.id = users.township_id"
        " LEFT JOIN villages ON villages.id = users.village_id"
        f" WHERE users.id = {ENTITY_ID}"
    ),
    # "2026Q4:52099901": the period's code and the township's (a township's code is unique).
    "inspection_assignment": (
        "SELECT townships.county_id FROM townships JOIN periods ON periods.county_id = townships.county_id"
        " WHERE periods.code || ':' || townships.code = audit_log.entity_id"
    ),
}

# Migration 0001's guards (SQLite: one trigger per refused operation).
SQLITE_GUARDS = ("UPDATE", "DELETE")
SHOWN = 20  # orphan entries named in the refusal


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _drop_sqlite_guards() -> None:
    for operation in SQLITE_GUARDS:
        op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{operation.lower()}")


def _create_sqlite_guards() -> None:
    for operation in SQLITE_GUARDS:
        op.execute(
            f"""CREATE TRIGGER audit_log_no_{operation.lower()} BEFORE {operation} ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"""
        )


def _refuse_orphans() -> None:
    """Stop (the whole migration rolls back) if an entry's county was not found."""
    bind = op.get_bind()
    count = bind.scalar(sa.text("SELECT count(*) FROM audit_log WHERE county_id IS NULL")) or 0
    if not count:
        return
    rows = bind.execute(
        sa.text(f"SELECT id, entity, entity_id FROM audit_log WHERE county_id IS NULL ORDER BY id LIMIT {SHOWN}")
    ).all()
    named = ", ".join(f"#{id_} ({entity} {entity_id})" for id_, entity, entity_id in rows)
    more = f" and {count - len(rows)} more" if count > len(rows) else ""
    raise RuntimeError(
        f"migration 0012: {count} audit_log entries name an entity whose county cannot be found (its row is"
        f" missing, or its entity type is unknown to the migration): {named}{more}. Nothing was changed. Restore"
        " the missing rows (from a backup) or extend COUNTY_OF_ENTITY, then upgrade again"
        " (docs/decisions.md, issue 20)."
    )


def upgrade() -> None:
    sqlite = _sqlite()
    op.add_column("audit_log", sa.Column("county_id", sa.Integer(), nullable=True))
    if sqlite:
        _drop_sqlite_guards()
    else:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    for entity, county in COUNTY_OF_ENTITY.items():
        op.execute(f"UPDATE audit_log SET county_id = ({county}) WHERE entity = '{entity}'")
    if not sqlite:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    _refuse_orphans()

    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("county_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            op.f("fk_audit_log_county_id_counties"), "counties", ["county_id"], ["id"], ondelete="RESTRICT"
        )
    op.create_index("ix_audit_log_entity", "audit_log", ["county_id", "entity", "entity_id"])
    if sqlite:
        _create_sqlite_guards()


def downgrade() -> None:
    sqlite = _sqlite()
    if sqlite:
        _drop_sqlite_guards()
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint(op.f("fk_audit_log_county_id_counties"), type_="foreignkey")
        batch.drop_column("county_id")
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])
    if sqlite:
        _create_sqlite_guards()
