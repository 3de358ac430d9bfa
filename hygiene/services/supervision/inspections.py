"""Inspection teams and their spot checks (联合督查考核组, RULES.md §9, issue 19).

The county administrator keeps the county's teams: each has a name, the names of everyone on it
(``members``, staff without an account too) and the inspector accounts that belong to it (an
inspector belongs to at most one team of its own county). Each period the administrator assigns
every township to one team (``assign``). Every inspector of the county reads all of it; only an
inspector of the team holding a township in a period writes there (``permissions.can_spot_check``):
it adopts the township's sample (its seed and size are stored, so the sample is redrawn the same by
``sampling.draw``) and enters spot checks, criterion by criterion on the period's rubric.

A spot check that grades a household below clean (较清洁 or 不清洁, RULES.md §9 and §7) while it holds a
valid plaque revokes the plaque (``plaques.revoke``) and issues a rectification notice
(``notices.issue``, one per spot check), in the caller's transaction. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from hygiene import naming, permissions
from hygiene.db import lock_county_settings
from hygiene.enums import CRITERIA, Grade, Level, NoticeSource, PlaqueState
from hygiene.io.scores import format_points, parse_score, parse_whole_number
from hygiene.models import (
    County,
    Group,
    Household,
    InspectionAssignment,
    InspectionTeam,
    Notice,
    Period,
    Plaque,
    SpotCheck,
    Township,
    User,
    Village,
)
from hygiene.models._types import ScoresMixin, utcnow
from hygiene.services import audit
from hygiene.services.awards import plaques
from hygiene.services.errors import (
    Conflict,
    FieldErrors,
    NotFound,
    PermissionDenied,
    ServiceError,
    check_unchanged,
    state_digest,
)
from hygiene.services.rating import rating
from hygiene.services.supervision import inspection_teams, notices, sampling
from hygiene.services.supervision.inspection_teams import MEMBERS_MAX

NOTES_MAX = 500
MAX_SAMPLE_SIZE = 200
BELOW_CLEAN = (Grade.FAIRLY_CLEAN, Grade.NOT_CLEAN)
CHECK_FIELDS = (*CRITERIA, "members", "notes", "inspector_id")
SAMPLE_FIELDS = ("sample_seed", "sample_size", "sample_adopted_by_id", "sample_adopted_at")


# --- which team holds which township, per period --------------------------------------------------------


def assignments(session: Session, county: County, period: Period) -> dict[int, InspectionAssignment]:
    """The period's assignments of the county, by township id."""
    rows = session.scalars(
        sa.select(InspectionAssignment).where(
            InspectionAssignment.county_id == county.id,
            InspectionAssignment.period_id == period.id,
            InspectionAssignment.level == Level.COUNTY.value,
        )
    )
    return {a.township_id: a for a in rows}


def all_levels(session: Session, county: County, period: Period) -> list[InspectionAssignment]:
    """Every level's assignments in the county's period (the city's, the county's, the townships'
    own), by township and level: what the county's pages show of all the inspections in its area."""
    return list(
        session.scalars(
            sa.select(InspectionAssignment)
            .join(Township, InspectionAssignment.township_id == Township.id)
            .where(InspectionAssignment.county_id == county.id, InspectionAssignment.period_id == period.id)
            .order_by(Township.code, InspectionAssignment.level)
        )
    )


def assignments_state(session: Session, county: County, period: Period) -> str:
    """What the assignment form showed (`check_unchanged`)."""
    return state_digest(sorted((t, a.team_id) for t, a in assignments(session, county, period).items()))


def held_assignment(
    session: Session, township: Township, period: Period, level: Level = Level.COUNTY
) -> InspectionAssignment | None:
    """The team of this level holding the township in the period, if any."""
    return session.scalar(
        sa.select(InspectionAssignment).where(
            InspectionAssignment.county_id == period.county_id,
            InspectionAssignment.period_id == period.id,
            InspectionAssignment.township_id == township.id,
            InspectionAssignment.level == level.value,
        )
    )


def level_of(user: User) -> Level:
    """The level whose inspections a user's pages show and write: an inspector's own, else the county's."""
    return permissions.inspector_level(user) or Level.COUNTY


def covers(team: InspectionTeam, township: Township) -> bool:
    """Whether the township is in the team's area: its county's, its city's counties', or itself."""
    if team.level == Level.CITY.value:
        return township.county.city_id is not None and township.county.city_id == team.city_id
    if team.level == Level.TOWNSHIP.value:
        return team.township_id == township.id
    return team.county_id == township.county_id


