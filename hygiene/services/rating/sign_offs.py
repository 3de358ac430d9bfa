"""Sign-off levels after the township's approval (RULES.md §5): a county may put up to two more
approvals before publication (seed 000: 初审 → 复核 → 审核 → 定稿). The township's approval is level 1;
each further level, in order, approves (``sign_off``) or returns the village period to the clerk
with a reason (``return_at_level``); ``workflow.publish`` waits for the last. The levels in force
are the period's (``Period.sign_off_levels``, copied from the county when it opened).

The county's administrator signs the county's levels. Every move is a guarded workflow move (the
version the page showed, one audit row with the state before and after).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import permissions
from hygiene.enums import WorkflowState
from hygiene.models import County, Period, Township, User, Village, VillagePeriod
from hygiene.services.errors import NotFound, PermissionDenied, ServiceError
from hygiene.services.rating import workflow

# The levels as seed 000 names them: the township's 初审, then the county's 复核 and 审核.
LEVEL_NAMES = {1: "初审", 2: "复核", 3: "审核"}


def pending_level(village_period: VillagePeriod) -> int | None:
    """The level (2 or 3) an approved village period waits for, or None (not approved, or every
    level has signed: ready to publish)."""
    if village_period.state is not WorkflowState.APPROVED:
        return None
    level = village_period.sign_offs + 2
    return level if level <= village_period.period.sign_off_levels else None


def stage_label(village_period: VillagePeriod | None) -> str:
    """Where a village period is, as the boards show it: the workflow state, and for an approved
    one the level it waits for ("待县级复核（第2级）") or "待公示" once every level has signed."""
    if village_period is None:
        return "未开始"
    state = village_period.state
    if state is not WorkflowState.APPROVED or village_period.period.sign_off_levels == 1:
        return state.label
    level = pending_level(village_period)
    if level is None:
        return f"{state.label}（{village_period.period.sign_off_levels}级签批完成，待公示）"
    return f"待县级{LEVEL_NAMES[level]}（第{level}级）"


def _check_signer(actor: User, village_period: VillagePeriod) -> int:
    if not permissions.can_sign_off(actor, village_period.village.township.county):
        raise PermissionDenied("只有本县管理员可以县级签批")
    level = pending_level(village_period)
    if level is None:
        name = workflow.village_period_name(village_period)
        raise ServiceError(f"{name} 现为{stage_label(village_period)}，没有待县级签批的层级")
    return level


def sign_off(session: Session, actor: User, village_period: VillagePeriod, expected_version: int) -> VillagePeriod:
    """The next level approves; after the last, the township may publish."""
    if village_period.version == expected_version:
        level = _check_signer(actor, village_period)
    else:
        level = village_period.sign_offs + 2
    return workflow._move(
        session,
        actor,
        village_period,
        expected_version,
        allowed_from=(WorkflowState.APPROVED,),
        to=WorkflowState.APPROVED,
        action="sign_off",
        reason=f"第{level}级（县级{LEVEL_NAMES.get(level, '')}）通过",
        sign_offs=village_period.sign_offs + 1,
    )


def return_at_level(
    session: Session, actor: User, village_period: VillagePeriod, expected_version: int, reason: str
) -> VillagePeriod:
    """The level returns the village period to the clerk with a reason the clerk and the township
    see; the township's approval and the levels signed so far are undone (it goes through every
    level again)."""
    if village_period.version == expected_version:
        level = _check_signer(actor, village_period)
    else:
        level = village_period.sign_offs + 2
    reason = reason.strip()
    if not reason:
        raise ServiceError("退回必须填写原因")
    shown = f"县级{LEVEL_NAMES.get(level, '')}（第{level}级）退回：{reason}"
    return workflow._move(
        session,
        actor,
        village_period,
        expected_version,
        allowed_from=(WorkflowState.APPROVED,),
        to=WorkflowState.RETURNED,
        action="return_at_level",
        reason=shown,
        return_reason=shown,
        approved_at=None,
        sign_offs=0,
    )


@dataclass(frozen=True)
class Waiting:
    village_period: VillagePeriod
    township: Township
    village: Village
    level: int

    @property
    def approved_at(self) -> dt.datetime | None:
        return self.village_period.approved_at


def waiting(session: Session, county: County, period: Period) -> list[Waiting]:
    """The county's village periods of ``period`` waiting for a county level, by township and village."""
    if period.county_id != county.id:
        raise NotFound("该期不属于本县")
    rows = session.execute(
        sa.select(VillagePeriod, Village, Township)
        .join(Village, VillagePeriod.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .where(
            VillagePeriod.county_id == county.id,
            VillagePeriod.period_id == period.id,
            VillagePeriod.state == WorkflowState.APPROVED,
            VillagePeriod.sign_offs < period.sign_off_levels - 1,
        )
        .order_by(Township.code, Village.code)
    ).all()
    found = []
    for vp, village, township in rows:
        level = pending_level(vp)
        if level is not None:
            found.append(Waiting(vp, township, village, level))
    return found


def get_village_period(session: Session, village_period_id: int) -> VillagePeriod:
    found = session.get(VillagePeriod, village_period_id)
    if found is None:
        raise NotFound("没有这个村的评比期")
    return found
