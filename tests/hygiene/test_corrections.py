"""Corrections (更正, RULES.md §5) and reinstatement, on SQLite and PostgreSQL: the county
administrator sends a final period back, the record stays superseded, the plaque changes the period
applied are undone, the corrected period posts version 2 saying it corrects version 1, and the
register ends as if the mistake had never happened; a plaque revoked by a wrong spot check is
reinstated with its serial."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA, PlaqueEventKind, PlaqueState, ReviewKind, Role, WorkflowState
from hygiene.models import AuditEntry, County, Household, Plaque, Review, User, Village, VillagePeriod
from hygiene.services.awards import certificates, plaques
from hygiene.services.errors import Conflict, PermissionDenied, ServiceError
from hygiene.services.rating import records, workflow
from tests.hygiene.test_plaques import register, run_period, tiny_county


@pytest.fixture
def tiny(db: Session) -> tuple[County, Village, list[Household]]:
    return tiny_county(db)


def account(db: Session, county: County, role: Role, name: str, village: Village | None = None) -> User:
    township_id = village.township_id if village is not None else None
    user = User(
        username=name,
        display_name=name,
        password_hash="x",
        role=role,
        county_id=None if township_id else county.id,
        township_id=township_id,
    )
    db.add(user)
    db.flush()
    return user


def retype(db: Session, village_period: VillagePeriod, household: Household, total: int) -> None:
    review = db.scalars(
        sa.select(Review).where(
            Review.household_id == household.id,
            Review.period_id == village_period.period_id,
            Review.kind == ReviewKind.GROUP,
        )
    ).one()
    for criterion in CRITERIA:
        setattr(review, criterion, total)
    db.flush()


def republish(db: Session, village_period: VillagePeriod, now: dt.datetime) -> None:
    """The corrected period approved and published again (the moves' own tests cover who may)."""
    village_period.state = WorkflowState.PUBLISHED
    village_period.published_at = now
    village_period.posting_ends_at = now + dt.timedelta(days=7)
    village_period.return_reason = None
    db.flush()
    records.post(db, None, village_period)


def test_a_final_period_corrected_ends_as_if_the_mistake_never_happened(db: Session, tiny) -> None:  # type: ignore[no-untyped-def]
    county, village, (a, b, c, d, _e) = tiny
    admin = account(db, county, Role.COUNTY_ADMIN, "xian")
    run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85, d: 70})
    right = register(db, county)
    # Q2 should repeat Q1, but A's group review was typed 60: A's plaque goes, B moves up, C gets one.
    wrong = run_period(db, county, village, "2027Q2", {a: 60, b: 95, c: 92, d: 70})
    assert register(db, county) != right
    lines = workflow.reopen_preview(db, wrong)
    assert any("恢复牌匾" in line and a.code in line for line in lines)
    assert any("作废牌匾" in line and c.code in line for line in lines)
    assert any("等级改回" in line and b.code in line for line in lines)

    with pytest.raises(ServiceError, match="必须填写原因"):
        workflow.reopen(db, admin, wrong, wrong.version, " ")
    with pytest.raises(Conflict):
        workflow.reopen(db, admin, wrong, wrong.version - 1, "赵某复评分录错")
    workflow.reopen(db, admin, wrong, wrong.version, "赵某复评分录错")
    assert wrong.state is WorkflowState.RETURNED and wrong.finalized_at is None
    assert wrong.return_reason == "更正：赵某复评分录错"
    [first] = records.history(db, wrong)
    assert first.superseded_by_correction and first.superseded_reason == "更正：赵某复评分录错"
    assert records.current_record(db, wrong) is None
    # A's plaque is back with its serial, B's level back, C's new plaque void (not on the register).
    q1_only = [row for row in right]
    assert register(db, county) == [(*row[:4], "2027Q1", None) for row in q1_only]
    voided = db.scalars(sa.select(Plaque).where(Plaque.household_id == c.id)).one()
    assert voided.state is PlaqueState.VOIDED and voided.events[-1].kind is PlaqueEventKind.VOIDED

    retype(db, wrong, a, 95)
    retype(db, wrong, b, 92)
    retype(db, wrong, c, 85)
    posted = dt.datetime(2027, 7, 2, 9, tzinfo=dt.UTC)
    republish(db, wrong, posted)
    second = records.current_record(db, wrong)
    assert second is not None and second.number == 2 and records.corrected_number(db, second) == 1
    workflow.finalize(db, wrong, now=posted + dt.timedelta(days=8))
    assert register(db, county) == right
    actions = db.scalars(sa.select(AuditEntry.action).where(AuditEntry.actor == "xian").order_by(AuditEntry.id)).all()
    assert "reopen" in actions and "record_supersede" in actions
    assert {"plaque_reinstate", "plaque_void", "plaque_downgrade"} <= set(actions)


def test_only_the_county_administrator_reopens_and_only_after_publication(db: Session, tiny) -> None:  # type: ignore[no-untyped-def]
    county, village, (a, b, c, d, _e) = tiny
    reviewer = account(db, county, Role.INSPECTOR, "du")
    admin = account(db, county, Role.COUNTY_ADMIN, "xian")
    published = run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85, d: 70}, finalize=False)
    with pytest.raises(PermissionDenied):
        workflow.reopen(db, reviewer, published, published.version, "录错")
    workflow.reopen(db, admin, published, published.version, "录错")
    assert published.state is WorkflowState.RETURNED and published.posting_ends_at is None
    with pytest.raises(ServiceError, match="不能退回更正"):
        workflow.reopen(db, admin, published, published.version, "再次")


