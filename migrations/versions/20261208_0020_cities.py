"""Three levels of supervision (RULES.md §9, issue 33): cities above counties, city and township
inspectors, the level of each team, assignment, unannounced visit and notice.

A city (prefecture) groups counties (``counties.city_id``). An inspector account is scoped to a
county as before, or to a city, or to a township (its own inspectors): ``users.city_id`` and the
wider ``ck_users_scope_matches_role``. An inspection team belongs to a county, a city (no county)
or a township (of its county); its ``level`` says which. A township is held in a period by at most
one team of each level, so the assignments' unique key gains the level. Visits and notices record
the level that made them (every existing row: the county's).

SQLite changes a CHECK, a NOT NULL or a unique key only by rebuilding the table: batch mode, with
the foreign keys off during the migration (hygiene.migrate.migrating). The new foreign keys have no
ON DELETE action, as those added in 0010: a city, a team or a township is never deleted.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_SCOPE = (
    "(role IN ('county_admin', 'inspector') AND county_id IS NOT NULL"
    " AND township_id IS NULL AND village_id IS NULL)"
    " OR (role = 'township_reviewer' AND township_id IS NOT NULL"
    " AND county_id IS NULL AND village_id IS NULL)"
    " OR (role = 'village_clerk' AND village_id IS NOT NULL"
    " AND county_id IS NULL AND township_id IS NULL)"
)
# As the models write them (hygiene.models: SCOPE_MATCHES_ROLE, LEVEL_KNOWN, TEAM_SCOPE), copied
# here so that this revision stays as it is when the models change.
SCOPE_MATCHES_ROLE = (
    "(role IN ('county_admin', 'inspector') AND county_id IS NOT NULL"
    " AND township_id IS NULL AND village_id IS NULL AND city_id IS NULL)"
    " OR (role = 'inspector' AND city_id IS NOT NULL"
    " AND county_id IS NULL AND township_id IS NULL AND village_id IS NULL)"
    " OR (role IN ('township_reviewer', 'inspector') AND township_id IS NOT NULL"
    " AND county_id IS NULL AND village_id IS NULL AND city_id IS NULL)"
    " OR (role = 'village_clerk' AND village_id IS NOT NULL"
    " AND county_id IS NULL AND township_id IS NULL AND city_id IS NULL)"
)
LEVEL_KNOWN = "level IN ('city', 'county', 'township')"
TEAM_SCOPE = (
    "(level = 'county' AND county_id IS NOT NULL AND city_id IS NULL AND township_id IS NULL)"
    " OR (level = 'city' AND city_id IS NOT NULL AND county_id IS NULL AND township_id IS NULL)"
    " OR (level = 'township' AND township_id IS NOT NULL AND county_id IS NOT NULL AND city_id IS NULL)"
)
LEVELLED = ("unannounced_visits", "notices")


def _swap_user_scope(old: str, new: str) -> None:
    """The accounts' scope CHECK. SQLite gets it written into its stored schema, as migration 0017
    does: rebuilding `users` would turn its added columns' inline foreign keys into table
    constraints, which the older revisions' DROP COLUMN then refuses on the way down."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_users_scope_matches_role"), "users", type_="check")
        op.create_check_constraint(op.f("ck_users_scope_matches_role"), "users", sa.text(new))
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'").scalar_one()
    changed = sql.replace(f"CHECK ({old})", f"CHECK ({new})")
    if changed == sql:
        raise RuntimeError("users: the scope CHECK is not as expected")
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'users'", (changed,))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _level() -> sa.Column[str]:
    return sa.Column("level", sa.String(length=8), server_default="county", nullable=False)


