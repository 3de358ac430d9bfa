"""A village period's workflow (RULES.md §5), quotas (§4) and assessment (§9): who may move it,
from where, the audit trail, and lost updates."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import ObjectionState, ReviewKind, WorkflowState
from hygiene.models import AuditEntry, AwardQuota, Household, Objection, Review, User, VillagePeriod
from hygiene.services.errors import Conflict, PermissionDenied, ServiceError
from hygiene.services.rating import boards, quotas, rating, records, workflow
from hygiene.services.setup import periods
from tests.hygiene import factories

DRAFT, SUBMITTED, APPROVED, PUBLISHED = "5209990101", "5209990102", "5209990103", "5209990104"
RETURNED_OTHER_TOWNSHIP = "5209990201"
AFTER_POSTING = dt.datetime(2026, 12, 31, tzinfo=dt.UTC)


def user(db: Session, name: str) -> User:
    return db.scalars(sa.select(User).where(User.username == name)).one()


def vp(db: Session, village_code: str, period_code: str = "2026Q4") -> VillagePeriod:
    found = periods.village_period(db, factories.village(db, village_code), factories.period(db, period_code))
    assert found is not None
    return found


def moves(db: Session, village_period: VillagePeriod) -> list[AuditEntry]:
    return list(
        db.scalars(
            sa.select(AuditEntry)
            .where(
                AuditEntry.entity == "village_period",
                AuditEntry.entity_id == str(village_period.id),
                AuditEntry.action.not_in(("demo_seed", "record_post")),  # moves only
            )
            .order_by(AuditEntry.id)
        )
    )


def test_the_whole_way_from_draft_to_final_is_audited(db: Session) -> None:
    period = vp(db, DRAFT)
    clerk, reviewer = user(db, "village"), user(db, "township")
    workflow.submit(db, clerk, period, period.version, override_reason="已核对")
    workflow.return_for_changes(db, reviewer, period, period.version, "第二组自评缺失")
    assert period.state is WorkflowState.RETURNED and period.return_reason == "第二组自评缺失"
    workflow.submit(db, clerk, period, period.version, override_reason="已核对")
    workflow.approve(db, reviewer, period, period.version, override_reason="已核对")
    workflow.unapprove(db, reviewer, period, period.version, "名额需调整")
    assert period.state is WorkflowState.SUBMITTED and period.approved_at is None
    workflow.approve(db, reviewer, period, period.version, override_reason="已核对")
    now = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
    workflow.publish(db, reviewer, period, period.version, now=now, override_reason="已核对")
    assert period.posting_ends_at == now + dt.timedelta(days=7)
    assert period.return_reason is None
    assert records.current_record(db, period) is not None  # the posted results are stored
    assert period in finalized(db, now + dt.timedelta(days=7))
    assert period.state is WorkflowState.FINAL
    trail = moves(db, period)
    assert [e.action for e in trail] == [
        "submit",
        "return",
        "submit",
        "approve",
        "unapprove",
        "approve",
        "publish",
        "finalize",
    ]
    assert [e.actor for e in trail][-2:] == ["township", "system"]
    assert trail[1].before["state"] == "submitted" and trail[1].after["state"] == "returned"
    assert trail[1].reason == "第二组自评缺失"


@pytest.mark.parametrize(
    ("village_code", "move", "message"),
    [
        (DRAFT, "approve", "填报中，不能审核通过"),
        (SUBMITTED, "publish", "已提交，不能公示"),
        (PUBLISHED, "return", "公示中，不能退回"),
        (PUBLISHED, "unapprove", "公示中，不能撤销审核"),
        (APPROVED, "approve", "已审核，不能审核通过"),
    ],
)
def test_a_move_from_the_wrong_state_is_refused(db: Session, village_code: str, move: str, message: str) -> None:
    period = vp(db, village_code)
    version = period.version
    reviewer = user(db, "township")
    with pytest.raises(ServiceError) as caught:
        if move == "return":
            workflow.return_for_changes(db, reviewer, period, version, "原因")
        elif move == "unapprove":
            workflow.unapprove(db, reviewer, period, version, "原因")
        else:
            getattr(workflow, move)(db, reviewer, period, version)
    assert message in str(caught.value)
    assert period.version == version and moves(db, period) == []


def test_a_submitted_period_cannot_be_submitted_again(db: Session) -> None:
    period = vp(db, DRAFT)
    workflow.submit(db, user(db, "village"), period, period.version, override_reason="已核对")
    with pytest.raises(ServiceError, match="已提交，不能提交审核"):
        workflow.submit(db, user(db, "village"), period, period.version, override_reason="已核对")


def test_only_the_own_clerk_submits_and_only_the_own_reviewer_approves(db: Session) -> None:
    draft, submitted = vp(db, DRAFT), vp(db, SUBMITTED)
    for name in ("township", "county", "inspector", "village2"):
        with pytest.raises(PermissionDenied):
            workflow.submit(db, user(db, name), draft, draft.version)
    for name in ("village", "township2", "county", "inspector"):
        with pytest.raises(PermissionDenied):
            workflow.approve(db, user(db, name), submitted, submitted.version)
    assert draft.state is WorkflowState.DRAFT and submitted.state is WorkflowState.SUBMITTED


def test_a_village_without_any_group_review_cannot_be_submitted(db: Session) -> None:
    period = vp(db, DRAFT)
    db.execute(
        sa.delete(Review).where(
            Review.period_id == period.period_id,
            Review.kind == ReviewKind.GROUP,
            Review.household_id.in_(
                sa.select(Household.id)
                .join(Household.group)
                .where(sa.text("groups.village_id = :v"))
                .params(v=period.village_id)
            ),
        )
    )
    with pytest.raises(ServiceError, match="还没有任何复评"):
        workflow.submit(db, user(db, "village"), period, period.version)


def test_a_return_needs_a_reason(db: Session) -> None:
    period = vp(db, SUBMITTED)
    with pytest.raises(ServiceError, match="退回必须填写原因"):
        workflow.return_for_changes(db, user(db, "township"), period, period.version, "   ")
    assert period.state is WorkflowState.SUBMITTED


def test_the_second_of_two_approvals_from_the_same_page_gets_changed_by_someone_else(db: Session) -> None:
    period = vp(db, SUBMITTED)
    seen = period.version
    workflow.approve(db, user(db, "township"), period, seen, override_reason="已核对")
    with pytest.raises(Conflict, match="已被他人修改"):
        workflow.approve(db, user(db, "township"), period, seen, override_reason="已核对")
    with pytest.raises(Conflict):
        workflow.return_for_changes(db, user(db, "township"), period, seen, "迟到的退回")
    assert period.state is WorkflowState.APPROVED
    assert [e.action for e in moves(db, period)] == ["approve"]


def test_posting_with_a_pending_objection_does_not_become_final(db: Session) -> None:
    period = vp(db, PUBLISHED)
    household = db.scalars(
        sa.select(Household).join(Household.group).where(sa.text("groups.village_id = :v")).params(v=period.village_id)
    ).first()
    objection = Objection(
        county_id=period.county_id, village_period_id=period.id, household_id=household.id, reason="分数偏高"
    )
    db.add(objection)
    db.flush()
    assert period not in finalized(db, AFTER_POSTING)
    assert period.state is WorkflowState.PUBLISHED
    objection.state, objection.reply, objection.resolved_at = ObjectionState.DISMISSED, "经核实无误", AFTER_POSTING
    db.flush()
    assert period in finalized(db, AFTER_POSTING)


def test_finalizing_is_idempotent_and_waits_for_the_posting_to_end(db: Session) -> None:
    period = vp(db, PUBLISHED)
    assert period.posting_ends_at is not None
    assert period not in finalized(db, period.posting_ends_at - dt.timedelta(seconds=1))
    assert period in finalized(db, AFTER_POSTING)
    assert finalized(db, AFTER_POSTING) == []
    assert [e.action for e in moves(db, period)] == ["finalize"]


def test_quotas_below_the_floor_are_refused_naming_the_floor(db: Session) -> None:
    period = vp(db, DRAFT)
    cleanest_floor, clean_floor = rating.floors(db, period.village, period.period)
    households = rating.registered_households(db, period.village, period.period)
    assert cleanest_floor == -(-households // 10) and clean_floor == -(-households * 2 // 10)
    with pytest.raises(ServiceError) as caught:
        quotas.set_quotas(
            db,
            user(db, "township"),
            period,
            cleanest_quota=cleanest_floor - 1,
            clean_quota=clean_floor - 1,
            expected_version=0,
        )
    assert f"低于下限 {cleanest_floor}" in str(caught.value) and f"低于下限 {clean_floor}" in str(caught.value)
    assert db.scalar(sa.select(AwardQuota).where(AwardQuota.village_period_id == period.id)) is None


def test_quotas_are_saved_audited_and_guarded_against_lost_updates(db: Session) -> None:
    period = vp(db, SUBMITTED)
    cleanest_floor, clean_floor = rating.floors(db, period.village, period.period)
    db.execute(sa.delete(AwardQuota).where(AwardQuota.village_period_id == period.id))
    reviewer = user(db, "township")
    quota = quotas.set_quotas(
        db, reviewer, period, cleanest_quota=cleanest_floor + 2, clean_quota=clean_floor, expected_version=0
    )
    with pytest.raises(Conflict):
        quotas.set_quotas(
            db, reviewer, period, cleanest_quota=cleanest_floor, clean_quota=clean_floor, expected_version=0
        )
    quotas.set_quotas(
        db,
        reviewer,
        period,
        cleanest_quota=cleanest_floor + 1,
        clean_quota=clean_floor + 1,
        expected_version=quota.version,
    )
    trail = db.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.entity == "award_quota", AuditEntry.entity_id == str(period.id))
        .order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in trail] == ["create", "update"]
    assert trail[1].before == {"cleanest_quota": cleanest_floor + 2, "clean_quota": clean_floor}
    assert trail[1].after["floors"] == [cleanest_floor, clean_floor]


def test_quotas_cannot_change_once_approved(db: Session) -> None:
    period = vp(db, APPROVED)
    with pytest.raises(ServiceError, match="名额已不能修改"):
        quotas.set_quotas(db, user(db, "township"), period, cleanest_quota=99, clean_quota=99, expected_version=0)


def test_the_assessment_is_bounded_per_area_and_passes_at_80(db: Session) -> None:
    period = vp(db, SUBMITTED)
    reviewer = user(db, "township")
    areas = {"hygiene_management": 250, "public_places": 200, "courtyards_indoors": 200, "personal_hygiene": 151}
    with pytest.raises(ServiceError, match="卫生管理应在0–25分之间"):
        quotas.set_assessment(db, reviewer, period, areas | {"hygiene_management": 251}, notes=None, expected_version=0)
    existing = db.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.entity == "village_assessment", AuditEntry.entity_id == str(period.id))
    )
    assessment = quotas.set_assessment(
        db, reviewer, period, areas, notes=" 厕所改造到位 ", expected_version=_assessment_version(db, period)
    )
    assert assessment.total_tenths() == 801 and assessment.notes == "厕所改造到位"
    row = next(
        r
        for r in boards.township_board(db, period.village.township, period.period)
        if r.village.id == period.village_id
    )
    assert row.assessment_passed is True
    assert (
        db.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.entity == "village_assessment", AuditEntry.entity_id == str(period.id))
        )
        == existing + 1
    )
    with pytest.raises(PermissionDenied):
        quotas.set_assessment(db, user(db, "township2"), period, areas, notes=None, expected_version=assessment.version)


def test_the_points_per_assessment_area_are_the_periods_setting(db: Session) -> None:
    period = vp(db, SUBMITTED)
    period.period.assessment_area_max_tenths = 300  # a county that scores 30 points an area (RULES.md §9)
    period.village.township.county.assessment_area_max_tenths = 200  # changed since: not for this period
    db.flush()
    areas = {"hygiene_management": 300, "public_places": 300, "courtyards_indoors": 100, "personal_hygiene": 100}
    with pytest.raises(ServiceError, match="公共场所应在0–30分之间"):
        quotas.set_assessment(
            db, user(db, "township"), period, areas | {"public_places": 301}, notes=None, expected_version=0
        )
    assessment = quotas.set_assessment(
        db, user(db, "township"), period, areas, notes=None, expected_version=_assessment_version(db, period)
    )
    assert assessment.total_tenths() == 800


def test_the_database_refuses_a_county_without_points_per_area(db: Session) -> None:
    county = vp(db, SUBMITTED).village.township.county
    county.assessment_area_max_tenths = 0
    with pytest.raises(sa.exc.IntegrityError):
        db.flush()
    db.rollback()


def finalized(db: Session, now: dt.datetime) -> list[VillagePeriod]:
    done, failed = workflow.finalize_due(db, now=now)
    assert failed == []
    return [f.village_period for f in done]


def _assessment_version(db: Session, period: VillagePeriod) -> int:
    from hygiene.models import VillageAssessment

    found = db.scalar(sa.select(VillageAssessment).where(VillageAssessment.village_period_id == period.id))
    return found.version if found else 0


def test_the_township_board_agrees_with_the_engine(db: Session) -> None:
    period = vp(db, SUBMITTED)
    rows = boards.township_board(db, period.village.township, period.period)
    assert [r.village.code for r in rows] == sorted(r.village.code for r in rows)
    row = next(r for r in rows if r.village.code == SUBMITTED)
    review = boards.village_review(db, period)
    assert row.result["households"] == len(review.households)
    assert row.result["cleanest_floor"] == review.floors[0]
    awarded = sum(1 for h in review.households if h["award"] == "cleanest")
    assert row.result["cleanest_awarded"] == awarded
    ranks = [h["rank"] for h in review.households if h["rank"] is not None]
    assert ranks == sorted(ranks) and ranks[0] == 1


def test_problems_first_puts_flagged_and_unrated_households_on_top(db: Session) -> None:
    review = boards.village_review(db, vp(db, SUBMITTED), problems_first=True)
    needs_look = [h["rank"] is None or bool(h["flags"]) for h in review.households]
    assert any(needs_look) and not all(needs_look)
    assert needs_look == sorted(needs_look, reverse=True)


def test_shortfalls_count_what_the_households_rows_say(db: Session) -> None:
    """``Shortfalls.from_results`` reads whole columns (issue 34): its counts are those of the rows
    one by one (a flag counts on a rated household only), for every village of the demo."""
    for village_period in db.scalars(sa.select(VillagePeriod).order_by(VillagePeriod.id)):
        households, villages = rating.result_frames(db, village_period.period, [village_period.village_id])
        rows = [rating.plain(r) for r in households.to_dict("records")]
        [village] = [rating.plain(r) for r in villages.to_dict("records")] or [{}]
        assert rating.Shortfalls.from_results(households, villages) == rating.Shortfalls(
            households=len(rows),
            unrated=sum(1 for r in rows if r["grade"] is None),
            flagged=sum(1 for r in rows if r["grade"] is not None and r["flags"]),
            cleanest_short=int(village.get("cleanest_shortfall") or 0),
            clean_short=int(village.get("clean_shortfall") or 0),
        )


def test_a_move_with_shortfalls_states_them_and_goes_ahead_only_with_a_reason(db: Session) -> None:
    submitted = vp(db, SUBMITTED)
    found = workflow.shortfalls(db, submitted)
    household_results, _ = rating.result_frames(db, submitted.period, [submitted.village_id])
    assert found.households == len(household_results) and found.unrated == household_results["grade"].isna().sum()
    assert boards.village_review(db, submitted).shortfalls == found  # the page reads the same, engine run once
    flagged = f"{found.flagged} 户有提示（自评、互评与复评相差较大，或互评户数不足等），请核对"
    assert found.flagged > 0 and found.lines() == [flagged]
    with pytest.raises(workflow.GuardRequired) as refused:
        workflow.approve(db, user(db, "township"), submitted, submitted.version, override_reason="  ")
    assert refused.value.lines == found.lines() and "暂不能审核通过" in str(refused.value)
    assert submitted.state is WorkflowState.SUBMITTED
    assert "approve" not in [m.action for m in moves(db, submitted)]
    workflow.approve(db, user(db, "township"), submitted, submitted.version, override_reason="已逐户核对")
    assert submitted.state is WorkflowState.APPROVED
    assert [(m.action, m.reason) for m in moves(db, submitted)][-1] == (
        "approve",
        f"有缺项仍审核通过：已逐户核对（{flagged}）",
    )


def test_a_move_without_shortfalls_needs_no_reason(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    submitted = vp(db, SUBMITTED)
    none = rating.Shortfalls(60, 0, 0, 0, 0)
    monkeypatch.setattr(rating.Shortfalls, "from_results", classmethod(lambda cls, households, villages: none))
    workflow.approve(db, user(db, "township"), submitted, submitted.version)
    assert submitted.state is WorkflowState.APPROVED
    assert [(m.action, m.reason) for m in moves(db, submitted)][-1] == ("approve", None)


def test_a_draft_missing_group_reviews_is_counted_household_by_household(db: Session) -> None:
    draft = vp(db, DRAFT)
    found = workflow.shortfalls(db, draft)
    village_households = db.scalar(
        sa.select(sa.func.count(Household.id)).where(Household.group_id.in_([g.id for g in draft.village.groups]))
    )
    with_group_review = db.scalar(
        sa.select(sa.func.count(sa.distinct(Review.household_id))).where(
            Review.period_id == draft.period_id,
            Review.kind == ReviewKind.GROUP,
            Review.household_id.in_(
                sa.select(Household.id).where(Household.group_id.in_([g.id for g in draft.village.groups]))
            ),
        )
    )
    assert (found.households, found.unrated) == (village_households, village_households - with_group_review)
    assert found.lines()[0].startswith(f"全村 {village_households} 户中有 {found.unrated} 户没有复评")


class EngineRuns:
    """Counts the database readings and runs of the engine through its one door (issue 34)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.readings = self.runs = 0
        read, run = rating.engine_inputs, rating.scoring.score_tables

        def counted_read(*args: object, **kwargs: object) -> rating.EngineInputs:
            self.readings += 1
            return read(*args, **kwargs)  # type: ignore[arg-type]

        def counted_run(*args: object, **kwargs: object) -> object:
            self.runs += 1
            return run(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(rating, "engine_inputs", counted_read)
        monkeypatch.setattr(rating.scoring, "score_tables", counted_run)

    def taken(self) -> tuple[int, int]:
        done = (self.readings, self.runs)
        self.readings = self.runs = 0
        return done


def test_each_guarded_move_runs_the_engine_once_and_a_publication_posts_that_run(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    period = vp(db, DRAFT)
    clerk, reviewer = user(db, "village"), user(db, "township")
    expected = rating.score_live(db, period.period, [period.village_id])
    engine = EngineRuns(monkeypatch)
    workflow.submit(db, clerk, period, period.version, override_reason="已核对")
    assert engine.taken() == (1, 1)
    workflow.approve(db, reviewer, period, period.version, override_reason="已核对")
    assert engine.taken() == (1, 1)
    workflow.publish(db, reviewer, period, period.version, override_reason="已核对")
    assert engine.taken() == (1, 1)  # the guard's run, posted as the record
    record = records.current_record(db, period)
    assert record is not None
    households, villages = rating.results(db, period.period, [period.village_id])  # from the record
    assert engine.taken() == (0, 0)
    assert households.equals(expected[0]) and villages.equals(expected[1])


def test_a_publication_the_engine_refuses_is_refused_without_a_record(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    period = vp(db, APPROVED)
    reviewer = user(db, "township")

    def refuse(*args: object, **kwargs: object) -> object:
        raise rating.RatingRefused("互评人不在本组")

    monkeypatch.setattr(rating, "score_now", refuse)
    with pytest.raises(workflow.GuardRequired, match="互评人不在本组"):
        workflow.publish(db, reviewer, period, period.version)
    with pytest.raises(rating.RatingRefused):
        workflow.publish(db, reviewer, period, period.version, override_reason="已核对")
    assert records.current_record(db, period) is None
