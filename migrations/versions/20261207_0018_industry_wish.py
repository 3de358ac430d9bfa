"""Households marked with the ability and wish to develop industry (RULES.md §8, issue 29): a flag
and the reason of its latest marking, set by the county or township for industry support.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # As in 0017: ADD COLUMN, no batch rebuild of the households table on SQLite.
    op.add_column("households", sa.Column("industry_wish", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("households", sa.Column("industry_wish_reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE households DROP COLUMN industry_wish_reason")
    op.execute("ALTER TABLE households DROP COLUMN industry_wish")
