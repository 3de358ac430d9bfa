"""Correcting a mistyped household code and moving a household to another village (issue 30).

The household keeps its id, so its reviews, plaques, stars, ledger entries and audit entries stay
attached to it; posted records (immutable, digested) are never rewritten and keep the code as it
was posted. The code it had is kept in ``household_former_codes`` with the village it was in:
an old code still finds the household (``by_former_code``), is never given to another household
of the county, and a roster imported again with it is refused naming the new code
(``roster_imports``). The rules (docs/decisions.md, "Issue 30"):

- the new code follows ``hygiene.naming`` and is unused in the county, now or before, except as
  one of this household's own former codes (putting a mistake back);
- nothing changes while a village concerned has a period submitted, approved or published (its
  posted or to-be-posted results name the household as it is), and a household that reviewed or
  was reviewed in a period its village has not finalised stays until that period is final or the
  reviews are deleted (the reviews belong to its village's board and peers of its group);
- correcting a code is the township reviewer's or the county administrator's; a move within a
  township is the township reviewer's, between townships the county administrator's; the command
  line acts for the county office;
- a valid plaque and the stars follow the household: the plaque's serial and level do not change,
  and its verification page names the household's village now;
- the household counts in its new village from the first period that village can still enter.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import naming, permissions
from hygiene.enums import PlaqueState, Role, WorkflowState
from hygiene.models import (
    Group,
    Household,
    HouseholdFormerCode,
    HouseholdStar,
    Period,
    Plaque,
    Review,
    User,
    Village,
    VillagePeriod,
)
from hygiene.services import audit
from hygiene.services.errors import Conflict, FieldErrors, NotFound, PermissionDenied, ServiceError, flush_or_conflict
from hygiene.services.setup import units

# A village period in one of these states has posted, or is about to post, its households as they are.
BUSY_STATES = (WorkflowState.SUBMITTED, WorkflowState.APPROVED, WorkflowState.PUBLISHED)
REASON_LENGTH = 500


@dataclass(frozen=True)
class Change:
    """A checked correction or move, not yet written: what the confirmation page names."""

    household: Household
    new_code: str
    to_group: Group
    reason: str

    @property
    def from_village(self) -> Village:
        return self.household.group.village

    @property
    def to_village(self) -> Village:
        return self.to_group.village

    @property
    def moves(self) -> bool:
        return self.to_village.id != self.from_village.id


def former_codes(session: Session, household: Household) -> list[HouseholdFormerCode]:
    """The codes the household had, oldest first, each with the village it was in."""
    return list(
        session.scalars(
            sa.select(HouseholdFormerCode)
            .where(
                HouseholdFormerCode.county_id == household.county_id, HouseholdFormerCode.household_id == household.id
            )
            .order_by(HouseholdFormerCode.replaced_at, HouseholdFormerCode.id)
        )
    )


def by_former_code(session: Session, county_id: int, code: str) -> Household | None:
    """The household that once had ``code`` in the county, or None (a code is never given to two)."""
    return session.scalar(
        sa.select(Household)
        .join(HouseholdFormerCode, HouseholdFormerCode.household_id == Household.id)
        .where(HouseholdFormerCode.county_id == county_id, HouseholdFormerCode.code == code.strip())
        .limit(1)
    )


def county_household(session: Session, county_id: int, code: str) -> Household:
    """The county's household that has ``code`` now (a former code names it in the message)."""
    found = session.scalar(sa.select(Household).where(Household.county_id == county_id, Household.code == code.strip()))
    if found is not None:
        return found
    former = by_former_code(session, county_id, code)
    if former is not None:
        raise NotFound(f"{code} 是原户编号，该户现在的户编号是 {former.code}")
    raise NotFound(f"找不到户编号 {code}")


def renamed(session: Session, county_id: int, code: str) -> Household | None:
    """The household that had ``code`` before, when no household of the county has it now (an old
    link or a code read off an old list), or None."""
    taken = sa.select(Household.id).where(Household.county_id == county_id, Household.code == code.strip())
    return None if session.scalar(taken) is not None else by_former_code(session, county_id, code)


def _reason(reason: str) -> str:
    cleaned, problem = naming.text_field(reason, "原因", REASON_LENGTH)
    if problem:
        raise FieldErrors({"reason": problem})
    return cleaned


