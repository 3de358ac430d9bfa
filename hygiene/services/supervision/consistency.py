"""Reviewer consistency (the method's extras, row 33): for every peer reviewer household, the mean
distance of its peer review totals from the group review (复评) of the same households in the
period. Shown on the township's page; the spot-check sample weights the households such a reviewer
reviewed (``sampling``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from hygiene.enums import CRITERIA, ReviewKind
from hygiene.models import Group, Household, Period, Review, Township, Village

INCONSISTENT_POINTS = 10  # a reviewer this far from the group review on average is flagged


def distances(session: Session, period: Period, village_ids: Sequence[int]) -> dict[int, list[int]]:
    """For each peer reviewer household, |peer total − group total| in tenths for every household it
    reviewed that has a group review, in the given villages and period."""
    peer, group = aliased(Review), aliased(Review)
    peer_total = sum(getattr(peer, c) for c in CRITERIA)
    group_total = sum(getattr(group, c) for c in CRITERIA)
    rows = session.execute(
        sa.select(peer.reviewer_household_id, peer_total, group_total)
        .join(
            group,
            sa.and_(
                group.county_id == peer.county_id,
                group.household_id == peer.household_id,
                group.period_id == peer.period_id,
            ),
        )
        .join(Household, peer.household_id == Household.id)
        .join(Group, Household.group_id == Group.id)
        .where(
            peer.county_id == period.county_id,
            peer.period_id == period.id,
            peer.kind == ReviewKind.PEER,
            group.kind == ReviewKind.GROUP,
            Group.village_id.in_(list(village_ids)),
        )
    )
    found: dict[int, list[int]] = defaultdict(list)
    for reviewer_id, given, grouped in rows:
        if reviewer_id is not None:
            found[reviewer_id].append(abs(int(given) - int(grouped)))
    return dict(found)


@dataclass(frozen=True)
class ReviewerLine:
    household_code: str
    head_name: str
    village_name: str
    reviews: int  # peer reviews compared with a group review
    mean_distance: Decimal  # points, half-up to two places

    @property
    def flagged(self) -> bool:
        return self.mean_distance >= INCONSISTENT_POINTS


def reviewers(session: Session, township: Township, period: Period) -> list[ReviewerLine]:
    """The township's peer reviewers in the period, the least consistent first (then by code)."""
    villages = list(session.scalars(sa.select(Village.id).where(Village.township_id == township.id)))
    found = distances(session, period, villages)
    if not found:
        return []
    people = session.execute(
        sa.select(Household.id, Household.code, Household.head_name, Village.name)
        .join(Group, Household.group_id == Group.id)
        .join(Village, Group.village_id == Village.id)
        .where(Household.id.in_(list(found)))
    )
    lines = [
        ReviewerLine(
            code,
            head,
            village,
            len(found[hid]),
            (Decimal(sum(found[hid])) / len(found[hid]) / 10).quantize(Decimal("0.01"), ROUND_HALF_UP),
        )
        for hid, code, head, village in people
    ]
    return sorted(lines, key=lambda line: (-line.mean_distance, line.household_code))
