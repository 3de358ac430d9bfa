"""A village period's workflow (RULES.md §5); what the township sets for it (§4 quotas, §9
assessment) is in ``quotas``, what the reviewer sees in ``boards``.

    draft ─submit→ submitted ─approve→ approved ─publish→ published ─(posting over, no open
      ↑              │   ↑               │                    │      objection)→ final
      └─ returned ←──┘   └── unapprove ──┘                    │
           ↑                                                  │
           └──── withdraw, or return_on_objection ────────────┘  (the posted record is superseded)
           └──── reopen (更正, the county administrator; from published or final) ──┘

Every move is one guarded change: the caller passes the version the user saw, and the row is
updated only if it still has that version (``Conflict`` otherwise), so two reviewers approving the
same village, or a clerk submitting while the reviewer returns, can never both win silently. Each
move writes one audit row with the state before and after.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from hygiene import permissions
from hygiene.enums import ObjectionState, ReviewKind, WorkflowState
from hygiene.models import (
    Group,
    Household,
    Objection,
    Review,
    User,
    VillagePeriod,
)
from hygiene.models._types import utcnow
from hygiene.services import audit
from hygiene.services.awards import plaques
from hygiene.services.errors import Conflict, PermissionDenied, ServiceError
from hygiene.services.rating import rating, records

STATE_FIELDS = (
    "state",
    "return_reason",
    "submitted_at",
    "approved_at",
    "published_at",
    "posting_ends_at",
    "finalized_at",
    "sign_offs",
)


# --- the moves -----------------------------------------------------------------------------------


def _check_move(
    village_period: VillagePeriod, expected_version: int, allowed_from: Sequence[WorkflowState], action: str
) -> None:
    """The move is asked from the version the user saw, and the period is in a state it moves from."""
    name = village_period_name(village_period)
    if village_period.version != expected_version:
        raise Conflict(f"{name} 已被他人修改（现为{village_period.state.label}），请刷新后重试")
    if village_period.state not in allowed_from:
        raise ServiceError(f"{name} 现为{village_period.state.label}，不能{MOVE_LABELS[action]}")


def _move(
    session: Session,
    actor: User | None,
    village_period: VillagePeriod,
    expected_version: int,
    *,
    allowed_from: Sequence[WorkflowState],
    to: WorkflowState,
    action: str,
    reason: str | None = None,
    **stamps: Any,
) -> VillagePeriod:
    """Move ``village_period`` to ``to`` if it is still at ``expected_version`` and in one of
    ``allowed_from``; one audit row records the move."""
    name = village_period_name(village_period)  # read now: after a failed flush the session may not load anything
    _check_move(village_period, expected_version, allowed_from, action)
    before = audit.snapshot(village_period, STATE_FIELDS)
    village_period.state = to
    for field, value in stamps.items():
        setattr(village_period, field, value)
    try:
        # The mapper's version column makes this UPDATE ... WHERE version = <read>: a concurrent
        # move that committed since we read the row makes it match nothing.
        session.flush()
    except StaleDataError:
        raise Conflict(f"{name} 已被他人修改，请刷新后重试") from None
    audit.record(
        session,
        actor,
        village_period,
        action=action,
        before=before,
        after=audit.snapshot(village_period, STATE_FIELDS),
        reason=reason,
    )
    return village_period


# The moves as people name them: in refusals here and in every history page (web.presentation).
MOVE_LABELS = {
    "submit": "提交审核",
    "return": "退回",
    "approve": "审核通过",
    "unapprove": "撤销审核",
    "publish": "公示",
    "withdraw": "撤回公示",
    "return_on_objection": "采纳异议退回",
    "finalize": "定档",
    "reopen": "退回更正",
    "sign_off": "县级签批通过",
    "return_at_level": "县级签批退回",
}


def village_period_name(village_period: VillagePeriod) -> str:
    return f"{village_period.village.name} {village_period.period.code}"


def require_reviewer(actor: User, village_period: VillagePeriod) -> None:
    if not permissions.can_review_township(actor, village_period.village.township):
        raise PermissionDenied("只有本乡镇审核员可以审核")


def shortfalls(session: Session, village_period: VillagePeriod) -> rating.Shortfalls:
    """The village period's shortfalls as its data stands now."""
    try:
        frames = rating.result_frames(session, village_period.period, [village_period.village_id])
    except rating.RatingRefused as exc:
        return rating.Shortfalls.refused_by(str(exc))
    return rating.Shortfalls.from_results(*frames)


