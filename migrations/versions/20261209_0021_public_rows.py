"""The public list's rows rendered once (issue 34): ``result_records.public_rows``, the markup of a
record's rows as its public page shows them and its villager groups, stored by ``records.post``.

Records posted before this revision keep it empty; their page renders their rows from the stored
household rows, with the same code and to the same bytes, only not from a stored copy. The revision
renders nothing itself: a migration stays as it is when the page's markup changes.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-09 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("result_records", sa.Column("public_rows", sa.JSON(), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+, as 0016): a batch rebuild would lose the table's triggers.
    op.execute("ALTER TABLE result_records DROP COLUMN public_rows")
