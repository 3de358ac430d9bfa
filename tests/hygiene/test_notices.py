"""Rectification notices and the problem ledger (RULES.md §9, §6's black list): issuing by hand and
for the black list, the addressee's report, the inspector's acceptance or rejection (虚假整改),
escalation at the deadline once, who may do what, lost updates and the audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import NoticeKind, NoticeSource, NoticeState
from hygiene.models import AuditEntry, County, Notice, Township, User, Village, VillagePeriod
from hygiene.services.errors import Conflict, FieldErrors, PermissionDenied, ServiceError
from hygiene.services.rating import records
from hygiene.services.setup import periods
from hygiene.services.supervision import notices
from tests.hygiene import factories

NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
VILLAGE = "5209990101"  # 青山村 of 松林镇 (52099901): 2026Q3 final, 2026Q4 draft


def user(db: Session, name: str) -> User:
    return db.scalars(sa.select(User).where(User.username == name)).one()


def county(db: Session) -> County:
    return db.scalars(sa.select(County).where(County.code == "520999")).one()


def village(db: Session) -> Village:
    return factories.village(db, VILLAGE)


def village_period(db: Session, period_code: str = "2026Q3") -> VillagePeriod:
    found = periods.village_period(db, village(db), factories.period(db, period_code))
    assert found is not None
    return found


def by_hand(db: Session, *, to_village: bool = True, **kwargs: object) -> Notice:
    v = village(db)
    arguments: dict[str, object] = {
        "period": factories.period(db, "2026Q4"),
        "township": v.township,
        "village": v if to_village else None,
        "responsible_person": "王支书",
        "problem": "村口垃圾堆放未清运",
        "now": NOW,
    } | kwargs
    return notices.issue(db, user(db, "inspector"), county(db), **arguments)  # type: ignore[arg-type]


def audit_actions(db: Session, notice: Notice) -> list[str]:
    return list(
        db.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.entity == "notice", AuditEntry.entity_id == str(notice.id))
            .order_by(AuditEntry.id)
        )
    )


def test_a_notice_by_hand_has_the_countys_deadline(db: Session) -> None:
    notice = by_hand(db)
    assert (notice.kind, notice.state, notice.source) == (
        NoticeKind.RECTIFICATION,
        NoticeState.OPEN,
        NoticeSource.MANUAL,
    )
    assert notice.deadline - notice.issued_at == dt.timedelta(hours=24)  # the county's setting, 24 h by default
    assert notice.village_id == village(db).id and notice.responsible_person == "王支书"
    [entry] = db.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity == "notice", AuditEntry.entity_id == str(notice.id))
    )
    assert (entry.action, entry.actor, entry.after["problem"], entry.after["addressee"]) == (
        "create",
        "inspector",
        "村口垃圾堆放未清运",
        "青山村",
    )


def test_the_deadline_follows_the_county_setting_and_may_be_given(db: Session) -> None:
    county(db).notice_deadline_hours = 48
    assert by_hand(db).deadline == NOW + dt.timedelta(hours=48)
    given = by_hand(db, deadline=NOW + dt.timedelta(hours=2))
    assert given.deadline == NOW + dt.timedelta(hours=2)


def test_a_notice_to_the_township_itself(db: Session) -> None:
    notice = by_hand(db, to_village=False)
    assert notice.village_id is None and notice.township_id == village(db).township_id
    assert notice in notices.addressed_to_township(db, village(db).township)
    assert notice not in notices.addressed_to_village(db, village(db))


def test_bad_input_is_refused_naming_the_field(db: Session) -> None:
    with pytest.raises(FieldErrors) as refused:
        by_hand(db, responsible_person=" ", problem="", deadline=NOW - dt.timedelta(hours=1))
    assert set(refused.value.errors) == {"responsible_person", "problem", "deadline"}
    assert refused.value.errors["problem"] == "请填写问题描述"
    other = db.scalars(sa.select(Township).where(Township.code == "52099902")).one()
    with pytest.raises(FieldErrors, match="不属于"):
        by_hand(db, township=other)


@pytest.mark.parametrize("username", ["county", "township", "village", "inspector2"])
def test_only_an_inspector_of_the_county_issues(db: Session, username: str) -> None:
    v = village(db)
    with pytest.raises(PermissionDenied):
        notices.issue(
            db,
            user(db, username),
            county(db),
            period=factories.period(db, "2026Q4"),
            township=v.township,
            village=v,
            responsible_person="王支书",
            problem="x",
        )


def test_the_black_list_gets_one_notice_each_and_only_once(db: Session) -> None:
    period = village_period(db)
    record = records.current_record(db, period)
    assert record is not None
    rated = sorted((r for r in record.rows if r.rank), key=lambda r: (r.rank, r.household_code))
    bottom = list(reversed(rated[-3:]))

    issued = notices.issue_for_black_list(db, user(db, "inspector"), period, now=NOW)

    assert len(issued) == 3
    for notice, row in zip(issued, bottom, strict=True):
        assert (notice.source, notice.village_id, notice.responsible_person) == (
            NoticeSource.BLACK_LIST,
            village(db).id,
            row.head_name,
        )
        assert row.household_code in notice.problem and "黑榜户" in notice.problem
        assert notice.deadline == NOW + dt.timedelta(hours=24)
    assert notices.issue_for_black_list(db, user(db, "inspector"), period, now=NOW) == []
    count = db.scalar(sa.select(sa.func.count(Notice.id)).where(Notice.source == NoticeSource.BLACK_LIST))
    assert count == 3


def test_the_black_list_only_of_a_final_period_with_the_setting_on(db: Session) -> None:
    inspector = user(db, "inspector")
    with pytest.raises(ServiceError, match="定档后才有红黑榜"):
        notices.issue_for_black_list(db, inspector, village_period(db, "2026Q4"), now=NOW)
    period = village_period(db)
    record = records.current_record(db, period)
    assert record is not None
    record.settings = record.settings | {"red_black_list": False}
    db.flush()
    with pytest.raises(ServiceError, match="不公布红黑榜"):
        notices.issue_for_black_list(db, inspector, period, now=NOW)
    with pytest.raises(PermissionDenied):
        notices.issue_for_black_list(db, user(db, "county"), period, now=NOW)
    assert db.scalar(sa.select(sa.func.count(Notice.id))) == 0


def test_report_then_accept_closes_the_notice(db: Session) -> None:
    notice = by_hand(db)
    notices.report_rectified(db, user(db, "village"), notice, notice.version, "已清运，设置了垃圾桶", now=NOW)
    assert (notice.state, notice.report_note, notice.reported_at) == (
        NoticeState.RECTIFIED,
        "已清运，设置了垃圾桶",
        NOW,
    )
    later = NOW + dt.timedelta(hours=3)
    notices.accept(db, user(db, "inspector"), notice, notice.version, "现场核实已整改", now=later)
    assert (notice.state, notice.decision_note, notice.resolved_at) == (NoticeState.CLOSED, "现场核实已整改", later)
    assert audit_actions(db, notice) == ["create", "report", "accept"]
    entry = db.scalars(sa.select(AuditEntry).where(AuditEntry.entity == "notice", AuditEntry.action == "accept")).one()
    assert (entry.before["state"], entry.after["state"], entry.reason) == ("rectified", "closed", "现场核实已整改")
    # Past the deadline, a closed notice stays closed.
    assert notices.escalate_overdue(db, now=NOW + dt.timedelta(days=2)) == []


def test_a_rejected_rectification_stays_open_and_escalates_at_its_deadline(db: Session) -> None:
    notice = by_hand(db)
    deadline = notice.deadline
    notices.report_rectified(db, user(db, "village"), notice, notice.version, "已整改", now=NOW)
    notices.reject(db, user(db, "inspector"), notice, notice.version, "现场仍有垃圾，虚假整改", now=NOW)
    assert (notice.state, notice.rejections, notice.deadline) == (NoticeState.OPEN, 1, deadline)
    assert notice.decision_note == "现场仍有垃圾，虚假整改"

    assert notices.escalate_overdue(db, now=deadline - dt.timedelta(seconds=1)) == []
    [accountability] = notices.escalate_overdue(db, now=deadline)
    assert notice.state is NoticeState.ESCALATED
    assert (accountability.kind, accountability.escalated_from_id, accountability.responsible_person) == (
        NoticeKind.ACCOUNTABILITY,
        notice.id,
        "王支书",
    )
    assert audit_actions(db, notice) == ["create", "report", "reject", "escalate"]


def test_escalation_happens_once_with_a_frozen_clock(db: Session) -> None:
    notice = by_hand(db)
    frozen = notice.deadline + dt.timedelta(hours=1)
    first = notices.escalate_overdue(db, now=frozen)
    count = db.scalar(sa.select(sa.func.count(Notice.id)))
    audits = db.scalar(sa.select(sa.func.count(AuditEntry.id)))
    assert len(first) == 1 and notice.state is NoticeState.ESCALATED
    assert notices.escalate_overdue(db, now=frozen) == []
    assert db.scalar(sa.select(sa.func.count(Notice.id))) == count
    assert db.scalar(sa.select(sa.func.count(AuditEntry.id))) == audits
    # The accountability notice never escalates again, even long past its own deadline.
    assert notices.escalate_overdue(db, now=frozen + dt.timedelta(days=30)) == []


def test_a_reported_notice_does_not_escalate_while_waiting_for_the_inspector(db: Session) -> None:
    notice = by_hand(db)
    notices.report_rectified(db, user(db, "village"), notice, notice.version, "已整改", now=NOW)
    assert notices.escalate_overdue(db, now=notice.deadline + dt.timedelta(hours=1)) == []
    assert notice.state is NoticeState.RECTIFIED


def test_an_overdue_rectification_notice_cannot_be_reported_but_its_accountability_notice_can(db: Session) -> None:
    notice = by_hand(db)
    late = notice.deadline + dt.timedelta(minutes=1)
    with pytest.raises(ServiceError, match="已过整改时限"):
        notices.report_rectified(db, user(db, "village"), notice, notice.version, "已整改", now=late)
    [accountability] = notices.escalate_overdue(db, now=late)
    far = accountability.deadline + dt.timedelta(days=3)
    notices.report_rectified(db, user(db, "village"), accountability, accountability.version, "已整改", now=far)
    assert accountability.state is NoticeState.RECTIFIED


@pytest.mark.parametrize("username", ["village2", "township", "county", "inspector"])
def test_only_the_village_clerk_reports_a_village_notice(db: Session, username: str) -> None:
    notice = by_hand(db)
    with pytest.raises(PermissionDenied):
        notices.report_rectified(db, user(db, username), notice, notice.version, "已整改", now=NOW)


@pytest.mark.parametrize("username", ["village", "township2", "county", "inspector"])
def test_only_the_township_reviewer_reports_a_township_notice(db: Session, username: str) -> None:
    notice = by_hand(db, to_village=False)
    with pytest.raises(PermissionDenied):
        notices.report_rectified(db, user(db, username), notice, notice.version, "已整改", now=NOW)
    notices.report_rectified(db, user(db, "township"), notice, notice.version, "已整改", now=NOW)
    assert notice.state is NoticeState.RECTIFIED


@pytest.mark.parametrize("username", ["village", "township", "county", "inspector2"])
def test_only_an_inspector_of_the_county_accepts_or_rejects(db: Session, username: str) -> None:
    notice = by_hand(db)
    notices.report_rectified(db, user(db, "village"), notice, notice.version, "已整改", now=NOW)
    for decide in (notices.accept, notices.reject):
        with pytest.raises(PermissionDenied):
            decide(db, user(db, username), notice, notice.version, "意见", now=NOW)
    assert notice.state is NoticeState.RECTIFIED


def test_notes_are_required_and_only_a_reported_notice_is_decided(db: Session) -> None:
    notice = by_hand(db)
    with pytest.raises(ServiceError, match="没有待验收的整改"):
        notices.accept(db, user(db, "inspector"), notice, notice.version, "好", now=NOW)
    with pytest.raises(FieldErrors, match="请填写整改情况"):
        notices.report_rectified(db, user(db, "village"), notice, notice.version, "  ", now=NOW)
    notices.report_rectified(db, user(db, "village"), notice, notice.version, "已整改", now=NOW)
    with pytest.raises(FieldErrors, match="请填写退回理由"):
        notices.reject(db, user(db, "inspector"), notice, notice.version, "", now=NOW)
    with pytest.raises(ServiceError, match="不能上报整改"):
        notices.report_rectified(db, user(db, "village"), notice, notice.version, "再报", now=NOW)


def test_a_stale_version_is_a_conflict(db: Session) -> None:
    notice = by_hand(db)
    shown = notice.version
    notices.report_rectified(db, user(db, "village"), notice, shown, "已整改", now=NOW)
    with pytest.raises(Conflict):
        notices.accept(db, user(db, "inspector"), notice, shown, "通过", now=NOW)
    assert notice.state is NoticeState.RECTIFIED


def test_the_ledger_lists_and_filters(db: Session) -> None:
    to_village = by_hand(db)
    to_township = by_hand(db, to_village=False)
    black = notices.issue_for_black_list(db, user(db, "inspector"), village_period(db), now=NOW)
    notices.report_rectified(db, user(db, "village"), to_village, to_village.version, "已整改", now=NOW)
    c = county(db)

    everything = notices.ledger(db, c, now=NOW)
    assert {r.notice.id for r in everything} == {to_village.id, to_township.id, *(n.id for n in black)}
    assert [r.notice.id for r in notices.ledger(db, c, state=NoticeState.RECTIFIED, now=NOW)] == [to_village.id]
    q3 = notices.ledger(db, c, period=factories.period(db, "2026Q3"), now=NOW)
    assert {r.notice.id for r in q3} == {n.id for n in black}
    in_village = notices.ledger(db, c, village=village(db), now=NOW)
    assert to_township.id not in {r.notice.id for r in in_village} and len(in_village) == 4
    other = db.scalars(sa.select(Township).where(Township.code == "52099902")).one()
    assert notices.ledger(db, c, township=other, now=NOW) == []
    [row] = [r for r in everything if r.notice.id == to_township.id]
    assert (row.addressee, row.village_name, row.overdue) == ("松林镇", None, False)
    late = notices.ledger(db, c, state=NoticeState.OPEN, now=NOW + dt.timedelta(days=2))
    assert late and all(r.overdue for r in late)

    header, lines = notices.ledger_table(everything)
    assert header[:3] == ["编号", "类别", "来源"] and len(lines) == 5
    [line] = [line for line in lines if line[0] == to_village.id]
    assert line[1:5] == ["督办通知单", "督查组下发", "县级", "2026Q4"]
    assert line[header.index("状态")] == "已整改" and line[header.index("整改情况")] == "已整改"
    assert line[header.index("下发时间（北京时间）")] == "2026-12-01 16:00"