def _new_code(session: Session, household: Household, new_code: str, *, may_keep: bool) -> str:
    code = naming.clean(new_code)
    if not code:
        raise FieldErrors({"new_code": "请填写新户编号"})
    if problem := naming.household_code_problem(code):
        raise FieldErrors({"new_code": problem})
    if code == household.code:
        if may_keep:
            return code
        raise FieldErrors({"new_code": "新户编号与现户编号相同"})
    holder = session.scalar(
        sa.select(Household).where(Household.county_id == household.county_id, Household.code == code)
    )
    if holder is not None:
        raise FieldErrors(
            {"new_code": f"户编号 {code} 已被 {holder.group.village.name} {holder.head_name} 使用（户编号在全县唯一）"}
        )
    former = by_former_code(session, household.county_id, code)
    if former is not None and former.id != household.id:
        raise FieldErrors(
            {"new_code": f"户编号 {code} 是 {former.code} {former.head_name} 的原户编号，不能再给别的户使用"}
        )
    return code


def _busy(session: Session, village: Village) -> VillagePeriod | None:
    return session.scalar(
        sa.select(VillagePeriod)
        .join(Period)
        .where(VillagePeriod.village_id == village.id, VillagePeriod.state.in_(BUSY_STATES))
        .order_by(Period.code)
        .limit(1)
    )


def _check_not_busy(session: Session, village: Village, what: str) -> None:
    busy = _busy(session, village)
    if busy is not None:
        raise ServiceError(
            f"{village.name} {busy.period.code} {busy.state.label}，{what}要等该季度退回或定档之后办理"
            "（公示的结果按现在的户编号和村列出）"
        )


def _open_reviews(session: Session, household: Household, village: Village) -> str | None:
    """A period of ``village`` not yet final in which the household reviewed or was reviewed."""
    return session.scalar(
        sa.select(Period.code)
        .join(Review, Review.period_id == Period.id)
        .join(VillagePeriod, sa.and_(VillagePeriod.period_id == Period.id, VillagePeriod.village_id == village.id))
        .where(
            Review.county_id == household.county_id,
            sa.or_(Review.household_id == household.id, Review.reviewer_household_id == household.id),
            VillagePeriod.state != WorkflowState.FINAL,
        )
        .order_by(Period.code)
        .limit(1)
    )


def check_correction(session: Session, actor: User | None, household: Household, new_code: str, reason: str) -> Change:
    """A correction of the household's code, checked (permission, state, the new code, a reason)."""
    village = household.group.village
    if actor is not None and not permissions.can_recode_household(actor, village):
        raise PermissionDenied("只有本乡镇审核员或县管理员可以更正户编号")
    reason = _reason(reason)
    code = _new_code(session, household, new_code, may_keep=False)
    _check_not_busy(session, village, "更正户编号")
    return Change(household, code, household.group, reason)


def check_move(
    session: Session, actor: User | None, household: Household, to_group: Group, new_code: str, reason: str
) -> Change:
    """A move of the household to ``to_group`` of another village, checked; ``new_code`` may be its
    present code (kept) or a new one."""
    from_village, to_village = household.group.village, to_group.village
    if to_village.township.county_id != household.county_id:
        raise ServiceError("只能迁往本县的村")
    if actor is not None and not permissions.can_move_household(actor, from_village, to_village):
        if actor.role is Role.TOWNSHIP_REVIEWER and permissions.can_recode_household(actor, from_village):
            raise PermissionDenied("迁往其他乡镇的村须由县管理员办理")
        raise PermissionDenied("只有本乡镇审核员（乡镇内）或县管理员可以迁移农户")
    if to_village.id == from_village.id:
        raise FieldErrors({"to_group": "同村换组请在农户信息中修改村民组"})
    if household.moved_away_on is not None:
        raise ServiceError(f"该户已于 {household.moved_away_on} 迁出，不能再迁移")
    reason = _reason(reason)
    code = _new_code(session, household, new_code, may_keep=True)
    for village in (from_village, to_village):
        _check_not_busy(session, village, "迁移农户")
    if (period_code := _open_reviews(session, household, from_village)) is not None:
        raise ServiceError(
            f"该户在 {from_village.name} {period_code} 已有评议（自评、互评或复评），"
            "要等该季度定档后迁移，或先删除这些评议"
        )
    return Change(household, code, to_group, reason)


