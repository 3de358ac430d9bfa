"""The group entry screen in headless Chromium (issue 17): the team remembered, running totals as
the clerk types, a bad cell marked in place, then the whole group saved at once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journeys import login

pytestmark = pytest.mark.browser
H1 = "520999010101001"  # 青山村 第一组: no review in 2026Q4


def test_a_clerk_enters_a_whole_groups_group_reviews_on_one_screen(page: Page, live_server: str) -> None:
    login(page, live_server, "village")
    page.goto(f"{live_server}/village/5209990101/periods/2026Q4/")
    page.locator("p.actions").get_by_role("link").nth(1).click()  # the first villager group
    expect(page.get_by_role("heading", name="小组复评录入")).to_be_visible()
    expect(page.get_by_label("评比检查小组成员")).not_to_have_value("")
    row = page.get_by_role("row").filter(has_text=H1)
    cells = row.locator("input.score-cell")
    expect(cells).to_have_count(10)
    for i in range(10):
        cells.nth(i).fill("９" if i == 0 else "9")  # a full-width digit from a Chinese input method
    expect(row.locator("output.row-total")).to_have_text("90.0")
    cells.nth(9).fill("9.55")
    page.get_by_role("button", name="保存本组复评").click()
    expect(page.get_by_role("row").filter(has_text=H1).locator(".error")).to_have_text("最多一位小数（如 9.5），0–10分")
    page.get_by_role("row").filter(has_text=H1).locator("input.score-cell").nth(9).fill("9.5")
    page.get_by_role("button", name="保存本组复评").click()
    expect(page.get_by_text(re.compile(r"的小组复评：\d+ 户有变更"))).to_be_visible()
