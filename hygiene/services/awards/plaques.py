"""Plaques (动态挂牌, RULES.md §7): applied when a village period becomes final, from its record;
revoked outside the cycle by an inspector or the county administrator; and the register.

``apply_final`` hands the engine (through ``rating``) the plaques the record's households hold and
the record's grades and awards, and writes what it returns: new plaques with county-unique serials
``<county>-<year>-<6 digits>``, level changes, revocations, and commendations without a plaque
inside the waiting time after a revocation. Every change is a plaque event and an audit row; a
record's ``plaques_applied_at`` makes a second call change nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.orm.exc import StaleDataError

from hygiene import permissions
from hygiene.enums import AwardLevel, PlaqueEventKind, PlaqueState
from hygiene.models import (
    County,
    Group,
    Household,
    InspectionAssignment,
    Period,
    Plaque,
    PlaqueEvent,
    ResultRecord,
    SpotCheck,
    Township,
    User,
    Village,
    VillagePeriod,
)
from hygiene.models._types import utcnow
from hygiene.services import audit
from hygiene.services.awards import stars
from hygiene.services.errors import Conflict, NotFound, PermissionDenied, ServiceError
from hygiene.services.rating import rating, records
from hygiene.services.setup import periods

PLAQUE_FIELDS = ("serial", "level", "state", "revoke_reason")
EVENT_KINDS = {
    "issue": PlaqueEventKind.ISSUED,
    "upgrade": PlaqueEventKind.UPGRADED,
    "downgrade": PlaqueEventKind.DOWNGRADED,
    "revoke": PlaqueEventKind.REVOKED,
}


@dataclass
class PlaqueSummary:
    """What a final period changed: counts per engine action (issue, upgrade, ... commend)."""

    counts: dict[str, int] = field(default_factory=dict)

    def text(self) -> str:
        labels = {"issue": "挂牌", "upgrade": "升级", "downgrade": "降级", "revoke": "摘牌", "commend": "表彰不挂牌"}
        parts = [f"{label}{self.counts[action]}户" for action, label in labels.items() if self.counts.get(action)]
        return "，".join(parts) or "牌匾无变化"


def _held_plaques(session: Session, household_ids: list[int]) -> pd.DataFrame:
    issued, revoked = aliased(Period), aliased(Period)
    rows = session.execute(
        sa.select(
            Household.code,
            Plaque.serial,
            Plaque.level,
            Plaque.state,
            issued.code,
            revoked.code,
        )
        .join(Household, Plaque.household_id == Household.id)
        .join(issued, Plaque.issued_period_id == issued.id)
        .outerjoin(revoked, Plaque.revoked_period_id == revoked.id)
        .where(Plaque.household_id.in_(household_ids), Plaque.state != PlaqueState.VOIDED)
    ).all()
    return pd.DataFrame(
        [(code, serial, str(level), str(state), i, r or "") for code, serial, level, state, i, r in rows],
        columns=["household_code", "serial", "level", "state", "issued_period", "revoked_period"],
        dtype=object,
    )


def _failed_spot_checks(session: Session, period: Period, household_ids: list[int]) -> pd.DataFrame:
    """The period's spot checks of these households, with the grade each gives on the period's rubric."""
    settings = rating.settings_of(period)
    checks = session.execute(
        sa.select(Household.code, SpotCheck)
        .join(Household, SpotCheck.household_id == Household.id)
        .join(InspectionAssignment, SpotCheck.assignment_id == InspectionAssignment.id)
        .where(InspectionAssignment.period_id == period.id, SpotCheck.household_id.in_(household_ids))
    )
    return pd.DataFrame(
        [(code, rating.grade_of(check.total_tenths(), settings)) for code, check in checks],
        columns=["household_code", "spot_grade"],
        dtype=object,
    )


def next_sequence(session: Session, county: County, year: int) -> int:
    """The next free sequence number of the county's plaque serials of that year."""
    prefix = rating.plaque_serial(county.code, year, 0)[:-6]
    serials = session.scalars(sa.select(Plaque.serial).where(Plaque.serial.startswith(prefix, autoescape=True)))
    return 1 + max((int(s[len(prefix) :]) for s in serials if s[len(prefix) :].isdigit()), default=0)


