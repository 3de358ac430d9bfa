"""What time moves on its own (INTERCHANGE.md §3 ``hygiene tick``): published periods whose posting
has ended become final with their plaques, and overdue rectification notices escalate, each with
the accountability rung the system proposes for its unit (RULES.md §9). One service
for the command (cron) and for the served app, which runs it every few minutes on its own so that
`make run` on a laptop moves time too (``web.ticker``). Idempotent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from hygiene.models import AccountabilityCase, Notice
from hygiene.models._types import utcnow
from hygiene.services.rating import workflow
from hygiene.services.supervision import accountability, notices


@dataclass(frozen=True)
class TickSummary:
    finalized: list[workflow.Finalized]
    failed: list[workflow.FinalizeFailed]
    escalated: list[Notice]
    proposed: list[AccountabilityCase] = field(default_factory=list)


def run(session: Session, *, now: dt.datetime | None = None) -> TickSummary:
    now = now or utcnow()
    finalized, failed = workflow.finalize_due(session, now=now)
    escalated = notices.escalate_overdue(session, now=now)
    return TickSummary(finalized, failed, escalated, accountability.propose_for_escalated(session, escalated, now=now))