def hold(
    session: Session, actor: User | None, team: InspectionTeam, period: Period, township: Township
) -> InspectionAssignment:
    """A city's team or a township's own team takes a township of its area in a period (the county's
    teams are assigned by ``assign``): one team of each level holds a township in a period, so this
    replaces the level's former team (its sample and checks stay with the township). By the command
    (actor None) or an inspector of the team itself (a township's own team takes its township)."""
    if team.level == Level.COUNTY.value:
        raise ServiceError("县级督查组由县管理员分配乡镇")
    if actor is not None and not (permissions.can_lead_team(actor, team) and actor.inspection_team_id == team.id):
        raise PermissionDenied("只有本督查组成员可以认领督查乡镇")
    if period.county_id != township.county_id or not covers(team, township):
        raise NotFound(f"{township.name}不在{team.name}的督查范围内")
    current = held_assignment(session, township, period, Level(team.level))
    if current is not None and current.team_id == team.id:
        return current
    before = {"team": current.team.name} if current is not None else None
    if current is None:
        current = InspectionAssignment(
            county_id=period.county_id, team_id=team.id, period_id=period.id, township_id=township.id, level=team.level
        )
        session.add(current)
    else:
        current.team_id = team.id
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"{township.name}{period.code}的督查分工已被他人修改，请刷新后重试") from None
    session.refresh(current, ["team"])
    audit.record(
        session,
        actor,
        kind="inspection_assignment",
        entity_id=f"{period.code}:{township.code}:{team.level}",
        county_id=period.county_id,
        action="assign" if before is None else "reassign",
        before=before,
        after={"team": team.name, "level": team.level, "township": township.code, "period": period.code},
    )
    return current


def held_townships(session: Session, user: User, period: Period) -> list[Township]:
    """The townships the user's team holds in the period (none for anyone not on a team)."""
    if user.inspection_team_id is None:
        return []
    return list(
        session.scalars(
            sa.select(Township)
            .join(InspectionAssignment, InspectionAssignment.township_id == Township.id)
            .where(InspectionAssignment.team_id == user.inspection_team_id, InspectionAssignment.period_id == period.id)
            .order_by(Township.code)
        )
    )


def _check_count(session: Session, assignment: InspectionAssignment) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count(SpotCheck.id)).where(
                SpotCheck.county_id == assignment.county_id, SpotCheck.assignment_id == assignment.id
            )
        )
        or 0
    )


def assign(
    session: Session,
    actor: User | None,
    county: County,
    period: Period,
    choices: Mapping[str, int | None],
    shown_state: str | None = None,
) -> int:
    """Set the team holding each township named (by code) in the period; None: no team. A township
    keeps its sample and spot checks when it changes team; one with spot checks cannot be left
    without a team. Every bad choice is named by township code; returns how many changed."""
    if actor is not None and not permissions.can_manage_inspection_teams(actor, county):
        raise PermissionDenied("只有本县管理员可以给督查组分配乡镇")
    if period.county_id != county.id:
        raise NotFound("该季度不属于本县")
    lock_county_settings(session, county.id)
    check_unchanged(
        shown_state,
        sorted((t, a.team_id) for t, a in assignments(session, county, period).items()),
        f"{period.code}的督查分工",
    )
    townships = {t.code: t for t in session.scalars(sa.select(Township).where(Township.county_id == county.id))}
    by_id = {t.id: t for t in inspection_teams.teams(session, county)}
    held = assignments(session, county, period)
    errors: dict[str, str] = {}
    for code, team_id in choices.items():
        township = townships.get(code)
        if township is None:
            errors[code] = f"本县没有编码为 {code} 的乡镇"
        elif team_id is not None and team_id not in by_id:
            errors[code] = f"{township.name}：本县没有编号为 {team_id} 的督查组"
        elif team_id is None and township.id in held and (n := _check_count(session, held[township.id])):
            errors[code] = f"{township.name}在{period.code}已有{n}户抽查记录，不能不分配督查组（可改派其他督查组）"
    if errors:
        raise FieldErrors(errors)
    changed = 0
    for code, team_id in choices.items():
        township = townships[code]
        current = held.get(township.id)
        if (current.team_id if current else None) == team_id:
            continue
        where = {"township": code, "period": period.code}
        before = {"team": by_id[current.team_id].name} | where if current else None
        if current is None:
            assert team_id is not None
            current = InspectionAssignment(
                county_id=period.county_id, team_id=team_id, period_id=period.id, township_id=township.id
            )
            session.add(current)
            action = "assign"
        elif team_id is None:
            session.delete(current)
            action = "unassign"
        else:
            current.team_id = team_id
            action = "reassign"
        stale = f"{township.name}{period.code}的督查分工已被他人修改，请刷新后重试"  # not read after a failed flush
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(stale) from None
        audit.record(
            session,
            actor,
            kind="inspection_assignment",
            entity_id=f"{period.code}:{code}",
            county_id=period.county_id,
            action=action,
            before=before,
            after={"team": by_id[team_id].name} | where if team_id is not None else None,
        )
        changed += 1
    return changed


