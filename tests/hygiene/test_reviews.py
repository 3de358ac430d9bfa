"""Entering reviews (RULES.md §3, §5): every rule of a single review, audit, and lost updates."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA, ReviewKind, WorkflowState
from hygiene.models import AuditEntry, Group, Household, Period, Review, User, Village
from hygiene.services.errors import Conflict, PermissionDenied, ServiceError
from hygiene.services.rating import reviews
from tests.hygiene import factories

DRAFT_VILLAGE = "5209990101"  # 2026Q4 draft in the demo
SUBMITTED_VILLAGE = "5209990102"


def user(db: Session, name: str) -> User:
    return db.scalars(sa.select(User).where(User.username == name)).one()


def group_households(db: Session, village_code: str = DRAFT_VILLAGE) -> list[Household]:
    return factories.households_of_group(db, factories.first_group(db, village_code))


def scores(value: int = 90) -> dict[str, int]:
    return dict.fromkeys(CRITERIA, value)


@pytest.fixture
def setting(db: Session) -> tuple[Village, Period, list[Household]]:
    village = factories.village(db, DRAFT_VILLAGE)
    period = factories.period(db, "2026Q4")
    households = group_households(db)
    db.execute(
        sa.delete(Review).where(Review.period_id == period.id, Review.household_id.in_([h.id for h in households]))
    )
    return village, period, households


def review_trail(db: Session, review: Review | int) -> list[AuditEntry]:
    """The audit entries of one review, recorded on its household's history."""
    review_id = review if isinstance(review, int) else review.id
    entries = db.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.entity == "household", AuditEntry.action.like("review_%"))
        .order_by(AuditEntry.id)
    )
    return [e for e in entries if (e.after or e.before or {}).get("review_id") == review_id]


def save(
    db: Session, setting, entry: reviews.ReviewInput, *, version: int = 0, household: int = 0, actor: str = "village"
) -> Review:  # type: ignore[no-untyped-def]
    village, period, households = setting
    return reviews.save_review(
        db, user(db, actor), village, period, households[household], entry, expected_version=version
    )


def test_a_self_review_is_saved_in_tenths_and_audited(db: Session, setting) -> None:  # type: ignore[no-untyped-def]
    review = save(db, setting, reviews.ReviewInput(ReviewKind.SELF, scores(95)))
    assert review.total_tenths() == 950
    [entry] = review_trail(db, review)
    assert entry.action == "review_create" and entry.before is None and entry.after["c01"] == 95
    assert entry.entity_id == str(review.household_id) and entry.after["period"] == "2026Q4"
    assert entry.actor == "village"


def test_changing_a_review_records_before_and_after(db: Session, setting) -> None:  # type: ignore[no-untyped-def]
    review = save(db, setting, reviews.ReviewInput(ReviewKind.GROUP, scores(80), team_members="王组长"))
    save(db, setting, reviews.ReviewInput(ReviewKind.GROUP, scores(85), team_members="王组长"), version=review.version)
    entries = review_trail(db, review)
    assert [e.action for e in entries] == ["review_create", "review_update"]
    assert entries[1].before["c05"] == 80 and entries[1].after["c05"] == 85


def test_saving_the_same_scores_again_changes_nothing(db: Session, setting) -> None:  # type: ignore[no-untyped-def]
    review = save(db, setting, reviews.ReviewInput(ReviewKind.SELF, scores(70)))
    version = review.version
    save(db, setting, reviews.ReviewInput(ReviewKind.SELF, scores(70)), version=version)
    assert review.version == version
    assert len(review_trail(db, review)) == 1


def test_a_stale_form_is_refused(db: Session, setting) -> None:  # type: ignore[no-untyped-def]
    review = save(db, setting, reviews.ReviewInput(ReviewKind.SELF, scores(70)))
    save(db, setting, reviews.ReviewInput(ReviewKind.SELF, scores(75)), version=review.version)
    with pytest.raises(Conflict, match="已被他人修改"):
        save(db, setting, reviews.ReviewInput(ReviewKind.SELF, scores(60)), version=1)
    assert review.c01 == 75


def test_a_second_new_self_review_is_a_conflict_not_a_duplicate(db: Session, setting) -> None:  # type: ignore[no-untyped-def]
    save(db, setting, reviews.ReviewInput(ReviewKind.SELF, scores(70)))
    with pytest.raises(Conflict):
        save(db, setting, reviews.ReviewInput(ReviewKind.SELF, scores(60)), version=0)


@pytest.mark.parametrize(
    ("value", "message"), [(101, "分数超出0–10范围"), (-5, "分数超出0–10范围"), (None, "分数为空")]
)
def test_scores_outside_the_rubric_are_refused_per_field(db: Session, setting, value: int, message: str) -> None:  # type: ignore[no-untyped-def]
    entry = reviews.ReviewInput(ReviewKind.SELF, scores(90) | {"c03": value})
    with pytest.raises(reviews.ReviewRejected) as rejected:
        save(db, setting, entry)
    assert rejected.value.errors == {"c03": message}


