"""The engine fed from the database (hygiene.services.rating.rating) and the public list read from the record."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA, ReviewKind, WorkflowState
from hygiene.models import AwardQuota, Group, Household, Review, Village
from hygiene.services.errors import NotFound
from hygiene.services.rating import rating, results
from tests.hygiene import factories


def village_households(db: Session, code: str = "5209990101") -> list[Household]:
    return list(
        db.scalars(sa.select(Household).join(Group).join(Village).where(Village.code == code).order_by(Household.code))
    )


def test_engine_inputs_hold_every_registered_household_and_review(db: Session) -> None:
    village = factories.village(db)
    period = factories.period(db, "2026Q3")
    inputs = rating.engine_inputs(db, period, [village.id])
    assert sorted(inputs.households["household_code"]) == [h.code for h in village_households(db)]
    expected_reviews = db.scalar(
        sa.select(sa.func.count(Review.id))
        .join(Household, Review.household_id == Household.id)
        .join(Group)
        .where(Group.village_id == village.id, Review.period_id == period.id)
    )
    assert len(inputs.reviews) == expected_reviews
    peers = inputs.reviews[inputs.reviews["kind"] == "peer"]
    assert peers["reviewer"].str.fullmatch(r"\d{15}").all()  # the reviewing household's code
    groups = inputs.reviews[inputs.reviews["kind"] == "group"]
    assert groups["reviewer"].str.contains("组长").all()  # the review team's names
    # integer tenths straight from the database, no text round trip
    assert all(inputs.reviews[c].dtype == "int64" for c in CRITERIA)
    assert set(inputs.reviews[list(CRITERIA)].stack()) <= set(range(0, 101))


def test_a_household_that_moved_away_before_the_period_is_not_counted(db: Session) -> None:
    village = factories.village(db)
    period = factories.period(db, "2026Q4")
    leaver = village_households(db)[0]
    # a household that left before the quarter has no reviews in it, given or received
    db.execute(
        sa.delete(Review).where(
            Review.period_id == period.id,
            sa.or_(Review.household_id == leaver.id, Review.reviewer_household_id == leaver.id),
        )
    )
    _, before = rating.result_frames(db, period, [village.id])
    leaver.moved_away_on = period.starts_on - dt.timedelta(days=1)
    db.flush()
    households, after = rating.result_frames(db, period, [village.id])
    assert int(after["households"].iloc[0]) == int(before["households"].iloc[0]) - 1
    assert leaver.code not in set(households["household_code"])


def test_a_household_that_moves_away_during_the_period_still_counts(db: Session) -> None:
    village = factories.village(db)
    period = factories.period(db, "2026Q4")
    leaver = village_households(db)[0]
    leaver.moved_away_on = period.starts_on + dt.timedelta(days=10)
    db.flush()
    households, _ = rating.result_frames(db, period, [village.id])
    assert leaver.code in set(households["household_code"])


def test_the_periods_settings_reach_the_engine(db: Session) -> None:
    village = factories.village(db)  # 2026Q4 draft: computed live
    period = factories.period(db, "2026Q4")
    db.execute(sa.delete(AwardQuota))  # blank quotas default to the floors
    _, default = rating.result_frames(db, period, [village.id])
    period.cleanest_floor_percent = 30
    db.flush()
    _, stricter = rating.result_frames(db, period, [village.id])
    h = int(default["households"].iloc[0])
    assert int(default["cleanest_floor"].iloc[0]) == -(-h * 10 // 100)
    assert int(stricter["cleanest_floor"].iloc[0]) == -(-h * 30 // 100)


def test_changing_the_countys_settings_never_reaches_an_open_period(db: Session) -> None:
    village = factories.village(db)
    period = factories.period(db, "2026Q4")
    db.execute(sa.delete(AwardQuota))
    _, before = rating.result_frames(db, period, [village.id])
    county = village.township.county
    county.cleanest_floor_percent, county.clean_floor_percent, county.min_peers = 40, 50, 5
    db.flush()
    _, after = rating.result_frames(db, period, [village.id])
    assert after.equals(before)


def test_public_list_is_ranked_masked_and_final_only_red_black(db: Session) -> None:
    village = factories.village(db)
    posted = results.public_list(db, village, "2026Q3")
    assert posted.state is WorkflowState.FINAL
    assert [r.rank for r in posted.rows] == list(range(1, len(posted.rows) + 1))
    names = {h.code: h.head_name for h in village_households(db)}
    for row in posted.rows:
        assert row.masked_name == names[row.household_code][0] + "**"  # RULES.md §6, whatever the length
    assert posted.red_list == posted.rows[:3]
    assert posted.black_list == posted.rows[-3:][::-1]


def test_a_published_list_shows_no_red_black_list_until_final(db: Session) -> None:
    published = db.scalars(sa.select(Village).where(Village.code == "5209990104")).one()  # 2026Q4 published
    posted = results.public_list(db, published, "2026Q4")
    assert posted.state is WorkflowState.PUBLISHED and posted.rows and not posted.red_list


@pytest.mark.parametrize("village_code", ["5209990101", "5209990102", "5209990103"])  # draft, submitted, approved
def test_an_unpublished_period_is_not_public(db: Session, village_code: str) -> None:
    village = db.scalars(sa.select(Village).where(Village.code == village_code)).one()
    with pytest.raises(NotFound, match="尚未公示"):
        results.public_list(db, village, "2026Q4")


def test_a_household_without_group_review_is_left_off_the_public_list(db: Session) -> None:
    village = factories.village(db)
    period = factories.period(db, "2026Q3")
    reviewed = set(
        db.scalars(
            sa.select(Household.code)
            .join(Review, Review.household_id == Household.id)
            .join(Group)
            .where(Group.village_id == village.id, Review.period_id == period.id, Review.kind == ReviewKind.GROUP)
        )
    )
    posted = results.public_list(db, village, "2026Q3")
    assert {r.household_code for r in posted.rows} == reviewed
    assert len(posted.rows) == posted.record.rated
