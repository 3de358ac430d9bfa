"""work in the field (issue 31): idempotency keys of saves sent from phones, photo evidence, and the
inspector's waiver of a rectification report's photo

``idempotency_keys`` holds, per account and key, the digest of the save and the answer given, so that
a save sent again (a retry, a double tap, a resend after a lost answer) writes nothing and gets the
same answer. ``photos`` holds the metadata of photos stored on disk by content hash, each belonging
to exactly one review, spot check or notice (its rectification report). ``notices.photo_waived``:
the inspector lets a report go without a photo.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["county_id"], ["counties.id"], name=op.f("fk_idempotency_keys_county_id_counties"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_idempotency_keys_user_id_key")),
    )
    op.create_index(op.f("ix_idempotency_keys_county_id"), "idempotency_keys", ["county_id"], unique=False)
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("spot_check_id", sa.Integer(), nullable=True),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.String(length=19), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.CheckConstraint(
            "(CASE WHEN review_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN spot_check_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN notice_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_photos_one_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["county_id"], ["counties.id"], name=op.f("fk_photos_county_id_counties"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_photos_notice_id_notices"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_photos_review_id_reviews"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["spot_check_id"], ["spot_checks.id"], name=op.f("fk_photos_spot_check_id_spot_checks"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_photos_uploaded_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
    )
    for column in ("county_id", "review_id", "spot_check_id", "notice_id"):
        op.create_index(op.f(f"ix_photos_{column}"), "photos", [column], unique=False)
    # Plain ADD COLUMN works alike on both databases and spares SQLite a rebuild of `notices` (as in 0009).
    op.add_column("notices", sa.Column("photo_waived", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.execute("ALTER TABLE notices DROP COLUMN photo_waived")
    for column in ("notice_id", "spot_check_id", "review_id", "county_id"):
        op.drop_index(op.f(f"ix_photos_{column}"), table_name="photos")
    op.drop_table("photos")
    op.drop_index(op.f("ix_idempotency_keys_county_id"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