# --- the adopted sample ------------------------------------------------------------------------------


def sample_state(assignment: InspectionAssignment | None) -> str:
    """What the sample page showed of the adopted sample (`check_unchanged`)."""
    return state_digest([assignment.sample_seed, assignment.sample_size] if assignment else None)


def adopt_sample(
    session: Session,
    actor: User,
    assignment: InspectionAssignment,
    *,
    size: str,
    seed: str,
    shown_state: str | None = None,
    now: dt.datetime | None = None,
) -> sampling.Sample:
    """The holding team adopts the township's sample drawn with this size and seed (typed; a blank
    seed is the period's fixed one): stored on the assignment, so the spot-check list redraws it."""
    if not permissions.can_spot_check(actor, assignment):
        raise PermissionDenied("只有负责本乡镇本季度督查的督查组成员可以采用样本")
    check_unchanged(shown_state, [assignment.sample_seed, assignment.sample_size], "本乡镇采用的样本")
    errors = {}
    try:
        chosen_size = parse_whole_number(size, 1, MAX_SAMPLE_SIZE)
    except ValueError as exc:
        errors["size"] = f"抽查户数“{naming.visible(size)}”{exc}"
    chosen_seed = None
    if seed.strip():
        try:
            chosen_seed = parse_whole_number(seed, 0, sampling.MAX_SEED)
        except ValueError as exc:
            errors["seed"] = f"随机种子“{naming.visible(seed)}”{exc}"
    if errors:
        raise FieldErrors(errors)
    township = session.get_one(Township, assignment.township_id)
    period = session.get_one(Period, assignment.period_id)
    sample = sampling.draw(session, township, period, size=chosen_size, seed=chosen_seed)
    before = audit.snapshot(assignment, SAMPLE_FIELDS)
    assignment.sample_seed, assignment.sample_size = sample.seed, chosen_size
    assignment.sample_adopted_by_id, assignment.sample_adopted_at = actor.id, now or utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        kind="inspection_assignment",
        entity_id=f"{period.code}:{township.code}",
        county_id=period.county_id,
        action="adopt_sample",
        before=before,
        after=audit.snapshot(assignment, SAMPLE_FIELDS) | {"drawn": [c.household_code for c in sample.drawn]},
        reason=f"采用{township.name}{period.code}的抽查样本",
    )
    return sample


def adopted_sample(session: Session, assignment: InspectionAssignment) -> sampling.Sample | None:
    """The adopted sample, redrawn from its stored seed and size; None if none was adopted."""
    if assignment.sample_seed is None or assignment.sample_size is None:
        return None
    township = session.get_one(Township, assignment.township_id)
    period = session.get_one(Period, assignment.period_id)
    return sampling.draw(session, township, period, size=assignment.sample_size, seed=assignment.sample_seed)


# --- spot checks ---------------------------------------------------------------------------------------


def household_in_township(session: Session, township: Township, code: str) -> Household:
    """A household of the township by its code; one of another township is "not found"."""
    household = session.scalar(
        sa.select(Household)
        .join(Group, Household.group_id == Group.id)
        .join(Village, Group.village_id == Village.id)
        .where(Village.township_id == township.id, Household.code == code.strip())
    )
    if household is None:
        raise NotFound(f"{township.name}没有户编号为“{naming.visible(code.strip())}”的农户")
    return household


def spot_checks(session: Session, assignment: InspectionAssignment) -> dict[int, SpotCheck]:
    """The assignment's spot checks by household id."""
    return {
        c.household_id: c
        for c in session.scalars(
            sa.select(SpotCheck).where(
                SpotCheck.county_id == assignment.county_id, SpotCheck.assignment_id == assignment.id
            )
        )
    }


