"""What time moves on its own (INTERCHANGE.md §3 ``hygiene tick``): published periods whose posting
has ended become final with their plaques, and overdue rectification notices escalate, each with
the accountability rung the system proposes for its unit (RULES.md §9). One service
for the command (cron) and for the served app, which runs it every few minutes on its own so that
`make run` on a laptop moves time too (``web.ticker``). Idempotent, and one at a time: a tick that
starts while another runs (cron and a worker, two workers) skips, leaving the work to the one
running, and reports that it did (``skipped``) rather than failing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.models import AccountabilityCase, Notice
from hygiene.models._types import utcnow
from hygiene.services.rating import workflow
from hygiene.services.setup import accounts
from hygiene.services.supervision import accountability, notices


@dataclass(frozen=True)
class TickSummary:
    finalized: list[workflow.Finalized]
    failed: list[workflow.FinalizeFailed]
    escalated: list[Notice]
    skipped: bool = False
    proposed: list[AccountabilityCase] = field(default_factory=list)


# The PostgreSQL advisory lock that lets one tick run at a time ("hyti").
TICK_LOCK = 0x68797469


def _only_tick(session: Session) -> bool:
    """Take the tick's lock for this transaction, or say another tick holds it. On SQLite the
    ticking transaction writes, so it holds the database and a second tick simply waits for it."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(TICK_LOCK))))


def run(session: Session, *, now: dt.datetime | None = None) -> TickSummary:
    if not _only_tick(session):
        return TickSummary([], [], [], skipped=True)
    now = now or utcnow()
    accounts.expire_throttles(session, now)  # the login counters of past windows (a bounded table)
    finalized, failed = workflow.finalize_due(session, now=now)
    escalated = notices.escalate_overdue(session, now=now)
    proposed = accountability.propose_for_escalated(session, escalated, now=now)
    return TickSummary(finalized, failed, escalated, proposed=proposed)