def test_a_plaque_changed_after_the_final_period_is_named_and_nothing_is_undone(db: Session, tiny) -> None:  # type: ignore[no-untyped-def]
    county, village, (a, b, c, d, _e) = tiny
    admin = account(db, county, Role.COUNTY_ADMIN, "xian")
    final = run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85, d: 70})
    issued = db.scalars(sa.select(Plaque).where(Plaque.household_id == a.id)).one()
    plaques.revoke(db, admin, issued, reason="抽查不合格", expected_version=issued.version)
    with pytest.raises(ServiceError, match=f"牌匾 {issued.serial} 在定档后又有变动"):
        workflow.reopen(db, admin, final, final.version, "录错")


def test_a_plaque_revoked_by_a_wrong_spot_check_is_reinstated_with_its_serial(db: Session, tiny) -> None:  # type: ignore[no-untyped-def]
    county, village, (a, b, c, d, _e) = tiny
    admin = account(db, county, Role.COUNTY_ADMIN, "xian")
    clerk = account(db, county, Role.TOWNSHIP_REVIEWER, "xiang", village)
    run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85, d: 70})
    before = register(db, county)
    plaque = db.scalars(sa.select(Plaque).where(Plaque.household_id == a.id)).one()
    with pytest.raises(ServiceError, match="现为有效"):
        plaques.reinstate(db, admin, plaque, reason="抽错户", expected_version=plaque.version)
    plaques.revoke(db, admin, plaque, reason="抽查不合格", expected_version=plaque.version)
    with pytest.raises(PermissionDenied):
        plaques.reinstate(db, clerk, plaque, reason="抽错户", expected_version=plaque.version)
    with pytest.raises(ServiceError, match="必须填写原因"):
        plaques.reinstate(db, admin, plaque, reason="", expected_version=plaque.version)
    with pytest.raises(Conflict):
        plaques.reinstate(db, admin, plaque, reason="抽错户", expected_version=plaque.version - 1)
    plaques.reinstate(db, admin, plaque, reason="抽错户：应为钱某", expected_version=plaque.version)
    assert register(db, county) == before
    assert [e.kind for e in plaque.events][-2:] == [PlaqueEventKind.REVOKED, PlaqueEventKind.REINSTATED]
    entry = db.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity == "plaque", AuditEntry.entity_id == str(plaque.id))
    ).all()[-1]
    assert entry.action == "plaque_reinstate" and entry.reason == "抽错户：应为钱某"
    assert entry.before["state"] == "revoked" and entry.after["state"] == "valid"


def test_a_plaque_revoked_by_a_final_period_is_not_reinstated_by_hand(db: Session, tiny) -> None:  # type: ignore[no-untyped-def]
    county, village, (a, b, c, d, _e) = tiny
    admin = account(db, county, Role.COUNTY_ADMIN, "xian")
    run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85, d: 70})
    run_period(db, county, village, "2027Q2", {a: 60, b: 92, c: 85, d: 70})
    plaque = db.scalars(sa.select(Plaque).where(Plaque.household_id == a.id)).one()
    assert plaque.state is PlaqueState.REVOKED
    with pytest.raises(ServiceError, match="更正该期结果"):
        plaques.reinstate(db, admin, plaque, reason="录错", expected_version=plaque.version)


def test_plaques_first_issued_by_a_corrected_period_come_back_with_their_serials(db: Session, tiny) -> None:  # type: ignore[no-untyped-def]
    county, village, (a, b, c, d, _e) = tiny
    admin = account(db, county, Role.COUNTY_ADMIN, "xian")
    final = run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85, d: 70})
    issued = register(db, county)
    # a revocation since undone leaves the plaque as the period left it: the correction goes ahead
    plaque = db.scalars(sa.select(Plaque).where(Plaque.household_id == a.id)).one()
    plaques.revoke(db, admin, plaque, reason="抽查不合格", expected_version=plaque.version)
    plaques.reinstate(db, admin, plaque, reason="抽错户", expected_version=plaque.version)
    workflow.reopen(db, admin, final, final.version, "组别录错")
    assert register(db, county) == []
    posted = dt.datetime(2027, 4, 2, 9, tzinfo=dt.UTC)
    republish(db, final, posted)
    workflow.finalize(db, final, now=posted + dt.timedelta(days=8))
    assert register(db, county) == issued


def test_a_voided_plaques_certificate_says_so(db: Session, tiny) -> None:  # type: ignore[no-untyped-def]
    county, village, (a, b, c, d, _e) = tiny
    admin = account(db, county, Role.COUNTY_ADMIN, "xian")
    final = run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85, d: 70})
    plaque = db.scalars(sa.select(Plaque).where(Plaque.household_id == a.id)).one()
    secret = "a-secret-for-the-tests-of-at-least-32-chars"
    assert certificates.verify(db, certificates.sign(plaque.serial, secret), secret).valid
    workflow.reopen(db, admin, final, final.version, "录错")
    found = certificates.verify(db, certificates.sign(plaque.serial, secret), secret)
    assert not found.valid and found.voided and found.revoked_period is None
