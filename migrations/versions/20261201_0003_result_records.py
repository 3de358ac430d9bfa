"""periods keep their settings; households' first period; published results as records

- ``periods`` get a copy of the county's rating settings (RULES.md §2: a period keeps the rules in
  force when it opened); existing periods take their county's current values.
- ``households.registered_from``: the first period a household counts in (RULES.md §4); existing
  households count in every period, as before.
- ``result_records`` and ``result_record_households``: a village period's results as posted,
  immutable in the database itself (triggers, as for the audit log).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name, SQL type, default, CHECK (None: no check)
PERIOD_SETTINGS = (
    ("cleanest_floor_percent", "INTEGER", "10", ("cleanest_floor_percent_range", "BETWEEN 0 AND 100")),
    ("clean_floor_percent", "INTEGER", "20", ("clean_floor_percent_range", "BETWEEN 0 AND 100")),
    ("gap_tenths", "INTEGER", "100", ("gap_positive", "> 0")),
    ("min_peers", "INTEGER", "2", ("min_peers_nonnegative", ">= 0")),
    ("posting_days", "INTEGER", "7", ("posting_days_positive", ">= 1")),
    ("plaque_wait_periods", "INTEGER", "1", ("plaque_wait_nonnegative", ">= 0")),
    ("red_black_list", "BOOLEAN", None, None),
    ("assessment_area_max_tenths", "INTEGER", "250", ("assessment_area_max_range", "BETWEEN 10 AND 1000")),
)

IMMUTABLE = {"result_record_households": ("UPDATE", "DELETE"), "result_records": ("DELETE",)}


def _guard(table: str, operations: tuple[str, ...]) -> list[str]:
    if op.get_bind().dialect.name == "sqlite":
        return [
            f"""CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is immutable'); END"""
            for operation in operations
        ]
    return [
        f"""CREATE FUNCTION {table}_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{table} is immutable'; END $$""",
        f"""CREATE TRIGGER {table}_immutable BEFORE {" OR ".join(operations)} OR TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION {table}_immutable()""",
    ]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # Plain ADD COLUMN with the CHECK inline works alike on both databases and spares SQLite a batch
    # rebuild of tables that everything references (as in 0002).
    for name, sql_type, default, check in PERIOD_SETTINGS:
        if default is None:
            default = "1" if sqlite else "true"
        constraint = f" CONSTRAINT ck_periods_{check[0]} CHECK ({name} {check[1]})" if check else ""
        op.execute(f"ALTER TABLE periods ADD COLUMN {name} {sql_type} DEFAULT {default} NOT NULL{constraint}")
        op.execute(f"UPDATE periods SET {name} = (SELECT {name} FROM counties WHERE counties.id = periods.county_id)")
    op.execute("ALTER TABLE households ADD COLUMN registered_from VARCHAR(6)")

    op.create_table(
        "result_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("village_period_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_by_id", sa.Integer(), nullable=True),
        sa.Column("period_code", sa.String(length=6), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("township_name", sa.String(length=60), nullable=False),
        sa.Column("village_code", sa.String(length=16), nullable=False),
        sa.Column("village_name", sa.String(length=60), nullable=False),
        sa.Column("rubric_version_id", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "households", "rated", "cleanest", "clean", "fairly_clean", "not_clean", "cleanest_floor",
                "clean_floor", "cleanest_quota", "clean_quota", "cleanest_awarded", "clean_awarded",
                "cleanest_shortfall", "clean_shortfall",
            )  # fmt: skip
        ),
        sa.Column("meets_ratios", sa.Boolean(), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_reason", sa.Text(), nullable=True),
        sa.Column("plaques_applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(superseded_at IS NULL) = (superseded_reason IS NULL)",
            name=op.f("ck_result_records_superseded_has_reason"),
        ),
        sa.CheckConstraint("number >= 1", name=op.f("ck_result_records_number_positive")),
        sa.ForeignKeyConstraint(
            ["posted_by_id"], ["users.id"], name=op.f("fk_result_records_posted_by_id_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["rubric_version_id"],
            ["rubric_versions.id"],
            name=op.f("fk_result_records_rubric_version_id_rubric_versions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["village_period_id"],
            ["village_periods.id"],
            name=op.f("fk_result_records_village_period_id_village_periods"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_records")),
        sa.UniqueConstraint("village_period_id", "number", name=op.f("uq_result_records_village_period_id_number")),
    )
    op.create_index(op.f("ix_result_records_village_period_id"), "result_records", ["village_period_id"])
    op.create_index(
        "uq_result_records_one_current",
        "result_records",
        ["village_period_id"],
        unique=True,
        sqlite_where=sa.text("superseded_at IS NULL"),
        postgresql_where=sa.text("superseded_at IS NULL"),
    )
    grade = ("cleanest", "clean", "fairly_clean", "not_clean")
    op.create_table(
        "result_record_households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("household_code", sa.String(length=24), nullable=False),
        sa.Column("head_name", sa.String(length=40), nullable=False),
        sa.Column("group_code", sa.String(length=20), nullable=False),
        sa.Column("group_name", sa.String(length=60), nullable=False),
        sa.Column("self_total", sa.Integer(), nullable=True),
        sa.Column("peer_total", sa.Integer(), nullable=True),
        sa.Column("peer_count", sa.Integer(), nullable=False),
        sa.Column("final_total", sa.Integer(), nullable=True),
        sa.Column(
            "grade",
            sa.Enum(*grade, name="record_grade", native_enum=False, create_constraint=True, length=24),
            nullable=True,
        ),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column(
            "award",
            sa.Enum(*grade[:2], name="record_award", native_enum=False, create_constraint=True, length=24),
            nullable=True,
        ),
        sa.Column("flags", sa.String(length=60), nullable=False),
        sa.Column("group_scores", sa.JSON(), nullable=True),
        sa.Column("peer_means", sa.JSON(), nullable=True),
        sa.CheckConstraint("(grade IS NULL) = (rank IS NULL)", name=op.f("ck_result_record_households_rated_has_rank")),
        sa.CheckConstraint(
            "award IS NULL OR grade IS NOT NULL", name=op.f("ck_result_record_households_award_needs_grade")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_result_record_households_household_id_households"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["result_records.id"],
            name=op.f("fk_result_record_households_record_id_result_records"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_record_households")),
        sa.UniqueConstraint(
            "record_id", "household_code", name=op.f("uq_result_record_households_record_id_household_code")
        ),
    )
    op.create_index(
        op.f("ix_result_record_households_household_id"), "result_record_households", ["household_id"]
    )
    for table, operations in IMMUTABLE.items():
        for statement in _guard(table, operations):
            op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, operations in IMMUTABLE.items():
        if sqlite:
            for operation in operations:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation.lower()}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_immutable()")
    op.drop_index(op.f("ix_result_record_households_household_id"), table_name="result_record_households")
    op.drop_table("result_record_households")
    op.drop_index("uq_result_records_one_current", table_name="result_records")
    op.drop_index(op.f("ix_result_records_village_period_id"), table_name="result_records")
    op.drop_table("result_records")
    op.execute("ALTER TABLE households DROP COLUMN registered_from")
    for name, *_ in reversed(PERIOD_SETTINGS):
        op.execute(f"ALTER TABLE periods DROP COLUMN {name}")
