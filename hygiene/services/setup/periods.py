"""Quarters: parsing ``YYYYQn``, their dates, and opening a period with the county's rubric."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import DEFAULT_CRITERIA
from hygiene.models import County, Period, RubricCriterion, RubricVersion, Village, VillagePeriod
from hygiene.models._types import copy_rating_settings
from hygiene.services.errors import NotFound
from hygiene.services.rating import rating


def quarter_dates(code: str) -> tuple[dt.date, dt.date]:
    year, quarter = rating.parse_period_code(code)
    start = dt.date(year, 3 * quarter - 2, 1)
    end = dt.date(year + 1, 1, 1) if quarter == 4 else dt.date(year, 3 * quarter + 1, 1)
    return start, end - dt.timedelta(days=1)


def current_rubric(session: Session, county: County) -> RubricVersion:
    rubric = session.scalar(
        sa.select(RubricVersion).where(RubricVersion.county_id == county.id).order_by(RubricVersion.number.desc())
    )
    if rubric is None:
        raise NotFound(f"{county.name}尚未设置评分标准")
    return rubric


def create_default_rubric(session: Session, county: County) -> RubricVersion:
    """Version 1 of a county's rubric: RULES.md §2's ten criteria and thresholds."""
    rubric = RubricVersion(county_id=county.id, number=1)
    rubric.criteria = [RubricCriterion(code=c, label=label, max_tenths=m) for c, label, m in DEFAULT_CRITERIA]
    session.add(rubric)
    session.flush()
    return rubric


def open_period(session: Session, county: County, code: str) -> Period:
    """Create the quarter with the rubric and the rating settings in force now (RULES.md §2), or
    return it if it exists: changing the county's settings later never reaches this period."""
    rating.parse_period_code(code)
    period = session.scalar(sa.select(Period).where(Period.county_id == county.id, Period.code == code))
    if period is not None:
        return period
    starts_on, ends_on = quarter_dates(code)
    period = Period(
        county_id=county.id,
        code=code,
        starts_on=starts_on,
        ends_on=ends_on,
        rubric_version_id=current_rubric(session, county).id,
    )
    copy_rating_settings(county, period)
    session.add(period)
    session.flush()
    return period


def get_period(session: Session, county_id: int, code: str) -> Period:
    rating.parse_period_code(code)
    period = session.scalar(sa.select(Period).where(Period.county_id == county_id, Period.code == code))
    if period is None:
        raise NotFound(f"季度 {code} 不存在")
    return period


def open_village_period(session: Session, village: Village, period: Period) -> VillagePeriod:
    """The village's period, opened as a draft on first use (a first review, a first quota)."""
    found = village_period(session, village, period)
    if found is None:
        found = VillagePeriod(county_id=period.county_id, village_id=village.id, period_id=period.id)
        session.add(found)
        session.flush()
    return found


def village_period(session: Session, village: Village, period: Period) -> VillagePeriod | None:
    return session.scalar(
        sa.select(VillagePeriod).where(VillagePeriod.village_id == village.id, VillagePeriod.period_id == period.id)
    )


def county_latest_period(session: Session, county: County) -> Period:
    """The county's most recent period (the one opened last by its code)."""
    period = session.scalar(
        sa.select(Period).where(Period.county_id == county.id).order_by(Period.code.desc()).limit(1)
    )
    if period is None:
        raise NotFound(f"{county.name}还没有任何季度")
    return period