def get_spot_check(session: Session, assignment: InspectionAssignment, household: Household) -> SpotCheck | None:
    return session.scalar(
        sa.select(SpotCheck).where(
            SpotCheck.county_id == assignment.county_id,
            SpotCheck.assignment_id == assignment.id,
            SpotCheck.household_id == household.id,
        )
    )


def check_ref(check: SpotCheck) -> str:
    return f"spot_check:{check.id}"


def notice_of(session: Session, check: SpotCheck) -> Notice | None:
    """The rectification notice the spot check issued, if any."""
    return session.scalar(sa.select(Notice).where(Notice.source_ref == check_ref(check)))


def grade_of(check: SpotCheck, period: Period) -> Grade:
    return Grade(rating.grade_of(check.total_tenths(), rating.settings_of(period)))


def lost_points(check: ScoresMixin, period: Period) -> list[str]:
    """The criteria a re-scored household lost points on, as a notice names them (家庭卫生 8/10)."""
    return [
        f"{c.label} {format_points(getattr(check, c.code))}/{format_points(c.max_tenths)}"
        for c in sorted(period.rubric_version.criteria, key=lambda c: c.code)
        if getattr(check, c.code) < c.max_tenths
    ]


def parse_scores(period: Period, typed: Mapping[str, str]) -> dict[str, int]:
    """The typed scores of the period's rubric, in tenths (as a review's: full-width digits are
    digits, one decimal at most, 0…the criterion's maximum, a blank is never 0); every bad one is
    named by its criterion and the value typed, keyed by criterion code."""
    scores: dict[str, int] = {}
    errors: dict[str, str] = {}
    for criterion in sorted(period.rubric_version.criteria, key=lambda c: c.code):
        text = typed.get(criterion.code) or ""
        try:
            scores[criterion.code] = parse_score(text, criterion.max_tenths)
        except ValueError as exc:
            shown = f"“{naming.visible(text.strip())}”" if text.strip() else ""
            errors[criterion.code] = f"{criterion.label}{shown}：{exc}"
    if errors:
        raise FieldErrors(errors)
    return scores


@dataclass(frozen=True)
class SpotCheckOutcome:
    check: SpotCheck
    created: bool
    changed: bool
    grade: Grade
    revoked: Plaque | None  # the plaque this save revoked
    notice: Notice | None  # the notice this save issued

    def text(self) -> str:
        """What happened, for the page."""
        household = self.check.household
        total = rating.total_text(self.check.total_tenths())
        said = f"{household.code} {household.head_name} 抽查得分 {total} 分，评为{self.grade.label}"
        if self.revoked is not None:
            said += f"；已摘除牌匾 {self.revoked.serial}"
        if self.notice is not None:
            said += f"；已下发{notices.notice_title(self.notice)}"
        return said


def save_spot_check(
    session: Session,
    actor: User,
    assignment: InspectionAssignment,
    household: Household,
    *,
    scores: Mapping[str, str],
    members: str,
    notes: str = "",
    expected_version: int = 0,
    now: dt.datetime | None = None,
) -> SpotCheckOutcome:
    """Enter, or enter again, the spot check of a household of the assignment's township in its period.
    ``expected_version`` is the version the form was filled from (0 for a new one): if someone saved it
    since, ``Conflict`` and nothing changes. Below clean with a valid plaque: the plaque is revoked and
    a rectification notice issued (once per spot check)."""
    now = now or utcnow()
    if not permissions.can_spot_check(actor, assignment):
        raise PermissionDenied("只有负责本乡镇本季度督查的督查组成员可以录入抽查")
    township = session.get_one(Township, assignment.township_id)
    period = session.get_one(Period, assignment.period_id)
    village = household.group.village
    if village.township_id != township.id:
        raise NotFound(f"{township.name}没有户编号为 {household.code} 的农户")
    errors: dict[str, str] = {}
    try:
        parsed = parse_scores(period, scores)
    except FieldErrors as exc:
        errors |= exc.errors
    members, members_problem = naming.text_field(members, "抽查人员", MEMBERS_MAX, required=True)
    notes, notes_problem = naming.text_field(notes, "抽查记录", NOTES_MAX, required=False, multiline=True)
    errors |= {k: why for k, why in (("members", members_problem), ("notes", notes_problem)) if why}
    if errors:
        raise FieldErrors(errors)
    check = get_spot_check(session, assignment, household)
    if (check.version if check else 0) != expected_version:
        raise Conflict(f"{household.code} 的抽查已被他人录入或修改，请刷新后重试")
    before = audit.snapshot(check, CHECK_FIELDS) if check else None
    created = check is None
    if check is None:
        check = SpotCheck(county_id=household.county_id, assignment_id=assignment.id, household_id=household.id)
        session.add(check)
    for code in CRITERIA:
        setattr(check, code, parsed[code])
    check.members, check.notes, check.inspector_id = members, notes or None, actor.id
    after = audit.snapshot(check, CHECK_FIELDS)
    changed = before != after
    if changed:
        check.checked_at = now
        stale = f"{household.code} 的抽查已被他人录入或修改，请刷新后重试"  # not read after a failed flush
        try:
            session.flush()
        except (StaleDataError, IntegrityError):
            raise Conflict(stale) from None
        where = {"household": household.code, "period": period.code, "township": township.code}
        audit.record(
            session,
            actor,
            check,
            action="create" if created else "update",
            before=before | where if before else None,
            after=after | where,
        )
    grade = grade_of(check, period)
    revoked, notice = _consequences(session, actor, check, household, village, township, period, grade, now)
    return SpotCheckOutcome(check, created, changed, grade, revoked, notice)


