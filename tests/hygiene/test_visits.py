"""Unannounced visits (暗访, issue 33, RULES.md §9): planned without the township seeing them, findings
that become notices like spot checks, counted in the ranking's agreement when the period says so."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import Grade, NoticeState, PlaqueState, Role
from hygiene.models import Group, Household, InspectionTeam, Plaque, PlaqueEvent, Township, User, Village
from hygiene.services.errors import FieldErrors, NotFound, PermissionDenied, ServiceError
from hygiene.services.setup import accounts, units
from hygiene.services.supervision import inspection_teams, notices, ranking, visits
from tests.hygiene.factories import period as period_of
from tests.hygiene.test_ranking import TOTAL_OF_GRADE, posted_lines

NOW = dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)
LOW = {f"c{n:02d}": "3" for n in range(1, 11)}  # 30 points: not clean


def user(db: Session, name: str) -> User:
    return db.scalars(sa.select(User).where(User.username == name)).one()


def planned(db: Session) -> visits.UnannouncedVisit:
    county = units.get_county(db, "520999")
    inspector = user(db, "inspector")
    team = inspection_teams.team_of(db, inspector)
    assert team is not None
    village = db.scalars(sa.select(Village).where(Village.code == "5209990101")).one()
    return visits.plan(
        db,
        inspector,
        county,
        period=period_of(db, "2026Q4"),
        village=village,
        team=team,
        planned_on=dt.date(2026, 11, 20),
    )


def plaque_holder(db: Session) -> Household:
    return db.scalars(
        sa.select(Household)
        .join(Plaque, Plaque.household_id == Household.id)
        .join(Group, Household.group_id == Group.id)
        .join(Village, Group.village_id == Village.id)
        .where(Village.code == "5209990101", Plaque.state == PlaqueState.VALID)
        .order_by(Household.code)
    ).first()


def songlin(db: Session) -> Township:
    return db.scalars(sa.select(Township).where(Township.code == "52099901")).one()


def test_a_visit_stays_hidden_until_findings_and_a_failing_plaque_holder_gets_a_notice(db: Session) -> None:
    visit = planned(db)
    assert visit.state == visits.PLANNED and visits.done_for_township(db, songlin(db)) == []
    assert [v.id for v in visits.visits(db, units.get_county(db, "520999"), period_of(db, "2026Q4"))] == [visit.id]
    holder = plaque_holder(db)
    outcome = visits.check_household(
        db, user(db, "inspector"), visit, holder.code, scores=LOW, notes="院内杂物堆放", now=NOW
    )
    assert outcome.grade is Grade.NOT_CLEAN and outcome.revoked is not None
    assert outcome.revoked.state is PlaqueState.REVOKED
    reasons = db.scalars(sa.select(PlaqueEvent.reason).where(PlaqueEvent.plaque_id == outcome.revoked.id)).all()
    assert any(r and r.startswith("暗访：2026-11-20复评得分 30.0 分，评为不清洁户") for r in reasons), reasons
    notice = outcome.notice
    assert notice is not None and notice.state is NoticeState.OPEN and notice.village_id == visit.village_id
    assert notice.problem.startswith("2026Q4暗访（2026-11-20）：户编号") and "暗访记录：院内杂物堆放" in notice.problem
    assert notice in notices.addressed_to_village(db, visit.village)
    assert visit.state == visits.DONE and visit.done_at == NOW
    assert visits.done_for_township(db, songlin(db)) == [visit]
    with pytest.raises(ServiceError, match="已在这次暗访中复评过"):
        visits.check_household(db, user(db, "inspector"), visit, holder.code, scores=LOW)


def test_findings_in_words_make_it_visible_too(db: Session) -> None:
    visit = planned(db)
    with pytest.raises(FieldErrors):
        visits.enter_findings(db, user(db, "inspector"), visit, visit.version, "  ")
    visits.enter_findings(db, user(db, "inspector"), visit, visit.version, "公厕无人保洁", now=NOW)
    assert visit.findings == "公厕无人保洁" and visits.done_for_township(db, songlin(db)) == [visit]


def test_who_plans_and_who_enters(db: Session) -> None:
    county = units.get_county(db, "520999")
    with pytest.raises(PermissionDenied):
        visits.plan(
            db, user(db, "township"), county, period=period_of(db, "2026Q4"),
            village=db.scalars(sa.select(Village).where(Village.code == "5209990101")).one(),
            team=db.scalars(sa.select(InspectionTeam).where(InspectionTeam.county_id == county.id)).first(),
            planned_on=dt.date(2026, 11, 1),
        )  # fmt: skip
    with pytest.raises(FieldErrors, match="前后一个月内"):
        visits.plan(
            db, user(db, "inspector"), county, period=period_of(db, "2026Q4"),
            village=db.scalars(sa.select(Village).where(Village.code == "5209990101")).one(),
            team=db.scalars(sa.select(InspectionTeam).where(InspectionTeam.county_id == county.id)).first(),
            planned_on=dt.date(2027, 6, 1),
        )  # fmt: skip
    with pytest.raises(NotFound):
        visits.plan(
            db, user(db, "inspector"), county, period=period_of(db, "2026Q4", "520998"),
            village=db.scalars(sa.select(Village).where(Village.code == "5209990101")).one(),
            team=db.scalars(sa.select(InspectionTeam).where(InspectionTeam.county_id == county.id)).first(),
            planned_on=dt.date(2026, 11, 1),
        )  # fmt: skip
    visit = planned(db)
    other = accounts.create_user(
        db, username="inspector9", password="inspect-pass-2026", role=Role.INSPECTOR, unit_code="520999"
    )
    with pytest.raises(PermissionDenied):  # an inspector of no team, or another team
        visits.check_household(db, other, visit, plaque_holder(db).code, scores=LOW)
    with pytest.raises(FieldErrors, match="没有户编号为 '520999020101001' 的农户"):
        visits.check_household(db, user(db, "inspector"), visit, "520999020101001", scores=LOW)
    assert visit.state == visits.PLANNED


def test_visit_checks_count_in_the_agreement_when_the_period_says_so(db: Session) -> None:
    """A rated household of 青山村 re-scored at its posted grade on a visit in 2026Q3: agreement 1/1."""
    county = units.get_county(db, "520999")
    q3 = period_of(db, "2026Q3")
    inspector = user(db, "inspector")
    village = db.scalars(sa.select(Village).where(Village.code == "5209990101")).one()
    visit = visits.plan(
        db, inspector, county, period=q3, village=village, team=inspection_teams.team_of(db, inspector),
        planned_on=dt.date(2026, 9, 1),
    )  # fmt: skip
    line = next(x for x in posted_lines(db, "2026Q3", "5209990101") if x.grade is not None and x.grade.value == "clean")
    total = TOTAL_OF_GRADE["clean"]
    scores = {f"c{n:02d}": str((total // 10 + (1 if n - 1 < total % 10 else 0)) / 10) for n in range(1, 11)}
    visits.check_household(db, inspector, visit, line.household_code, scores=scores, now=NOW)
    counted = next(t for t in ranking.ranking(db, county, q3).townships if t.code == "52099901")
    assert (counted.checked, counted.agreeing) == (1, 1) and counted.checks[0].code == line.household_code
    q3.unannounced_in_agreement = False
    db.flush()
    left_out = next(t for t in ranking.ranking(db, county, q3).townships if t.code == "52099901")
    assert (left_out.checked, left_out.agreement) == (0, None)
