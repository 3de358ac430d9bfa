"""三机制 (1) and (2): plaques and their events, the star catalogue, household stars,
disqualifying events, the award ledger and the yearly budget (RULES.md §7-8)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hygiene.db import Base
from hygiene.enums import AwardLevel, LedgerKind, PlaqueEventKind, PlaqueState
from hygiene.models._types import UTCDateTime, county_id_column, enum_type, utcnow
from hygiene.models.units import Household

_VALID = sa.text("state = 'valid'")
_ACTIVE = sa.text("withdrawn_on IS NULL")


class Plaque(Base):
    """A numbered plaque ``<county code>-<year>-<6-digit sequence>``; a revoked serial never returns."""

    __tablename__ = "plaques"
    __table_args__ = (
        sa.Index(
            "uq_plaques_one_valid_per_household",
            "county_id",
            "household_id",
            unique=True,
            sqlite_where=_VALID,
            postgresql_where=_VALID,
        ),
        sa.CheckConstraint(
            "(state = 'revoked') = (revoked_period_id IS NOT NULL AND revoke_reason IS NOT NULL)",
            name="revoked_has_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column(index=True)
    serial: Mapped[str] = mapped_column(sa.String(32), unique=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="RESTRICT"), index=True)
    level: Mapped[AwardLevel] = mapped_column(enum_type(AwardLevel, "plaque_level"))
    state: Mapped[PlaqueState] = mapped_column(enum_type(PlaqueState, "plaque_state"), default=PlaqueState.VALID)
    issued_period_id: Mapped[int] = mapped_column(sa.ForeignKey("periods.id", ondelete="RESTRICT"))
    revoked_period_id: Mapped[int | None] = mapped_column(sa.ForeignKey("periods.id", ondelete="RESTRICT"))
    revoke_reason: Mapped[str | None] = mapped_column(sa.Text)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    household: Mapped[Household] = relationship()
    events: Mapped[list[PlaqueEvent]] = relationship(back_populates="plaque", order_by="PlaqueEvent.id")

    __mapper_args__ = {"version_id_col": version}


class PlaqueEvent(Base):
    __tablename__ = "plaque_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column(index=True)
    plaque_id: Mapped[int] = mapped_column(sa.ForeignKey("plaques.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[PlaqueEventKind] = mapped_column(enum_type(PlaqueEventKind, "plaque_event_kind"))
    period_id: Mapped[int | None] = mapped_column(sa.ForeignKey("periods.id", ondelete="RESTRICT"))
    from_level: Mapped[AwardLevel | None] = mapped_column(enum_type(AwardLevel, "plaque_event_from_level"))
    to_level: Mapped[AwardLevel | None] = mapped_column(enum_type(AwardLevel, "plaque_event_to_level"))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    plaque: Mapped[Plaque] = relationship(back_populates="events")


class Star(Base):
    """A county's star catalogue entry; ``is_hygiene`` marks the 卫生星, always a base star."""

    __tablename__ = "stars"
    __table_args__ = (
        sa.UniqueConstraint("county_id", "code"),
        sa.CheckConstraint("NOT is_hygiene OR is_base", name="hygiene_is_base"),
        sa.CheckConstraint("NOT (is_title AND is_base)", name="title_not_base"),
        sa.Index(
            "uq_stars_one_hygiene_star",
            "county_id",
            unique=True,
            sqlite_where=sa.text("is_hygiene"),
            postgresql_where=sa.text("is_hygiene"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(sa.String(24))
    name: Mapped[str] = mapped_column(sa.String(30))
    is_base: Mapped[bool] = mapped_column(default=False)
    is_hygiene: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    # A title (好婆婆, 十星级文明户, ...) is granted like a star but is not one of the county's ten.
    is_title: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    certificate: Mapped[str | None] = mapped_column(sa.String(60))


class HouseholdStar(Base):
    """A star held by a household from ``granted_on`` until ``withdrawn_on``."""

    __tablename__ = "household_stars"
    __table_args__ = (
        sa.Index(
            "uq_household_stars_active",
            "county_id",
            "household_id",
            "star_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        sa.CheckConstraint("withdrawn_on IS NULL OR withdrawn_on >= granted_on", name="dates_ordered"),
        sa.CheckConstraint("withdrawn_on IS NULL OR withdraw_reason IS NOT NULL", name="withdrawn_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column(index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="RESTRICT"), index=True)
    star_id: Mapped[int] = mapped_column(sa.ForeignKey("stars.id", ondelete="RESTRICT"))
    granted_on: Mapped[dt.date]
    grant_reason: Mapped[str] = mapped_column(sa.Text)
    withdrawn_on: Mapped[dt.date | None]
    withdraw_reason: Mapped[str | None] = mapped_column(sa.Text)
    plaque_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plaques.id", ondelete="RESTRICT"))

    star: Mapped[Star] = relationship()


class Disqualification(Base):
    """A disqualifying event (crime, gambling or drugs, domestic violence): all stars withdrawn until lifted."""

    __tablename__ = "disqualifications"
    __table_args__ = (sa.CheckConstraint("lifted_on IS NULL OR lifted_on >= occurred_on", name="dates_ordered"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column(index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("households.id", ondelete="RESTRICT"), index=True)
    event: Mapped[str] = mapped_column(sa.String(60))
    occurred_on: Mapped[dt.date]
    lifted_on: Mapped[dt.date | None]
    note: Mapped[str | None] = mapped_column(sa.Text)


class CountyBudget(Base):
    """The county's yearly incentive budget, in fen (default 27,000,000 yuan)."""

    __tablename__ = "county_budgets"
    __table_args__ = (
        sa.UniqueConstraint("county_id", "year"),
        sa.CheckConstraint("amount_fen >= 0", name="amount_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id", ondelete="RESTRICT"))
    year: Mapped[int]
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)


class AwardLedgerEntry(Base):
    """Goods or industry support given with a commendation, reported against the budget."""

    __tablename__ = "award_ledger_entries"
    __table_args__ = (
        sa.CheckConstraint("value_fen > 0", name="value_positive"),
        sa.CheckConstraint("kind != 'industry_support' OR value_fen >= 200000", name="industry_support_minimum"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id", ondelete="RESTRICT"), index=True)
    township_id: Mapped[int] = mapped_column(sa.ForeignKey("townships.id", ondelete="RESTRICT"))
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("households.id", ondelete="RESTRICT"))
    period_id: Mapped[int | None] = mapped_column(sa.ForeignKey("periods.id", ondelete="RESTRICT"))
    kind: Mapped[LedgerKind] = mapped_column(enum_type(LedgerKind, "ledger_kind"))
    item: Mapped[str] = mapped_column(sa.String(60))
    value_fen: Mapped[int] = mapped_column(sa.BigInteger)
    given_on: Mapped[dt.date]
    note: Mapped[str | None] = mapped_column(sa.Text)


class StarSettings(Base):
    """A county's star tiers (RULES.md §8: 5-7 bronze, 8-9 silver, 10 gold, configurable) and its
    list of disqualifying events, one a line."""

    __tablename__ = "star_settings"
    __table_args__ = (
        sa.CheckConstraint(
            "bronze_stars >= 1 AND bronze_stars < silver_stars AND silver_stars < gold_stars", name="tiers_ordered"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id", ondelete="RESTRICT"), unique=True)
    bronze_stars: Mapped[int] = mapped_column(default=5)
    silver_stars: Mapped[int] = mapped_column(default=8)
    gold_stars: Mapped[int] = mapped_column(default=10)
    disqualifying_events: Mapped[str] = mapped_column(sa.Text)


class AwardGoodsMapping(Base):
    """缺什么奖什么: the goods suggested for a household that lost points on a criterion."""

    __tablename__ = "award_goods_mappings"
    __table_args__ = (
        sa.UniqueConstraint("county_id", "criterion_code"),
        sa.CheckConstraint("value_fen > 0", name="value_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(sa.ForeignKey("counties.id", ondelete="RESTRICT"))
    criterion_code: Mapped[str] = mapped_column(sa.String(8))
    item: Mapped[str] = mapped_column(sa.String(60))
    value_fen: Mapped[int] = mapped_column(sa.BigInteger)
