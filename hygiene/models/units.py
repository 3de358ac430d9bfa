"""The administrative tree (county → township → village → group) and the rated household."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hygiene.db import Base
from hygiene.models._types import RatingSettings, UTCDateTime, county_id_column, rating_settings_checks, utcnow

YEARLY_BUDGET_FEN = 27_000_000 * 100  # RULES.md §8: 27,000,000 yuan a year unless the county sets another


class City(Base):
    """A city (prefecture, 市) above counties: its inspectors supervise the townships and villages of
    its counties with the counties' own tools (RULES.md §9, three levels of supervision)."""

    __tablename__ = "cities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))

    counties: Mapped[list[County]] = relationship(back_populates="city", order_by="County.code")


class County(RatingSettings, Base):
    """The deploying unit. Its configurable rule numbers (RULES.md, *configurable*) live here; a
    period copies the rating settings when it opens (RatingSettings)."""

    __tablename__ = "counties"
    __table_args__ = (
        *rating_settings_checks(),
        sa.CheckConstraint("notice_deadline_hours >= 1", name="notice_deadline_positive"),
        sa.CheckConstraint("yearly_budget_fen >= 0", name="yearly_budget_nonnegative"),
        sa.CheckConstraint("ladder_window_days BETWEEN 1 AND 3660", name="ladder_window_range"),
        sa.CheckConstraint("period_length IN ('quarter', 'month')", name="period_length_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    notice_deadline_hours: Mapped[int] = mapped_column(default=24)
    # RULES.md §9: failures of one unit within this many days climb the accountability ladder.
    ladder_window_days: Mapped[int] = mapped_column(default=365, server_default="365")
    # RULES.md §1: "quarter" (YYYYQn) or "month" (YYYY-MM), for the periods opened from now on.
    period_length: Mapped[str] = mapped_column(sa.String(8), default="quarter", server_default="quarter")
    # RULES.md §8: the incentive budget of each year from the one it was set in (county_budgets
    # keeps the budget of each year a change was made in).
    yearly_budget_fen: Mapped[int] = mapped_column(
        sa.BigInteger, default=YEARLY_BUDGET_FEN, server_default=str(YEARLY_BUDGET_FEN)
    )
    # Set by the first unit sheet: from then on a roster names existing groups only, so that a
    # misspelt group name is an error rather than a new group.
    units_from_sheet: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The city above the county (issue 33, three levels), if any.
    city_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cities.id"), index=True)

    city: Mapped[City | None] = relationship(back_populates="counties")
    townships: Mapped[list[Township]] = relationship(back_populates="county", order_by="Township.code")


class Township(Base):
    __tablename__ = "townships"

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))

    county: Mapped[County] = relationship(back_populates="townships")
    villages: Mapped[list[Village]] = relationship(back_populates="township", order_by="Village.code")


class Village(Base):
    __tablename__ = "villages"
    __table_args__ = (
        sa.CheckConstraint(
            "programme_year IS NULL OR programme_year BETWEEN 2000 AND 2100", name="programme_year_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column(index=True)
    township_id: Mapped[int] = mapped_column(sa.ForeignKey("townships.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    # RULES.md §1: in the programme from the first period of this year (set by the rollout plan).
    programme_year: Mapped[int | None]

    township: Mapped[Township] = relationship(back_populates="villages")
    groups: Mapped[list[Group]] = relationship(back_populates="village", order_by="Group.code")


class Group(Base):
    """A villager group (村民组): the unit of peer review."""

    __tablename__ = "groups"
    __table_args__ = (sa.UniqueConstraint("county_id", "village_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column()
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("villages.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(60))

    village: Mapped[Village] = relationship(back_populates="groups")
    households: Mapped[list[Household]] = relationship(back_populates="group", order_by="Household.code")


class Household(Base):
    """A rated household. ``phone`` and ``is_poor`` are never shown publicly (RULES.md §6)."""

    __tablename__ = "households"
    __table_args__ = (
        sa.UniqueConstraint("county_id", "code"),
        sa.CheckConstraint("members >= 1 AND members <= 99", name="members_range"),
        sa.CheckConstraint("length(code) >= 1", name="code_not_empty"),
        sa.CheckConstraint("length(head_name) >= 1", name="head_name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Denormalised from the group's county so that "code unique in the county" is a constraint.
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id", ondelete="RESTRICT"))
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("groups.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(sa.String(24))
    head_name: Mapped[str] = mapped_column(sa.String(40))
    members: Mapped[int] = mapped_column(default=1)
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    is_poor: Mapped[bool] = mapped_column(default=False)
    # RULES.md §8: the county (or township) marks households with the ability and wish to develop
    # industry, for industry support; the reason of the latest marking. Never shown publicly.
    industry_wish: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    industry_wish_reason: Mapped[str | None] = mapped_column(sa.String(200))
    # A household that moves away is never deleted once rated; it stops counting from this date.
    moved_away_on: Mapped[dt.date | None]
    # The first period it counts in (RULES.md §4: H is the households registered for the period);
    # None for a household registered before its village's first period, counted in every one.
    registered_from: Mapped[str | None] = mapped_column(sa.String(7))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    group: Mapped[Group] = relationship(back_populates="households")

    __mapper_args__ = {"version_id_col": version}


class HouseholdFormerCode(Base):
    """A code a household had before its code was corrected or it moved to another village (issue
    30), with the village it was in while it had it. The household keeps its id, so everything
    attached to it stays; this row lets an old code still find it (a plaque, a search, a roster
    imported again) and keeps the code from being given to another household of the county."""

    __tablename__ = "household_former_codes"
    __table_args__ = (
        sa.Index("ix_household_former_codes_county_code", "county_id", "code"),
        sa.CheckConstraint("kind IN ('correct', 'move')", name="former_code_kind"),
        sa.CheckConstraint("length(reason) >= 1", name="reason_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column()
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(sa.String(24))
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("villages.id", ondelete="RESTRICT"))
    # "correct": the code was mistyped; "move": the household moved to another village.
    kind: Mapped[str] = mapped_column(sa.String(8))
    replaced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    replaced_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(sa.Text)

    household: Mapped[Household] = relationship()
    village: Mapped[Village] = relationship()
