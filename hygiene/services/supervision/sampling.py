"""The spot-check sample an inspection team takes in a township (RULES.md §9): drawn from the
households the township's posted lists rated, weighted towards those whose reviews look least
reliable, reproducibly, each with the reasons it was drawn.

Why a household weighs more:
- each engine flag on its posted result (RULES.md §3: no self review, too few peers, a self or
  peer total far from the group review) adds `FLAG_WEIGHT`;
- its peer reviewers' consistency: for every peer reviewer household of the village in the period,
  the mean distance (in points) between the totals it gave and the group review of the households it
  reviewed; a reviewer who gives 100 to everyone sits far from the group review wherever the group
  found problems. A household reviewed by a reviewer at or above `INCONSISTENT_POINTS` adds
  `REVIEWER_WEIGHT` (the worst of its reviewers counts).

The draw is weighted sampling without replacement (Efraimidis-Spirakis keys u^(1/w)) from a NumPy
generator seeded by the seed given, or by one derived from the township and period, so that the
same township, period and seed always give the same sample, on any machine.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import PlaqueState, ReviewKind
from hygiene.models import Group, Household, Period, Plaque, ResultRecordHousehold, Review, Township
from hygiene.services.errors import ServiceError
from hygiene.services.rating import rating, records
from hygiene.services.supervision import consistency

DEFAULT_SIZE = 20
MAX_SEED = 999_999_999  # nine digits: typed back on the page as the person read it
FLAG_WEIGHT = 2.0
REVIEWER_WEIGHT = 2.0
INCONSISTENT_POINTS = consistency.INCONSISTENT_POINTS  # a peer reviewer this far from the group review on average


@dataclass(frozen=True)
class Candidate:
    household_code: str
    village_code: str
    weight: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Sample:
    township: Township
    period: Period
    seed: int
    size: int
    population: int  # rated households the sample was drawn from
    drawn: list[Candidate]  # in the order drawn (the heaviest keys first)


def default_seed(township_code: str, period_code: str) -> int:
    """The seed when none is given: fixed by the township and period (not by the clock)."""
    digest = hashlib.sha256(f"sample:{township_code}:{period_code}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (MAX_SEED + 1)


def candidates(session: Session, township: Township, period: Period) -> list[Candidate]:
    """The rated households of the township's posted lists in the period, by code, with their weights."""
    villages = {v.id: v for v in township.villages}
    posted = records.current_records(session, period, list(villages))
    if not posted:
        return []
    reviewer_gap = _reviewer_gaps(session, period, list(villages))
    peers_of: dict[int, list[int]] = defaultdict(list)
    for household_id, reviewer_id in session.execute(
        sa.select(Review.household_id, Review.reviewer_household_id)
        .join(Household, Review.household_id == Household.id)
        .join(Group, Household.group_id == Group.id)
        .where(
            Review.county_id == period.county_id,
            Review.period_id == period.id,
            Review.kind == ReviewKind.PEER,
            Group.village_id.in_(list(villages)),
        )
    ):
        if reviewer_id is not None:
            peers_of[household_id].append(reviewer_id)
    reviewer_codes: dict[int, str] = {
        household_id: code
        for household_id, code in session.execute(
            sa.select(Household.id, Household.code).where(Household.id.in_(list(reviewer_gap)))
        )
    }
    found: list[Candidate] = []
    for village_id, record in posted.items():
        row: ResultRecordHousehold
        for row in record.rows:
            if row.rank is None:
                continue
            reasons = [rating.FLAG_LABELS[flag] for flag in row.flags.split(";") if flag]
            weight = 1.0 + FLAG_WEIGHT * len(reasons)
            worst = max(peers_of.get(row.household_id, []), key=lambda r: reviewer_gap.get(r, 0), default=None)
            if worst is not None and reviewer_gap.get(worst, 0) >= INCONSISTENT_POINTS * 10:
                weight += REVIEWER_WEIGHT
                reasons.append(
                    f"互评人 {reviewer_codes.get(worst, '')} 的互评平均偏离复评 {reviewer_gap[worst] / 10:.1f} 分"
                )
            found.append(Candidate(row.household_code, villages[village_id].code, weight, tuple(reasons)))
    return sorted(found, key=lambda c: c.household_code)


def _reviewer_gaps(session: Session, period: Period, village_ids: Sequence[int]) -> dict[int, int]:
    """Each peer reviewer's mean |peer total − group total| in tenths (rounded down) over the
    households it reviewed that have a group review (``consistency.distances``)."""
    found = consistency.distances(session, period, village_ids)
    return {reviewer: sum(values) // len(values) for reviewer, values in found.items()}


def draw(
    session: Session, township: Township, period: Period, *, size: int = DEFAULT_SIZE, seed: int | None = None
) -> Sample:
    """Propose the spot-check sample: ``size`` households (all of them if fewer are rated)."""
    if size < 1:
        raise ServiceError("抽查户数须为正整数")
    pool = candidates(session, township, period)
    if not pool:
        raise ServiceError(f"{township.name} {period.code} 尚无公示的评定结果，无法抽样")
    chosen_seed = default_seed(township.code, period.code) if seed is None else seed
    return Sample(township, period, chosen_seed, size, len(pool), draw_from(pool, size, chosen_seed))


def draw_from(pool: Sequence[Candidate], size: int, seed: int) -> list[Candidate]:
    """``size`` candidates drawn without replacement, each with probability growing with its weight:
    the ``size`` largest keys u^(1/weight), u uniform from the seeded generator, in pool order."""
    rng = np.random.default_rng(seed)
    keys = rng.random(len(pool)) ** (1.0 / np.array([c.weight for c in pool]))
    return [pool[i] for i in np.argsort(-keys, kind="stable")[:size]]


@dataclass(frozen=True)
class SampledHousehold:
    """What an inspector needs to find a drawn household: its head, group and plaque (issue 30)."""

    head_name: str
    group_name: str
    plaque: str  # "serial（level）" of its valid plaque, or ""


def sampled_households(session: Session, sample: Sample) -> dict[str, SampledHousehold]:
    """The drawn households' heads, groups and valid plaques, by household code."""
    codes = [c.household_code for c in sample.drawn]
    if not codes:
        return {}
    county_id = sample.township.county_id
    plaques = {
        household_id: f"{serial}（{level.label}）"
        for household_id, serial, level in session.execute(
            sa.select(Plaque.household_id, Plaque.serial, Plaque.level).where(
                Plaque.county_id == county_id, Plaque.state == PlaqueState.VALID
            )
        )
    }
    found = session.execute(
        sa.select(Household.id, Household.code, Household.head_name, Group.name)
        .join(Group, Household.group_id == Group.id)
        .where(Household.county_id == county_id, Household.code.in_(codes))
    )
    return {code: SampledHousehold(head, group, plaques.get(hid, "")) for hid, code, head, group in found}
