"""Result lists on a 360 px phone (issue 17): every row's grade and award lie inside the viewport,
measured on the elements' own boxes (a table scrolling inside itself would hide them just the same),
and the long household code comes last in the card."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.test_journeys import login

pytestmark = pytest.mark.browser
WIDTH = 360


def inside_viewport(cells: Locator) -> list[str]:
    """The texts of the cells whose box is not wholly within the 360 px width (empty when all are)."""
    outside = []
    for i in range(cells.count()):
        cell = cells.nth(i)
        box = cell.bounding_box()
        assert box is not None, f"cell {i} is not displayed"
        if box["x"] < 0 or box["x"] + box["width"] > WIDTH:
            outside.append(f"{cell.inner_text()} at x={box['x']:.0f}+{box['width']:.0f}")
    return outside


def test_the_public_list_is_a_card_per_household_on_a_phone(page: Page, live_server: str, tmp_path: Path) -> None:
    page.set_viewport_size({"width": WIDTH, "height": 740})
    page.goto(f"{live_server}/public/villages/5209990101/2026Q3")
    rows = page.locator("table.public-list tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() > 40
    assert inside_viewport(page.locator("table.public-list td:nth-child(5)")) == []
    awards = page.locator("table.public-list td:nth-child(6):not(:empty)")
    assert awards.count() > 0 and inside_viewport(awards) == []
    first = rows.first
    grade_box = first.locator("td:nth-child(5)").bounding_box()  # 等级
    code_box = first.locator("td:nth-child(2)").bounding_box()  # 户编号
    assert grade_box and code_box and code_box["y"] > grade_box["y"]  # the code below, not before
    page.screenshot(path=str(tmp_path / "public-360.png"), full_page=True)


def test_the_township_results_show_grade_and_award_on_a_phone(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": WIDTH, "height": 740})
    login(page, live_server, "township")
    page.goto(f"{live_server}/township/52099901/periods/2026Q4/villages/5209990104/")
    rows = page.locator("table.results tbody tr")
    expect(rows.first).to_be_visible()
    assert inside_viewport(page.locator("table.results td.card-grade")) == []
    awards = page.locator("table.results td.card-award:not(:empty)")
    assert awards.count() > 0 and inside_viewport(awards) == []


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_the_village_board_and_roster_are_cards_on_a_phone(page: Page, live_server: str) -> None:
    """Issue 30: the board's 17 grades sat at x = 616-692 px; now every grade is on screen."""
    page.set_viewport_size({"width": WIDTH, "height": 740})
    login(page, live_server, "village")
    page.goto(f"{live_server}/village/5209990101/periods/2026Q3/")
    grades = page.locator("table.board td.card-grade")
    expect(grades.first).to_be_visible()
    assert grades.count() > 40 and inside_viewport(grades) == []
    no_sideways_scroll(page)
    page.goto(f"{live_server}/village/5209990101/")
    names = page.locator("table.roster td.card-name")
    assert names.count() > 40 and inside_viewport(names) == []
    expect(page.locator("table.roster td[data-label='人口']").first).to_be_visible()
    no_sideways_scroll(page)


def test_the_group_grid_on_a_phone_and_a_refused_save_says_so_at_the_top(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": WIDTH, "height": 740})
    login(page, live_server, "village")
    page.goto(f"{live_server}/village/5209990101/periods/2026Q4/groups/520999010101/review")
    cells = page.locator("table.entry-grid input.score-cell")
    expect(cells.first).to_be_visible()
    assert inside_viewport(cells) == []
    no_sideways_scroll(page)
    page.get_by_label("评比检查小组成员").fill("王组长、李委员")
    for i in range(10):
        cells.nth(i).fill("9")
    cells.nth(1).fill("10.5")
    page.get_by_role("button", name=re.compile("保存")).click()
    banner = page.locator(".save-failed")
    expect(banner).to_contain_text("未保存：有 1 处需要修改")
    wrong = page.locator("table.entry-grid td.has-error input")
    expect(wrong).to_be_focused()  # the page opens at the first error ...
    box, cell = banner.bounding_box(), wrong.bounding_box()
    assert box is not None and 0 <= box["y"] < 740  # ... and the banner stays in view above it
    assert cell is not None and box["y"] + box["height"] <= cell["y"] < 740
    assert inside_viewport(page.locator("table.entry-grid td.has-error .error")) == []


def test_the_county_progress_table_is_a_card_per_township_on_a_phone(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": WIDTH, "height": 740})
    login(page, live_server, "county")
    page.goto(f"{live_server}/county/520999/")
    counts = page.locator("table.state-matrix td[data-label]")
    expect(counts.first).to_be_visible()
    assert inside_viewport(counts) == []
    no_sideways_scroll(page)
