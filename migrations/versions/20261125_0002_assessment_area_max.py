"""county setting: points per area of the village assessment

RULES.md §9 makes the four assessment areas' points (25 each by default) configurable, so they live
on the county row beside its other rule numbers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 01:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN with its CHECK inline works alike on SQLite and PostgreSQL, and spares SQLite a
    # batch table rebuild of `counties`, which every unit references.
    op.execute(
        "ALTER TABLE counties ADD COLUMN assessment_area_max_tenths INTEGER DEFAULT 250 NOT NULL "
        "CONSTRAINT ck_counties_assessment_area_max_range "
        "CHECK (assessment_area_max_tenths BETWEEN 10 AND 1000)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE counties DROP COLUMN assessment_area_max_tenths")
