"""Sign-off levels (issue 33, RULES.md §5): up to two county levels after the township's approval,
in order, each approving or returning with a reason; publication waits for the last; the boards
show where each village is; the levels in force are the period's."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from hygiene.enums import Role, WorkflowState
from hygiene.services.errors import Conflict, PermissionDenied, ServiceError
from hygiene.services.rating import boards, sign_offs, workflow
from hygiene.services.setup import accounts, counties, units
from tests.hygiene import factories
from tests.hygiene.test_workflow import APPROVED, SUBMITTED, moves, user, vp

NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


def levels(db: Session, n: int) -> None:
    factories.period(db, "2026Q4").sign_off_levels = n
    db.flush()


def test_a_second_level_blocks_publication_until_it_approves(db: Session) -> None:
    levels(db, 2)
    period = vp(db, APPROVED)
    reviewer, county_admin = user(db, "township"), user(db, "county")
    assert sign_offs.pending_level(period) == 2
    assert sign_offs.stage_label(period) == "待县级复核（第2级）"
    with pytest.raises(ServiceError, match="还需县级第2级签批，全部签批通过后才能公示"):
        workflow.publish(db, reviewer, period, period.version, now=NOW, override_reason="已核对")
    assert period.state is WorkflowState.APPROVED and period.published_at is None
    with pytest.raises(PermissionDenied):
        sign_offs.sign_off(db, reviewer, period, period.version)
    sign_offs.sign_off(db, county_admin, period, period.version)
    assert period.sign_offs == 1 and sign_offs.pending_level(period) is None
    assert sign_offs.stage_label(period) == "已审核（2级签批完成，待公示）"
    with pytest.raises(ServiceError, match="没有待县级签批的层级"):
        sign_offs.sign_off(db, county_admin, period, period.version)
    workflow.publish(db, reviewer, period, period.version, now=NOW, override_reason="已核对")
    assert period.state is WorkflowState.PUBLISHED
    trail = moves(db, period)
    assert [e.action for e in trail][-2:] == ["sign_off", "publish"]
    assert trail[-2].actor == "county" and trail[-2].reason == "第2级（县级复核）通过"
    assert trail[-2].before["sign_offs"] == 0 and trail[-2].after["sign_offs"] == 1


def test_three_levels_in_order_and_a_return_starts_again(db: Session) -> None:
    levels(db, 3)
    period = vp(db, SUBMITTED)
    clerk = accounts.create_user(
        db, username="clerk02", password="clerk-pass-2026", role=Role.VILLAGE_CLERK, unit_code=SUBMITTED
    )
    reviewer, county_admin = user(db, "township"), user(db, "county")
    workflow.approve(db, reviewer, period, period.version, override_reason="已核对")
    sign_offs.sign_off(db, county_admin, period, period.version)
    assert sign_offs.stage_label(period) == "待县级审核（第3级）"
    with pytest.raises(ServiceError, match="退回必须填写原因"):
        sign_offs.return_at_level(db, county_admin, period, period.version, "  ")
    sign_offs.return_at_level(db, county_admin, period, period.version, "第三组互评不足")
    assert period.state is WorkflowState.RETURNED and period.sign_offs == 0 and period.approved_at is None
    assert period.return_reason == "县级审核（第3级）退回：第三组互评不足"
    assert moves(db, period)[-1].action == "return_at_level"
    workflow.submit(db, clerk, period, period.version, override_reason="已补")
    workflow.approve(db, reviewer, period, period.version, override_reason="已核对")
    assert sign_offs.pending_level(period) == 2  # every level again
    sign_offs.sign_off(db, county_admin, period, period.version)
    workflow.unapprove(db, reviewer, period, period.version, "名额需调整")
    assert period.sign_offs == 0  # the township takes its approval back: the county's go with it


def test_a_stale_page_and_another_countys_administrator_are_refused(db: Session) -> None:
    levels(db, 2)
    period = vp(db, APPROVED)
    seen = period.version
    with pytest.raises(PermissionDenied):
        sign_offs.sign_off(db, user(db, "county2"), period, seen)
    sign_offs.sign_off(db, user(db, "county"), period, seen)
    with pytest.raises(Conflict):
        sign_offs.return_at_level(db, user(db, "county"), period, seen, "晚了")
    assert period.sign_offs == 1 and period.state is WorkflowState.APPROVED


def test_one_level_publishes_as_before_and_the_setting_reaches_periods_opened_later(db: Session) -> None:
    county = units.get_county(db, "520999")
    period = vp(db, APPROVED)
    assert sign_offs.pending_level(period) is None and sign_offs.stage_label(period) == "已审核"
    counties.change_settings(db, None, county, {"sign_off_levels": "3"})
    assert factories.period(db, "2026Q4").sign_off_levels == 1
    assert counties.open_period(db, None, county, "2027Q1").period.sign_off_levels == 3
    with pytest.raises(Exception, match="不是1–3之间的整数"):
        counties.change_settings(db, None, county, {"sign_off_levels": "4"})
    workflow.publish(db, user(db, "township"), period, period.version, now=NOW, override_reason="已核对")
    assert period.state is WorkflowState.PUBLISHED


def test_the_county_sees_what_waits_for_it_and_the_board_where_each_village_is(db: Session) -> None:
    levels(db, 3)
    county = units.get_county(db, "520999")
    q4 = factories.period(db, "2026Q4")
    approved = vp(db, APPROVED)
    sign_offs.sign_off(db, user(db, "county"), approved, approved.version)
    submitted = vp(db, SUBMITTED)
    workflow.approve(db, user(db, "township"), submitted, submitted.version, override_reason="已核对")
    found = sign_offs.waiting(db, county, q4)
    got = [(w.village.code, w.level) for w in found]
    assert got == sorted(got)  # by township, then village
    assert (SUBMITTED, 2) in got and (APPROVED, 3) in got
    others = [v for v, _ in got if v not in (SUBMITTED, APPROVED)]  # the demo's other approved villages
    assert all(vp(db, v).state is WorkflowState.APPROVED and vp(db, v).sign_offs == 0 for v in others)
    township = factories.village(db, APPROVED).township
    labels = {
        row.village.code: sign_offs.stage_label(row.village_period) for row in boards.township_board(db, township, q4)
    }
    assert labels[APPROVED] == "待县级审核（第3级）" and labels[SUBMITTED] == "待县级复核（第2级）"
    with pytest.raises(Exception, match="该期不属于本县"):
        sign_offs.waiting(db, units.get_county(db, "520998"), q4)