def apply_final(session: Session, village_period: VillagePeriod, *, now: dt.datetime | None = None) -> PlaqueSummary:
    """Apply RULES.md §7 to a village period that has become final, from its current record."""
    now = now or utcnow()
    record = records.current_record(session, village_period)
    if record is None:  # published before records existed: store what it posts now
        record = records.post(session, None, village_period)
    summary = PlaqueSummary()
    if record.plaques_applied_at is not None:
        return summary
    period = village_period.period
    county = session.get(County, period.county_id)
    assert county is not None
    by_code = {row.household_code: row.household_id for row in record.rows}
    household_ids = list(by_code.values())
    results = pd.DataFrame(
        [(r.household_code, str(r.grade or ""), str(r.award or "")) for r in record.rows],
        columns=["household_code", "grade", "award"],
        dtype=object,
    )
    changes = rating.plaque_changes(
        _held_plaques(session, household_ids),
        results,
        period,
        spot_checks=_failed_spot_checks(session, period, household_ids),
        county_code=county.code,
        next_sequence=next_sequence(session, county, rating.period_year(period.code)),
    )
    plaques = {
        p.serial: p
        for p in session.scalars(
            sa.select(Plaque).where(Plaque.household_id.in_(household_ids), Plaque.state == PlaqueState.VALID)
        )
    }
    for change in changes.to_dict("records"):
        action = change["action"]
        summary.counts[action] = summary.counts.get(action, 0) + 1
        household_id = by_code[change["household_code"]]
        if action == "keep":
            continue
        if action == "commend":
            audit.record(
                session,
                None,
                kind="household",
                entity_id=household_id,
                county_id=county.id,
                action="plaque_commend",
                after={"period": period.code, "level": change["level"]},
                reason=change["reason"],
            )
            continue
        plaque = plaques.get(change["serial"])
        before = audit.snapshot(plaque, PLAQUE_FIELDS) if plaque else None
        previous = plaque.level if plaque else None
        if action == "issue":
            plaque = _voided_by_correction(session, household_id, period)
            if plaque is not None:
                # Corrected (更正) and final again: the household gets back the serial this period
                # first issued it, and its issue date, so certificates already printed stay good.
                before = audit.snapshot(plaque, PLAQUE_FIELDS)
                plaque.state = PlaqueState.VALID
                plaque.level = AwardLevel(change["level"])
            else:
                plaque = Plaque(
                    county_id=period.county_id,
                    serial=change["serial"],
                    household_id=household_id,
                    level=AwardLevel(change["level"]),
                    issued_period_id=period.id,
                    issued_at=now,
                )
                session.add(plaque)
        elif action == "revoke":
            assert plaque is not None
            _revoke(plaque, period, change["reason"], now)
        else:
            assert plaque is not None
            plaque.level = AwardLevel(change["level"])
        session.flush()
        add_event(
            session,
            None,
            plaque,
            EVENT_KINDS[action],
            period=period,
            from_level=previous,
            to_level=None if action == "revoke" else plaque.level,
            reason=change["reason"],
            at=now,
        )
        audit.record(
            session,
            None,
            plaque,
            action=f"plaque_{action}",
            before=before,
            after=audit.snapshot(plaque, PLAQUE_FIELDS) | {"household_id": household_id, "period": period.code},
            reason=change["reason"],
        )
    record.plaques_applied_at = now
    session.flush()
    return summary


def _voided_by_correction(session: Session, household_id: int, period: Period) -> Plaque | None:
    return session.scalar(
        sa.select(Plaque)
        .where(
            Plaque.county_id == period.county_id,
            Plaque.household_id == household_id,
            Plaque.issued_period_id == period.id,
            Plaque.state == PlaqueState.VOIDED,
        )
        .order_by(Plaque.id.desc())
        .limit(1)
    )


def _revoke(plaque: Plaque, period: Period, reason: str, now: dt.datetime) -> None:
    plaque.state = PlaqueState.REVOKED
    plaque.revoked_period_id = period.id
    plaque.revoke_reason = reason
    plaque.revoked_at = now


