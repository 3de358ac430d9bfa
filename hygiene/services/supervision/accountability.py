"""The accountability ladder (问责, RULES.md §9): 表态 → 约谈 → 警示 → 免职.

A rectification notice still open at its deadline is a failure of the unit it was addressed to (a
village, or a township for a notice to the township itself). Each failure makes the system propose
one rung for that unit (``propose``, run by ``hygiene tick`` right after the escalation): the rung
of the unit's failures within the county's window (``ladder_window_days``, a year by default),
this one included, but never past 约谈 (the county alone decides 警示 and 免职). The county's
administrator decides each proposal (``decide``: the rung, at most the ladder's, and the
responsible cadre) or dismisses it with a reason (``dismiss``: it then does not count). Cadres
(the village's 包保 cadre, the township's 分管 leader) are kept by the county (``add_cadre``,
``retire_cadre``); a proposal names the unit's active cadre. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from hygiene import naming, permissions
from hygiene.enums import AccountabilityRung, CadrePost, CaseState, NoticeKind
from hygiene.models import AccountabilityCase, Cadre, County, Notice, Township, User, Village
from hygiene.models._types import utcnow
from hygiene.services import audit
from hygiene.services.errors import Conflict, FieldErrors, NotFound, PermissionDenied, ServiceError

LADDER: tuple[AccountabilityRung, ...] = tuple(AccountabilityRung)
AUTOMATIC_LIMIT = AccountabilityRung.TALK  # the system never proposes past 约谈
CASE_FIELDS = ("state", "ladder_rung", "proposed_rung", "rung", "cadre_id", "decision_note", "failures")
CADRE_FIELDS = ("name", "title", "post", "active", "township_id", "village_id")
NAME_MAX, TITLE_MAX, NOTE_MAX = 40, 60, 1000


def rung_for(failures: int) -> AccountabilityRung:
    """The ladder's rung for a unit's ``failures``-th failure within the window (the fourth and later: 免职)."""
    return LADDER[min(max(failures, 1), len(LADDER)) - 1]


def _capped(rung: AccountabilityRung) -> AccountabilityRung:
    return rung if LADDER.index(rung) <= LADDER.index(AUTOMATIC_LIMIT) else AUTOMATIC_LIMIT


def _flush(session: Session, row: object, what: str) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(f"{what}已被他人修改，请刷新后重试") from None


# --- cadres ---------------------------------------------------------------------------------------


def cadres(session: Session, county: County, *, active_only: bool = False) -> list[Cadre]:
    query = sa.select(Cadre).where(Cadre.county_id == county.id)
    if active_only:
        query = query.where(Cadre.active.is_(True))
    return list(session.scalars(query.order_by(Cadre.township_id, Cadre.village_id.nulls_first(), Cadre.id)))


def get_cadre(session: Session, cadre_id: int) -> Cadre:
    found = session.get(Cadre, cadre_id)
    if found is None:
        raise NotFound("没有这名干部")
    return found


def _unit(session: Session, county: County, code: str) -> tuple[Township, Village | None]:
    code = code.strip()
    village = session.scalar(sa.select(Village).where(Village.code == code, Village.county_id == county.id))
    if village is not None:
        return village.township, village
    township = session.scalar(sa.select(Township).where(Township.code == code, Township.county_id == county.id))
    if township is None:
        raise FieldErrors({"unit_code": f"本县没有编码为 {code!r} 的乡镇或村"})
    return township, None


def add_cadre(session: Session, actor: User, county: County, *, unit_code: str, name: str, title: str = "") -> Cadre:
    """A cadre answering for a village (its 包保 cadre) or a township (its 分管 leader)."""
    if not permissions.can_administer_county(actor, county):
        raise PermissionDenied("只有本县管理员可以维护责任干部")
    cleaned_name, name_problem = naming.text_field(name, "姓名", NAME_MAX)
    cleaned_title, title_problem = naming.text_field(title, "职务", TITLE_MAX, required=False)
    errors = {k: v for k, v in (("name", name_problem), ("title", title_problem)) if v}
    try:
        township, village = _unit(session, county, unit_code)
    except FieldErrors as exc:
        errors |= exc.errors
    if errors:
        raise FieldErrors(errors)
    cadre = Cadre(
        county_id=county.id,
        township_id=township.id,
        village_id=village.id if village else None,
        post=CadrePost.LIAISON if village else CadrePost.IN_CHARGE,
        name=cleaned_name,
        title=cleaned_title or None,
    )
    session.add(cadre)
    session.flush()
    audit.record(session, actor, cadre, action="create", after=audit.snapshot(cadre, CADRE_FIELDS))
    return cadre


def retire_cadre(session: Session, actor: User, cadre: Cadre, expected_version: int, reason: str) -> Cadre:
    """The cadre no longer answers for the unit (moved, replaced); past decisions keep naming them."""
    if not permissions.can_administer_county(actor, session.get_one(County, cadre.county_id)):
        raise PermissionDenied("只有本县管理员可以维护责任干部")
    if cadre.version != expected_version:
        raise Conflict(f"{cadre.name} 已被他人修改，请刷新后重试")
    why, problem = naming.text_field(reason, "原因", NOTE_MAX)
    if problem:
        raise FieldErrors({"reason": problem})
    if not cadre.active:
        raise ServiceError(f"{cadre.name} 已不再担任")
    before = audit.snapshot(cadre, CADRE_FIELDS)
    cadre.active = False
    _flush(session, cadre, cadre.name)
    audit.record(
        session, actor, cadre, action="retire", before=before, after=audit.snapshot(cadre, CADRE_FIELDS), reason=why
    )
    return cadre


def responsible_cadre(session: Session, township_id: int, village_id: int | None) -> Cadre | None:
    """The unit's active cadre (the newest if several): a village's 包保 cadre, else its township's
    分管 leader; a township's 分管 leader."""
    for unit in ([village_id] if village_id is not None else []) + [None]:
        where = Cadre.village_id.is_(None) if unit is None else Cadre.village_id == unit
        found = session.scalar(
            sa.select(Cadre)
            .where(Cadre.township_id == township_id, Cadre.active.is_(True), where)
            .order_by(Cadre.id.desc())
            .limit(1)
        )
        if found is not None:
            return found
    return None


