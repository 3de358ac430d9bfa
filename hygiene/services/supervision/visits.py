"""Unannounced visits (暗访, RULES.md §9): an inspector of the county plans a visit to a village on a
date, by one of the county's teams; the township does not see it until findings are entered. An
inspector of that team enters the findings: a note on what was found, and households re-scored on
the rubric, graded like spot checks. A plaque holder found below clean loses the plaque and the
village gets a rectification notice, as after a spot check; the re-scores count in the ranking's
agreement when the period says so (``Period.unannounced_in_agreement``). Every change is audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from hygiene import naming, permissions
from hygiene.enums import CRITERIA, Grade
from hygiene.models import (
    County,
    Household,
    InspectionTeam,
    Notice,
    Period,
    Plaque,
    Township,
    UnannouncedVisit,
    User,
    Village,
    VisitCheck,
)
from hygiene.models._types import utcnow
from hygiene.services import audit
from hygiene.services.errors import Conflict, FieldErrors, NotFound, PermissionDenied, ServiceError
from hygiene.services.rating import rating
from hygiene.services.supervision import inspection_teams, inspections

PLANNED, DONE = "planned", "done"
STATE_LABELS = {PLANNED: "已计划（乡镇不可见）", DONE: "已完成"}
FINDINGS_MAX = 2000
VISIT_FIELDS = ("state", "planned_on", "village_id", "team_id", "findings")


def get_visit(session: Session, visit_id: int) -> UnannouncedVisit:
    found = session.get(UnannouncedVisit, visit_id)
    if found is None:
        raise NotFound("没有这次暗访")
    return found


def plan(
    session: Session,
    actor: User,
    county: County,
    *,
    period: Period,
    village: Village,
    team: InspectionTeam,
    planned_on: dt.date,
) -> UnannouncedVisit:
    """A visit planned by an inspector to a village of its area, by a team of its own supervising unit
    (a county's, a city's or the township's own, RULES.md §9); the visit has the team's level, and
    the township does not see it (nor a lower level's inspectors: ``permissions.can_see_visit``)."""
    if not permissions.can_inspect_township(actor, village.township):
        raise PermissionDenied("只有本县督查员可以安排暗访")
    if (
        period.county_id != county.id
        or village.county_id != county.id
        or not permissions.can_lead_team(actor, team)
        or not inspections.covers(team, village.township)
    ):
        raise NotFound("该期、村或督查组不属于本级督查范围")
    if not period.starts_on - dt.timedelta(days=31) <= planned_on <= period.ends_on + dt.timedelta(days=31):
        raise FieldErrors({"planned_on": f"暗访日期须在{period.code}期间前后一个月内"})
    visit = UnannouncedVisit(
        county_id=county.id,
        period_id=period.id,
        township_id=village.township_id,
        village_id=village.id,
        team_id=team.id,
        planned_on=planned_on,
        planned_by_id=actor.id,
        state=PLANNED,
        level=team.level,
    )
    session.add(visit)
    session.flush()
    audit.record(session, actor, visit, action="plan", after=audit.snapshot(visit, VISIT_FIELDS))
    return visit


def visits(session: Session, county: County, period: Period, *, seen_by: User | None = None) -> list[UnannouncedVisit]:
    """Every visit of the period (planned ones included), of every level; with ``seen_by``, only
    those that inspector may see (``permissions.can_see_visit``: a planned visit of a higher level,
    or of another township, is left out)."""
    found = session.scalars(
        sa.select(UnannouncedVisit)
        .where(UnannouncedVisit.county_id == county.id, UnannouncedVisit.period_id == period.id)
        .order_by(UnannouncedVisit.planned_on, UnannouncedVisit.id)
    )
    return [v for v in found if seen_by is None or permissions.can_see_visit(seen_by, v, county)]


def done_for_township(session: Session, township: Township) -> list[UnannouncedVisit]:
    """The township's visits whose findings are entered (never a planned one), the newest first."""
    return list(
        session.scalars(
            sa.select(UnannouncedVisit)
            .where(UnannouncedVisit.township_id == township.id, UnannouncedVisit.state == DONE)
            .order_by(UnannouncedVisit.done_at.desc(), UnannouncedVisit.id.desc())
        )
    )


def checks(session: Session, visit: UnannouncedVisit) -> list[VisitCheck]:
    return list(session.scalars(sa.select(VisitCheck).where(VisitCheck.visit_id == visit.id).order_by(VisitCheck.id)))


def _check_visitor(session: Session, actor: User, visit: UnannouncedVisit) -> None:
    team = inspection_teams.team_of(session, actor)
    if (
        not permissions.can_inspect_township(actor, visit.township)
        or team is None
        or team.id != visit.team_id
        or not permissions.can_lead_team(actor, team)
    ):
        raise PermissionDenied("只有负责这次暗访的督查组成员可以录入暗访结果")


def _mark_done(session: Session, actor: User, visit: UnannouncedVisit, now: dt.datetime) -> None:
    if visit.state == DONE:
        return
    before = audit.snapshot(visit, VISIT_FIELDS)
    visit.state, visit.done_at = DONE, now
    session.flush()
    audit.record(session, actor, visit, action="done", before=before, after=audit.snapshot(visit, VISIT_FIELDS))


def enter_findings(
    session: Session,
    actor: User,
    visit: UnannouncedVisit,
    expected_version: int,
    findings: str,
    *,
    now: dt.datetime | None = None,
) -> UnannouncedVisit:
    """What the visit found, in words; from now on the township sees the visit."""
    _check_visitor(session, actor, visit)
    if visit.version != expected_version:
        raise Conflict("这次暗访已被他人修改，请刷新后重试")
    text, problem = naming.text_field(findings, "暗访发现的问题", FINDINGS_MAX, multiline=True)
    if problem:
        raise FieldErrors({"findings": problem})
    before = audit.snapshot(visit, VISIT_FIELDS)
    visit.findings = text
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("这次暗访已被他人修改，请刷新后重试") from None
    audit.record(session, actor, visit, action="findings", before=before, after=audit.snapshot(visit, VISIT_FIELDS))
    _mark_done(session, actor, visit, now or utcnow())
    return visit


@dataclass(frozen=True)
class VisitCheckOutcome:
    check: VisitCheck
    grade: Grade
    revoked: Plaque | None
    notice: Notice | None


def check_household(
    session: Session,
    actor: User,
    visit: UnannouncedVisit,
    household_code: str,
    *,
    scores: Mapping[str, str],
    notes: str = "",
    now: dt.datetime | None = None,
) -> VisitCheckOutcome:
    """A household of the visited village re-scored on the period's rubric; once per household and
    visit. Below clean with a valid plaque: the plaque is revoked and the village gets a notice."""
    now = now or utcnow()
    _check_visitor(session, actor, visit)
    period = session.get_one(Period, visit.period_id)
    household = session.scalar(
        sa.select(Household).where(Household.county_id == visit.county_id, Household.code == household_code.strip())
    )
    if household is None or household.group.village_id != visit.village_id:
        raise FieldErrors({"household_code": f"{visit.village.name}没有户编号为 {household_code.strip()!r} 的农户"})
    parsed = inspections.parse_scores(period, scores)
    text, problem = naming.text_field(notes, "暗访记录", inspections.NOTES_MAX, required=False, multiline=True)
    if problem:
        raise FieldErrors({"notes": problem})
    if session.scalar(
        sa.select(VisitCheck.id).where(VisitCheck.visit_id == visit.id, VisitCheck.household_id == household.id)
    ):
        raise ServiceError(f"{household.code} 已在这次暗访中复评过")
    check = VisitCheck(
        county_id=visit.county_id, visit_id=visit.id, household_id=household.id, notes=text or None,
        inspector_id=actor.id, checked_at=now, **{c: parsed[c] for c in CRITERIA},
    )  # fmt: skip
    session.add(check)
    session.flush()
    audit.record(
        session,
        actor,
        check,
        action="create",
        after={**audit.snapshot(check, (*CRITERIA, "notes")), "household": household.code, "period": period.code},
    )
    _mark_done(session, actor, visit, now)
    grade = Grade(rating.grade_of(check.total_tenths(), rating.settings_of(period)))
    revoked, notice = _consequences(session, actor, visit, check, household, period, grade, now)
    return VisitCheckOutcome(check, grade, revoked, notice)


def _consequences(
    session: Session,
    actor: User,
    visit: UnannouncedVisit,
    check: VisitCheck,
    household: Household,
    period: Period,
    grade: Grade,
    now: dt.datetime,
) -> tuple[Plaque | None, Notice | None]:
    """As a spot check's (RULES.md §9, §7): a plaque holder graded below clean loses the plaque and
    the village is told to rectify."""
    failed = inspections.FailedCheck(
        revoke_reason=f"暗访：{visit.planned_on:%Y-%m-%d}复评得分",
        heading=f"{period.code}暗访（{visit.planned_on:%Y-%m-%d}）",
        scored="复评得分",
        notes_label="暗访记录",
        source_ref=f"visit:{visit.id}:{household.code}",
    )
    return inspections.revoke_and_notify(
        session, actor, check, household, period, grade, failed, township=visit.township, village=visit.village, now=now
    )
