"""Two people acting on the same row at the same moment, in real concurrent transactions on each
database: exactly one wins, the other is told "changed by someone else", nothing is lost silently."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.db import make_sessionmaker
from hygiene.enums import CRITERIA, ReviewKind, WorkflowState
from hygiene.models import AuditEntry, Household, Review, User, VillagePeriod
from hygiene.services.errors import Conflict
from hygiene.services.rating import reviews, workflow
from hygiene.services.setup import periods
from tests.hygiene import factories

SUBMITTED = "5209990102"
DRAFT = "5209990101"


def race(engine: sa.Engine, action: Callable[[Session, int], object], runners: int = 2) -> list[str]:
    """Run ``action(session, runner)`` in ``runners`` threads at once, each in its own write
    transaction; returns each runner's outcome: "ok", "conflict" or the unexpected error."""
    maker = make_sessionmaker(engine, write=True)
    start = threading.Barrier(runners)
    outcomes: list[str] = [""] * runners

    def run(runner: int) -> None:
        start.wait()
        try:
            with maker.begin() as session:
                action(session, runner)
            outcomes[runner] = "ok"
        except Conflict:
            outcomes[runner] = "conflict"
        except Exception as exc:
            outcomes[runner] = repr(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def read(engine: sa.Engine, query: Callable[[Session], object]) -> object:
    with make_sessionmaker(engine)() as session:
        return query(session)


def test_two_reviewers_approving_the_same_village_one_wins(committing_engine: sa.Engine) -> None:
    def village_period(session: Session) -> VillagePeriod:
        found = periods.village_period(session, factories.village(session, SUBMITTED), factories.period(session))
        assert found is not None
        return found

    seen = read(committing_engine, lambda s: village_period(s).version)
    assert isinstance(seen, int)

    def approve(session: Session, runner: int) -> None:
        reviewer = session.scalars(sa.select(User).where(User.username == "township")).one()
        workflow.approve(session, reviewer, village_period(session), seen, override_reason="已核对")

    assert sorted(race(committing_engine, approve)) == ["conflict", "ok"]
    state = read(committing_engine, lambda s: village_period(s).state)
    approvals = read(
        committing_engine,
        lambda s: s.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "approve")),
    )
    assert state is WorkflowState.APPROVED and approvals == 1


@pytest.mark.parametrize("exists", [True, False], ids=["existing-review", "new-review"])
def test_two_clerks_saving_the_same_review_one_wins_and_no_score_is_lost(
    committing_engine: sa.Engine, exists: bool
) -> None:
    def household(session: Session) -> Household:
        return factories.households_of_group(session, factories.first_group(session, DRAFT))[0]

    def current(session: Session) -> Review | None:
        return session.scalar(
            sa.select(Review).where(
                Review.household_id == household(session).id,
                Review.kind == ReviewKind.SELF,
                Review.period_id == factories.period(session).id,
            )
        )

    with make_sessionmaker(committing_engine, write=True).begin() as session:
        review = current(session)
        if exists and review is None:
            factories.review(session, household(session), factories.period(session), ReviewKind.SELF, score=40)
        elif not exists and review is not None:
            session.delete(review)
    seen = read(committing_engine, lambda s: r.version if (r := current(s)) else 0)
    assert (seen > 0) if exists else (seen == 0)  # type: ignore[operator]

    def save(session: Session, runner: int) -> None:
        clerk = session.scalars(sa.select(User).where(User.username == "village")).one()
        entry = reviews.ReviewInput(ReviewKind.SELF, dict.fromkeys(CRITERIA, 50 + runner * 10))
        reviews.save_review(
            session,
            clerk,
            factories.village(session, DRAFT),
            factories.period(session),
            household(session),
            entry,
            expected_version=seen,
        )

    outcomes = race(committing_engine, save)
    assert sorted(outcomes) == ["conflict", "ok"]
    winner = outcomes.index("ok")
    saved = read(committing_engine, lambda s: current(s).c01)  # type: ignore[union-attr]
    assert saved == 50 + winner * 10