def _consequences(
    session: Session,
    actor: User,
    check: SpotCheck,
    household: Household,
    village: Village,
    township: Township,
    period: Period,
    grade: Grade,
    now: dt.datetime,
) -> tuple[Plaque | None, Notice | None]:
    """RULES.md §9, §7: a plaque holder graded below clean loses the plaque and is told to rectify."""
    return revoke_and_notify(
        session,
        actor,
        check,
        household,
        period,
        grade,
        FailedCheck(
            revoke_reason=f"督查抽查：{period.code}抽查得分",
            heading=f"{period.code}督查抽查",
            scored="抽查得分",
            notes_label="抽查记录",
            source_ref=check_ref(check),
            spot_check_id=check.id,
        ),
        township=township,
        village=village,
        now=now,
        notify=notice_of(session, check) is None,
    )


@dataclass(frozen=True)
class FailedCheck:
    """How a spot check's or an unannounced visit's finding is worded and filed (its notice's source)."""

    revoke_reason: str  # followed by the total and the grade
    heading: str  # the notice's opening, before "：户编号 …"
    scored: str  # 抽查得分 / 复评得分
    notes_label: str  # 抽查记录 / 暗访记录
    source_ref: str
    spot_check_id: int | None = None


def revoke_and_notify(
    session: Session,
    actor: User,
    check: ScoresMixin,
    household: Household,
    period: Period,
    grade: Grade,
    failed: FailedCheck,
    *,
    township: Township,
    village: Village,
    now: dt.datetime,
    notify: bool = True,
) -> tuple[Plaque | None, Notice | None]:
    """The one consequence of an inspection of any kind or level (RULES.md §9, §7): a plaque holder
    graded below clean loses the plaque (the hygiene star with it) and, unless ``notify`` is false
    (the check's notice already went out), the village gets a rectification notice naming the
    criteria the household lost points on."""
    if grade not in BELOW_CLEAN:
        return None, None
    plaque = session.scalar(
        sa.select(Plaque).where(Plaque.household_id == household.id, Plaque.state == PlaqueState.VALID)
    )
    if plaque is None:
        return None, None
    total = rating.total_text(check.total_tenths())
    plaques.revoke(
        session,
        actor,
        plaque,
        reason=f"{failed.revoke_reason} {total} 分，评为{grade.label}（低于清洁户）",
        expected_version=plaque.version,
    )
    if not notify:
        return plaque, None
    low = lost_points(check, period)
    notes = getattr(check, "notes", None)
    problem = (
        f"{failed.heading}：户编号 {household.code}（户主 {household.head_name}，{household.group.name}）"
        f"{failed.scored} {total} 分，评为{grade.label}（低于清洁户），已摘除牌匾 {plaque.serial}。"
        + (f"失分项：{'；'.join(low)}。" if low else "")
        + (f"{failed.notes_label}：{notes}。" if notes else "")
        + "请村委会督促该户对照评比标准整改，并上报整改情况。"
    )
    notice = notices.issue(
        session,
        actor,
        session.get_one(County, township.county_id),
        period=period,
        township=township,
        village=village,
        responsible_person=household.head_name[: notices.PERSON_MAX],
        problem=problem[: notices.PROBLEM_MAX],
        source=NoticeSource.SPOT_CHECK,
        source_ref=failed.source_ref,
        spot_check_id=failed.spot_check_id,
        now=now,
    )
    return plaque, notice
