"""The star journey on a phone, in headless Chromium (issue 29): a village clerk grants stars to a
plaque holder until it is five-plus, the township finds it at the head of the benefits list, a
failed spot check revokes the plaque, and the household leaves the five-plus list with its
hygiene star."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_inspection_journey import fits_the_phone
from tests.browser.test_journeys import login

pytestmark = pytest.mark.browser


def a_holder_short_of_five_plus(database: Path) -> tuple[str, str]:
    """A household of 青山村 holding a valid plaque and not five-plus (fewer than six stars)."""
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT h.code, h.head_name FROM plaques p JOIN households h ON h.id = p.household_id"
            " WHERE p.state = 'valid' AND h.code LIKE '5209990101%' AND (SELECT count(*) FROM household_stars s"
            " JOIN stars c ON c.id = s.star_id WHERE s.household_id = h.id AND s.withdrawn_on IS NULL"
            " AND NOT c.is_title) < 5 ORDER BY h.code LIMIT 1"
        ).fetchone()
    assert row is not None, "the demo has a plaque holder of 青山村 short of five-plus"
    return row


def test_stars_to_five_plus_then_a_spot_check_takes_it_away(
    page: Page, live_database: Path, live_server: str, tmp_path: Path
) -> None:
    code, head_name = a_holder_short_of_five_plus(live_database)
    login(page, live_server, "village")
    page.goto(f"{live_server}/village/5209990101/")
    page.get_by_role("link", name="星级户").click()
    fits_the_phone(page)
    page.get_by_role("link", name=code).click()
    expect(page.get_by_role("heading", name=f"{head_name}（{code}）的星级")).to_be_visible()
    expect(page.locator("li.held").filter(has_text="卫生星")).to_contain_text("随牌匾")
    fits_the_phone(page)
    page.get_by_label("原因").fill("村民代表会议评定")
    for _ in range(9):  # grant the first missing star until the household is five-plus
        if "5+X户" in page.locator("#star-summary").inner_text():
            break
        page.get_by_role("button", name="授予").first.click()
        expect(page.get_by_text("已授予")).to_be_visible()
        page.get_by_label("原因").fill("村民代表会议评定")
    expect(page.locator("#star-summary")).to_contain_text("5+X户")
    page.screenshot(path=str(tmp_path / "five-plus.png"), full_page=True)
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("已退出登录")).to_be_visible()  # the phone's queue is cleared first

    login(page, live_server, "township")
    page.goto(f"{live_server}/township/52099901/")
    page.get_by_role("link", name="惠民政策优先名单").click()
    expect(page.locator("table.five-plus").get_by_text(code)).to_be_visible()
    fits_the_phone(page)
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("已退出登录")).to_be_visible()  # the phone's queue is cleared first

    login(page, live_server, "inspector")
    page.goto(f"{live_server}/inspection/520999/townships/52099901/periods/2026Q3/checks")
    page.get_by_label("户编号").fill(code)
    page.get_by_role("button", name="录入该户抽查").click()
    scores = page.locator("form.review-form input.score")
    for index in range(scores.count()):
        scores.nth(index).fill("5")
    page.get_by_role("button", name="保存抽查").click()
    expect(page.get_by_text(f"已保存抽查：{code}")).to_contain_text("已摘除牌匾")
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("已退出登录")).to_be_visible()  # the phone's queue is cleared first

    login(page, live_server, "township")
    page.goto(f"{live_server}/township/52099901/benefits")
    expect(page.locator("table.five-plus").get_by_text(code)).to_have_count(0)
    expect(page.locator("table.others").get_by_text(code)).to_be_visible()
    page.goto(f"{live_server}/village/5209990101/stars/{code}")
    expect(page.locator("li.missing").filter(has_text="卫生星")).to_be_visible()
    fits_the_phone(page)
