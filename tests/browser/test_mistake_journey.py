"""A county office puts mistakes right (issue 30, "Done means"): a plaque revoked by a wrong spot
check is reinstated; 青山村's final 2026Q3 is sent back (更正) after a confirmation step naming what
it changes, corrected, approved and published again as version 2 (the public list says 更正), and
final again; the plaque register ends as it was before the mistake, every step in the audit log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from playwright.sync_api import Page, expect

from tests.browser.conftest import serving
from tests.browser.test_journeys import login
from web.cli import main

pytestmark = pytest.mark.browser
TOWNSHIP = "/township/52099901"
Q3 = f"{TOWNSHIP}/periods/2026Q3/villages/5209990101/"
REGISTER = f"{TOWNSHIP}/plaques/?village=5209990101"


def register_rows(page: Page) -> list[str]:
    return [row.inner_text() for row in page.locator("table.plaques tbody tr").all()]


def logout(page: Page) -> None:
    """Sign out and wait for it: the page first clears the phone's offline queue (issue 31)."""
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("已退出登录")).to_be_visible()


def if_asked(page: Page, label: str, reason: str) -> None:
    """Fill the reason a guarded move asks for when something is missing (shortfalls)."""
    field = page.get_by_label(label)
    if field.count():
        field.fill(reason)


def test_a_county_office_puts_a_wrong_revocation_and_a_wrong_final_period_right(
    page: Page, live_database: Path
) -> None:
    with serving(live_database) as base:
        # 1. the demo's inspector revoked a plaque of 青山村 by mistake: reinstated on its page
        login(page, base, "inspector")
        page.goto(base + REGISTER)
        page.locator("table.plaques tr.revoked a").first.click()
        serial = page.locator("h1").inner_text().removeprefix("牌匾 ")
        page.get_by_label("恢复原因").fill("抽查抽错户：应为邻户")
        page.get_by_role("button", name="恢复牌匾").click()
        expect(page.get_by_text(f"已恢复牌匾 {serial}")).to_be_visible()
        expect(page.locator("table.history").get_by_text("恢复", exact=True)).to_be_visible()
        page.goto(base + REGISTER)
        before = register_rows(page)
        assert before and not any("已摘牌" in row for row in before)
        logout(page)

        # 2. the county administrator sends the final period back, after reading what it changes
        login(page, base, "county")
        page.goto(base + Q3)
        page.get_by_label("更正原因（村委会和档案可见）").fill("第二组复评分录错")
        page.get_by_role("button", name="退回更正").click()
        expect(page.get_by_role("heading", name="请确认：退回更正")).to_be_visible()
        expect(page.get_by_text("第1版公示结果存档保留，标为已更正", exact=False)).to_be_visible()
        expect(page.get_by_text(f"作废牌匾 {serial}", exact=False)).to_be_visible()
        page.get_by_role("button", name="确认退回更正").click()
        expect(page.get_by_text("青山村 2026Q3 已退回村委会更正")).to_be_visible()
        expect(page.locator(".state").first).to_have_text("已退回")
        page.goto(base + REGISTER)
        expect(page.get_by_text("暂无牌匾", exact=False)).to_be_visible()
        logout(page)

        # 3. the clerk corrects and submits; the reviewer approves and publishes version 2
        login(page, base, "village")
        page.goto(base + "/village/5209990101/periods/2026Q3/")
        expect(page.get_by_text("退回原因：更正：第二组复评分录错")).to_be_visible()
        if_asked(page, "仍要提交审核的原因（必填）", "已核对")
        page.get_by_role("button", name="提交乡镇审核").click()
        logout(page)
        login(page, base, "township")
        page.goto(base + Q3)
        if_asked(page, "仍要审核通过的原因（必填）", "已核对")
        page.get_by_role("button", name="审核通过").click()
        if_asked(page, "仍要公示的原因（必填）", "已核对")
        page.get_by_role("button", name="发布公示").click()
        page.get_by_role("button", name="确认公示").click()
        expect(page.locator(".state").first).to_have_text("公示中")
        logout(page)
        page.goto(base + "/public/villages/5209990101/2026Q3")
        expect(page.get_by_text("本名单为第2版，更正第1版公示的结果", exact=False)).to_be_visible()

    # 4. the posting period runs out and the tick makes it final again
    with sqlite3.connect(live_database) as db:
        db.execute(
            "UPDATE village_periods SET posting_ends_at = '2026-01-01 00:00:00.000000' WHERE state = 'published'"
            " AND village_id = (SELECT id FROM villages WHERE code = '5209990101')"
        )
    ticked = CliRunner().invoke(main, ["tick"], env={"DATABASE_URL": f"sqlite:///{live_database}"})
    assert ticked.exit_code == 0, ticked.output
    with serving(live_database) as base:
        login(page, base, "township")
        page.goto(base + REGISTER)
        assert register_rows(page) == before  # as if the mistake had never happened
    with sqlite3.connect(live_database) as db:
        actions = {row[0] for row in db.execute("SELECT action FROM audit_log")}
    assert {"plaque_reinstate", "reopen", "record_supersede", "plaque_void", "publish", "finalize"} <= actions
