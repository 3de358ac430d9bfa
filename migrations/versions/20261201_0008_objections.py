"""objections: the record version objected to, the client's keyed hash, and a per-client filing limit

Residents object without logging in (RULES.md §6); a client is known only by a keyed hash of its
address (hygiene.services.rating.objections.client_hash), stored with the objection and counted in
`objection_throttles` by one atomic upsert, so that the limit holds across all server workers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns: plain ADD COLUMN, no batch rebuild of `objections` on SQLite.
    op.add_column("objections", sa.Column("record_number", sa.Integer(), nullable=True))
    op.add_column("objections", sa.Column("client_hash", sa.String(length=64), nullable=True))
    op.create_table(
        "objection_throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("filings", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_objection_throttles")),
    )


def downgrade() -> None:
    op.drop_table("objection_throttles")
    # As in 0007: SQLite (3.35+) drops a plain column in place.
    op.execute("ALTER TABLE objections DROP COLUMN client_hash")
    op.execute("ALTER TABLE objections DROP COLUMN record_number")