def revoke(session: Session, actor: User | None, plaque: Plaque, *, reason: str, expected_version: int) -> Plaque:
    """An inspector or the county administrator (or the ``hygiene plaques revoke`` command, actor
    None) revokes a plaque outside the cycle (a failed spot check), with the reason; it counts as
    revoked in the county's latest period. The hygiene star goes with it (``add_event``)."""
    township = plaque.household.group.village.township
    county = township.county
    if actor is not None and not permissions.can_revoke_plaques(actor, county, township):
        raise PermissionDenied("只有本县督查员或县管理员可以摘牌")
    reason = reason.strip()
    if not reason:
        raise ServiceError("摘牌必须填写原因")
    if plaque.version != expected_version:
        raise Conflict(f"牌匾 {plaque.serial} 已被他人修改，请刷新后重试")
    if plaque.state is PlaqueState.REVOKED:
        raise ServiceError(f"牌匾 {plaque.serial} 已摘牌")
    period = periods.county_latest_period(session, county)
    before = audit.snapshot(plaque, PLAQUE_FIELDS)
    now = utcnow()
    serial = plaque.serial  # read now: after a failed flush the session may not be read again
    _revoke(plaque, period, reason, now)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(f"牌匾 {serial} 已被他人修改，请刷新后重试") from None
    add_event(
        session, actor, plaque, PlaqueEventKind.REVOKED, period=period, from_level=plaque.level, reason=reason, at=now
    )
    audit.record(
        session,
        actor,
        plaque,
        action="plaque_revoke",
        before=before,
        after=audit.snapshot(plaque, PLAQUE_FIELDS) | {"household_id": plaque.household_id, "period": period.code},
        reason=reason,
    )
    return plaque


def add_event(
    session: Session,
    actor: User | None,
    plaque: Plaque,
    kind: PlaqueEventKind,
    *,
    period: Period | None,
    from_level: AwardLevel | None = None,
    to_level: AwardLevel | None = None,
    reason: str,
    at: dt.datetime,
) -> PlaqueEvent:
    """The one writer of plaque events: every event, whatever its path (finalisation, revocation,
    reinstatement, a correction's undoing), also brings the household's hygiene star into line with
    its plaques (RULES.md §8), in the same transaction."""
    event = PlaqueEvent(
        county_id=plaque.county_id,
        plaque_id=plaque.id,
        kind=kind,
        period_id=period.id if period is not None else None,
        from_level=from_level,
        to_level=to_level,
        reason=reason,
        at=at,
    )
    session.add(event)
    session.flush()
    session.expire(plaque, ["events"])
    stars.follow_plaque(session, actor, plaque, at=at, reason=reason)
    return event


# --- corrections (更正, RULES.md §5) and reinstatement ---------------------------------------------


@dataclass(frozen=True)
class AppliedChange:
    """One plaque change a final period applied, as a correction would undo it."""

    event: PlaqueEvent
    plaque: Plaque

    def undo_text(self) -> str:
        household = f"{self.plaque.household.code} {self.plaque.household.head_name}"
        kind = self.event.kind
        if kind is PlaqueEventKind.ISSUED:
            return f"作废牌匾 {self.plaque.serial}（{household}，定档时新挂）"
        if kind is PlaqueEventKind.REVOKED:
            return f"恢复牌匾 {self.plaque.serial}（{household}，定档时摘牌）"
        level = self.event.from_level.label if self.event.from_level else ""
        return f"牌匾 {self.plaque.serial}（{household}）等级改回{level}"


UNDO_ACTIONS = {
    PlaqueEventKind.VOIDED: "plaque_void",
    PlaqueEventKind.REINSTATED: "plaque_reinstate",
    PlaqueEventKind.UPGRADED: "plaque_upgrade",
    PlaqueEventKind.DOWNGRADED: "plaque_downgrade",
}
UNDONE = (PlaqueEventKind.ISSUED, PlaqueEventKind.UPGRADED, PlaqueEventKind.DOWNGRADED, PlaqueEventKind.REVOKED)


def applied_changes(session: Session, village_period: VillagePeriod) -> list[AppliedChange]:
    """The plaque changes the period's current record applied when it became final (the events
    written by ``apply_final`` carry the record's ``plaques_applied_at``), the latest first."""
    record = records.current_record(session, village_period)
    if record is None or record.plaques_applied_at is None:
        return []
    household_ids = [row.household_id for row in record.rows]
    found = session.execute(
        sa.select(PlaqueEvent, Plaque)
        .join(Plaque, PlaqueEvent.plaque_id == Plaque.id)
        .where(
            PlaqueEvent.county_id == village_period.county_id,
            PlaqueEvent.period_id == village_period.period_id,
            PlaqueEvent.at == record.plaques_applied_at,
            PlaqueEvent.kind.in_(UNDONE),
            Plaque.household_id.in_(household_ids),
        )
        .order_by(PlaqueEvent.id.desc())
    )
    return [AppliedChange(event, plaque) for event, plaque in found]