def test_peer_reviewer_must_be_another_household_of_the_same_group(db: Session, setting) -> None:  # type: ignore[no-untyped-def]
    _, _, households = setting
    other_village = group_households(db, "5209990201")[0]
    cases = {
        households[0].code: "农户不能评议自己",
        other_village.code: "农户表中无此评议人户号",  # other villages' codes are unknown here: no probing
        "": "互评须填写评议人户号",
    }
    for code, message in cases.items():
        with pytest.raises(reviews.ReviewRejected) as rejected:
            save(db, setting, reviews.ReviewInput(ReviewKind.PEER, scores(), reviewer_code=code))
        assert rejected.value.errors == {"reviewer": message}
    first = save(db, setting, reviews.ReviewInput(ReviewKind.PEER, scores(), reviewer_code=households[1].code))
    second = save(db, setting, reviews.ReviewInput(ReviewKind.PEER, scores(), reviewer_code=households[2].code))
    assert first.id != second.id


def test_choosing_another_reviewer_in_a_peer_review_moves_it(db: Session, setting) -> None:  # type: ignore[no-untyped-def]
    _, _, households = setting
    a, b, c = (h.code for h in households[1:4])
    first = save(db, setting, reviews.ReviewInput(ReviewKind.PEER, scores(80), reviewer_code=a))
    moved = save(
        db,
        setting,
        reviews.ReviewInput(ReviewKind.PEER, scores(70), reviewer_code=b, edited_reviewer_code=a),
        version=first.version,
    )
    assert moved.id == first.id and moved.reviewer_household_id == households[2].id and moved.c01 == 70
    [_, change] = review_trail(db, moved)
    assert change.before["reviewer_household_id"] == households[1].id
    assert change.after["reviewer_household_id"] == households[2].id

    save(db, setting, reviews.ReviewInput(ReviewKind.PEER, scores(60), reviewer_code=c))
    with pytest.raises(reviews.ReviewRejected) as rejected:  # c has reviewed already: not merged, not lost
        save(
            db,
            setting,
            reviews.ReviewInput(ReviewKind.PEER, scores(50), reviewer_code=c, edited_reviewer_code=b),
            version=moved.version,
        )
    assert rejected.value.errors == {"reviewer": f"评议户 {c} 已互评过本户，请修改那一条"}


def test_a_group_review_names_the_review_team(db: Session, setting) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(reviews.ReviewRejected) as rejected:
        save(db, setting, reviews.ReviewInput(ReviewKind.GROUP, scores(), team_members="  "))
    assert rejected.value.errors == {"team_members": "请填写评比检查小组成员"}


def test_only_the_village_clerk_enters_reviews(db: Session, setting) -> None:  # type: ignore[no-untyped-def]
    for name in ("village2", "township", "county"):
        with pytest.raises(PermissionDenied):
            save(db, setting, reviews.ReviewInput(ReviewKind.SELF, scores()), actor=name)


def test_a_submitted_period_is_not_editable(db: Session) -> None:
    village = factories.village(db, SUBMITTED_VILLAGE)
    period = factories.period(db, "2026Q4")
    household = group_households(db, SUBMITTED_VILLAGE)[0]
    clerk = user(db, "village")
    clerk.village_id = village.id  # the clerk of that village
    with pytest.raises(ServiceError, match="评议不能再修改"):
        reviews.save_review(
            db, clerk, village, period, household, reviews.ReviewInput(ReviewKind.SELF, scores()), expected_version=0
        )


def test_deleting_a_review_is_audited_with_the_reason(db: Session, setting) -> None:  # type: ignore[no-untyped-def]
    village, period, households = setting
    review = save(db, setting, reviews.ReviewInput(ReviewKind.PEER, scores(), reviewer_code=households[1].code))
    review_id = review.id
    reviews.delete_review(
        db, user(db, "village"), village, period, review, expected_version=review.version, reason="评议户填错"
    )
    assert db.get(Review, review_id) is None
    entry = review_trail(db, review_id)[-1]
    assert entry.action == "review_delete" and entry.reason == "评议户填错" and entry.before["c01"] == 90


def test_the_board_shows_what_each_household_lacks_and_engine_results(db: Session, setting) -> None:  # type: ignore[no-untyped-def]
    village, period, households = setting
    save(db, setting, reviews.ReviewInput(ReviewKind.GROUP, scores(95), team_members="王组长"))
    board = {row.household.code: row for row in reviews.review_board(db, village, period).rows}
    rated = board[households[0].code]
    assert rated.missing == [ReviewKind.SELF, ReviewKind.PEER]
    assert rated.result["final_total"] is not None and str(rated.result["final_total"]) == "95.0"
    assert rated.result["grade"] == "cleanest" and "no_self" in str(rated.result["flags"])
    assert board[households[1].code].missing == [ReviewKind.SELF, ReviewKind.PEER, ReviewKind.GROUP]
    assert board[households[1].code].result["grade"] is None


def test_a_new_period_is_opened_as_draft_on_first_entry(db: Session) -> None:
    from hygiene.services.setup import periods as period_service

    village = factories.village(db, DRAFT_VILLAGE)
    county = village.township.county
    period = period_service.open_period(db, county, "2027Q1")
    review = reviews.save_review(
        db,
        user(db, "village"),
        village,
        period,
        group_households(db)[0],
        reviews.ReviewInput(ReviewKind.SELF, scores()),
        expected_version=0,
    )
    assert review.id is not None
    assert period_service.village_period(db, village, period).state is WorkflowState.DRAFT
    assert db.scalar(sa.select(Group.id).where(Group.village_id == village.id)) is not None


def test_every_state_past_the_clerks_hands_says_why_and_what_to_do() -> None:
    from hygiene.enums import EDITABLE_STATES, WorkflowState

    assert set(reviews.LOCKED_REASONS) == set(WorkflowState) - set(EDITABLE_STATES)
    assert all("不能再修改" in reason for reason in reviews.LOCKED_REASONS.values())
