"""notices: the responsible person, the source and its key, the rectification report and the
inspector's decision (RULES.md §9, issue 19)

A notice comes by hand, from a black-listed household of a final period (RULES.md §6) or from a spot
check; ``source_ref`` keys the source item, unique, so that issuing the black list's notices twice
adds none. The addressee's latest report (note, when) and the inspector's latest decision (note,
when) are kept on the notice; ``rejections`` counts reports refused as not done (虚假整改). Notices
from before are by hand, or from their spot check when they name one.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLAIN_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[object]], ...] = (
    ("responsible_person", sa.String(length=40)),
    ("source_ref", sa.String(length=120)),
    ("report_note", sa.Text()),
    ("reported_at", sa.DateTime(timezone=True)),
    ("decision_note", sa.Text()),
    ("decided_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    # Plain ADD COLUMN with the CHECK inline works alike on both databases and spares SQLite a batch
    # rebuild of `notices` (as in 0003).
    op.execute(
        "ALTER TABLE notices ADD COLUMN source VARCHAR(24) DEFAULT 'manual' NOT NULL"
        " CONSTRAINT ck_notices_notice_source CHECK (source IN ('manual', 'black_list', 'spot_check'))"
    )
    op.execute("UPDATE notices SET source = 'spot_check' WHERE spot_check_id IS NOT NULL")
    op.add_column("notices", sa.Column("rejections", sa.Integer(), server_default="0", nullable=False))
    for name, column_type in PLAIN_COLUMNS:
        op.add_column("notices", sa.Column(name, column_type, nullable=True))
    op.create_index("uq_notices_source_ref", "notices", ["source_ref"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_notices_source_ref", table_name="notices")
    # As in 0007: SQLite (3.35+) drops a plain column, or one with its own CHECK, in place.
    for name, _ in reversed(PLAIN_COLUMNS):
        op.execute(f"ALTER TABLE notices DROP COLUMN {name}")
    op.execute("ALTER TABLE notices DROP COLUMN rejections")
    op.execute("ALTER TABLE notices DROP COLUMN source")
