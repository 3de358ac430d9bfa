"""The county dashboard's figures (issue 19), each against a small county counted by hand.

测试县 520997: 甲镇 (one village 甲村, 10 households), 乙乡 (乙村, 6 households) and 丙镇 (丙村, 4
households, never posted); a plan of 50% in 2026 and 50% in 2027. Group reviews give each household
the same score on all ten criteria, so its total is ten times that score and its grade is known
(90 / 80 / 60 thresholds):

- 2026Q3, both 甲村 and 乙村 final. 甲村: 95 95 85 85 85 70 70 50 and two not reviewed (unrated);
  floors 1 and 2, awarded 1 and 2: not short. 乙村: 85 70 70 50 50 and one unrated; floors 1 and 2
  (ceil 0.6, ceil 1.2), awarded 0 and 1: short 1 and 1. Submitted 10-01 09:00; approved 24 h later
  (甲村) and 84 h later (乙村): median 54.0 h; neither returned.
- 2026Q4: 甲村 through the real workflow (submitted, returned, submitted, approved, published):
  95 95 95 85 85 85 70 70 50 50, its last submission 6.5 h before its approval; 乙村 submitted
  (not posted), live 85 70 70 70 70 and one unrated: short 1 and 1; 丙村 draft.
- Plaques of 甲村: three issued in 2026Q3 (two revoked in 2026Q4), one issued in 2026Q4.
- Notices of 2026Q4: 甲镇 one open overdue, one open in time, one reported; 乙乡 one closed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import AwardLevel, NoticeKind, NoticeState, PlaqueState, ReviewKind, Role, WorkflowState
from hygiene.models import (
    County,
    Group,
    Household,
    Notice,
    Period,
    Plaque,
    RolloutPlanYear,
    Township,
    Village,
    VillagePeriod,
)
from hygiene.services.rating import records, workflow
from hygiene.services.setup import accounts, periods
from hygiene.services.supervision import dashboard, ranking
from tests.hygiene.factories import review

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
PASSWORD = "dashboard-pass-2026"


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=dt.UTC)


@dataclass
class Small:
    county: County
    q3: Period
    q4: Period
    villages: dict[str, Village]
    households: dict[str, list[Household]]
    townships: dict[str, Township]


def _unit(
    db: Session, county: County, code: str, name: str, village_name: str, size: int
) -> tuple[Township, Village, list[Household]]:
    township = Township(county_id=county.id, code=code, name=name)
    db.add(township)
    db.flush()
    village = Village(
        county_id=county.id, township_id=township.id, code=f"{code}01", name=village_name, programme_year=2026
    )
    db.add(village)
    db.flush()
    group = Group(county_id=county.id, village_id=village.id, code=f"{code}0101", name="第一组")
    db.add(group)
    db.flush()
    households = [
        Household(county_id=county.id, group_id=group.id, code=f"{code}0101{i:03d}", head_name=f"{name[0]}户{i}")
        for i in range(1, size + 1)
    ]
    db.add_all(households)
    db.flush()
    return township, village, households


def _grade(db: Session, period: Period, households: list[Household], totals: list[int]) -> None:
    """A group review giving each household ``total`` points (each criterion a tenth of it)."""
    for household, total in zip(households, totals, strict=False):
        review(db, household, period, ReviewKind.GROUP, score=total, team="评比小组")


def _vp(db: Session, village: Village, period: Period, **fields: object) -> VillagePeriod:
    vp = VillagePeriod(county_id=period.county_id, village_id=village.id, period_id=period.id, **fields)
    db.add(vp)
    db.flush()
    return vp


def _of(db: Session, small: Small, township: str, period: Period) -> VillagePeriod:
    village = small.villages[township]
    return db.scalars(
        sa.select(VillagePeriod).where(VillagePeriod.village_id == village.id, VillagePeriod.period_id == period.id)
    ).one()


def _final(db: Session, village: Village, period: Period, submitted: dt.datetime, approved: dt.datetime) -> None:
    vp = _vp(
        db,
        village,
        period,
        state=WorkflowState.FINAL,
        submitted_at=submitted,
        approved_at=approved,
        published_at=approved,
        posting_ends_at=approved + dt.timedelta(days=7),
        finalized_at=approved + dt.timedelta(days=7),
    )
    records.post(db, None, vp)


def _plaque(db: Session, household: Household, serial: str, issued: Period, revoked: Period | None = None) -> None:
    db.add(
        Plaque(
            county_id=household.county_id,
            serial=serial,
            household_id=household.id,
            level=AwardLevel.CLEAN,
            issued_period_id=issued.id,
            state=PlaqueState.REVOKED if revoked else PlaqueState.VALID,
            revoked_period_id=revoked.id if revoked else None,
            revoke_reason="督查抽查不达标" if revoked else None,
        )
    )
    db.flush()


def _notice(db: Session, small: Small, township: str, state: NoticeState, deadline: dt.datetime) -> None:
    db.add(
        Notice(
            county_id=small.county.id,
            period_id=small.q4.id,
            township_id=small.townships[township].id,
            village_id=small.villages[township].id,
            kind=NoticeKind.RECTIFICATION,
            state=state,
            problem="垃圾乱堆",
            issued_at=deadline - dt.timedelta(hours=24),
            deadline=deadline,
        )
    )
    db.flush()


@pytest.fixture
def small(db: Session) -> Small:
    county = County(code="520997", name="测试县")
    db.add(county)
    db.flush()
    periods.create_default_rubric(db, county)
    q3 = periods.open_period(db, county, "2026Q3")
    q4 = periods.open_period(db, county, "2026Q4")
    db.add_all(RolloutPlanYear(county_id=county.id, year=y, share_percent=50) for y in (2026, 2027))
    a, village_a, houses_a = _unit(db, county, "52099701", "甲镇", "甲村", 10)
    b, village_b, houses_b = _unit(db, county, "52099702", "乙乡", "乙村", 6)
    c, village_c, _ = _unit(db, county, "52099703", "丙镇", "丙村", 4)
    small = Small(
        county,
        q3,
        q4,
        {"甲": village_a, "乙": village_b, "丙": village_c},
        {"甲": houses_a, "乙": houses_b},
        {"甲": a, "乙": b, "丙": c},
    )

    # 2026Q3: both final, by hand.
    _grade(db, q3, houses_a, [95, 95, 85, 85, 85, 70, 70, 50])
    _final(db, village_a, q3, at(10, 1, 9), at(10, 2, 9))
    _grade(db, q3, houses_b, [85, 70, 70, 50, 50])
    _final(db, village_b, q3, at(10, 1, 9), at(10, 4, 21))

    # 2026Q4: 甲村 through the workflow, returned once; 乙村 submitted; 丙村 a draft.
    clerk = accounts.create_user(
        db, username="clerk_jia", password=PASSWORD, role=Role.VILLAGE_CLERK, unit_code=village_a.code
    )
    reviewer = accounts.create_user(
        db, username="reviewer_jia", password=PASSWORD, role=Role.TOWNSHIP_REVIEWER, unit_code=a.code
    )
    _grade(db, q4, houses_a, [95, 95, 95, 85, 85, 85, 70, 70, 50, 50])
    vp = periods.open_village_period(db, village_a, q4)
    go = "测试：缺自评、互评"
    workflow.submit(db, clerk, vp, vp.version, override_reason=go)
    workflow.return_for_changes(db, reviewer, vp, vp.version, "请核对第一组")
    workflow.submit(db, clerk, vp, vp.version, override_reason=go)
    workflow.approve(db, reviewer, vp, vp.version, override_reason=go)
    workflow.publish(db, reviewer, vp, vp.version, now=at(11, 12, 9), override_reason=go)
    vp.submitted_at, vp.approved_at = at(11, 10, 8), at(11, 10, 14, 30)
    db.flush()
    _grade(db, q4, houses_b, [85, 70, 70, 70, 70])
    _vp(db, village_b, q4, state=WorkflowState.SUBMITTED, submitted_at=at(11, 20, 9))
    _vp(db, village_c, q4)

    _plaque(db, houses_a[0], "520997-2026-000001", q3)
    _plaque(db, houses_a[1], "520997-2026-000002", q3, revoked=q4)
    _plaque(db, houses_a[2], "520997-2026-000003", q3, revoked=q4)
    _plaque(db, houses_a[3], "520997-2026-000004", q4)

    _notice(db, small, "甲", NoticeState.OPEN, NOW - dt.timedelta(hours=1))
    _notice(db, small, "甲", NoticeState.OPEN, NOW + dt.timedelta(hours=5))
    _notice(db, small, "甲", NoticeState.RECTIFIED, NOW + dt.timedelta(hours=5))
    _notice(db, small, "乙", NoticeState.CLOSED, NOW - dt.timedelta(hours=30))
    return small


def test_percent_is_exact_and_rounds_half_up() -> None:
    assert dashboard.percent(13, 16) == Decimal("81.3")  # 81.25
    assert dashboard.percent(2, 13) == Decimal("15.4")
    assert dashboard.percent(1, 8) == Decimal("12.5")
    assert dashboard.percent(0, 5) == Decimal("0.0")
    assert dashboard.percent(3, 0) is None


def test_grade_distribution_counts_the_posted_records_by_township(db: Session, small: Small) -> None:
    q3 = [
        (t.name, t.cleanest, t.clean, t.fairly_clean, t.not_clean, t.unrated, t.villages_posted)
        for t in dashboard.grade_distribution(db, small.county, small.q3)
    ]
    assert q3 == [("甲镇", 2, 3, 2, 1, 2, 1), ("乙乡", 0, 1, 2, 2, 1, 1), ("丙镇", 0, 0, 0, 0, 0, 0)]
    q4 = dashboard.grade_distribution(db, small.county, small.q4)
    assert [(t.cleanest, t.clean, t.fairly_clean, t.not_clean, t.unrated) for t in q4] == [
        (3, 3, 2, 2, 0),
        (0, 0, 0, 0, 0),  # 乙村 submitted: nothing posted yet
        (0, 0, 0, 0, 0),
    ]
    assert [t.households for t in q4] == [10, 0, 0]


def test_a_superseded_record_no_longer_counts(db: Session, small: Small) -> None:
    vp = _of(db, small, "乙", small.q3)
    records.supersede(db, None, vp, "异议成立")
    assert dashboard.grade_distribution(db, small.county, small.q3)[1].households == 0


def test_trend_shares_per_period(db: Session, small: Small) -> None:
    lines = dashboard.trend(db, small.county, small.q4)
    assert [(t.period_code, t.households, t.rated, t.cleanest, t.clean) for t in lines] == [
        ("2026Q3", 16, 13, 2, 4),
        ("2026Q4", 10, 10, 3, 3),
    ]
    q3, q4 = lines
    assert (q3.rated_percent, q3.cleanest_percent, q3.clean_percent) == (
        Decimal("81.3"),
        Decimal("15.4"),
        Decimal("30.8"),
    )
    assert (q4.rated_percent, q4.cleanest_percent, q4.clean_percent) == (
        Decimal("100.0"),
        Decimal("30.0"),
        Decimal("30.0"),
    )
    assert [t.period_code for t in dashboard.trend(db, small.county, small.q3)] == ["2026Q3"]


def test_coverage_by_township_against_the_plan(db: Session, small: Small) -> None:
    lines = dashboard.coverage_by_township(db, small.county, small.q4)
    assert [(t.name, t.year, t.rated, t.households, t.planned_percent) for t in lines] == [
        ("甲镇", 2026, 10, 10, 50),
        ("乙乡", 2026, 5, 6, 50),
        ("丙镇", 2026, 0, 4, 50),
    ]
    assert [t.coverage_percent for t in lines] == [Decimal("100.0"), Decimal("83.3"), Decimal("0.0")]
    assert [t.on_target for t in lines] == [True, True, False]


def test_coverage_of_a_year_outside_the_plan_has_no_target(db: Session, small: Small) -> None:
    db.execute(
        sa.delete(RolloutPlanYear).where(RolloutPlanYear.county_id == small.county.id, RolloutPlanYear.year == 2026)
    )
    line = dashboard.coverage_by_township(db, small.county, small.q4)[0]
    assert (line.planned_percent, line.on_target, line.households) == (None, None, 0)


def test_villages_short_of_the_ratios_by_the_workflows_rule(db: Session, small: Small) -> None:
    q3 = dashboard.shortfalls(db, small.county, small.q3)
    assert q3.villages_checked == 2
    assert [(v.name, v.state, v.cleanest_short, v.clean_short) for v in q3.short] == [
        ("乙村", WorkflowState.FINAL, 1, 1)
    ]
    q4 = dashboard.shortfalls(db, small.county, small.q4)
    assert q4.villages_checked == 2  # the draft 丙村 is not handed in
    assert [(v.township_name, v.name, v.state, v.cleanest_short, v.clean_short) for v in q4.short] == [
        ("乙乡", "乙村", WorkflowState.SUBMITTED, 1, 1)
    ]
    # the same numbers the workflow's guard shows for the live one
    vp = _of(db, small, "乙", small.q4)
    guard = workflow.shortfalls(db, vp)
    assert (guard.cleanest_short, guard.clean_short) == (1, 1)


def test_a_village_the_engine_refuses_is_listed_with_the_reason(db: Session, small: Small) -> None:
    houses = small.households["乙"]
    review(db, houses[0], small.q4, ReviewKind.PEER, reviewer=small.households["甲"][0])  # a peer of another group
    result = dashboard.shortfalls(db, small.county, small.q4)
    refused = [v for v in result.short if v.refused]
    assert [v.name for v in refused] == ["乙村"]
    assert "互评" in (refused[0].refused or "")


def test_warnings_are_the_rankings(db: Session, small: Small) -> None:
    lines = dashboard.warnings(db, small.county, small.q4)
    expected = ranking.ranking(db, small.county, small.q4).townships
    assert [(w.code, w.score, w.rank, w.warning) for w in lines] == [
        (t.code, t.score, t.rank, t.warning) for t in expected
    ]
    red = [w for w in lines if w.warning == "red"]
    assert [w.name for w in red] == ["丙镇"] and red[0].warning_label == "红色预警"


def test_notices_open_and_overdue_by_township(db: Session, small: Small) -> None:
    lines = dashboard.notices_by_township(db, small.county, small.q4, now=NOW)
    assert [(t.name, t.open, t.overdue, t.open_in_time, t.reported) for t in lines] == [
        ("甲镇", 2, 1, 1, 1),
        ("乙乡", 0, 0, 0, 0),
        ("丙镇", 0, 0, 0, 0),
    ]
    later = dashboard.notices_by_township(db, small.county, small.q4, now=NOW + dt.timedelta(hours=6))
    assert (later[0].open, later[0].overdue) == (2, 2)
    assert all(t.open == 0 for t in dashboard.notices_by_township(db, small.county, small.q3, now=NOW))


def test_method_health_per_period(db: Session, small: Small) -> None:
    q3, q4 = dashboard.method_health(db, small.county, small.q4)
    assert (q3.period_code, q3.approved, q3.first_pass, q3.approval_lag_hours, q3.first_pass_percent) == (
        "2026Q3",
        2,
        2,
        Decimal("54.0"),
        Decimal("100.0"),
    )
    assert (q3.plaques_at_start, q3.revoked, q3.relapse_percent) == (0, 0, None)
    # 甲村 was returned once: approved, but not at the first pass; its lag runs from its last submission
    assert (q4.approved, q4.first_pass, q4.approval_lag_hours, q4.first_pass_percent) == (
        1,
        0,
        Decimal("6.5"),
        Decimal("0.0"),
    )
    assert (q4.plaques_at_start, q4.revoked, q4.relapse_percent) == (3, 2, Decimal("66.7"))


def test_the_median_lag_of_an_odd_count_is_the_middle_one() -> None:
    hours = [dt.timedelta(hours=h) for h in (30, 2, 7)]
    health = dashboard.MethodHealth("2026Q3", 3, tuple(hours), 3, 0, 0)
    assert health.approval_lag_hours == Decimal("7.0")
    assert dashboard.MethodHealth("2026Q3", 0, (), 0, 0, 0).approval_lag_hours is None


def test_an_approved_village_never_returned_is_a_first_pass(db: Session, small: Small) -> None:
    vp = _of(db, small, "乙", small.q4)
    vp.state, vp.approved_at = WorkflowState.APPROVED, at(11, 21, 9)  # submitted 11-20 09:00: 24 h
    db.flush()
    health = dashboard.method_health(db, small.county, small.q4)[-1]
    assert (health.approved, health.first_pass, health.first_pass_percent) == (2, 1, Decimal("50.0"))
    assert health.approval_lag_hours == Decimal("15.3")  # the mean of 6.5 h and 24 h, 15.25 half-up


def test_the_whole_dashboard_on_the_demo_county(db: Session) -> None:
    """The demo: 2026Q3 final everywhere, every lag 48 h, nobody returned, one plaque revoked in
    2026Q4 (the inspector's, counted in the latest period)."""
    from hygiene.services.setup import units

    county = units.get_county(db, "520999")
    q4 = periods.get_period(db, county.id, "2026Q4")
    board = dashboard.county_dashboard(db, county, q4)
    q3_health, q4_health = board.health
    assert q3_health.approved == 12 and q3_health.first_pass == 12
    assert q3_health.approval_lag_hours == Decimal("48.0")
    assert q4_health.revoked == 1
    assert q4_health.plaques_at_start == db.scalar(
        sa.select(sa.func.count(Plaque.id)).where(
            Plaque.issued_period_id == periods.get_period(db, county.id, "2026Q3").id
        )
    )
    assert [t.code for t in board.grades] == ["52099901", "52099902", "52099903"]
    assert sum(t.households for t in board.trend if t.period_code == "2026Q3") == sum(
        g.households for g in dashboard.grade_distribution(db, county, periods.get_period(db, county.id, "2026Q3"))
    )