def upgrade() -> None:
    op.create_table(
        "cities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cities")),
        sa.UniqueConstraint("code", name=op.f("uq_cities_code")),
    )
    op.execute("ALTER TABLE counties ADD COLUMN city_id INTEGER CONSTRAINT fk_counties_city_id_cities REFERENCES cities (id)")
    op.create_index(op.f("ix_counties_city_id"), "counties", ["city_id"], unique=False)

    op.execute("ALTER TABLE users ADD COLUMN city_id INTEGER CONSTRAINT fk_users_city_id_cities REFERENCES cities (id)")
    _swap_user_scope(OLD_SCOPE, SCOPE_MATCHES_ROLE)

    with op.batch_alter_table("inspection_teams", recreate="auto") as batch:
        batch.add_column(sa.Column("city_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("township_id", sa.Integer(), nullable=True))
        batch.add_column(_level())
        batch.alter_column("county_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(op.f("fk_inspection_teams_city_id_cities"), "cities", ["city_id"], ["id"])
        batch.create_foreign_key(op.f("fk_inspection_teams_township_id_townships"), "townships", ["township_id"], ["id"])
        batch.create_unique_constraint(op.f("uq_inspection_teams_city_id_name"), ["city_id", "name"])
        batch.create_check_constraint(op.f("ck_inspection_teams_level_known"), sa.text(LEVEL_KNOWN))
        batch.create_check_constraint(op.f("ck_inspection_teams_scope_matches_level"), sa.text(TEAM_SCOPE))
        batch.create_index(op.f("ix_inspection_teams_city_id"), ["city_id"], unique=False)

    with op.batch_alter_table("inspection_assignments", recreate="auto") as batch:
        batch.add_column(_level())
        batch.drop_constraint(op.f("uq_inspection_assignments_county_id_period_id_township_id"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_inspection_assignments_county_id_period_id_township_id_level"),
            ["county_id", "period_id", "township_id", "level"],
        )
        batch.create_check_constraint(op.f("ck_inspection_assignments_level_known"), sa.text(LEVEL_KNOWN))

    for table in LEVELLED:
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN level VARCHAR(8) DEFAULT 'county' NOT NULL"
            f" CONSTRAINT ck_{table}_level_known CHECK ({LEVEL_KNOWN})"
        )


def downgrade() -> None:
    bind = op.get_bind()
    left = bind.scalar(sa.text("SELECT count(*) FROM inspection_teams WHERE level <> 'county'")) or 0
    left += bind.scalar(sa.text("SELECT count(*) FROM users WHERE city_id IS NOT NULL")) or 0
    left += bind.scalar(sa.text("SELECT count(*) FROM users WHERE role = 'inspector' AND township_id IS NOT NULL")) or 0
    if left:
        raise RuntimeError("city or township inspectors or teams exist: cannot downgrade")
    for table in LEVELLED:  # a column with its own CHECK: dropped in place (as in 0010)
        op.execute(f"ALTER TABLE {table} DROP COLUMN level")
    with op.batch_alter_table("inspection_assignments", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_inspection_assignments_level_known"), type_="check")
        batch.drop_constraint(op.f("uq_inspection_assignments_county_id_period_id_township_id_level"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_inspection_assignments_county_id_period_id_township_id"), ["county_id", "period_id", "township_id"]
        )
        batch.drop_column("level")
    with op.batch_alter_table("inspection_teams", recreate="auto") as batch:
        batch.drop_index(op.f("ix_inspection_teams_city_id"))
        batch.drop_constraint(op.f("ck_inspection_teams_scope_matches_level"), type_="check")
        batch.drop_constraint(op.f("ck_inspection_teams_level_known"), type_="check")
        batch.drop_constraint(op.f("uq_inspection_teams_city_id_name"), type_="unique")
        batch.drop_constraint(op.f("fk_inspection_teams_township_id_townships"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_inspection_teams_city_id_cities"), type_="foreignkey")
        batch.alter_column("county_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("level")
        batch.drop_column("township_id")
        batch.drop_column("city_id")
    _swap_user_scope(SCOPE_MATCHES_ROLE, OLD_SCOPE)
    op.execute("ALTER TABLE users DROP COLUMN city_id")
    op.drop_index(op.f("ix_counties_city_id"), table_name="counties")
    op.execute("ALTER TABLE counties DROP COLUMN city_id")
    op.drop_table("cities")
