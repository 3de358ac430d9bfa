"""The county's rollout plan against coverage (RULES.md §9), on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.models import County, Household, RolloutPlanYear
from hygiene.services import counties


def test_coverage_is_cumulative_and_on_target_when_it_reaches_the_cumulative_plan(db: Session) -> None:
    county = db.scalars(sa.select(County).where(County.code == "520999")).one()
    years = {y.year: y for y in counties.coverage(db, county)}
    # the demo: plan 20/30/30/20 from 2025; its 2026Q3 lists rated every household
    assert [(y, years[y].planned_percent) for y in sorted(years)] == [(2025, 20), (2026, 50), (2027, 80), (2028, 100)]
    assert (years[2025].rated, years[2026].rated) == (0, years[2026].households)
    assert not years[2025].on_target and years[2026].on_target and years[2026].coverage_permille == 1000


def test_on_target_compares_exactly_at_the_boundary(db: Session) -> None:
    county = db.scalars(sa.select(County).where(County.code == "520999")).one()
    db.execute(sa.update(RolloutPlanYear).where(RolloutPlanYear.county_id == county.id).values(share_percent=100))
    db.flush()
    households = db.scalar(sa.select(sa.func.count(Household.id)).where(Household.county_id == county.id))
    year_2026 = next(y for y in counties.coverage(db, county) if y.year == 2026)
    assert year_2026.planned_percent == 100 and year_2026.rated == households and year_2026.on_target
    db.add(Household(county_id=county.id, group_id=1, code="UNRATED-1", head_name="新户"))
    db.flush()
    year_2026 = next(y for y in counties.coverage(db, county) if y.year == 2026)
    assert year_2026.households == households + 1 and not year_2026.on_target  # one short of 100%