class GuardRequired(ServiceError):
    """A move asked for while the period has shortfalls and no reason was given to go ahead."""

    def __init__(self, name: str, label: str, lines: Sequence[str]) -> None:
        super().__init__(f"{name} 暂不能{label}：" + "；".join(lines) + f"。如确需{label}，请填写原因后再确认。")
        self.lines = list(lines)


@dataclass(frozen=True)
class Guarded:
    """What a guard found: the audit reason of a move made despite shortfalls (None when there are
    none) and the engine's run it read them from (None when the engine refused the data)."""

    reason: str | None
    scored: rating.Scored | None


def _guard(session: Session, village_period: VillagePeriod, action: str, override_reason: str) -> Guarded:
    """The shortfalls of a village period that is moving on, from one engine run (kept for the
    record a publication posts); without a reason to go ahead despite shortfalls, the move is
    refused stating what is missing, with the numbers. Only unposted periods move through a guard,
    so their results are live (as ``shortfalls`` reads them)."""
    scored = None
    try:
        scored = rating.score_now(session, village_period.period, [village_period.village_id])
        found = rating.Shortfalls.from_results(*scored.frames())
    except rating.RatingRefused as exc:
        found = rating.Shortfalls.refused_by(str(exc))
    lines = found.lines()
    if not lines:
        return Guarded(None, scored)
    label = MOVE_LABELS[action]
    if not override_reason.strip():
        raise GuardRequired(village_period_name(village_period), label, lines)
    return Guarded(f"有缺项仍{label}：{override_reason.strip()}（{'；'.join(lines)}）", scored)


def submit(
    session: Session, actor: User, village_period: VillagePeriod, expected_version: int, *, override_reason: str = ""
) -> VillagePeriod:
    """The clerk hands the period to the township; reviews are then locked until it is returned.
    With shortfalls, only with a reason to go ahead (``_guard``)."""
    if not permissions.can_edit_village(actor, village_period.village):
        raise PermissionDenied("只有本村村委会可以提交")
    has_group_review = session.scalar(
        sa.select(sa.func.count(Review.id))
        .join(Household, Review.household_id == Household.id)
        .join(Group, Household.group_id == Group.id)
        .where(
            Review.county_id == village_period.county_id,
            Review.period_id == village_period.period_id,
            Review.kind == ReviewKind.GROUP,
            Group.village_id == village_period.village_id,
        )
    )
    if not has_group_review:
        raise ServiceError(f"{village_period_name(village_period)} 还没有任何复评，不能提交")
    _check_move(village_period, expected_version, (WorkflowState.DRAFT, WorkflowState.RETURNED), "submit")
    return _move(
        session,
        actor,
        village_period,
        expected_version,
        allowed_from=(WorkflowState.DRAFT, WorkflowState.RETURNED),
        to=WorkflowState.SUBMITTED,
        action="submit",
        reason=_guard(session, village_period, "submit", override_reason).reason,
        submitted_at=utcnow(),
    )


def _required_reason(reason: str, missing: str) -> str:
    if not reason.strip():
        raise ServiceError(missing)
    return reason.strip()


def return_for_changes(
    session: Session, actor: User, village_period: VillagePeriod, expected_version: int, reason: str
) -> VillagePeriod:
    """Back to the clerk with a reason the clerk sees; reviews become editable again."""
    require_reviewer(actor, village_period)
    reason = _required_reason(reason, "退回必须填写原因")
    return _move(
        session,
        actor,
        village_period,
        expected_version,
        allowed_from=(WorkflowState.SUBMITTED,),
        to=WorkflowState.RETURNED,
        action="return",
        reason=reason,
        return_reason=reason,
    )


