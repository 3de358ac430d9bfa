"""every large table carries its county (issue 20)

The tables that reached their county only through a parent get ``county_id`` (NOT NULL, a foreign
key to ``counties``), filled from the parent, so that the schema is ready to shard by county
(docs/scaling.md: Citus, distribution column ``county_id``) and a county's reads need no join to
find it. The column leads each table's unique keys and its main composite indexes, under the same
names where the index is named by hand (``uq_reviews_household_period_kind`` …); a constraint named
by the convention takes the name of its new columns. Primary keys stay ``id``.

On SQLite, making the column NOT NULL rebuilds each table (batch mode); ``hygiene.migrate`` turns
foreign keys off meanwhile and checks every reference before the commit. The rebuild drops the
triggers that keep a record's rows immutable (migration 0003), so they are dropped first and made
again; on PostgreSQL they are only disabled for the one UPDATE of the record rows.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each table, the parent its county is copied from and the column that references it; a parent is
# filled before its children.
PARENTS: tuple[tuple[str, str, str], ...] = (
    ("villages", "townships", "township_id"),
    ("groups", "villages", "village_id"),
    ("village_periods", "periods", "period_id"),
    ("award_quotas", "village_periods", "village_period_id"),
    ("village_assessments", "village_periods", "village_period_id"),
    ("result_records", "village_periods", "village_period_id"),
    ("result_record_households", "result_records", "record_id"),
    ("reviews", "households", "household_id"),
    ("plaques", "households", "household_id"),
    ("plaque_events", "plaques", "plaque_id"),
    ("household_stars", "households", "household_id"),
    ("disqualifications", "households", "household_id"),
    ("inspection_assignments", "periods", "period_id"),
    ("spot_checks", "inspection_assignments", "assignment_id"),
    ("objections", "village_periods", "village_period_id"),
)

# Unique constraints (named by the convention) that the county now leads: the columns after it.
UNIQUE: dict[str, tuple[str, ...]] = {
    "groups": ("village_id", "code"),
    "village_periods": ("village_id", "period_id"),
    "award_quotas": ("village_period_id",),
    "village_assessments": ("village_period_id",),
    "result_records": ("village_period_id", "number"),
    "result_record_households": ("record_id", "household_code"),
    "inspection_assignments": ("period_id", "township_id"),
    "spot_checks": ("assignment_id", "household_id"),
}

# Indexes named by hand that the county now leads, under the same name: table, the columns after
# the county, unique, and the WHERE of a partial index.
INDEXES: dict[str, tuple[str, tuple[str, ...], bool, str | None]] = {
    "uq_reviews_household_period_kind": ("reviews", ("household_id", "period_id", "kind"), True, "kind != 'peer'"),
    "uq_reviews_peer_reviewer": ("reviews", ("household_id", "period_id", "reviewer_household_id"), True, "kind = 'peer'"),
    "ix_reviews_period_household": ("reviews", ("period_id", "household_id"), False, None),
    "uq_result_records_one_current": ("result_records", ("village_period_id",), True, "superseded_at IS NULL"),
    "uq_plaques_one_valid_per_household": ("plaques", ("household_id",), True, "state = 'valid'"),
    "uq_household_stars_active": ("household_stars", ("household_id", "star_id"), True, "withdrawn_on IS NULL"),
}  # fmt: skip

# Tables with no other (whole) index led by the county get one on it alone.
COUNTY_INDEXED = ("villages", "plaques", "plaque_events", "household_stars", "disqualifications", "objections")

# Migration 0003's guards on a record and its rows (SQLite: one trigger per refused operation).
IMMUTABLE = {"result_record_households": ("UPDATE", "DELETE"), "result_records": ("DELETE",)}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _drop_sqlite_guards() -> None:
    for table, operations in IMMUTABLE.items():
        for operation in operations:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation.lower()}")


def _create_sqlite_guards() -> None:
    for table, operations in IMMUTABLE.items():
        for operation in operations:
            op.execute(
                f"""CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is immutable'); END"""
            )


def _index(name: str, columns: tuple[str, ...], table: str, unique: bool, where: str | None) -> None:
    condition = {} if where is None else {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}
    op.create_index(name, table, list(columns), unique=unique, **condition)


def upgrade() -> None:
    sqlite = _sqlite()
    for table, _, _ in PARENTS:
        op.add_column(table, sa.Column("county_id", sa.Integer(), nullable=True))
    if sqlite:
        _drop_sqlite_guards()
    else:
        op.execute("ALTER TABLE result_record_households DISABLE TRIGGER result_record_households_immutable")
    for table, parent, column in PARENTS:
        op.execute(
            f'UPDATE "{table}" SET county_id = "{parent}".county_id FROM "{parent}" WHERE "{parent}".id = "{table}".{column}'
        )
    if not sqlite:
        op.execute("ALTER TABLE result_record_households ENABLE TRIGGER result_record_households_immutable")

    for name, (table, *_) in INDEXES.items():
        op.drop_index(name, table_name=table)
    for table, _, _ in PARENTS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("county_id", existing_type=sa.Integer(), nullable=False)
            batch.create_foreign_key(
                op.f(f"fk_{table}_county_id_counties"), "counties", ["county_id"], ["id"], ondelete="RESTRICT"
            )
            if table in UNIQUE:
                batch.drop_constraint(op.f(f"uq_{table}_{'_'.join(UNIQUE[table])}"), type_="unique")
                columns = ("county_id", *UNIQUE[table])
                batch.create_unique_constraint(op.f(f"uq_{table}_{'_'.join(columns)}"), list(columns))
    for name, (table, columns, unique, where) in INDEXES.items():
        _index(name, ("county_id", *columns), table, unique, where)
    for table in COUNTY_INDEXED:
        op.create_index(op.f(f"ix_{table}_county_id"), table, ["county_id"])
    if sqlite:
        _create_sqlite_guards()


def downgrade() -> None:
    sqlite = _sqlite()
    if sqlite:
        _drop_sqlite_guards()
    for table in COUNTY_INDEXED:
        op.drop_index(op.f(f"ix_{table}_county_id"), table_name=table)
    for name, (table, *_) in INDEXES.items():
        op.drop_index(name, table_name=table)
    for table, _, _ in reversed(PARENTS):
        with op.batch_alter_table(table) as batch:
            if table in UNIQUE:
                columns = ("county_id", *UNIQUE[table])
                batch.drop_constraint(op.f(f"uq_{table}_{'_'.join(columns)}"), type_="unique")
                batch.create_unique_constraint(op.f(f"uq_{table}_{'_'.join(UNIQUE[table])}"), list(UNIQUE[table]))
            batch.drop_constraint(op.f(f"fk_{table}_county_id_counties"), type_="foreignkey")
            batch.drop_column("county_id")
    for name, (table, columns, unique, where) in INDEXES.items():
        _index(name, columns, table, unique, where)
    if sqlite:
        _create_sqlite_guards()
