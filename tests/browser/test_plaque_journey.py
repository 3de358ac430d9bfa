"""The plaque journey in headless Chromium: a household moves after its quarter is final and the
posted list does not change; an inspector finds a plaque in the township's register and revokes it
after a failed spot check; the register and the plaque's history show it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journeys import login

pytestmark = pytest.mark.browser


def test_a_posted_list_stands_and_an_inspector_revokes_a_plaque(page: Page, live_server: str, tmp_path: Path) -> None:
    page.goto(f"{live_server}/public/villages/5209990101/2026Q3")
    posted = page.locator("table.public-list").inner_text()

    login(page, live_server, "village")
    page.goto(f"{live_server}/village/5209990101/households/520999010101001/edit")
    page.get_by_label("村民组").select_option(label="第二组")
    page.get_by_label("户主姓名").fill("改名户主")
    page.get_by_label("修改原因").fill("分户调组")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已保存")).to_be_visible()
    page.goto(f"{live_server}/public/villages/5209990101/2026Q3")
    assert page.locator("table.public-list").inner_text() == posted  # the list as it was posted
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("已退出登录")).to_be_visible()  # the phone's queue and pages are cleared first

    login(page, live_server, "inspector")
    page.goto(f"{live_server}/township/52099901/")
    page.get_by_role("link", name="挂牌台账").click()
    expect(page.get_by_role("heading", name="松林镇 · 挂牌台账")).to_be_visible()
    page.get_by_role("link", name="520999-2026-000001").click()
    expect(page.get_by_role("heading", name="牌匾 520999-2026-000001")).to_be_visible()
    expect(page.locator("table.history").get_by_text("挂牌", exact=True)).to_be_visible()
    page.get_by_label("摘牌原因").fill("督查抽查：厕所不洁")
    page.get_by_role("button", name="摘牌").click()
    expect(page.get_by_role("heading", name="请确认：摘牌 520999-2026-000001")).to_be_visible()
    expect(page.get_by_text("卫生星随之撤销", exact=False)).to_be_visible()
    page.get_by_role("button", name="确认摘牌 520999-2026-000001").click()
    expect(page.get_by_text("已摘牌 520999-2026-000001")).to_be_visible()
    expect(page.locator("table.history").get_by_text("督查抽查：厕所不洁")).to_be_visible()
    expect(page.get_by_text("已摘牌", exact=True)).to_be_visible()
    page.get_by_role("link", name="松林镇 挂牌台账").click()
    expect(page.get_by_text("督查抽查：厕所不洁")).to_be_visible()
    page.screenshot(path=str(tmp_path / "register.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]  # no sideways scroll