def approve(
    session: Session, actor: User, village_period: VillagePeriod, expected_version: int, *, override_reason: str = ""
) -> VillagePeriod:
    require_reviewer(actor, village_period)
    _check_move(village_period, expected_version, (WorkflowState.SUBMITTED,), "approve")
    return _move(
        session,
        actor,
        village_period,
        expected_version,
        allowed_from=(WorkflowState.SUBMITTED,),
        to=WorkflowState.APPROVED,
        action="approve",
        reason=_guard(session, village_period, "approve", override_reason).reason,
        approved_at=utcnow(),
    )


def unapprove(
    session: Session, actor: User, village_period: VillagePeriod, expected_version: int, reason: str
) -> VillagePeriod:
    """Take an approval back before publication (RULES.md §5); the period is submitted again."""
    require_reviewer(actor, village_period)
    reason = _required_reason(reason, "撤销审核必须填写原因")
    return _move(
        session,
        actor,
        village_period,
        expected_version,
        allowed_from=(WorkflowState.APPROVED,),
        to=WorkflowState.SUBMITTED,
        action="unapprove",
        reason=reason,
        approved_at=None,
        sign_offs=0,
    )


def publish(
    session: Session,
    actor: User,
    village_period: VillagePeriod,
    expected_version: int,
    *,
    now: dt.datetime | None = None,
    override_reason: str = "",
) -> VillagePeriod:
    """Start the posting period (公示): the list goes public for the period's posting days, and the
    results as posted are stored as the period's record (hygiene.services.rating.records)."""
    require_reviewer(actor, village_period)
    now = now or utcnow()
    _check_move(village_period, expected_version, (WorkflowState.APPROVED,), "publish")
    if village_period.sign_offs < village_period.period.sign_off_levels - 1:  # RULES.md §5: the last level first
        raise ServiceError(
            f"{village_period_name(village_period)} 还需县级第{village_period.sign_offs + 2}级签批，"
            "全部签批通过后才能公示"
        )
    guarded = _guard(session, village_period, "publish", override_reason)
    _move(
        session,
        actor,
        village_period,
        expected_version,
        allowed_from=(WorkflowState.APPROVED,),
        to=WorkflowState.PUBLISHED,
        action="publish",
        reason=guarded.reason,
        published_at=now,
        posting_ends_at=now + dt.timedelta(days=village_period.period.posting_days),
        return_reason=None,
    )
    records.post(session, actor, village_period, guarded.scored)
    return village_period


def withdraw(
    session: Session, actor: User, village_period: VillagePeriod, expected_version: int, reason: str
) -> VillagePeriod:
    """Take a posted list down during its posting period (撤回公示), back to the clerk with the reason;
    the record is superseded and kept, and the next publication posts a new version."""
    return _take_down(session, actor, village_period, expected_version, reason, action="withdraw")


def return_on_objection(
    session: Session, actor: User, village_period: VillagePeriod, expected_version: int, reason: str
) -> VillagePeriod:
    """An upheld objection sends a posted list back to the clerk (RULES.md §6), the objection as
    the reason: as ``withdraw``, the record is superseded and kept, the posting dates are cleared,
    and the corrected list is approved and published again as a new version with a new posting
    period. Called by ``hygiene.services.rating.objections.uphold``."""
    return _take_down(session, actor, village_period, expected_version, reason, action="return_on_objection")


def _take_down(
    session: Session, actor: User, village_period: VillagePeriod, expected_version: int, reason: str, *, action: str
) -> VillagePeriod:
    """A posted list back to the clerk with the reason: posting dates cleared, record superseded."""
    require_reviewer(actor, village_period)
    reason = _required_reason(reason, f"{MOVE_LABELS[action]}必须填写原因")
    _move(
        session,
        actor,
        village_period,
        expected_version,
        allowed_from=(WorkflowState.PUBLISHED,),
        to=WorkflowState.RETURNED,
        action=action,
        reason=reason,
        return_reason=reason,
        approved_at=None,
        published_at=None,
        posting_ends_at=None,
        sign_offs=0,
    )
    records.supersede(session, actor, village_period, reason)
    return village_period


