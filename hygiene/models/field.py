"""Work in the field (issue 31): the idempotency keys of saves sent from phones, and photo evidence
attached to a review, a spot check or a rectification report."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hygiene.db import Base
from hygiene.models._types import UTCDateTime, county_id_column, utcnow


class IdempotencyKey(Base):
    """A save made once under a key the phone chose (``Idempotency-Key``): the digest of what was
    sent, and the answer given, so that the same save sent again gets the same answer and writes
    nothing, and the same key with other values is refused. Keys are per account."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column(index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(80))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[int] = mapped_column(sa.SmallInteger)
    location: Mapped[str] = mapped_column(sa.String(500))
    message: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Photo(Base):
    """A photo taken in the field. The files are on disk (``hygiene.config.media_path``), named by
    the content hash; the database holds who, when, what it belongs to (exactly one of a review, a
    spot check, a notice's report) and what the camera recorded (EXIF time and place: inspectors only)."""

    __tablename__ = "photos"
    __table_args__ = (
        sa.CheckConstraint(
            "(CASE WHEN review_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN spot_check_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN notice_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_subject",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column(index=True)
    review_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    spot_check_id: Mapped[int | None] = mapped_column(sa.ForeignKey("spot_checks.id", ondelete="RESTRICT"), index=True)
    notice_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notices.id", ondelete="RESTRICT"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    file_format: Mapped[str] = mapped_column(sa.String(8))  # the original's: jpeg, png, heif
    byte_size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    taken_at: Mapped[str | None] = mapped_column(sa.String(19))  # EXIF DateTimeOriginal, camera's clock
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
