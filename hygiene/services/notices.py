"""Rectification and accountability notices (督办 / 问责, RULES.md §9).

Inspections (a later issue) issue rectification notices; the rule that needs no screen is here
already: a rectification notice still open at its deadline escalates to an accountability notice,
run by ``hygiene tick``."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import NoticeKind, NoticeState
from hygiene.models import County, Notice
from hygiene.models._types import utcnow
from hygiene.services import audit

NOTICE_FIELDS = ("kind", "state", "problem", "deadline", "escalated_from_id")


def escalate_overdue(session: Session, *, now: dt.datetime | None = None) -> list[Notice]:
    """Every open rectification notice past its deadline becomes ``escalated`` and gets an
    accountability notice with the county's deadline; returns the new accountability notices.
    Idempotent: an escalated notice is no longer open."""
    now = now or utcnow()
    overdue = session.scalars(
        sa.select(Notice)
        .where(
            Notice.kind == NoticeKind.RECTIFICATION,
            Notice.state == NoticeState.OPEN,
            Notice.deadline <= now,
        )
        .order_by(Notice.id)
        .with_for_update()
    ).all()
    escalated = []
    for notice in overdue:
        before = audit.snapshot(notice, NOTICE_FIELDS)
        notice.state = NoticeState.ESCALATED
        county = session.get_one(County, notice.county_id)
        accountability = Notice(
            county_id=notice.county_id,
            period_id=notice.period_id,
            township_id=notice.township_id,
            village_id=notice.village_id,
            spot_check_id=notice.spot_check_id,
            escalated_from_id=notice.id,
            kind=NoticeKind.ACCOUNTABILITY,
            problem=notice.problem,
            issued_at=now,
            deadline=now + dt.timedelta(hours=county.notice_deadline_hours),
        )
        session.add(accountability)
        session.flush()
        reason = "督办通知单逾期未整改，升级为问责通知单"  # the deadline itself is in before/after
        audit.record(
            session,
            None,
            entity="notice",
            entity_id=notice.id,
            action="escalate",
            before=before,
            after=audit.snapshot(notice, NOTICE_FIELDS),
            reason=reason,
        )
        audit.record(
            session,
            None,
            entity="notice",
            entity_id=accountability.id,
            action="create",
            after=audit.snapshot(accountability, NOTICE_FIELDS),
            reason=reason,
        )
        escalated.append(accountability)
    return escalated
