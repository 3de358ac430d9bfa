"""督查问责 in depth (issue 33): the ranking's weights, the warnings' bonus cuts and the sign-off
levels as county settings, kept with each period like the other rating settings; each village
period's sign-offs after the township's approval.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTING_TABLES = ("counties", "periods")


def upgrade() -> None:
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
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN sign_off_levels INTEGER DEFAULT 1 NOT NULL "
            f"CONSTRAINT ck_{table}_sign_off_levels_range CHECK (sign_off_levels BETWEEN 1 AND 3)"
        )
    op.execute(
        "ALTER TABLE village_periods ADD COLUMN sign_offs INTEGER DEFAULT 0 NOT NULL "
        "CONSTRAINT ck_village_periods_sign_offs_range CHECK (sign_offs BETWEEN 0 AND 2)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE village_periods DROP COLUMN sign_offs")
    for table in SETTING_TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN sign_off_levels")
        op.execute(f"ALTER TABLE {table} DROP COLUMN warning_bonus_cut_percent")
        op.execute(f"ALTER TABLE {table} DROP COLUMN ranking_weights")