def undo_final(
    session: Session, actor: User | None, village_period: VillagePeriod, *, reason: str, now: dt.datetime
) -> list[AppliedChange]:
    """Undo the plaque changes a final period applied (a correction, RULES.md §5): a plaque it
    issued is voided, one it revoked is valid again with its serial, a level it changed goes back;
    each through a plaque event and an audit row. Refused, naming the plaque, when a plaque has
    changed since (a later revocation or period): that change is put right first."""
    changes = applied_changes(session, village_period)
    for change in changes:
        latest = _latest_event(session, change.plaque)
        if latest.id != change.event.id and not _as_left(change):
            raise ServiceError(
                f"牌匾 {change.plaque.serial} 在定档后又有变动（{latest.kind.label}），"
                "不能自动撤销该期的牌匾变动，请先处理该牌匾"
            )
    period = village_period.period
    why = f"更正撤销：{reason}"
    for change in changes:
        plaque, event = change.plaque, change.event
        serial = plaque.serial
        before = audit.snapshot(plaque, PLAQUE_FIELDS)
        if event.kind is PlaqueEventKind.ISSUED:
            plaque.state = PlaqueState.VOIDED
            kind, from_level, to_level = PlaqueEventKind.VOIDED, plaque.level, None
        elif event.kind is PlaqueEventKind.REVOKED:
            _refuse_second_valid(session, plaque)
            _unrevoke(plaque)
            kind, from_level, to_level = PlaqueEventKind.REINSTATED, None, plaque.level
        else:
            assert event.from_level is not None
            from_level, to_level = plaque.level, event.from_level
            plaque.level = event.from_level
            kind = PlaqueEventKind.UPGRADED if event.kind is PlaqueEventKind.DOWNGRADED else PlaqueEventKind.DOWNGRADED
        _flush(session, serial)
        add_event(
            session, actor, plaque, kind, period=period, from_level=from_level, to_level=to_level, reason=why, at=now
        )
        audit.record(
            session,
            actor,
            plaque,
            action=UNDO_ACTIONS[kind],
            before=before,
            after=audit.snapshot(plaque, PLAQUE_FIELDS) | {"household_id": plaque.household_id, "period": period.code},
            reason=why,
        )
    session.flush()
    return changes


def _as_left(change: AppliedChange) -> bool:
    """The plaque is as the final period left it (a later revocation since reinstated, say)."""
    plaque, event = change.plaque, change.event
    if event.kind is PlaqueEventKind.REVOKED:
        return plaque.state is PlaqueState.REVOKED
    return plaque.state is PlaqueState.VALID and plaque.level == event.to_level


def _latest_event(session: Session, plaque: Plaque, kind: PlaqueEventKind | None = None) -> PlaqueEvent:
    query = sa.select(PlaqueEvent).where(PlaqueEvent.county_id == plaque.county_id, PlaqueEvent.plaque_id == plaque.id)
    if kind is not None:
        query = query.where(PlaqueEvent.kind == kind)
    event = session.scalar(query.order_by(PlaqueEvent.id.desc()).limit(1))
    assert event is not None  # every plaque has its issue event, a revoked one its revocation
    return event


def _unrevoke(plaque: Plaque) -> None:
    plaque.state = PlaqueState.VALID
    plaque.revoked_period_id = None
    plaque.revoke_reason = None
    plaque.revoked_at = None


def _refuse_second_valid(session: Session, plaque: Plaque) -> None:
    other = session.scalar(
        sa.select(Plaque.serial).where(
            Plaque.county_id == plaque.county_id,
            Plaque.household_id == plaque.household_id,
            Plaque.state == PlaqueState.VALID,
            Plaque.id != plaque.id,
        )
    )
    if other is not None:
        raise ServiceError(f"该户已持有有效牌匾 {other}，不能恢复牌匾 {plaque.serial}")


def _flush(session: Session, serial: str) -> None:
    """Flush a plaque's change; ``serial`` is read before, as a failed flush leaves nothing to read."""
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(f"牌匾 {serial} 已被他人修改，请刷新后重试") from None


