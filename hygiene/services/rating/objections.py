"""Residents' objections to a posted list (异议, RULES.md §6).

Anyone may object to one household's result while the list is posted (``file_objection``): no login,
a reason, an optional contact for the township only. A client is known by a keyed hash of its
address (``client_hash``), never the address, and may file ``RATE_LIMIT`` objections per
``RATE_WINDOW`` (an atomic counter in the database, so the limit holds across server workers).

The township's reviewer answers each open objection with a reply that residents read
(``public_objections``, which never carries the contact or the client hash): ``dismiss`` keeps the
list; ``uphold`` sends the village period back to the clerk with the objection as the reason
(``workflow.return_on_objection``): the posted record is superseded, and the corrected list is
approved and published again as a new record version with a new posting period. The other pending
objections of that village period stay pending: they are answered against the corrected list, and
the period cannot become final before they are (``workflow.finalize_due``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.exc import StaleDataError

from hygiene import naming, permissions
from hygiene.enums import ObjectionState, WorkflowState
from hygiene.models import Household, Objection, ObjectionThrottle, Township, User, Village, VillagePeriod
from hygiene.models._types import utcnow
from hygiene.services import audit
from hygiene.services.errors import Conflict, FieldErrors, NotFound, PermissionDenied, ServiceError
from hygiene.services.rating import records, workflow

REASON_MAX = 500
CONTACT_MAX = 60  # the column's length
REPLY_MAX = 500
RATE_LIMIT = 5  # objections per client per window
RATE_WINDOW = dt.timedelta(hours=1)
OBJECTION_FIELDS = ("state", "reply", "resolved_at", "resolved_by_id")


class ObjectionThrottled(ServiceError):
    """A client filed more than ``RATE_LIMIT`` objections in ``RATE_WINDOW``."""


def client_hash(secret: str | bytes, remote_addr: str | None) -> str:
    """The client's address as a keyed hash (HMAC-SHA256 with the app's secret key): enough to
    count one client's filings, useless to learn who filed."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"objection-client:{remote_addr or '-'}".encode(), hashlib.sha256).hexdigest()


def posting_open(village_period: VillagePeriod | None, now: dt.datetime | None = None) -> bool:
    """Objections are taken while the list is posted and its posting period runs."""
    now = now or utcnow()
    return (
        village_period is not None
        and village_period.state is WorkflowState.PUBLISHED
        and village_period.published_at is not None
        and village_period.posting_ends_at is not None
        and village_period.published_at <= now < village_period.posting_ends_at
    )


def _name(village_period: VillagePeriod) -> str:
    return f"{village_period.village.name} {village_period.period.code}"


def _bump(session: Session, key: str, now: dt.datetime) -> int:
    """Count one filing for ``key`` in its current window (a window older than ``RATE_WINDOW``
    starts again) in one atomic upsert, and return the window's count so far."""
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = postgresql_insert if postgres else sqlite_insert
    stale = ObjectionThrottle.window_started_at <= now - RATE_WINDOW
    statement = insert(ObjectionThrottle).values(key=key, filings=1, window_started_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[ObjectionThrottle.key],
        set_={
            "filings": sa.case((stale, 0), else_=ObjectionThrottle.filings) + 1,
            "window_started_at": sa.case((stale, now), else_=ObjectionThrottle.window_started_at),
        },
    )
    return session.execute(statement.returning(ObjectionThrottle.filings)).scalar_one()


def file_objection(
    session: Session,
    village_period: VillagePeriod,
    household_code: str,
    *,
    reason: str,
    contact: str | None = None,
    client: str,
    honeypot: str = "",
    now: dt.datetime | None = None,
) -> Objection | None:
    """File a resident's objection to one household of the posted list. ``client`` is the
    ``client_hash`` of the request. A filled ``honeypot`` (a field people never see) is a robot:
    nothing is stored and None is returned, so that the page answers as if it were accepted."""
    now = now or utcnow()
    if not posting_open(village_period, now):
        raise ServiceError(f"{_name(village_period)} 现在不在公示期内，不能提出异议")
    if honeypot.strip():
        return None
    record = records.current_record(session, village_period)
    row = next((r for r in record.rows if r.household_code == household_code), None) if record else None
    if record is None or row is None:
        raise NotFound(f"{_name(village_period)} 的公示名单中没有户编号 {naming.visible(household_code, 30)}")
    reason, reason_problem = naming.text_field(reason, "异议理由", REASON_MAX, required=True, multiline=True)
    contact, contact_problem = naming.text_field(contact, "联系方式", CONTACT_MAX, required=False, multiline=False)
    errors = {name: problem for name, problem in (("reason", reason_problem), ("contact", contact_problem)) if problem}
    if errors:
        raise FieldErrors(errors)
    # A window that has run out counts as no row: drop them, so the table holds the last hour only.
    session.execute(sa.delete(ObjectionThrottle).where(ObjectionThrottle.window_started_at <= now - RATE_WINDOW))
    if _bump(session, client, now) > RATE_LIMIT:
        raise ObjectionThrottled(f"提交异议过于频繁：每{RATE_WINDOW.seconds // 3600}小时最多{RATE_LIMIT}条，请稍后再试")
    objection = Objection(
        county_id=village_period.county_id,
        village_period_id=village_period.id,
        household_id=row.household_id,
        reason=reason,
        contact=contact or None,
        filed_at=now,
        record_number=record.number,
        client_hash=client,
    )
    session.add(objection)
    session.flush()
    audit.record(
        session,
        None,
        objection,
        action="file",
        after={
            "village_period_id": village_period.id,
            "household_code": row.household_code,
            "record_number": record.number,
            "reason": reason,
        },
    )
    return objection


