"""A published result is a record (RULES.md §5-7): when a township publishes a village period, its
household and village results are stored as they were posted, with the rubric version and the
settings used. The public list, the township's pages, ``hygiene results`` and the plaques of a
final period read this record; nothing done to households, groups, reviews or settings afterwards
changes it. A withdrawn publication or an upheld objection supersedes the record with a new
version; the old one stays, so the history of what was posted is complete.

The database keeps the rows immutable: the household rows refuse UPDATE and DELETE, a record
refuses DELETE (triggers of migration 0003); only a record's ``superseded_*`` and
``plaques_applied_at`` stamps are ever set, once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from hygiene.db import Base
from hygiene.enums import AwardLevel, Grade
from hygiene.models._types import UTCDateTime, county_id_column, enum_type, utcnow

_CURRENT = sa.text("superseded_at IS NULL")

# The village result columns of INTERCHANGE.md §1 that a record stores, all whole numbers.
VILLAGE_COUNTS: tuple[str, ...] = (
    "households", "rated", "cleanest", "clean", "fairly_clean", "not_clean", "cleanest_floor", "clean_floor",
    "cleanest_quota", "clean_quota", "cleanest_awarded", "clean_awarded", "cleanest_shortfall", "clean_shortfall",
)  # fmt: skip


def _record_rows() -> sa.ColumnElement[bool]:
    """A record and its rows, joined on the county too (the classes are defined below)."""
    return sa.and_(
        ResultRecord.county_id == foreign(ResultRecordHousehold.county_id),
        ResultRecord.id == foreign(ResultRecordHousehold.record_id),
    )


class ResultRecord(Base):
    """One posted version of a village period's results."""

    __tablename__ = "result_records"
    __table_args__ = (
        sa.UniqueConstraint("county_id", "village_period_id", "number"),
        sa.Index(
            "uq_result_records_one_current",
            "county_id",
            "village_period_id",
            unique=True,
            sqlite_where=_CURRENT,
            postgresql_where=_CURRENT,
        ),
        sa.CheckConstraint("(superseded_at IS NULL) = (superseded_reason IS NULL)", name="superseded_has_reason"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column()
    village_period_id: Mapped[int] = mapped_column(sa.ForeignKey("village_periods.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int]
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    posted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    # The units as they were named when posted.
    period_code: Mapped[str] = mapped_column(sa.String(7))
    township_code: Mapped[str] = mapped_column(sa.String(12))
    township_name: Mapped[str] = mapped_column(sa.String(60))
    village_code: Mapped[str] = mapped_column(sa.String(16))
    village_name: Mapped[str] = mapped_column(sa.String(60))
    # The rules used: the period's rubric version and its settings (thresholds, ratios, gap, ...).
    rubric_version_id: Mapped[int] = mapped_column(sa.ForeignKey("rubric_versions.id", ondelete="RESTRICT"))
    settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    households: Mapped[int]
    rated: Mapped[int]
    cleanest: Mapped[int]
    clean: Mapped[int]
    fairly_clean: Mapped[int]
    not_clean: Mapped[int]
    cleanest_floor: Mapped[int]
    clean_floor: Mapped[int]
    cleanest_quota: Mapped[int]
    clean_quota: Mapped[int]
    cleanest_awarded: Mapped[int]
    clean_awarded: Mapped[int]
    cleanest_shortfall: Mapped[int]
    clean_shortfall: Mapped[int]
    meets_ratios: Mapped[bool]
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    superseded_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Superseded by a correction (更正, RULES.md §5): the county administrator sent the published or
    # final period back; the next version says publicly that it corrects this one.
    superseded_by_correction: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Set once, in the transaction that makes the period final and applies its plaque changes.
    plaques_applied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # SHA-256 of the record as posted and its rows (issue 32, ``hygiene.digests``), set by
    # ``records.post``; ``hygiene check`` and the county's page compare it with the rows.
    digest: Mapped[str | None] = mapped_column(sa.String(64))
    # The public list's rows as its page shows them, rendered once when posted (issue 34,
    # ``records.public_rows_of``): {"format", "html", "groups"}. Derived from the rows (which the
    # digest covers) and checked against them by ``hygiene check``; None for records posted before
    # migration 0021, whose page renders its rows. Deferred: only the public page reads it.
    public_rows: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, deferred=True)

    # Joined on the county too, so that a record's rows are read through the index the county leads
    # (and, sharded by county, on one shard). They are written in bulk (``records.post``), never here.
    rows: Mapped[list[ResultRecordHousehold]] = relationship(
        primaryjoin=_record_rows,
        order_by="ResultRecordHousehold.household_code",
        back_populates="record",
        viewonly=True,
    )


class ResultRecordHousehold(Base):
    """One registered household of a posted record: its totals in tenths, grade, rank, award and
    flags, its group review criterion by criterion and its per-criterion peer means (tenths)."""

    __tablename__ = "result_record_households"
    __table_args__ = (
        sa.UniqueConstraint("county_id", "record_id", "household_code"),
        sa.CheckConstraint("(grade IS NULL) = (rank IS NULL)", name="rated_has_rank"),
        sa.CheckConstraint("award IS NULL OR grade IS NOT NULL", name="award_needs_grade"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column()
    record_id: Mapped[int] = mapped_column(sa.ForeignKey("result_records.id", ondelete="RESTRICT"))
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="RESTRICT"), index=True)
    household_code: Mapped[str] = mapped_column(sa.String(24))
    head_name: Mapped[str] = mapped_column(sa.String(40))
    group_code: Mapped[str] = mapped_column(sa.String(20))
    group_name: Mapped[str] = mapped_column(sa.String(60))
    self_total: Mapped[int | None]
    peer_total: Mapped[int | None]
    peer_count: Mapped[int]
    final_total: Mapped[int | None]
    grade: Mapped[Grade | None] = mapped_column(enum_type(Grade, "record_grade"))
    rank: Mapped[int | None]
    award: Mapped[AwardLevel | None] = mapped_column(enum_type(AwardLevel, "record_award"))
    flags: Mapped[str] = mapped_column(sa.String(60), default="")
    group_scores: Mapped[list[int] | None] = mapped_column(sa.JSON)
    peer_means: Mapped[list[int] | None] = mapped_column(sa.JSON)

    record: Mapped[ResultRecord] = relationship(primaryjoin=_record_rows, back_populates="rows", viewonly=True)