def reopen(
    session: Session,
    actor: User | None,
    village_period: VillagePeriod,
    expected_version: int,
    reason: str,
    *,
    now: dt.datetime | None = None,
) -> VillagePeriod:
    """A correction (更正, RULES.md §5): the county administrator sends a published or final village
    period back to the clerk with a reason. The posted record stays as a superseded version marked
    as corrected, the plaque changes the period applied are undone (through the plaque service's
    events, so stars follow), and the next publication posts the next version, which says publicly
    that it corrects this one."""
    if actor is not None and not permissions.can_administer_county(actor, village_period.village.township.county):
        raise PermissionDenied("只有县管理员可以退回更正已公示或已定档的结果")
    reason = _required_reason(reason, "退回更正必须填写原因")
    now = now or utcnow()
    allowed = (WorkflowState.PUBLISHED, WorkflowState.FINAL)
    _check_move(village_period, expected_version, allowed, "reopen")
    if village_period.state is WorkflowState.FINAL:
        plaques.undo_final(session, actor, village_period, reason=reason, now=now)
    _move(
        session,
        actor,
        village_period,
        expected_version,
        allowed_from=allowed,
        to=WorkflowState.RETURNED,
        action="reopen",
        reason=reason,
        return_reason=f"更正：{reason}",
        approved_at=None,
        sign_offs=0,  # the county's levels sign the corrected results again
        published_at=None,
        posting_ends_at=None,
        finalized_at=None,
    )
    records.supersede(session, actor, village_period, f"更正：{reason}", correction=True)
    return village_period


def reopen_preview(session: Session, village_period: VillagePeriod) -> list[str]:
    """What a correction of the village period will change, line by line, for the confirmation step."""
    record = records.current_record(session, village_period)
    name = village_period_name(village_period)
    lines = [f"{name} 退回村委会修改（现为{village_period.state.label}），公示名单撤下，直至重新审核、公示"]
    if record is not None:
        lines.append(
            f"第{record.number}版公示结果存档保留，标为已更正；"
            f"重新公示时为第{record.number + 1}版，并注明更正第{record.number}版"
        )
    if village_period.state is WorkflowState.FINAL:
        changes = plaques.applied_changes(session, village_period)
        lines += [change.undo_text() for change in changes] or ["该期定档未改变任何牌匾"]
    return lines


@dataclass(frozen=True)
class Finalized:
    village_period: VillagePeriod
    plaques: plaques.PlaqueSummary


@dataclass(frozen=True)
class FinalizeFailed:
    name: str
    reason: str


def finalize(session: Session, village_period: VillagePeriod, *, now: dt.datetime) -> Finalized:
    """One published period becomes final and its plaque changes apply (RULES.md §5, §7), together."""
    _move(
        session,
        None,
        village_period,
        village_period.version,
        allowed_from=(WorkflowState.PUBLISHED,),
        to=WorkflowState.FINAL,
        action="finalize",
        reason="公示期满，无待处理异议",
        finalized_at=now,
    )
    return Finalized(village_period, plaques.apply_final(session, village_period, now=now))


def finalize_due(session: Session, *, now: dt.datetime | None = None) -> tuple[list[Finalized], list[FinalizeFailed]]:
    """Every published period whose posting has ended with no objection pending becomes final,
    with its plaques (RULES.md §5, §7). Run by ``hygiene tick``; running it again finds nothing
    more to do. Each village period is finalized in a savepoint: one that fails stays published,
    with nothing of it written, and is reported; the others go on."""
    now = now or utcnow()
    pending = sa.select(Objection.id).where(
        Objection.village_period_id == VillagePeriod.id, Objection.state == ObjectionState.PENDING
    )
    due = session.scalars(
        sa.select(VillagePeriod)
        .where(
            VillagePeriod.state == WorkflowState.PUBLISHED,
            VillagePeriod.posting_ends_at <= now,
            ~pending.exists(),
        )
        .order_by(VillagePeriod.id)
    ).all()
    done: list[Finalized] = []
    failed: list[FinalizeFailed] = []
    for village_period in due:
        name = village_period_name(village_period)
        try:
            with session.begin_nested():
                done.append(finalize(session, village_period, now=now))
        except (ServiceError, Conflict, sa.exc.SQLAlchemyError) as exc:  # the others go on
            failed.append(FinalizeFailed(name, str(exc)))
    return done, failed
