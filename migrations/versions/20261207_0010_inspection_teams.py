"""inspection teams: an inspector's team, the sample a team adopted for a township, and who was at a
spot check (RULES.md §9, issue 19)

An inspector account belongs to at most one inspection team of its county
(``users.inspection_team_id``); the team writes spot checks only in the townships it holds in a
period. A team adopts the spot-check sample of a township and period by its seed and size (redrawn
with ``hygiene.services.supervision.sampling.draw``), with who adopted it and when. A spot check keeps who was
there (``members``) and a version, so that entering it again over someone else's is refused.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN with the foreign key or CHECK inline works alike on both databases and spares
    # SQLite a batch rebuild of `users` (which the audit log references) and the others (as in 0009).
    # The two foreign keys have no ON DELETE action: SQLite does not reflect one written on a column
    # added this way, so the models could not match; teams and accounts are never deleted anyway
    # (an account is disabled), and deleting a team that still has members is refused.
    op.execute(
        "ALTER TABLE users ADD COLUMN inspection_team_id INTEGER"
        " CONSTRAINT fk_users_inspection_team_id_inspection_teams"
        " REFERENCES inspection_teams (id)"
    )
    op.create_index(op.f("ix_users_inspection_team_id"), "users", ["inspection_team_id"], unique=False)
    op.add_column("inspection_assignments", sa.Column("sample_seed", sa.Integer(), nullable=True))
    op.execute(
        "ALTER TABLE inspection_assignments ADD COLUMN sample_size INTEGER"
        " CONSTRAINT ck_inspection_assignments_sample_size_positive CHECK (sample_size >= 1)"
    )
    op.execute(
        "ALTER TABLE inspection_assignments ADD COLUMN sample_adopted_by_id INTEGER"
        " CONSTRAINT fk_inspection_assignments_sample_adopted_by_id_users"
        " REFERENCES users (id)"
    )
    op.add_column("inspection_assignments", sa.Column("sample_adopted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("spot_checks", sa.Column("members", sa.String(length=200), nullable=True))
    op.add_column("spot_checks", sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    # As in 0007: SQLite (3.35+) drops a plain column, or one with its own CHECK or REFERENCES, in place.
    op.execute("ALTER TABLE spot_checks DROP COLUMN version")
    op.execute("ALTER TABLE spot_checks DROP COLUMN members")
    # Migration 0011 rebuilds inspection_assignments on SQLite, after which its foreign key and CHECK
    # are table constraints that DROP COLUMN refuses: batch mode drops them with their columns.
    with op.batch_alter_table("inspection_assignments") as batch:
        batch.drop_constraint(op.f("ck_inspection_assignments_sample_size_positive"), type_="check")
        for name in ("sample_adopted_at", "sample_adopted_by_id", "sample_size", "sample_seed"):
            batch.drop_column(name)
    op.drop_index(op.f("ix_users_inspection_team_id"), table_name="users")
    op.execute("ALTER TABLE users DROP COLUMN inspection_team_id")
