"""household codes (issue 30): the codes a household had before its code was corrected or it
moved to another village, so that an old code still finds it and is never given to another
household of the county.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "household_former_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("county_id", sa.Integer(), sa.ForeignKey("counties.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("households.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("code", sa.String(24), nullable=False),
        sa.Column("village_id", sa.Integer(), sa.ForeignKey("villages.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_by_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('correct', 'move')", name="former_code_kind"),
        sa.CheckConstraint("length(reason) >= 1", name="reason_not_empty"),
    )
    op.create_index(
        "ix_household_former_codes_county_code", "household_former_codes", ["county_id", "code"], unique=False
    )
    op.create_index(
        op.f("ix_household_former_codes_household_id"), "household_former_codes", ["household_id"], unique=False
    )


def downgrade() -> None:
    left = op.get_bind().scalar(sa.text("SELECT count(*) FROM household_former_codes")) or 0
    if left:
        raise RuntimeError("household codes have been corrected or households moved: cannot downgrade")
    op.drop_index(op.f("ix_household_former_codes_household_id"), table_name="household_former_codes")
    op.drop_index("ix_household_former_codes_county_code", table_name="household_former_codes")
    op.drop_table("household_former_codes")
