"""A resident on a 360 px phone, without logging in (issue 18): opens the village's posted list,
reads how long the posting runs, finds a household by its code, reads its criteria against the
village's average, and objects to its result; the township reviewer then sees the objection."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import serving
from tests.browser.test_journeys import login
from tests.browser.test_phone_lists import WIDTH, inside_viewport

pytestmark = pytest.mark.browser
VILLAGE, PERIOD = "5209990104", "2026Q4"  # 大坪村: published in the demo


@pytest.fixture
def posting_server(live_database: Path) -> Iterator[str]:
    """The demo served with 大坪村 2026Q4's posting period running until five days from now."""
    ends = (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).strftime("%Y-%m-%d %H:%M:%S.000000")
    with sqlite3.connect(live_database) as db:
        changed = db.execute(
            "UPDATE village_periods SET posting_ends_at = ? WHERE state = 'published' AND village_id ="
            " (SELECT id FROM villages WHERE code = ?) AND period_id IN (SELECT id FROM periods WHERE code = ?)",
            (ends, VILLAGE, PERIOD),
        ).rowcount
    assert changed == 1
    with serving(live_database) as base:
        yield base


def test_a_resident_finds_a_household_reads_its_criteria_and_objects(
    page: Page, browser: Browser, posting_server: str
) -> None:
    page.set_viewport_size({"width": WIDTH, "height": 740})
    page.goto(posting_server)
    page.get_by_role("link", name="大坪村").click()
    page.get_by_role("link", name=PERIOD, exact=True).click()
    expect(page.get_by_text(re.compile(r"公示期还剩 [56] 天"))).to_be_visible()
    rows = page.locator("table.public-list tbody tr")
    assert rows.count() > 10
    assert inside_viewport(page.locator("table.public-list td:nth-child(5)")) == []

    # the household of the third row, found by the tail of its code
    code = rows.nth(2).locator("td:nth-child(2)").inner_text().strip()
    page.get_by_label("查找：户编号或姓氏").fill(code[-5:])
    page.get_by_role("button", name="查找").click()
    expect(page.get_by_role("status").filter(has_text="找到 1 户")).to_be_visible()
    page.get_by_role("link", name=code).click()

    expect(page.get_by_role("heading", name=re.compile(rf"^.\*\*户（{code}）$"))).to_be_visible()
    criteria = page.locator("table.criteria tbody tr")
    expect(criteria).to_have_count(10)
    assert inside_viewport(page.locator("table.criteria td.card-grade")) == []
    expect(page.locator("table.history-grades tbody tr").first).to_contain_text(PERIOD)

    page.get_by_role("link", name="提出异议").click()
    expect(page.get_by_role("heading", name=f"对户编号 {code} 的评比结果提出异议")).to_be_visible()
    page.get_by_label(re.compile("异议理由")).fill("该户院内常年堆放杂物，与公示等级不符")
    page.get_by_label(re.compile("联系方式")).fill("13800001111")
    page.get_by_role("button", name="提交异议").click()
    expect(page.get_by_role("status").filter(has_text="已收到您的异议")).to_be_visible()
    expect(page.locator("section.objections")).to_contain_text(code)
    assert "13800001111" not in page.content()  # the contact is for the township only

    reviewer = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        office = reviewer.new_page()
        login(office, posting_server, "township")
        office.get_by_role("link", name=re.compile("待处理异议")).click()
        expect(office.locator("main")).to_contain_text("该户院内常年堆放杂物，与公示等级不符")
        expect(office.locator("main")).to_contain_text(code)
    finally:
        reviewer.close()
