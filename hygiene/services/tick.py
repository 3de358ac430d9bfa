"""What time moves on its own (INTERCHANGE.md §3 ``hygiene tick``): published periods whose posting
has ended become final with their plaques, and overdue rectification notices escalate. One service
for the command (cron) and for the served app, which runs it every few minutes on its own so that
`make run` on a laptop moves time too (``web.ticker``). Idempotent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hygiene.models import Notice
from hygiene.models._types import utcnow
from hygiene.services.rating import workflow
from hygiene.services.supervision import notices


@dataclass(frozen=True)
class TickSummary:
    finalized: list[workflow.Finalized]
    failed: list[workflow.FinalizeFailed]
    escalated: list[Notice]


def run(session: Session, *, now: dt.datetime | None = None) -> TickSummary:
    now = now or utcnow()
    finalized, failed = workflow.finalize_due(session, now=now)
    return TickSummary(finalized, failed, notices.escalate_overdue(session, now=now))
