"""Column types shared by the models: enums stored as checked strings, UTC timestamps, scores."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hygiene.enums import CRITERIA

MAX_SCORE_TENTHS = 1000  # no criterion can be worth more than 100 points


def enum_type(enum_cls: type[enum.StrEnum], name: str) -> sa.Enum:
    """A portable enum: VARCHAR plus a named CHECK constraint, the same on SQLite and PostgreSQL."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=24,
        values_callable=lambda members: [m.value for m in members],
    )


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def created_at_column() -> Mapped[dt.datetime]:
    return mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ScoresMixin:
    """The ten criteria as integer tenths of a point (RULES.md §2: exact, never floats)."""

    c01: Mapped[int] = mapped_column(sa.SmallInteger)
    c02: Mapped[int] = mapped_column(sa.SmallInteger)
    c03: Mapped[int] = mapped_column(sa.SmallInteger)
    c04: Mapped[int] = mapped_column(sa.SmallInteger)
    c05: Mapped[int] = mapped_column(sa.SmallInteger)
    c06: Mapped[int] = mapped_column(sa.SmallInteger)
    c07: Mapped[int] = mapped_column(sa.SmallInteger)
    c08: Mapped[int] = mapped_column(sa.SmallInteger)
    c09: Mapped[int] = mapped_column(sa.SmallInteger)
    c10: Mapped[int] = mapped_column(sa.SmallInteger)

    def scores(self) -> dict[str, int]:
        return {c: getattr(self, c) for c in CRITERIA}

    def total_tenths(self) -> int:
        return sum(self.scores().values())


def score_checks() -> list[sa.CheckConstraint]:
    return [sa.CheckConstraint(f"{c} >= 0 AND {c} <= {MAX_SCORE_TENTHS}", name=f"{c}_range") for c in CRITERIA]