def unit_name(case: AccountabilityCase | Cadre) -> str:
    return case.village.name if case.village is not None else case.township.name


# --- proposals and decisions ----------------------------------------------------------------------


def _unit_where(township_id: int, village_id: int | None) -> sa.ColumnElement[bool]:
    unit = (
        AccountabilityCase.village_id.is_(None) if village_id is None else AccountabilityCase.village_id == village_id
    )
    return sa.and_(AccountabilityCase.township_id == township_id, unit)


def propose(session: Session, notice: Notice, *, now: dt.datetime | None = None) -> AccountabilityCase:
    """The rung the system proposes for a rectification notice that went unanswered past its
    deadline; proposing it again returns the same proposal."""
    now = now or utcnow()
    if notice.kind is not NoticeKind.RECTIFICATION:
        raise ServiceError("只有逾期未整改的督办通知单才提出问责")
    existing = session.scalar(
        sa.select(AccountabilityCase).where(
            AccountabilityCase.county_id == notice.county_id, AccountabilityCase.notice_id == notice.id
        )
    )
    if existing is not None:
        return existing
    county = session.get_one(County, notice.county_id)
    since = now - dt.timedelta(days=county.ladder_window_days)
    earlier = (
        session.scalar(
            sa.select(sa.func.count(AccountabilityCase.id)).where(
                AccountabilityCase.county_id == county.id,
                _unit_where(notice.township_id, notice.village_id),
                AccountabilityCase.state != CaseState.DISMISSED,
                AccountabilityCase.proposed_at > since,
                AccountabilityCase.proposed_at <= now,
            )
        )
        or 0
    )
    ladder = rung_for(earlier + 1)
    cadre = responsible_cadre(session, notice.township_id, notice.village_id)
    case = AccountabilityCase(
        county_id=county.id,
        township_id=notice.township_id,
        village_id=notice.village_id,
        notice_id=notice.id,
        failures=earlier + 1,
        ladder_rung=ladder,
        proposed_rung=_capped(ladder),
        cadre_id=cadre.id if cadre else None,
        proposed_at=now,
    )
    session.add(case)
    session.flush()
    capped = "" if ladder is case.proposed_rung else f"（按阶梯应为{ladder.label}，由县里决定）"
    audit.record(
        session,
        None,
        case,
        action="propose",
        after=audit.snapshot(case, CASE_FIELDS),
        reason=f"{unit_name(case)} {county.ladder_window_days}天内第{case.failures}次逾期未整改："
        f"建议{case.proposed_rung.label}{capped}",
    )
    return case


def propose_for_escalated(
    session: Session, accountability_notices: Iterable[Notice], *, now: dt.datetime | None = None
) -> list[AccountabilityCase]:
    """A proposal for the rectification notice behind each accountability notice just escalated."""
    proposed = []
    for escalated in accountability_notices:
        if escalated.escalated_from_id is not None:
            proposed.append(propose(session, session.get_one(Notice, escalated.escalated_from_id), now=now))
    return proposed


def get_case(session: Session, case_id: int) -> AccountabilityCase:
    found = session.get(AccountabilityCase, case_id)
    if found is None:
        raise NotFound("没有这条问责记录")
    return found


def _check_decider(session: Session, actor: User, case: AccountabilityCase, expected_version: int) -> County:
    county = session.get_one(County, case.county_id)
    if not permissions.can_administer_county(actor, county):
        raise PermissionDenied("问责由本县管理员决定")
    if case.version != expected_version:
        raise Conflict("该问责记录已被他人处理，请刷新后重试")
    if case.state is not CaseState.PROPOSED:
        raise ServiceError(f"该问责记录{case.state.label}")
    return county