def get_objection(session: Session, objection_id: int) -> Objection:
    objection = session.get(Objection, objection_id)
    if objection is None:
        raise NotFound(f"找不到编号为 {objection_id} 的异议")
    return objection


def _with_units(query: sa.Select[Objection]) -> sa.Select[Objection]:
    return query.options(
        joinedload(Objection.village_period).joinedload(VillagePeriod.village),
        joinedload(Objection.village_period).joinedload(VillagePeriod.period),
        joinedload(Objection.household),
    )


def pending_for_township(session: Session, township: Township) -> list[Objection]:
    """The township's open objections, the oldest first."""
    return list(
        session.scalars(
            _with_units(
                sa.select(Objection)
                .join(VillagePeriod, Objection.village_period_id == VillagePeriod.id)
                .join(Village, VillagePeriod.village_id == Village.id)
                .where(Village.township_id == township.id, Objection.state == ObjectionState.PENDING)
                .order_by(Objection.filed_at, Objection.id)
            )
        )
    )


def for_village_period(session: Session, village_period: VillagePeriod) -> list[Objection]:
    """Every objection to the village period, open or answered, the oldest first (for staff)."""
    return list(
        session.scalars(
            _with_units(
                sa.select(Objection)
                .where(Objection.village_period_id == village_period.id)
                .order_by(Objection.filed_at, Objection.id)
            )
        )
    )


def _resolve(
    session: Session,
    actor: User,
    objection: Objection,
    expected_version: int,
    reply: str,
    to: ObjectionState,
    now: dt.datetime | None,
) -> Objection:
    village_period = objection.village_period
    if not permissions.can_review_township(actor, village_period.village.township):
        raise PermissionDenied("只有本乡镇审核员可以处理异议")
    if objection.version != expected_version:
        raise Conflict("该异议已被他人处理或修改，请刷新后重试")
    if objection.state is not ObjectionState.PENDING:
        raise ServiceError(f"该异议已处理（{objection.state.label}）")
    reply, problem = naming.text_field(reply, "答复", REPLY_MAX, required=True, multiline=True)
    if problem:
        raise FieldErrors({"reply": problem})
    before = audit.snapshot(objection, OBJECTION_FIELDS)
    objection.state, objection.reply = to, reply
    objection.resolved_at, objection.resolved_by_id = now or utcnow(), actor.id
    try:
        session.flush()  # UPDATE ... WHERE version = <read>
    except StaleDataError:
        raise Conflict("该异议已被他人处理，请刷新后重试") from None
    audit.record(
        session,
        actor,
        objection,
        action=to.value,
        before=before,
        after=audit.snapshot(objection, OBJECTION_FIELDS),
        reason=reply,
    )
    return objection


def dismiss(
    session: Session,
    actor: User,
    objection: Objection,
    expected_version: int,
    reply: str,
    *,
    now: dt.datetime | None = None,
) -> Objection:
    """不予采纳: the list stands; the reply is shown publicly."""
    return _resolve(session, actor, objection, expected_version, reply, ObjectionState.DISMISSED, now)


def uphold(
    session: Session,
    actor: User,
    objection: Objection,
    expected_version: int,
    reply: str,
    *,
    now: dt.datetime | None = None,
) -> Objection:
    """采纳: the reply is shown publicly, and the village period goes back to the clerk with the
    objection as the reason (``workflow.return_on_objection``). Only while the list is posted: an
    objection still open after another one was upheld is answered once the corrected list is
    published again."""
    village_period = objection.village_period
    if (
        permissions.can_review_township(actor, village_period.village.township)
        and objection.state is ObjectionState.PENDING
        and village_period.state is not WorkflowState.PUBLISHED
    ):
        raise ServiceError(
            f"{_name(village_period)} 现为{village_period.state.label}，请在更正后重新公示时再处理此异议"
        )
    _resolve(session, actor, objection, expected_version, reply, ObjectionState.UPHELD, now)
    household: Household = objection.household
    workflow.return_on_objection(
        session, actor, village_period, village_period.version, f"异议成立：{household.code}：{objection.reason}"
    )
    return objection


@dataclass(frozen=True)
class PublicObjection:
    """An objection as residents see it (RULES.md §6): never who filed it, their contact, their
    client hash or the reason they gave, only the household, the dates, the outcome and the reply."""

    household_code: str
    record_number: int | None
    filed_at: dt.datetime
    state_label: str
    reply: str | None
    resolved_at: dt.datetime | None


def public_objections(session: Session, village_period: VillagePeriod) -> list[PublicObjection]:
    rows = session.execute(
        sa.select(
            Household.code,
            Objection.record_number,
            Objection.filed_at,
            Objection.state,
            Objection.reply,
            Objection.resolved_at,
        )
        .join(Household, Objection.household_id == Household.id)
        .where(Objection.village_period_id == village_period.id)
        .order_by(Objection.filed_at, Objection.id)
    )
    return [
        PublicObjection(
            household_code=code,
            record_number=number,
            filed_at=filed_at,
            state_label=state.label,
            reply=reply,
            resolved_at=resolved_at,
        )
        for code, number, filed_at, state, reply, resolved_at in rows
    ]
