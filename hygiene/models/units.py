"""The administrative tree (county → township → village → group) and the rated household."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hygiene.db import Base
from hygiene.models._types import UTCDateTime, utcnow


class County(Base):
    """The deploying unit. Its configurable rule numbers (RULES.md, *configurable*) live here."""

    __tablename__ = "counties"
    __table_args__ = (
        sa.CheckConstraint("cleanest_floor_percent BETWEEN 0 AND 100", name="cleanest_floor_percent_range"),
        sa.CheckConstraint("clean_floor_percent BETWEEN 0 AND 100", name="clean_floor_percent_range"),
        sa.CheckConstraint("gap_tenths > 0", name="gap_positive"),
        sa.CheckConstraint("min_peers >= 0", name="min_peers_nonnegative"),
        sa.CheckConstraint("posting_days >= 1", name="posting_days_positive"),
        sa.CheckConstraint("plaque_wait_periods >= 0", name="plaque_wait_nonnegative"),
        sa.CheckConstraint("notice_deadline_hours >= 1", name="notice_deadline_positive"),
        sa.CheckConstraint("assessment_area_max_tenths BETWEEN 10 AND 1000", name="assessment_area_max_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    cleanest_floor_percent: Mapped[int] = mapped_column(default=10)
    clean_floor_percent: Mapped[int] = mapped_column(default=20)
    gap_tenths: Mapped[int] = mapped_column(default=100)
    min_peers: Mapped[int] = mapped_column(default=2)
    posting_days: Mapped[int] = mapped_column(default=7)
    plaque_wait_periods: Mapped[int] = mapped_column(default=1)
    red_black_list: Mapped[bool] = mapped_column(default=True)
    notice_deadline_hours: Mapped[int] = mapped_column(default=24)
    # Points of each of the village assessment's four areas (RULES.md §9), in tenths.
    assessment_area_max_tenths: Mapped[int] = mapped_column(default=250, server_default="250")

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
    __table_args__ = (sa.UniqueConstraint("village_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
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
    # A household that moves away is never deleted once rated; it stops counting from this date.
    moved_away_on: Mapped[dt.date | None]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    group: Mapped[Group] = relationship(back_populates="households")

    __mapper_args__ = {"version_id_col": version}
