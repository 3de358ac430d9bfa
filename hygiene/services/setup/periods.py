"""Periods: parsing ``YYYYQn`` (a quarter) or ``YYYY-MM`` (a month, RULES.md §1), their dates, and
opening a period with the county's rubric."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import DEFAULT_CRITERIA
from hygiene.models import County, Period, RubricCriterion, RubricVersion, Village, VillagePeriod
from hygiene.models._types import copy_rating_settings
from hygiene.services.errors import NotFound, ServiceError
from hygiene.services.rating import rating


def period_dates(code: str) -> tuple[dt.date, dt.date]:
    """The first and last day of a quarter or a month."""
    year, n = rating.parse_period_code(code)
    first, months = (3 * n - 2, 3) if rating.period_kind(code) == "quarter" else (n, 1)
    start = dt.date(year, first, 1)
    after = first + months
    end = dt.date(year + 1, 1, 1) if after > 12 else dt.date(year, after, 1)
    return start, end - dt.timedelta(days=1)


quarter_dates = period_dates  # the name before monthly counties


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
    """Create the period with the rubric and the rating settings in force now (RULES.md §2), or
    return it if it exists: changing the county's settings later never reaches this period. A new
    period is of the county's length now (quarter or month, RULES.md §1) and overlaps none of the
    county's periods (a county switching keeps its history and goes on after it)."""
    rating.parse_period_code(code)
    period = session.scalar(sa.select(Period).where(Period.county_id == county.id, Period.code == code))
    if period is not None:
        return period
    if rating.period_kind(code) != county.period_length:
        example = "2027Q1" if county.period_length == "quarter" else "2027-01"
        word = "季度" if county.period_length == "quarter" else "月"
        raise ServiceError(f"{county.name}按{word}评比，期别应为如 {example} 的形式（{code} 不是）")
    starts_on, ends_on = period_dates(code)
    overlapping = session.scalar(
        sa.select(Period.code).where(
            Period.county_id == county.id, Period.starts_on <= ends_on, Period.ends_on >= starts_on
        )
    )
    if overlapping is not None:
        raise ServiceError(f"{code} 与已开启的 {overlapping} 时间重叠")
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
        raise NotFound(f"{'季度' if rating.period_kind(code.strip()) == 'quarter' else '月份'} {code} 不存在")
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
