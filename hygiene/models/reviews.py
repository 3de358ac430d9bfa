"""The three reviews (三评, RULES.md §3), one row per review with its ten scores in tenths."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hygiene.db import Base
from hygiene.enums import ReviewKind
from hygiene.models._types import ScoresMixin, UTCDateTime, county_id_column, enum_type, score_checks, utcnow
from hygiene.models.periods import Period
from hygiene.models.units import Household

_NOT_PEER = sa.text("kind != 'peer'")
_PEER = sa.text("kind = 'peer'")


class Review(ScoresMixin, Base):
    __tablename__ = "reviews"
    __table_args__ = (
        # At most one self and one group review per household and period; one peer review per
        # reviewer, household and period. Partial unique indexes, the same on both databases. Every
        # index leads with the county: a county's reads use it, and a sharded table's unique keys
        # must hold the distribution column.
        sa.Index(
            "uq_reviews_household_period_kind",
            "county_id",
            "household_id",
            "period_id",
            "kind",
            unique=True,
            sqlite_where=_NOT_PEER,
            postgresql_where=_NOT_PEER,
        ),
        sa.Index(
            "uq_reviews_peer_reviewer",
            "county_id",
            "household_id",
            "period_id",
            "reviewer_household_id",
            unique=True,
            sqlite_where=_PEER,
            postgresql_where=_PEER,
        ),
        sa.Index("ix_reviews_period_household", "county_id", "period_id", "household_id"),
        sa.CheckConstraint("(kind = 'peer') = (reviewer_household_id IS NOT NULL)", name="peer_has_reviewer"),
        sa.CheckConstraint(
            "reviewer_household_id IS NULL OR reviewer_household_id != household_id", name="not_own_peer"
        ),
        sa.CheckConstraint("kind != 'group' OR length(team_members) >= 1", name="group_has_team"),
        *score_checks(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column()
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("periods.id", ondelete="RESTRICT"))
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="RESTRICT"))
    kind: Mapped[ReviewKind] = mapped_column(enum_type(ReviewKind, "review_kind"))
    reviewer_household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("households.id", ondelete="RESTRICT"))
    # The village review team's member names (group reviews), e.g. "王组长、李委员".
    team_members: Mapped[str | None] = mapped_column(sa.String(200))
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    period: Mapped[Period] = relationship()
    household: Mapped[Household] = relationship(foreign_keys=[household_id])
    reviewer: Mapped[Household | None] = relationship(foreign_keys=[reviewer_household_id])

    __mapper_args__ = {"version_id_col": version}
