"""No "finalise early" (提前定档, docs/decisions.md, issue 30): RULES.md §5-6 keep the objection window
open for the whole posting period, so a published village period becomes final only from the tick
after its posting ends; no page offers it and no route takes it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import WorkflowState
from hygiene.models import Period, Village, VillagePeriod
from hygiene.services.rating import workflow
from tests.web.conftest import Auth

DAPING = "/township/52099901/periods/2026Q4/villages/5209990104/"  # 大坪村, published, posting open


def daping(db: Session) -> VillagePeriod:
    db.rollback()
    return db.scalars(
        sa.select(VillagePeriod)
        .join(Village)
        .join(Period, VillagePeriod.period_id == Period.id)
        .where(Village.code == "5209990104", Period.code == "2026Q4")
    ).one()


def test_no_page_or_route_finalises_a_published_period_early(
    app: Flask, client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    published = daping(db_session)
    assert published.state is WorkflowState.PUBLISHED and published.posting_ends_at is not None
    assert not [r.rule for r in app.url_map.iter_rules() if "final" in r.rule or "final" in (r.endpoint or "")]
    for username in ("township", "county"):
        auth.login(username)
        page = client.get(DAPING).get_data(as_text=True)
        assert "公示中" in page and "提前定档" not in page and "/finalize" not in page
        for move in ("finalize", "finalise", "final"):
            answer = auth.post(DAPING + move, {"version": published.version, "confirmed": "1"}, token_from=DAPING)
            assert answer.status_code == 404
        auth.logout()
    assert daping(db_session).state is WorkflowState.PUBLISHED


def test_the_tick_finalises_only_after_the_posting_ends(db_session: Session) -> None:
    published = daping(db_session)
    assert published.posting_ends_at is not None
    done, _ = workflow.finalize_due(db_session, now=published.posting_ends_at - dt.timedelta(minutes=1))
    assert published.id not in {f.village_period.id for f in done}
    assert published.state is WorkflowState.PUBLISHED
    db_session.rollback()
