"""county setting: the yearly incentive budget (RULES.md §8: 27,000,000 yuan by default)

The budget in force is a county setting like the others (changed with its history in the audit
log); the year a change is made also records it in `county_budgets`, so a past year keeps its own.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 08:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # As in 0002: ADD COLUMN with its CHECK inline, no batch rebuild of `counties` on SQLite.
    op.execute(
        "ALTER TABLE counties ADD COLUMN yearly_budget_fen BIGINT DEFAULT 2700000000 NOT NULL "
        "CONSTRAINT ck_counties_yearly_budget_nonnegative CHECK (yearly_budget_fen >= 0)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE counties DROP COLUMN yearly_budget_fen")
