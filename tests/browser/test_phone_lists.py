"""Result lists on a 360 px phone (issue 17): every row's grade and award lie inside the viewport,
measured on the elements' own boxes (a table scrolling inside itself would hide them just the same),
and the long household code comes last in the card."""

from __future__ import annotations

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