def revoked_in_cycle(session: Session, plaque: Plaque) -> bool:
    """Whether the plaque's revocation was a final period's (undone by a correction of that
    period, not reinstated by hand): its event carries a record's ``plaques_applied_at``."""
    event = _latest_event(session, plaque, PlaqueEventKind.REVOKED)
    return bool(
        session.scalar(
            sa.select(sa.func.count(ResultRecord.id))
            .join(VillagePeriod, ResultRecord.village_period_id == VillagePeriod.id)
            .where(
                ResultRecord.county_id == plaque.county_id,
                VillagePeriod.period_id == event.period_id,
                ResultRecord.plaques_applied_at == event.at,
            )
        )
    )


def reinstate(session: Session, actor: User | None, plaque: Plaque, *, reason: str, expected_version: int) -> Plaque:
    """Undo a revocation made outside the cycle by mistake (a wrong spot check): the plaque is
    valid again with its serial and level, by the inspector or the county administrator, with the
    reason. A revocation by a final period is put right by correcting that period instead."""
    county = plaque.household.group.village.township.county
    if actor is not None and not permissions.can_revoke_plaques(actor, county):  # None: the command line
        raise PermissionDenied("只有本县督查员或县管理员可以恢复牌匾")
    reason = reason.strip()
    if not reason:
        raise ServiceError("恢复牌匾必须填写原因")
    if plaque.version != expected_version:
        raise Conflict(f"牌匾 {plaque.serial} 已被他人修改，请刷新后重试")
    if plaque.state is not PlaqueState.REVOKED:
        raise ServiceError(f"牌匾 {plaque.serial} 现为{plaque.state.label}，不能恢复")
    if revoked_in_cycle(session, plaque):
        raise ServiceError(f"牌匾 {plaque.serial} 是定档时摘除的，请由县管理员更正该期结果（退回更正）")
    _refuse_second_valid(session, plaque)
    period = periods.county_latest_period(session, county)
    before = audit.snapshot(plaque, PLAQUE_FIELDS)
    now = utcnow()
    serial = plaque.serial
    _unrevoke(plaque)
    _flush(session, serial)
    add_event(
        session, actor, plaque, PlaqueEventKind.REINSTATED, period=period, to_level=plaque.level, reason=reason, at=now
    )
    audit.record(
        session,
        actor,
        plaque,
        action="plaque_reinstate",
        before=before,
        after=audit.snapshot(plaque, PLAQUE_FIELDS) | {"household_id": plaque.household_id, "period": period.code},
        reason=reason,
    )
    session.flush()
    return plaque


# --- the register ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterRow:
    plaque: Plaque
    household: Household
    village: Village
    issued_period: str
    revoked_period: str | None


def register(
    session: Session,
    county: County,
    *,
    township: Township | None = None,
    village: Village | None = None,
) -> list[RegisterRow]:
    """Every plaque of the county (or of one township or village), sorted by serial, with its
    household, issuing and revoking periods and its events."""
    issued, revoked = aliased(Period), aliased(Period)
    query = (
        sa.select(Plaque, Household, Village, issued.code, revoked.code)
        .join(Household, Plaque.household_id == Household.id)
        .join(Group, Household.group_id == Group.id)
        .join(Village, Group.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .join(issued, Plaque.issued_period_id == issued.id)
        .outerjoin(revoked, Plaque.revoked_period_id == revoked.id)
        .where(Township.county_id == county.id, Plaque.state != PlaqueState.VOIDED)
        .options(selectinload(Plaque.events))
        .order_by(Plaque.serial)
    )
    if township is not None:
        query = query.where(Township.id == township.id)
    if village is not None:
        query = query.where(Village.id == village.id)
    return [RegisterRow(*row) for row in session.execute(query)]


REGISTER_HEADER = ["牌匾编号", "户编号", "户主", "村", "等级", "状态", "挂牌季度", "摘牌季度", "摘牌原因"]


def register_table(rows: list[RegisterRow]) -> tuple[list[str], list[list[object]]]:
    """The register as the rows of a file (挂牌台账)."""
    return REGISTER_HEADER, [
        [
            r.plaque.serial,
            r.household.code,
            r.household.head_name,
            r.village.name,
            r.plaque.level.label,
            r.plaque.state.label,
            r.issued_period,
            r.revoked_period or "",
            r.plaque.revoke_reason or "",
        ]
        for r in rows
    ]


def get_plaque(session: Session, county: County, serial: str) -> Plaque:
    plaque = session.scalar(sa.select(Plaque).where(Plaque.county_id == county.id, Plaque.serial == serial))
    if plaque is None:
        raise NotFound(f"找不到牌匾 {serial}")
    return plaque
