"""The accountability ladder (issue 33, RULES.md §9) with a frozen clock: one rung per repeated
failure of the same unit within the county's window, proposed by the system (never past 约谈),
decided by the county naming the responsible cadre; cadres kept by the county."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import AccountabilityRung, CadrePost, CaseState, NoticeState
from hygiene.models import AccountabilityCase, AuditEntry, Cadre, Notice, Township, User, Village
from hygiene.services import tick
from hygiene.services.errors import Conflict, FieldErrors, PermissionDenied, ServiceError
from hygiene.services.setup import units
from hygiene.services.supervision import accountability, notices, yearly
from tests.hygiene.factories import period as period_of

T0 = dt.datetime(2026, 10, 1, 1, tzinfo=dt.UTC)  # the frozen clock's start; each failure is passed its own "now"


def user(db: Session, name: str) -> User:
    return db.scalars(sa.select(User).where(User.username == name)).one()


def village(db: Session, code: str = "5209990101") -> Village:
    return db.scalars(sa.select(Village).where(Village.code == code)).one()


def fail(db: Session, at: dt.datetime, village_code: str | None = "5209990101") -> AccountabilityCase:
    """A notice issued at ``at`` to the village (None: to 松林镇 itself), left unanswered: the tick
    25 hours later escalates it and the system proposes a rung."""
    county = units.get_county(db, "520999")
    township = db.scalars(sa.select(Township).where(Township.code == "52099901")).one()
    notice = notices.issue(
        db,
        user(db, "inspector"),
        county,
        period=period_of(db, "2026Q4"),
        township=township,
        village=village(db, village_code) if village_code else None,
        responsible_person="李主任",
        problem=f"垃圾未清运 {at:%m-%d}",
        now=at,
    )
    done = tick.run(db, now=at + dt.timedelta(hours=25))
    assert notice.state is NoticeState.ESCALATED
    case = next(c for c in done.proposed if c.notice_id == notice.id)
    assert tick.run(db, now=at + dt.timedelta(hours=26)).proposed == []  # idempotent
    assert accountability.propose(db, notice, now=at + dt.timedelta(hours=27)) is case
    return case


@pytest.fixture
def cadres(db: Session) -> tuple[Cadre, Cadre]:
    county, admin = units.get_county(db, "520999"), user(db, "county")
    liaison = accountability.add_cadre(
        db, admin, county, unit_code="5209990101", name="张包保", title="镇农业服务中心主任"
    )
    in_charge = accountability.add_cadre(db, admin, county, unit_code="52099901", name="王分管", title="副镇长")
    return liaison, in_charge


def test_the_ladder_climbs_one_rung_per_failure_and_never_past_talk_on_its_own(
    db: Session, cadres: tuple[Cadre, Cadre]
) -> None:
    liaison, _ = cadres
    rungs = []
    for n, days in enumerate((0, 30, 60, 90, 120), start=1):
        case = fail(db, T0 + dt.timedelta(days=days))
        assert case.failures == n and case.cadre_id == liaison.id and case.state is CaseState.PROPOSED
        rungs.append((case.ladder_rung, case.proposed_rung))
    statement, talk, warning, removal = AccountabilityRung
    assert rungs == [(statement, statement), (talk, talk), (warning, talk), (removal, talk), (removal, talk)]
    third = db.scalars(
        sa.select(AccountabilityCase).where(AccountabilityCase.failures == 3).order_by(AccountabilityCase.id)
    ).first()
    entry = db.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity == "accountability_case", AuditEntry.entity_id == str(third.id))
    ).one()
    assert (
        entry.actor == "system"
        and entry.reason == "青山村 365天内第3次逾期未整改：建议约谈（按阶梯应为警示，由县里决定）"
    )


def test_failures_outside_the_window_and_dismissed_ones_do_not_count(db: Session, cadres: tuple[Cadre, Cadre]) -> None:
    first = fail(db, T0)
    accountability.dismiss(db, user(db, "county"), first, first.version, "村里停电，期限内无法清运")
    assert fail(db, T0 + dt.timedelta(days=10)).failures == 1  # the dismissed one does not count
    assert fail(db, T0 + dt.timedelta(days=20)).failures == 2
    later = fail(db, T0 + dt.timedelta(days=10 + 366))  # the failure of day 10 is out of the year
    assert (later.failures, later.proposed_rung) == (2, AccountabilityRung.TALK)
    county = units.get_county(db, "520999")
    county.ladder_window_days = 30
    db.flush()
    assert fail(db, T0 + dt.timedelta(days=420)).failures == 1
    township_case = fail(db, T0 + dt.timedelta(days=421), village_code=None)  # another unit: its own ladder
    assert township_case.failures == 1 and township_case.cadre_id == cadres[1].id


def test_the_county_decides_naming_the_cadre(db: Session, cadres: tuple[Cadre, Cadre]) -> None:
    liaison, in_charge = cadres
    admin = user(db, "county")
    for days in (0, 30, 60):
        case = fail(db, T0 + dt.timedelta(days=days))
    assert (case.ladder_rung, case.proposed_rung) == (AccountabilityRung.WARNING, AccountabilityRung.TALK)
    with pytest.raises(PermissionDenied):
        accountability.decide(db, user(db, "inspector"), case, case.version, rung="talk", cadre_id=liaison.id)
    with pytest.raises(FieldErrors) as refused:
        accountability.decide(db, admin, case, case.version, rung="removal", cadre_id=None)
    assert refused.value.errors == {
        "rung": "不能超过阶梯应到的警示（3次逾期）",
        "note": "决定免职须写明理由",
        "cadre_id": "请选择本单位或所属乡镇的责任干部",
    }
    with pytest.raises(FieldErrors) as refused:
        accountability.decide(db, admin, case, case.version, rung="warning", cadre_id=liaison.id)
    assert refused.value.errors == {"note": "决定警示须写明理由"}
    assert case.state is CaseState.PROPOSED
    at = T0 + dt.timedelta(days=62)
    accountability.decide(
        db, admin, case, case.version, rung="warning", cadre_id=in_charge.id, note="三次逾期，屡改屡犯", now=at
    )
    assert (case.state, case.rung, case.cadre_id, case.decided_at) == (
        CaseState.DECIDED,
        AccountabilityRung.WARNING,
        in_charge.id,
        at,
    )
    with pytest.raises(Conflict):
        accountability.dismiss(db, admin, case, case.version - 1, "重复")
    with pytest.raises(ServiceError, match="该问责记录已决定"):
        accountability.decide(db, admin, case, case.version, rung="talk", cadre_id=liaison.id)
    rungs = accountability.unit_rungs(db, units.get_county(db, "520999"), now=at)
    assert [(u.name, u.failures, u.rung, u.pending) for u in rungs] == [("青山村", 3, AccountabilityRung.WARNING, 2)]
    review = yearly.yearly(db, units.get_county(db, "520999"), 2026)
    assert next(t for t in review.townships if t.code == "52099901").accountability == ["青山村 警示（王分管）"]


def test_cadres_are_kept_by_the_county(db: Session, cadres: tuple[Cadre, Cadre]) -> None:
    liaison, in_charge = cadres
    county, admin = units.get_county(db, "520999"), user(db, "county")
    assert (liaison.post, in_charge.post) == (CadrePost.LIAISON, CadrePost.IN_CHARGE)
    with pytest.raises(FieldErrors) as refused:
        accountability.add_cadre(db, admin, county, unit_code="5209980101", name=" ")
    assert refused.value.errors == {"name": "请填写姓名", "unit_code": "本县没有编码为 '5209980101' 的乡镇或村"}
    with pytest.raises(PermissionDenied):
        accountability.add_cadre(db, user(db, "township"), county, unit_code="5209990101", name="赵某")
    accountability.retire_cadre(db, admin, liaison, liaison.version, "调任")
    case = fail(db, T0)
    assert case.cadre_id == in_charge.id  # no active 包保 cadre: the township's 分管 leader answers
    with pytest.raises(FieldErrors) as refused:
        accountability.decide(db, admin, case, case.version, rung="statement", cadre_id=liaison.id)
    assert refused.value.errors == {"cadre_id": "张包保 已不再担任"}
    assert [c.name for c in accountability.cadres(db, county, active_only=True)] == ["王分管"]


def test_a_notice_answered_in_time_proposes_nothing(db: Session, cadres: tuple[Cadre, Cadre]) -> None:
    county = units.get_county(db, "520999")
    township = db.scalars(sa.select(Township).where(Township.code == "52099901")).one()
    notice = notices.issue(
        db, user(db, "inspector"), county, period=period_of(db, "2026Q4"), township=township,
        village=village(db), responsible_person="李主任", problem="厕所", now=T0,
    )  # fmt: skip
    notice.state = NoticeState.RECTIFIED
    db.flush()
    assert tick.run(db, now=T0 + dt.timedelta(days=3)).proposed == []
    assert db.scalar(sa.select(sa.func.count(AccountabilityCase.id))) == 0
    case = fail(db, T0 + dt.timedelta(days=5))
    escalated = db.scalars(sa.select(Notice).where(Notice.escalated_from_id == case.notice_id)).one()
    with pytest.raises(ServiceError, match="只有逾期未整改的督办通知单才提出问责"):
        accountability.propose(db, escalated, now=T0 + dt.timedelta(days=7))
