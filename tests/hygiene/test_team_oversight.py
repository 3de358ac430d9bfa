"""The teams' lead and member offices and the county's oversight of what each team did (issue 33)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.models import Household, InspectionAssignment, InspectionTeam, User, Village
from hygiene.services.errors import Conflict, FieldErrors, PermissionDenied
from hygiene.services.setup import units
from hygiene.services.supervision import inspection_teams, team_oversight, visits
from tests.hygiene.factories import period as period_of
from tests.hygiene.test_ranking import TOTAL_OF_GRADE, posted_lines, spot_check


def user(db: Session, name: str) -> User:
    return db.scalars(sa.select(User).where(User.username == name)).one()


def test_offices_are_set_by_the_administrator_audited_and_guarded(db: Session) -> None:
    county = units.get_county(db, "520999")
    team = inspection_teams.teams(db, county)[0]
    shown = team_oversight.offices_state(team)
    with pytest.raises(PermissionDenied):
        team_oversight.set_offices(db, user(db, "inspector"), team, lead_office="督办督查局", member_offices="")
    with pytest.raises(FieldErrors) as refused:
        team_oversight.set_offices(db, user(db, "county"), team, lead_office=" ", member_offices="文明办")
    assert refused.value.errors == {"lead_office": "请填写牵头单位"}
    assert team_oversight.set_offices(
        db, user(db, "county"), team, lead_office="督办督查局", member_offices="文明办、妇联", shown_state=shown
    )
    assert (team.lead_office, team.member_offices) == ("督办督查局", "文明办、妇联")
    with pytest.raises(Conflict):
        team_oversight.set_offices(
            db, user(db, "county"), team, lead_office="卫健局", member_offices="", shown_state=shown
        )


def test_each_teams_work_in_a_period(db: Session) -> None:
    """The demo's first team holds 松林镇 in 2026Q3: two spot checks there (one agreeing) and one
    visit planned by it are its work; the other teams have none of it."""
    county = units.get_county(db, "520999")
    q3 = period_of(db, "2026Q3")
    rated = [line for line in posted_lines(db, "2026Q3", "5209990101") if line.grade is not None]
    same, other = rated[0], rated[1]
    first = spot_check(db, "2026Q3", db.get(Household, same.household_id), TOTAL_OF_GRADE[same.grade.value])
    wrong = "not_clean" if other.grade.value != "not_clean" else "cleanest"
    spot_check(db, "2026Q3", db.get(Household, other.household_id), TOTAL_OF_GRADE[wrong])
    assignment = db.get(InspectionAssignment, first.assignment_id)
    holder_team = db.get(InspectionTeam, assignment.team_id)
    village = db.scalars(sa.select(Village).where(Village.code == "5209990101")).one()
    visits.plan(
        db, user(db, "inspector"), county, period=q3, village=village, team=holder_team, planned_on=dt.date(2026, 9, 5)
    )
    work = {w.team.id: w for w in team_oversight.oversight(db, county, q3)}
    mine = work[holder_team.id]
    assert "松林镇" in mine.townships
    assert (mine.checked, mine.counted, mine.agreeing, mine.agreement) == (2, 2, 1, Decimal("0.5000"))
    assert (mine.visits_planned, mine.visits_done) == (1, 0)
    others = [w for tid, w in work.items() if tid != holder_team.id]
    assert all(w.checked == 0 and w.visits_planned == 0 and "松林镇" not in w.townships for w in others)
