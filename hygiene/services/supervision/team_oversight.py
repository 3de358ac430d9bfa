"""Oversight of the inspection teams themselves (RULES.md §9, seed 000): each team's lead office and
member offices, and for a period what each team did — townships held, samples adopted, households
spot-checked and the agreement found, unannounced visits planned and done, notices its checks
issued and how they stand."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import naming, permissions
from hygiene.enums import NoticeState
from hygiene.models import County, InspectionAssignment, InspectionTeam, Notice, Period, SpotCheck, Township, User
from hygiene.services import audit
from hygiene.services.errors import FieldErrors, PermissionDenied, check_unchanged, state_digest
from hygiene.services.supervision import inspection_teams, ranking, visits

OFFICE_MAX, OFFICES_MAX = 60, 200
OFFICE_FIELDS = ("lead_office", "member_offices")


def offices_state(team: InspectionTeam) -> str:
    """What the offices form showed (`check_unchanged`)."""
    return state_digest({f: getattr(team, f) for f in OFFICE_FIELDS})


def set_offices(
    session: Session,
    actor: User,
    team: InspectionTeam,
    *,
    lead_office: str,
    member_offices: str,
    shown_state: str | None = None,
) -> bool:
    """The team's lead office and member offices (the latter a list in words); audited."""
    county = session.get_one(County, team.county_id)
    if not permissions.can_manage_inspection_teams(actor, county):
        raise PermissionDenied("只有本县管理员可以管理督查组")
    check_unchanged(shown_state, {f: getattr(team, f) for f in OFFICE_FIELDS}, f"{team.name}的牵头单位")
    lead, lead_problem = naming.text_field(lead_office, "牵头单位", OFFICE_MAX)
    members, members_problem = naming.text_field(member_offices, "成员单位", OFFICES_MAX, required=False)
    errors = {k: v for k, v in (("lead_office", lead_problem), ("member_offices", members_problem)) if v}
    if errors:
        raise FieldErrors(errors)
    before = audit.snapshot(team, OFFICE_FIELDS)
    team.lead_office, team.member_offices = lead, members or None
    after = audit.snapshot(team, OFFICE_FIELDS)
    if after == before:
        return False
    session.flush()
    audit.record(session, actor, team, action="offices", before=before, after=after)
    return True


@dataclass(frozen=True)
class TeamWork:
    team: InspectionTeam
    inspectors: int
    townships: tuple[str, ...]  # names of the townships it holds in the period
    samples_adopted: int
    checked: int  # households spot-checked
    counted: int  # of them rated, so compared with the final grade
    agreeing: int
    visits_planned: int
    visits_done: int
    notices: Counter[str]  # notices its spot checks issued, by state value

    @property
    def agreement(self) -> Decimal | None:
        if not self.counted:
            return None
        return (Decimal(self.agreeing) / Decimal(self.counted)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def oversight(session: Session, county: County, period: Period) -> list[TeamWork]:
    """Each of the county's teams' work in the period, by team id."""
    teams = inspection_teams.teams(session, county)
    held = session.execute(
        sa.select(InspectionAssignment).where(
            InspectionAssignment.county_id == county.id, InspectionAssignment.period_id == period.id
        )
    ).scalars()
    by_team: dict[int, list[InspectionAssignment]] = {}
    for assignment in held:
        by_team.setdefault(assignment.team_id, []).append(assignment)
    result = ranking.ranking(session, county, period)
    checks_of = {t.code: t.checks for t in result.townships}
    township_of = {t.id: t for t in session.scalars(sa.select(Township).where(Township.county_id == county.id))}
    check_counts = Counter(
        session.scalars(
            sa.select(SpotCheck.assignment_id)
            .join(InspectionAssignment, SpotCheck.assignment_id == InspectionAssignment.id)
            .where(InspectionAssignment.period_id == period.id)
        )
    )
    notice_states: dict[int, Counter[str]] = {}
    for team_id, state in session.execute(
        sa.select(InspectionAssignment.team_id, Notice.state)
        .join(SpotCheck, Notice.spot_check_id == SpotCheck.id)
        .join(InspectionAssignment, SpotCheck.assignment_id == InspectionAssignment.id)
        .where(InspectionAssignment.period_id == period.id)
    ):
        notice_states.setdefault(team_id, Counter())[NoticeState(state).value] += 1
    all_visits = visits.visits(session, county, period)
    work = []
    for team in teams:
        assignments = by_team.get(team.id, [])
        codes = [township_of[a.township_id].code for a in assignments]
        # The agreement the team found: the ranking's spot checks of the townships it holds.
        spot_lines = [c for code in codes for c in checks_of.get(code, ()) if not c.on_visit]
        counted = [c for c in spot_lines if c.agrees is not None]
        work.append(
            TeamWork(
                team=team,
                inspectors=len(inspection_teams.team_inspectors(session, team)),
                townships=tuple(township_of[a.township_id].name for a in assignments),
                samples_adopted=sum(1 for a in assignments if a.sample_adopted_at is not None),
                checked=sum(check_counts[a.id] for a in assignments),
                counted=len(counted),
                agreeing=sum(1 for c in counted if c.agrees),
                visits_planned=sum(1 for v in all_visits if v.team_id == team.id),
                visits_done=sum(1 for v in all_visits if v.team_id == team.id and v.state == visits.DONE),
                notices=notice_states.get(team.id, Counter()),
            )
        )
    return work
