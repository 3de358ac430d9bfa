"""Small builders for service tests: each adds to the session and flushes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA, ReviewKind
from hygiene.models import Group, Household, Period, Review, Village


def village(db: Session, code: str = "5209990101") -> Village:
    return db.scalars(sa.select(Village).where(Village.code == code)).one()


def period(db: Session, code: str = "2026Q4", county_code: str = "520999") -> Period:
    from hygiene.models import County

    county = db.scalars(sa.select(County).where(County.code == county_code)).one()
    return db.scalars(sa.select(Period).where(Period.county_id == county.id, Period.code == code)).one()


def households_of_group(db: Session, group: Group) -> list[Household]:
    return list(db.scalars(sa.select(Household).where(Household.group_id == group.id).order_by(Household.code)))


def first_group(db: Session, village_code: str = "5209990101") -> Group:
    return db.scalars(sa.select(Group).join(Village).where(Village.code == village_code).order_by(Group.code)).first()


def review(
    db: Session,
    household: Household,
    period: Period,
    kind: ReviewKind,
    *,
    score: int = 90,
    reviewer: Household | None = None,
    team: str | None = None,
) -> Review:
    row = Review(
        county_id=household.county_id,
        period_id=period.id,
        household_id=household.id,
        kind=kind,
        reviewer_household_id=reviewer.id if reviewer else None,
        team_members=team if kind is ReviewKind.GROUP else None,
        **dict.fromkeys(CRITERIA, score),
    )
    db.add(row)
    db.flush()
    return row
