"""Quarters, each village's workflow through a quarter, and what the township sets for it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hygiene.db import Base
from hygiene.enums import AssessmentArea, WorkflowState
from hygiene.models._types import (
    RatingSettings,
    UTCDateTime,
    county_id_column,
    enum_type,
    rating_settings_checks,
    utcnow,
)
from hygiene.models.rubric import RubricVersion
from hygiene.models.units import Village


class Period(RatingSettings, Base):
    """A period of one county: a quarter written ``YYYYQn`` or a month written ``YYYY-MM``. It keeps
    the rubric version and the county's rating settings in force when it opened (RULES.md §2): later
    changes never reach it."""

    __tablename__ = "periods"
    __table_args__ = (
        sa.UniqueConstraint("county_id", "code"),
        sa.CheckConstraint(  # a quarter YYYYQn or a month YYYY-MM (RULES.md §1)
            "(length(code) = 6 AND substr(code, 5, 1) = 'Q' AND substr(code, 6, 1) IN ('1','2','3','4')) OR "
            "(length(code) = 7 AND substr(code, 5, 1) = '-' AND substr(code, 6, 2) BETWEEN '01' AND '12')",
            name="code_format",
        ),
        sa.CheckConstraint("starts_on < ends_on", name="dates_ordered"),
        *rating_settings_checks(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(sa.String(7))
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    rubric_version_id: Mapped[int] = mapped_column(sa.ForeignKey("rubric_versions.id", ondelete="RESTRICT"))

    rubric_version: Mapped[RubricVersion] = relationship()


class VillagePeriod(Base):
    """One village's rating of one quarter, moving through RULES.md §5's workflow."""

    __tablename__ = "village_periods"
    __table_args__ = (
        sa.UniqueConstraint("county_id", "village_id", "period_id"),
        sa.CheckConstraint("state != 'returned' OR return_reason IS NOT NULL", name="returned_has_reason"),
        sa.CheckConstraint(
            "state NOT IN ('published', 'final') OR posting_ends_at IS NOT NULL", name="published_has_posting_end"
        ),
        sa.CheckConstraint("sign_offs BETWEEN 0 AND 2", name="sign_offs_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column()
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("villages.id", ondelete="RESTRICT"), index=True)
    period_id: Mapped[int] = mapped_column(sa.ForeignKey("periods.id", ondelete="RESTRICT"), index=True)
    state: Mapped[WorkflowState] = mapped_column(
        enum_type(WorkflowState, "workflow_state"), default=WorkflowState.DRAFT
    )
    return_reason: Mapped[str | None] = mapped_column(sa.Text)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    posting_ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finalized_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)
    # The sign-offs given after the township's approval (RULES.md §5: 0 up to the period's
    # sign_off_levels - 1); publication waits for the last (hygiene.services.rating.sign_offs).
    sign_offs: Mapped[int] = mapped_column(default=0, server_default="0")

    village: Mapped[Village] = relationship()
    period: Mapped[Period] = relationship()

    __mapper_args__ = {"version_id_col": version}


class AwardQuota(Base):
    """The township's award quotas for a village period (RULES.md §4); never below the floors."""

    __tablename__ = "award_quotas"
    __table_args__ = (
        sa.UniqueConstraint("county_id", "village_period_id"),
        sa.CheckConstraint("cleanest_quota >= 0", name="cleanest_nonnegative"),
        sa.CheckConstraint("clean_quota >= 0", name="clean_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column()
    village_period_id: Mapped[int] = mapped_column(sa.ForeignKey("village_periods.id", ondelete="CASCADE"))
    cleanest_quota: Mapped[int]
    clean_quota: Mapped[int]
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class VillageAssessment(Base):
    """The township's quarterly assessment of a village in four areas (RULES.md §9), in tenths."""

    __tablename__ = "village_assessments"
    __table_args__ = (
        sa.UniqueConstraint("county_id", "village_period_id"),
        *(sa.CheckConstraint(f"{area} >= 0 AND {area} <= 1000", name=f"{area}_range") for area in AssessmentArea),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column()
    village_period_id: Mapped[int] = mapped_column(sa.ForeignKey("village_periods.id", ondelete="CASCADE"))
    hygiene_management: Mapped[int]
    public_places: Mapped[int]
    courtyards_indoors: Mapped[int]
    personal_hygiene: Mapped[int]
    notes: Mapped[str | None] = mapped_column(sa.Text)
    assessed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    def total_tenths(self) -> int:
        return self.hygiene_management + self.public_places + self.courtyards_indoors + self.personal_hygiene


class RolloutPlanYear(Base):
    """定目标: the share of the county's households to bring in during one year ("2332")."""

    __tablename__ = "rollout_plan_years"
    __table_args__ = (
        sa.UniqueConstraint("county_id", "year"),
        sa.CheckConstraint("share_percent BETWEEN 0 AND 100", name="share_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id", ondelete="RESTRICT"), index=True)
    year: Mapped[int]
    share_percent: Mapped[int]
