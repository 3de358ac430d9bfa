"""The invariants of RULES.md live in the database as well as in code: these writes bypass every
service and must still be refused, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from hygiene.enums import AwardLevel, ReviewKind, Role
from hygiene.models import Household, Plaque, Review, User
from tests.hygiene import factories


@pytest.fixture
def fresh_period(db: Session):  # type: ignore[no-untyped-def]
    """A period with no reviews yet, so each test starts clean."""
    from hygiene.models import County
    from hygiene.services.setup import periods

    county = db.scalars(sa.select(County).where(County.code == "520999")).one()
    return periods.open_period(db, county, "2027Q1")


@pytest.fixture
def pair(db: Session) -> tuple[Household, Household]:
    a, b = factories.households_of_group(db, factories.first_group(db))[:2]
    return a, b


def refused(db: Session, action) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(sa.exc.IntegrityError), db.begin_nested():
        action()
        db.flush()


def test_second_self_review_of_a_household_is_refused(db: Session, fresh_period, pair) -> None:  # type: ignore[no-untyped-def]
    factories.review(db, pair[0], fresh_period, ReviewKind.SELF)
    refused(db, lambda: factories.review(db, pair[0], fresh_period, ReviewKind.SELF))


def test_second_group_review_of_a_household_is_refused(db: Session, fresh_period, pair) -> None:  # type: ignore[no-untyped-def]
    factories.review(db, pair[0], fresh_period, ReviewKind.GROUP, team="王组长")
    refused(db, lambda: factories.review(db, pair[0], fresh_period, ReviewKind.GROUP, team="李组长"))


def test_one_peer_review_per_reviewer_but_many_reviewers(db: Session, fresh_period, pair) -> None:  # type: ignore[no-untyped-def]
    a, b = pair
    c = factories.households_of_group(db, factories.first_group(db))[2]
    factories.review(db, a, fresh_period, ReviewKind.PEER, reviewer=b)
    factories.review(db, a, fresh_period, ReviewKind.PEER, reviewer=c)  # a second peer is fine
    refused(db, lambda: factories.review(db, a, fresh_period, ReviewKind.PEER, reviewer=b))


def test_a_household_cannot_peer_review_itself(db: Session, fresh_period, pair) -> None:  # type: ignore[no-untyped-def]
    refused(db, lambda: factories.review(db, pair[0], fresh_period, ReviewKind.PEER, reviewer=pair[0]))


def test_peer_review_needs_a_reviewer_and_self_review_has_none(db: Session, fresh_period, pair) -> None:  # type: ignore[no-untyped-def]
    refused(db, lambda: factories.review(db, pair[0], fresh_period, ReviewKind.PEER))
    refused(db, lambda: factories.review(db, pair[0], fresh_period, ReviewKind.SELF, reviewer=pair[1]))


def test_group_review_records_the_team(db: Session, fresh_period, pair) -> None:  # type: ignore[no-untyped-def]
    refused(db, lambda: factories.review(db, pair[0], fresh_period, ReviewKind.GROUP, team=""))


@pytest.mark.parametrize("score", [-1, 1001])
def test_scores_outside_the_range_are_refused(db: Session, fresh_period, pair, score: int) -> None:  # type: ignore[no-untyped-def]
    refused(db, lambda: factories.review(db, pair[0], fresh_period, ReviewKind.SELF, score=score))


def test_review_kind_outside_the_vocabulary_is_refused_by_the_database(db: Session, fresh_period, pair) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(sa.exc.IntegrityError), db.begin_nested():
        db.execute(
            sa.text(
                "INSERT INTO reviews (county_id, period_id, household_id, kind, c01, c02, c03, c04, c05, c06, c07, c08,"
                " c09, c10, updated_at, version)"
                " VALUES (:c, :p, :h, 'mutual', 0,0,0,0,0,0,0,0,0,0, CURRENT_TIMESTAMP, 1)"
            ),
            {"c": pair[0].county_id, "p": fresh_period.id, "h": pair[0].id},
        )


def test_household_code_is_unique_in_the_county(db: Session, pair) -> None:  # type: ignore[no-untyped-def]
    a = pair[0]
    refused(db, lambda: db.add(Household(county_id=a.county_id, group_id=a.group_id, code=a.code, head_name="重号")))


def test_user_scope_must_match_role(db: Session, pair) -> None:  # type: ignore[no-untyped-def]
    village = factories.village(db)
    refused(
        db,
        lambda: db.add(
            User(
                username="wrongscope",
                display_name="x",
                password_hash="x",
                role=Role.COUNTY_ADMIN,
                village_id=village.id,
            )
        ),
    )


def test_one_valid_plaque_per_household(db: Session, pair) -> None:  # type: ignore[no-untyped-def]
    p = factories.period(db, "2026Q3")
    db.add(
        Plaque(
            county_id=p.county_id,
            serial="520999-2019-000001",
            household_id=pair[0].id,
            level=AwardLevel.CLEAN,
            issued_period_id=p.id,
        )
    )
    db.flush()
    refused(
        db,
        lambda: db.add(
            Plaque(
                county_id=p.county_id,
                serial="520999-2019-000002",
                household_id=pair[0].id,
                level=AwardLevel.CLEANEST,
                issued_period_id=p.id,
            )
        ),
    )


def test_a_revoked_plaque_needs_a_reason(db: Session, pair) -> None:  # type: ignore[no-untyped-def]
    p = factories.period(db, "2026Q3")
    refused(
        db,
        lambda: db.add(
            Plaque(
                county_id=p.county_id,
                serial="520999-2019-000003",
                household_id=pair[0].id,
                level=AwardLevel.CLEAN,
                issued_period_id=p.id,
                state="revoked",
                revoked_period_id=p.id,
            )
        ),
    )


def test_concurrent_edits_of_a_review_lose_nothing_silently(engine: sa.Engine, db: Session) -> None:
    """Two sessions read the same review; the second write fails instead of overwriting the first."""
    review_id = db.scalar(sa.select(Review.id).order_by(Review.id).limit(1))
    first = db.get(Review, review_id)
    assert first is not None
    # A stale copy: same row, version as read before the first write.
    db.execute(
        sa.update(Review).where(Review.id == review_id).values(version=Review.version + 1),
        execution_options={"synchronize_session": False},
    )
    first.c01 = 0
    with pytest.raises(StaleDataError):
        db.flush()