def decide(
    session: Session,
    actor: User,
    case: AccountabilityCase,
    expected_version: int,
    *,
    rung: str,
    cadre_id: int | None,
    note: str = "",
    now: dt.datetime | None = None,
) -> AccountabilityCase:
    """The county decides the rung (at most the ladder's; past 约谈 only with a note saying why) and
    names the responsible cadre of the unit or of its township."""
    _check_decider(session, actor, case, expected_version)
    errors: dict[str, str] = {}
    try:
        chosen = AccountabilityRung(rung)
    except ValueError:
        errors["rung"] = f"没有名为 {rung!r} 的问责方式"
        chosen = case.proposed_rung
    if LADDER.index(chosen) > LADDER.index(case.ladder_rung):
        errors["rung"] = f"不能超过阶梯应到的{case.ladder_rung.label}（{case.failures}次逾期）"
    cleaned, problem = naming.text_field(note, "决定说明", NOTE_MAX, required=False, multiline=True)
    if problem:
        errors["note"] = problem
    elif LADDER.index(chosen) > LADDER.index(AUTOMATIC_LIMIT) and not cleaned:
        errors["note"] = f"决定{chosen.label}须写明理由"
    cadre = session.get(Cadre, cadre_id) if cadre_id is not None else None
    if cadre is None or cadre.township_id != case.township_id or cadre.village_id not in (None, case.village_id):
        errors["cadre_id"] = "请选择本单位或所属乡镇的责任干部"
    elif not cadre.active:
        errors["cadre_id"] = f"{cadre.name} 已不再担任"
    if errors:
        raise FieldErrors(errors)
    before = audit.snapshot(case, CASE_FIELDS)
    case.state, case.rung, case.cadre_id = CaseState.DECIDED, chosen, cadre_id
    case.decision_note = cleaned or None
    case.decided_at, case.decided_by_id = now or utcnow(), actor.id
    _flush(session, case, "该问责记录")
    audit.record(
        session,
        actor,
        case,
        action="decide",
        before=before,
        after=audit.snapshot(case, CASE_FIELDS),
        reason=f"{unit_name(case)}：{chosen.label}，责任干部 {cadre.name}" + (f"；{cleaned}" if cleaned else ""),  # type: ignore[union-attr]
    )
    return case


def dismiss(
    session: Session,
    actor: User,
    case: AccountabilityCase,
    expected_version: int,
    note: str,
    *,
    now: dt.datetime | None = None,
) -> AccountabilityCase:
    """No accountability for this failure (e.g. the deadline could not be met), with the reason; a
    dismissed proposal does not count towards the unit's next rung."""
    _check_decider(session, actor, case, expected_version)
    cleaned, problem = naming.text_field(note, "不予问责的理由", NOTE_MAX, multiline=True)
    if problem:
        raise FieldErrors({"note": problem})
    before = audit.snapshot(case, CASE_FIELDS)
    case.state, case.decision_note = CaseState.DISMISSED, cleaned
    case.decided_at, case.decided_by_id = now or utcnow(), actor.id
    _flush(session, case, "该问责记录")
    audit.record(
        session, actor, case, action="dismiss", before=before, after=audit.snapshot(case, CASE_FIELDS), reason=cleaned
    )
    return case


# --- what the pages show --------------------------------------------------------------------------


def cases(
    session: Session, county: County, *, township: Township | None = None, state: CaseState | None = None
) -> list[AccountabilityCase]:
    """The county's (or one township's) proposals and decisions, the newest first."""
    query = sa.select(AccountabilityCase).where(AccountabilityCase.county_id == county.id)
    if township is not None:
        query = query.where(AccountabilityCase.township_id == township.id)
    if state is not None:
        query = query.where(AccountabilityCase.state == state)
    return list(session.scalars(query.order_by(AccountabilityCase.proposed_at.desc(), AccountabilityCase.id.desc())))


@dataclass(frozen=True)
class UnitRung:
    """Where one unit stands on the ladder within the window."""

    township: Township
    village: Village | None
    failures: int  # proposals not dismissed within the window
    rung: AccountabilityRung | None  # the highest decided within the window; None: none decided
    pending: int  # proposals waiting for the county

    @property
    def name(self) -> str:
        return self.village.name if self.village is not None else self.township.name

    @property
    def rung_label(self) -> str:
        return self.rung.label if self.rung is not None else "尚未决定"


def unit_rungs(
    session: Session, county: County, *, township: Township | None = None, now: dt.datetime | None = None
) -> list[UnitRung]:
    """Each unit with a failure within the county's window, by township then village."""
    now = now or utcnow()
    since = now - dt.timedelta(days=county.ladder_window_days)
    found: dict[tuple[int, int | None], list[AccountabilityCase]] = {}
    for case in cases(session, county, township=township):
        if case.state is not CaseState.DISMISSED and since < case.proposed_at <= now:
            found.setdefault((case.township_id, case.village_id), []).append(case)
    lines = []
    for unit_cases in found.values():
        decided = [c.rung for c in unit_cases if c.state is CaseState.DECIDED and c.rung is not None]
        first = unit_cases[0]
        lines.append(
            UnitRung(
                township=first.township,
                village=first.village,
                failures=len(unit_cases),
                rung=max(decided, key=LADDER.index) if decided else None,
                pending=sum(1 for c in unit_cases if c.state is CaseState.PROPOSED),
            )
        )
    return sorted(lines, key=lambda u: (u.township.code, u.village.code if u.village else ""))