def preview(session: Session, change: Change) -> list[str]:
    """What the change will do, line by line, for the confirmation page."""
    h = change.household
    lines = []
    if change.moves:
        lines.append(
            f"{h.code} {h.head_name} 从 {change.from_village.township.name}{change.from_village.name}{h.group.name}"
            f" 迁至 {change.to_village.township.name}{change.to_village.name}{change.to_group.name}"
        )
        first = units.first_period_of_new_household(session, change.to_village)
        if first is not None:
            lines.append(
                f"自 {first} 起在 {change.to_village.name} 评比，计入该村户数，不再计入 {change.from_village.name}"
            )
    if change.new_code != h.code:
        lines.append(f"户编号 {h.code} 改为 {change.new_code}")
        lines.append(f"原户编号 {h.code} 留作该户的曾用编号：按原编号仍能找到该户，不再分配给别的户")
    else:
        lines.append(f"户编号 {h.code} 不变")
    plaque = session.scalar(sa.select(Plaque).where(Plaque.household_id == h.id, Plaque.state == PlaqueState.VALID))
    if plaque is not None:
        where = f"，查验页显示 {change.to_village.name}" if change.moves else ""
        lines.append(f"有效牌匾 {plaque.serial}（{plaque.level.label}）随户保留，编号和等级不变{where}")
    held = session.scalar(
        sa.select(sa.func.count())
        .select_from(HouseholdStar)
        .where(HouseholdStar.household_id == h.id, HouseholdStar.withdrawn_on.is_(None))
    )
    if held:
        lines.append(f"该户的 {held} 颗星随户保留")
    lines.append("该户的评议、台账和变更记录随户保留；已公示和已定档的结果存档不改，仍按当时的户编号和村列出")
    return lines


def _snapshot(household: Household, group: Group) -> dict[str, object]:
    return units.household_snapshot(household, group) | {"village": group.village.name}


def _apply(session: Session, actor: User | None, change: Change, *, kind: str, expected_version: int | None) -> None:
    h = change.household
    if expected_version is not None and h.version != expected_version:
        raise Conflict()
    before, moves, from_village = _snapshot(h, h.group), change.moves, change.from_village
    session.add(
        HouseholdFormerCode(
            county_id=h.county_id,
            household_id=h.id,
            code=h.code,
            village_id=from_village.id,
            kind=kind,
            replaced_by_id=actor.id if actor is not None else None,
            reason=change.reason,
        )
    )
    if moves:
        first = units.first_period_of_new_household(session, change.to_village)
        if first is not None:
            h.registered_from = first
    h.code = change.new_code
    h.group = change.to_group
    flush_or_conflict(session)  # another household given the same code meanwhile: the unique key
    action = "move" if moves else "recode"
    audit.record(session, actor, h, action=action, before=before, after=_snapshot(h, h.group), reason=change.reason)


def correct_code(
    session: Session,
    actor: User | None,
    household: Household,
    new_code: str,
    reason: str,
    *,
    expected_version: int | None = None,
) -> Household:
    """Correct a mistyped household code (更正户编号); the old code becomes a former code."""
    change = check_correction(session, actor, household, new_code, reason)
    _apply(session, actor, change, kind="correct", expected_version=expected_version)
    return household


def move(
    session: Session,
    actor: User | None,
    household: Household,
    to_group: Group,
    new_code: str,
    reason: str,
    *,
    expected_version: int | None = None,
) -> Household:
    """Move a household to a group of another village (迁移农户), with its code kept or changed."""
    change = check_move(session, actor, household, to_group, new_code, reason)
    _apply(session, actor, change, kind="move", expected_version=expected_version)
    return household


def destinations(session: Session, actor: User | None, household: Household) -> list[Group]:
    """The groups of other villages the actor may move the household to, by village and group code."""
    from_village = household.group.village
    query = (
        sa.select(Group)
        .join(Village, Group.village_id == Village.id)
        .where(Village.county_id == household.county_id, Village.id != from_village.id)
        .order_by(Village.code, Group.code)
    )
    return [
        g
        for g in session.scalars(query)
        if actor is None or permissions.can_move_household(actor, from_village, g.village)
    ]


def correction_preview(
    session: Session, actor: User | None, household: Household, new_code: str, reason: str
) -> list[str]:
    """``preview`` of a correction checked as ``correct_code`` checks it (refused the same way)."""
    return preview(session, check_correction(session, actor, household, new_code, reason))


def move_preview(
    session: Session, actor: User | None, household: Household, to_group: Group, new_code: str, reason: str
) -> list[str]:
    """``preview`` of a move checked as ``move`` checks it (refused the same way)."""
    return preview(session, check_move(session, actor, household, to_group, new_code, reason))
