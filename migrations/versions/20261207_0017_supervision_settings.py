"""督查问责 in depth (issue 33): the ranking's weights, the warnings' bonus cuts, the sign-off
levels and whether unannounced visits count in the agreement as county settings, kept with each
period like the other rating settings; each village period's sign-offs after the township's
approval; the accountability ladder (cadres, cases, its window); unannounced visits and their
re-scores; the inspection teams' lead and member offices.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTING_TABLES = ("counties", "periods")
# Period codes grow from `YYYYQn` to `YYYY-MM` (RULES.md §1: monthly counties).
LONGER = (("periods", "code", False), ("result_records", "period_code", False), ("households", "registered_from", True))
OLD_FORMAT = "length(code) = 6 AND substr(code, 5, 1) = 'Q' AND substr(code, 6, 1) IN ('1','2','3','4')"
NEW_FORMAT = (
    "(length(code) = 6 AND substr(code, 5, 1) = 'Q' AND substr(code, 6, 1) IN ('1','2','3','4')) OR "
    "(length(code) = 7 AND substr(code, 5, 1) = '-' AND substr(code, 6, 2) BETWEEN '01' AND '12')"
)


def _period_codes(length: int, check: str) -> None:
    """Widen (or narrow) the period code columns and set the periods' code format. PostgreSQL alters
    them in place. SQLite, which neither enforces a VARCHAR's length nor alters a CHECK, gets the
    same change written into its stored schema (the procedure of SQLite's ALTER TABLE documentation,
    "making other kinds of table schema changes"): no table is rebuilt, so every inline constraint
    and trigger stays as it is and later DROP COLUMNs keep working."""
    old_check, new_check = (NEW_FORMAT, OLD_FORMAT) if length == 6 else (OLD_FORMAT, NEW_FORMAT)
    if op.get_bind().dialect.name != "sqlite":
        for table, column, nullable in LONGER:
            op.alter_column(
                table, column, existing_type=sa.String(13 - length), type_=sa.String(length), existing_nullable=nullable
            )
        op.drop_constraint(op.f("ck_periods_code_format"), "periods", type_="check")
        op.create_check_constraint(op.f("ck_periods_code_format"), "periods", sa.text(new_check))
        return
    bind = op.get_bind()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    for table, column, _ in LONGER:
        sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar_one()
        changed = sql.replace(f"{column} VARCHAR({13 - length})", f"{column} VARCHAR({length})")
        if table == "periods":
            changed = changed.replace(old_check, new_check)
        if changed == sql:
            raise RuntimeError(f"{table}.{column}: schema text not as expected")
        bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (changed, table))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


RUNGS = ("statement", "talk", "warning", "removal")


def _rung(name: str, kind_name: str, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    kind = sa.Enum(*RUNGS, name=kind_name, native_enum=False, create_constraint=True, length=24)
    return sa.Column(name, kind, nullable=nullable)


def upgrade() -> None:
    _period_codes(7, NEW_FORMAT)  # first: the columns added below keep their inline CHECKs
    # As in 0002 and 0007: ADD COLUMN with its CHECK inline, no batch rebuild on SQLite.
    for table in SETTING_TABLES:
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN ranking_weights VARCHAR(40) DEFAULT '0.4,0.3,0.3' NOT NULL "
            f"CONSTRAINT ck_{table}_ranking_weights_given CHECK (length(ranking_weights) >= 5)"
        )
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN warning_bonus_cut_percent VARCHAR(20) DEFAULT '100,50' NOT NULL "
            f"CONSTRAINT ck_{table}_bonus_cuts_given CHECK (length(warning_bonus_cut_percent) >= 3)"
        )
        op.add_column(table, sa.Column("unannounced_in_agreement", sa.Boolean(), server_default=sa.true(), nullable=False))
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN sign_off_levels INTEGER DEFAULT 1 NOT NULL "
            f"CONSTRAINT ck_{table}_sign_off_levels_range CHECK (sign_off_levels BETWEEN 1 AND 3)"
        )
    op.execute(
        "ALTER TABLE counties ADD COLUMN ladder_window_days INTEGER DEFAULT 365 NOT NULL "
        "CONSTRAINT ck_counties_ladder_window_range CHECK (ladder_window_days BETWEEN 1 AND 3660)"
    )
    op.execute(
        "ALTER TABLE counties ADD COLUMN period_length VARCHAR(8) DEFAULT 'quarter' NOT NULL "
        "CONSTRAINT ck_counties_period_length_known CHECK (period_length IN ('quarter', 'month'))"
    )
    op.add_column("inspection_teams", sa.Column("lead_office", sa.String(length=60), nullable=True))
    op.add_column("inspection_teams", sa.Column("member_offices", sa.String(length=200), nullable=True))
    op.create_table(
        "cadres",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=True),
        sa.Column(
            "post",
            sa.Enum("liaison", "in_charge", name="cadre_post", native_enum=False, create_constraint=True, length=24),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=60), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("length(name) >= 1", name=op.f("ck_cadres_name_not_empty")),
        sa.ForeignKeyConstraint(
            ["county_id"], ["counties.id"], name=op.f("fk_cadres_county_id_counties"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["township_id"], ["townships.id"], name=op.f("fk_cadres_township_id_townships"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["villages.id"], name=op.f("fk_cadres_village_id_villages"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadres")),
    )
    op.create_index(op.f("ix_cadres_county_id"), "cadres", ["county_id"], unique=False)
    op.create_table(
        "accountability_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=True),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        _rung("ladder_rung", "ladder_rung", False),
        _rung("proposed_rung", "proposed_rung", False),
        _rung("rung", "decided_rung", True),
        sa.Column(
            "state",
            sa.Enum(
                "proposed", "decided", "dismissed", name="case_state", native_enum=False, create_constraint=True, length=24
            ),
            nullable=False,
        ),
        sa.Column("cadre_id", sa.Integer(), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state = 'proposed' OR decided_at IS NOT NULL", name=op.f("ck_accountability_cases_decided_has_time")
        ),
        sa.CheckConstraint(
            "state != 'decided' OR cadre_id IS NOT NULL", name=op.f("ck_accountability_cases_decided_names_cadre")
        ),
        sa.CheckConstraint("failures >= 1", name=op.f("ck_accountability_cases_failures_positive")),
        sa.ForeignKeyConstraint(
            ["county_id"], ["counties.id"], name=op.f("fk_accountability_cases_county_id_counties"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["township_id"],
            ["townships.id"],
            name=op.f("fk_accountability_cases_township_id_townships"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["villages.id"], name=op.f("fk_accountability_cases_village_id_villages"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_accountability_cases_notice_id_notices"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["cadre_id"], ["cadres.id"], name=op.f("fk_accountability_cases_cadre_id_cadres"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_accountability_cases_decided_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accountability_cases")),
        sa.UniqueConstraint("county_id", "notice_id", name=op.f("uq_accountability_cases_county_id_notice_id")),
    )
    op.create_table(
        "unannounced_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("township_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("planned_by_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("state = 'planned' OR done_at IS NOT NULL", name=op.f("ck_unannounced_visits_done_has_time")),
        sa.CheckConstraint("state IN ('planned', 'done')", name=op.f("ck_unannounced_visits_state_known")),
        *(
            sa.ForeignKeyConstraint(
                [column], [f"{table}.id"], name=op.f(f"fk_unannounced_visits_{column}_{table}"), ondelete=action
            )
            for column, table, action in (
                ("county_id", "counties", "RESTRICT"),
                ("period_id", "periods", "RESTRICT"),
                ("township_id", "townships", "RESTRICT"),
                ("village_id", "villages", "RESTRICT"),
                ("team_id", "inspection_teams", "RESTRICT"),
                ("planned_by_id", "users", "SET NULL"),
            )
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unannounced_visits")),
    )
    op.create_index(op.f("ix_unannounced_visits_county_id"), "unannounced_visits", ["county_id"], unique=False)
    op.create_table(
        "visit_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        *(sa.Column(f"c{n:02d}", sa.SmallInteger(), nullable=False) for n in range(1, 11)),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        *(
            sa.CheckConstraint(f"c{n:02d} >= 0 AND c{n:02d} <= 1000", name=op.f(f"ck_visit_checks_c{n:02d}_range"))
            for n in range(1, 11)
        ),
        *(
            sa.ForeignKeyConstraint(
                [column], [f"{table}.id"], name=op.f(f"fk_visit_checks_{column}_{table}"), ondelete=action
            )
            for column, table, action in (
                ("county_id", "counties", "RESTRICT"),
                ("visit_id", "unannounced_visits", "RESTRICT"),
                ("household_id", "households", "RESTRICT"),
                ("inspector_id", "users", "SET NULL"),
            )
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_checks")),
        sa.UniqueConstraint(
            "county_id", "visit_id", "household_id", name=op.f("uq_visit_checks_county_id_visit_id_household_id")
        ),
    )
    op.create_index(op.f("ix_visit_checks_household_id"), "visit_checks", ["household_id"], unique=False)
    op.create_index(
        op.f("ix_accountability_cases_township_id"), "accountability_cases", ["township_id"], unique=False
    )
    op.execute(
        "ALTER TABLE village_periods ADD COLUMN sign_offs INTEGER DEFAULT 0 NOT NULL "
        "CONSTRAINT ck_village_periods_sign_offs_range CHECK (sign_offs BETWEEN 0 AND 2)"
    )


def downgrade() -> None:
    op.drop_table("visit_checks")
    op.drop_table("unannounced_visits")
    op.drop_table("accountability_cases")
    op.drop_table("cadres")
    op.execute("ALTER TABLE counties DROP COLUMN ladder_window_days")
    op.execute("ALTER TABLE inspection_teams DROP COLUMN member_offices")
    op.execute("ALTER TABLE counties DROP COLUMN period_length")
    op.execute("ALTER TABLE inspection_teams DROP COLUMN lead_office")
    op.execute("ALTER TABLE village_periods DROP COLUMN sign_offs")
    for table in SETTING_TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN sign_off_levels")
        op.execute(f"ALTER TABLE {table} DROP COLUMN unannounced_in_agreement")
        op.execute(f"ALTER TABLE {table} DROP COLUMN warning_bonus_cut_percent")
        op.execute(f"ALTER TABLE {table} DROP COLUMN ranking_weights")
    _period_codes(6, OLD_FORMAT)  # last, as it came first
