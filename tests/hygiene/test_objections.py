"""Residents' objections during a posting period (RULES.md §6): who may file when, what is
refused, the per-client limit, the township's answers, and an upheld objection's way back through
correction to a new posting."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.db import make_sessionmaker
from hygiene.enums import CRITERIA, ObjectionState, ReviewKind, WorkflowState
from hygiene.models import AuditEntry, Household, Objection, ObjectionThrottle, Review, User, VillagePeriod
from hygiene.services.errors import Conflict, FieldErrors, NotFound, PermissionDenied, ServiceError
from hygiene.services.rating import objections, records, workflow
from hygiene.services.setup import periods
from tests.hygiene import factories
from tests.hygiene.test_concurrency import race, read

DRAFT_Q4 = "5209990101"  # 青山村: 2026Q4 draft, published in these tests
PUBLISHED_Q4 = "5209990104"  # 2026Q4 published on 2026-11-22, posted for 7 days
PUBLISHED_ON = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
DURING = PUBLISHED_ON + dt.timedelta(days=1)
CLIENT = objections.client_hash("secret", "203.0.113.5")
OTHER_CLIENT = objections.client_hash("secret", "203.0.113.6")


def user(db: Session, name: str) -> User:
    return db.scalars(sa.select(User).where(User.username == name)).one()


def vp(db: Session, village_code: str) -> VillagePeriod:
    found = periods.village_period(db, factories.village(db, village_code), factories.period(db, "2026Q4"))
    assert found is not None
    return found


def published(db: Session) -> VillagePeriod:
    """青山村 2026Q4 submitted, approved and published on PUBLISHED_ON."""
    period = vp(db, DRAFT_Q4)
    clerk, reviewer = user(db, "village"), user(db, "township")
    workflow.submit(db, clerk, period, period.version, override_reason="已核对")
    workflow.approve(db, reviewer, period, period.version, override_reason="已核对")
    workflow.publish(db, reviewer, period, period.version, now=PUBLISHED_ON, override_reason="已核对")
    return period


def rated_code(db: Session, period: VillagePeriod) -> str:
    record = records.current_record(db, period)
    assert record is not None
    return next(row.household_code for row in sorted(record.rows, key=lambda r: r.household_code) if row.rank)


def file(db: Session, period: VillagePeriod, code: str, **kwargs: object) -> Objection | None:
    arguments: dict[str, object] = {"reason": "卫生很差却评了最清洁", "client": CLIENT, "now": DURING} | kwargs
    return objections.file_objection(db, period, code, **arguments)  # type: ignore[arg-type]


def finalized(db: Session, now: dt.datetime) -> list[VillagePeriod]:
    done, failed = workflow.finalize_due(db, now=now)
    assert failed == []
    return [f.village_period for f in done]


def audit_actions(db: Session, entity: str, entity_id: object) -> list[str]:
    return [
        e.action
        for e in db.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.id)
        )
    ]


def test_an_objection_is_filed_during_the_posting_period(db: Session) -> None:
    period = published(db)
    code = rated_code(db, period)
    objection = file(db, period, code, reason="  院子堆满杂物\r\n厕所未清理  ", contact=" 138 0000 0000 ")
    assert objection is not None
    assert objection.state is ObjectionState.PENDING
    assert objection.reason == "院子堆满杂物\n厕所未清理" and objection.contact == "138 0000 0000"
    assert objection.record_number == 1 and objection.client_hash == CLIENT
    assert "203.0.113.5" not in CLIENT and len(CLIENT) == 64
    entry = db.scalars(sa.select(AuditEntry).where(AuditEntry.entity == "objection")).one()
    assert entry.action == "file" and entry.actor == "system"
    assert "138" not in str(entry.after) and CLIENT not in str(entry.after)


def test_no_objection_outside_the_posting_period(db: Session) -> None:
    draft = vp(db, DRAFT_Q4)
    with pytest.raises(ServiceError, match="不在公示期内"):
        file(db, draft, "520999010101001")
    period = published(db)
    code = rated_code(db, period)
    with pytest.raises(ServiceError, match="不在公示期内"):
        file(db, period, code, now=period.posting_ends_at)
    with pytest.raises(ServiceError, match="不在公示期内"):
        file(db, period, code, now=PUBLISHED_ON - dt.timedelta(minutes=1))
    assert db.scalar(sa.select(sa.func.count(Objection.id))) == 0


def test_the_household_must_be_on_the_posted_list(db: Session) -> None:
    period = published(db)
    with pytest.raises(NotFound, match="公示名单中没有户编号 520999020101001"):
        file(db, period, "520999020101001")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"reason": "   "}, "reason", "请填写异议理由"),
        ({"reason": "脏" * 501}, "reason", "异议理由不能超过500个字（现有501个字）"),
        ({"reason": "分数\u202e偏高"}, "reason", "从右到左覆盖符"),
        ({"reason": "分数\x00偏高"}, "reason", "控制字符"),
        ({"contact": "1" * 61}, "contact", "联系方式不能超过60个字"),
        ({"contact": "138\n0000"}, "contact", "换行符"),
    ],
)
def test_bad_reasons_and_contacts_are_refused_naming_the_field(
    db: Session, fields: dict[str, str], field: str, message: str
) -> None:
    period = published(db)
    with pytest.raises(FieldErrors) as caught:
        file(db, period, rated_code(db, period), **fields)
    assert message in caught.value.errors[field]
    assert db.scalar(sa.select(sa.func.count(Objection.id))) == 0


def test_a_reason_of_exactly_500_characters_is_taken(db: Session) -> None:
    period = published(db)
    assert file(db, period, rated_code(db, period), reason="脏" * 500) is not None


def test_a_filled_honeypot_stores_nothing(db: Session) -> None:
    period = published(db)
    assert file(db, period, rated_code(db, period), honeypot="http://spam.example") is None
    assert db.scalar(sa.select(sa.func.count(Objection.id))) == 0
    assert audit_actions(db, "objection", 1) == []


def test_the_sixth_objection_within_an_hour_is_refused_another_client_is_not(db: Session) -> None:
    period = published(db)
    code = rated_code(db, period)
    for minute in range(objections.RATE_LIMIT):
        assert file(db, period, code, now=DURING + dt.timedelta(minutes=minute)) is not None
    with pytest.raises(objections.ObjectionThrottled, match="每1小时最多5条"):
        file(db, period, code, now=DURING + dt.timedelta(minutes=30))
    assert file(db, period, code, client=OTHER_CLIENT, now=DURING + dt.timedelta(minutes=30)) is not None
    assert file(db, period, code, now=DURING + dt.timedelta(hours=1, minutes=1)) is not None  # a new window
    assert db.scalar(sa.select(sa.func.count(Objection.id))) == objections.RATE_LIMIT + 2
    assert sorted(db.scalars(sa.select(ObjectionThrottle.key))) == sorted([CLIENT, OTHER_CLIENT])
    # once the other client's window has run out, its row is dropped: the table keeps the last hour
    assert file(db, period, code, now=DURING + dt.timedelta(hours=1, minutes=31)) is not None
    assert db.scalars(sa.select(ObjectionThrottle.key)).all() == [CLIENT]


def test_dismissing_keeps_the_list_and_the_reply_is_public(db: Session) -> None:
    period = published(db)
    objection = file(db, period, rated_code(db, period), contact="13800000000")
    assert objection is not None
    reviewer = user(db, "township")
    with pytest.raises(FieldErrors, match="请填写答复"):
        objections.dismiss(db, reviewer, objection, objection.version, "  ")
    objections.dismiss(db, reviewer, objection, objection.version, "经复核，评分无误", now=DURING)
    assert objection.state is ObjectionState.DISMISSED and objection.resolved_by_id == reviewer.id
    assert period.state is WorkflowState.PUBLISHED and records.current_record(db, period).number == 1  # type: ignore[union-attr]
    (shown,) = objections.public_objections(db, period)
    assert (shown.state_label, shown.reply, shown.resolved_at) == ("不予采纳", "经复核，评分无误", DURING)
    fields = {f.name for f in dataclasses.fields(shown)}
    assert not fields & {"contact", "client_hash", "reason", "resolved_by_id"}
    assert "13800000000" not in repr(shown) and CLIENT not in repr(shown)
    assert audit_actions(db, "objection", objection.id) == ["file", "dismissed"]
    with pytest.raises(ServiceError, match="该异议已处理（不予采纳）"):
        objections.uphold(db, reviewer, objection, objection.version, "改判")


def test_only_the_own_township_reviewer_answers(db: Session) -> None:
    period = published(db)
    objection = file(db, period, rated_code(db, period))
    assert objection is not None
    for name in ("village", "township2", "county", "inspector"):
        with pytest.raises(PermissionDenied):
            objections.dismiss(db, user(db, name), objection, objection.version, "无误")
        with pytest.raises(PermissionDenied):
            objections.uphold(db, user(db, name), objection, objection.version, "成立")
    assert objection.state is ObjectionState.PENDING and period.state is WorkflowState.PUBLISHED


def test_an_answer_from_a_stale_page_is_a_conflict(db: Session) -> None:
    period = published(db)
    objection = file(db, period, rated_code(db, period))
    assert objection is not None
    seen = objection.version
    objections.dismiss(db, user(db, "township"), objection, seen, "无误")
    with pytest.raises(Conflict):
        objections.uphold(db, user(db, "township"), objection, seen, "成立")
    assert objection.state is ObjectionState.DISMISSED


def test_a_concurrent_answer_raises_conflict_from_the_version_column(db: Session) -> None:
    period = published(db)
    objection = file(db, period, rated_code(db, period))
    assert objection is not None
    seen = objection.version
    # Someone else answered in between: the row's version moved on behind this session's back.
    db.execute(sa.update(Objection.__table__).where(Objection.__table__.c.id == objection.id).values(version=seen + 1))
    with pytest.raises(Conflict):
        objections.dismiss(db, user(db, "township"), objection, seen, "无误")


def test_upholding_returns_the_period_and_a_corrected_list_is_posted_again(db: Session) -> None:
    period = published(db)
    code = rated_code(db, period)
    first = file(db, period, code, reason="院子没打扫")
    second = file(db, period, code, reason="另一条异议", client=OTHER_CLIENT)
    assert first is not None and second is not None
    first_ends = period.posting_ends_at
    reviewer, clerk = user(db, "township"), user(db, "village")

    objections.uphold(db, reviewer, first, first.version, "经复核情况属实，重新复评", now=DURING)
    assert first.state is ObjectionState.UPHELD
    assert period.state is WorkflowState.RETURNED
    assert period.return_reason == f"异议成立：{code}：院子没打扫"
    assert period.published_at is None and period.posting_ends_at is None and period.approved_at is None
    assert records.current_record(db, period) is None
    superseded = records.history(db, period)
    assert [(r.number, r.superseded_reason) for r in superseded] == [(1, period.return_reason)]
    assert audit_actions(db, "objection", first.id) == ["file", "upheld"]
    assert "return_on_objection" in audit_actions(db, "village_period", period.id)
    # The other objection stays pending: it is answered against the corrected list.
    assert second.state is ObjectionState.PENDING
    with pytest.raises(ServiceError, match="重新公示时再处理"):
        objections.uphold(db, reviewer, second, second.version, "成立")
    # No more objections while the list is down.
    with pytest.raises(ServiceError, match="不在公示期内"):
        file(db, period, code)

    # The review team redoes the household's group review; the clerk resubmits.
    household = db.scalars(sa.select(Household).where(Household.code == code)).one()
    group_review = db.scalars(
        sa.select(Review).where(
            Review.household_id == household.id, Review.period_id == period.period_id, Review.kind == ReviewKind.GROUP
        )
    ).one()
    for criterion in CRITERIA:
        setattr(group_review, criterion, getattr(group_review, criterion) // 2)
    db.flush()
    workflow.submit(db, clerk, period, period.version, override_reason="已核对")
    workflow.approve(db, reviewer, period, period.version, override_reason="已核对")
    republished_on = DURING + dt.timedelta(days=2)
    workflow.publish(db, reviewer, period, period.version, now=republished_on, override_reason="已核对")
    record = records.current_record(db, period)
    assert record is not None and record.number == 2
    assert period.posting_ends_at == republished_on + dt.timedelta(days=period.period.posting_days)
    assert first_ends is not None and period.posting_ends_at > first_ends
    # Objections are taken again, against the new version; the pending one blocks finalisation.
    third = file(db, period, code, now=republished_on + dt.timedelta(hours=1), client=OTHER_CLIENT)
    assert third is not None and third.record_number == 2
    after_posting = period.posting_ends_at + dt.timedelta(days=1)
    assert period not in finalized(db, after_posting)
    for pending in (second, third):
        objections.dismiss(db, reviewer, pending, pending.version, "已按更正后的结果重新公示", now=after_posting)
    assert period in finalized(db, after_posting)
    shown = objections.public_objections(db, period)
    assert [(o.record_number, o.state_label) for o in shown] == [(1, "已采纳"), (1, "不予采纳"), (2, "不予采纳")]


def test_a_pending_objection_keeps_the_period_from_becoming_final(db: Session) -> None:
    period = vp(db, PUBLISHED_Q4)
    assert period.posting_ends_at is not None
    during = period.posting_ends_at - dt.timedelta(hours=1)
    objection = file(db, period, rated_code(db, period), now=during)
    assert objection is not None
    after = period.posting_ends_at + dt.timedelta(days=30)
    assert period not in finalized(db, after)
    assert period.state is WorkflowState.PUBLISHED
    objections.dismiss(db, user(db, "township"), objection, objection.version, "无误", now=after)
    assert period in finalized(db, after) and period.state is WorkflowState.FINAL


def test_the_township_sees_its_own_pending_objections(db: Session) -> None:
    period = published(db)
    objection = file(db, period, rated_code(db, period))
    township = period.village.township
    assert objections.pending_for_township(db, township) == [objection]
    other = factories.village(db, "5209990201").township
    assert objections.pending_for_township(db, other) == []
    objections.dismiss(db, user(db, "township"), objection, objection.version, "无误")  # type: ignore[arg-type]
    assert objections.pending_for_township(db, township) == []
    assert objections.for_village_period(db, period) == [objection]


# --- real concurrent transactions (tests.hygiene.test_concurrency.race) -----------------------------


def _posted(session: Session) -> tuple[VillagePeriod, str, dt.datetime]:
    period = vp(session, PUBLISHED_Q4)
    assert period.posting_ends_at is not None
    return period, rated_code(session, period), period.posting_ends_at - dt.timedelta(hours=1)


def test_concurrent_filings_of_one_client_never_pass_the_limit(committing_engine: sa.Engine) -> None:
    def file_one(session: Session, runner: int) -> None:
        period, code, during = _posted(session)
        file(session, period, code, now=during)

    outcomes = race(committing_engine, file_one, runners=objections.RATE_LIMIT + 3)
    assert outcomes.count("ok") == objections.RATE_LIMIT
    assert all(o == "ok" or o.startswith("ObjectionThrottled") for o in outcomes), outcomes
    assert read(committing_engine, lambda s: s.scalar(sa.select(sa.func.count(Objection.id)))) == objections.RATE_LIMIT


def test_two_reviewers_answering_the_same_objection_one_wins(committing_engine: sa.Engine) -> None:
    with make_sessionmaker(committing_engine, write=True).begin() as session:
        period, code, during = _posted(session)
        filed = file(session, period, code, now=during)
        assert filed is not None
        objection_id, seen = filed.id, filed.version

    def answer(session: Session, runner: int) -> None:
        reviewer = user(session, "township")
        objection = objections.get_objection(session, objection_id)
        decide = objections.uphold if runner == 0 else objections.dismiss
        decide(session, reviewer, objection, seen, f"答复{runner}")

    assert sorted(race(committing_engine, answer)) == ["conflict", "ok"]
    audited = read(
        committing_engine,
        lambda s: s.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.entity == "objection", AuditEntry.action.in_(("upheld", "dismissed")))
        ),
    )
    assert audited == 1
