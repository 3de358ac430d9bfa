"""Reviewer consistency (issue 33): per peer reviewer, the mean distance of its peer review totals
from the group review, the least consistent first; the sample weights what they reviewed."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA, ReviewKind
from hygiene.models import Household, Review, Township
from hygiene.services.supervision import consistency, sampling
from tests.hygiene.factories import period as period_of


def test_each_peer_reviewer_mean_distance_from_the_group_review(db: Session) -> None:
    q3 = period_of(db, "2026Q3")
    township = db.scalars(sa.select(Township).where(Township.code == "52099901")).one()
    lines = consistency.reviewers(db, township, q3)
    assert lines, "the demo has peer reviews"
    assert [(-x.mean_distance, x.household_code) for x in lines] == sorted(
        (-x.mean_distance, x.household_code) for x in lines
    )
    # Recompute one reviewer's figure by hand from its reviews.
    first = lines[0]
    reviewer = db.scalars(sa.select(Household).where(Household.code == first.household_code)).one()
    gaps = []
    for peer in db.scalars(
        sa.select(Review).where(
            Review.period_id == q3.id, Review.kind == ReviewKind.PEER, Review.reviewer_household_id == reviewer.id
        )
    ):
        group = db.scalars(
            sa.select(Review).where(
                Review.period_id == q3.id, Review.kind == ReviewKind.GROUP, Review.household_id == peer.household_id
            )
        ).first()
        if group is not None:
            gaps.append(abs(sum(getattr(peer, c) for c in CRITERIA) - sum(getattr(group, c) for c in CRITERIA)))
    assert first.reviews == len(gaps)
    assert first.mean_distance == (Decimal(sum(gaps)) / len(gaps) / 10).quantize(Decimal("0.01"))


def test_a_reviewer_far_from_the_group_is_flagged_and_weights_the_sample(db: Session) -> None:
    q3 = period_of(db, "2026Q3")
    township = db.scalars(sa.select(Township).where(Township.code == "52099901")).one()
    target = consistency.reviewers(db, township, q3)[-1]  # the most consistent one
    reviewer = db.scalars(sa.select(Household).where(Household.code == target.household_code)).one()
    for peer in db.scalars(
        sa.select(Review).where(
            Review.period_id == q3.id, Review.kind == ReviewKind.PEER, Review.reviewer_household_id == reviewer.id
        )
    ):
        for c in CRITERIA:
            setattr(peer, c, 0)  # scores nothing: far from any group review
    db.flush()
    lines = {x.household_code: x for x in consistency.reviewers(db, township, q3)}
    assert lines[target.household_code].flagged and lines[target.household_code].mean_distance >= 10
    reasons = [r for c in sampling.candidates(db, township, q3) for r in c.reasons]
    assert any(target.household_code in r and "互评平均偏离复评" in r for r in reasons)
