"""The spot-check sample (issue 19): reproducible, weighted towards flagged households and towards
households reviewed by an inconsistent peer reviewer, by a stated margin over many draws."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA, ReviewKind
from hygiene.models import Group, Household, Review
from hygiene.services.errors import ServiceError
from hygiene.services.setup import counties, periods, units
from hygiene.services.supervision import sampling

DRAWS = 400
SIZE = 20


def township_period(db: Session, period_code: str = "2026Q3"):  # type: ignore[no-untyped-def]
    township = units.get_township(db, "52099901")
    return township, periods.get_period(db, township.county_id, period_code)


def inclusion(pool: list[sampling.Candidate], chosen: set[str]) -> float:
    """The mean share of draws that included a household of ``chosen``."""
    counts = dict.fromkeys(chosen, 0)
    for seed in range(DRAWS):
        for candidate in sampling.draw_from(pool, SIZE, seed):
            if candidate.household_code in counts:
                counts[candidate.household_code] += 1
    return sum(counts.values()) / (len(counts) * DRAWS)


def test_the_same_seed_draws_the_same_sample_and_the_default_seed_is_fixed(db: Session) -> None:
    township, period = township_period(db)
    first = sampling.draw(db, township, period, size=SIZE, seed=7)
    assert [c.household_code for c in sampling.draw(db, township, period, size=SIZE, seed=7).drawn] == [
        c.household_code for c in first.drawn
    ]
    assert len(first.drawn) == SIZE == len({c.household_code for c in first.drawn})
    assert [c.household_code for c in sampling.draw(db, township, period, size=SIZE, seed=8).drawn] != [
        c.household_code for c in first.drawn
    ]
    default = sampling.draw(db, township, period, size=SIZE)
    assert default.seed == sampling.default_seed("52099901", "2026Q3")
    assert [c.household_code for c in default.drawn] == [
        c.household_code for c in sampling.draw(db, township, period, size=SIZE).drawn
    ]
    everyone = sampling.draw(db, township, period, size=10_000)
    assert len(everyone.drawn) == everyone.population == len(sampling.candidates(db, township, period))


def test_flagged_households_are_drawn_at_least_twice_as_often(db: Session) -> None:
    township, period = township_period(db)
    pool = sampling.candidates(db, township, period)
    flagged = {c.household_code for c in pool if c.reasons}
    plain = {c.household_code for c in pool if not c.reasons}
    assert flagged and plain
    assert all(c.weight > 1 for c in pool if c.reasons)
    assert inclusion(pool, flagged) >= 2 * inclusion(pool, plain)


def test_households_reviewed_by_an_inconsistent_peer_reviewer_weigh_more_and_say_why(db: Session) -> None:
    """A reviewer who gives 100 to every household it reviews, where the group review found less."""
    township, period = township_period(db)
    before = {c.household_code: c for c in sampling.candidates(db, township, period)}
    peer_reviews = list(
        db.scalars(
            sa.select(Review)
            .join(Household, Review.household_id == Household.id)
            .join(Group, Household.group_id == Group.id)
            .where(Review.period_id == period.id, Review.kind == ReviewKind.PEER, Household.code.like("5209990101%"))
        )
    )
    group_total = {
        r.household_id: r.total_tenths()
        for r in db.scalars(sa.select(Review).where(Review.period_id == period.id, Review.kind == ReviewKind.GROUP))
    }
    generous = next(r.reviewer_household_id for r in peer_reviews if group_total.get(r.household_id, 1000) <= 850)
    assert generous is not None
    reviewed = [r for r in peer_reviews if r.reviewer_household_id == generous]
    for r in reviewed:
        for criterion in CRITERIA:
            setattr(r, criterion, 100)
    db.flush()
    reviewer_code = db.get(Household, generous).code  # type: ignore[union-attr]
    after = {c.household_code: c for c in sampling.candidates(db, township, period)}
    marked = {code for code, c in after.items() if any(reviewer_code in reason for reason in c.reasons)}
    reviewed_codes = {db.get(Household, r.household_id).code for r in reviewed}  # type: ignore[union-attr]
    assert marked and marked <= reviewed_codes
    for code in marked:
        assert after[code].weight == before[code].weight + sampling.REVIEWER_WEIGHT
        assert any("的互评平均偏离复评" in reason for reason in after[code].reasons)
    pool = list(after.values())
    unmarked_plain = {c.household_code for c in pool if not c.reasons}
    assert inclusion(pool, marked) >= 2 * inclusion(pool, unmarked_plain)


def test_a_sample_needs_a_size_and_posted_results(db: Session) -> None:
    township, period = township_period(db)
    with pytest.raises(ServiceError, match="抽查户数须为正整数"):
        sampling.draw(db, township, period, size=0)
    county = units.get_county(db, "520999")
    counties.open_period(db, None, county, "2027Q1")
    with pytest.raises(ServiceError, match="2027Q1 尚无公示的评定结果，无法抽样"):
        sampling.draw(db, township, periods.get_period(db, county.id, "2027Q1"))
