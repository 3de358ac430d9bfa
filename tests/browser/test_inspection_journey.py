"""An inspector's journey on a phone, in headless Chromium (issue 19): from the township's sample to
a spot check that fails a plaque holder, the plaque revoked and a rectification notice issued, the
village clerk reporting the rectification, and the inspector closing the notice."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE
from tests.browser.test_journeys import login
from tests.hygiene.test_field import jpeg_with_gps

pytestmark = pytest.mark.browser


def a_plaque_holder_of_qingshan(database: Path) -> tuple[str, str, str]:
    """A household of 青山村 holding a valid plaque: its code, its head's name and the plaque's serial."""
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT h.code, h.head_name, p.serial FROM plaques p JOIN households h ON h.id = p.household_id"
            " WHERE p.state = 'valid' AND h.code LIKE '5209990101%' ORDER BY h.code LIMIT 1"
        ).fetchone()
    assert row is not None, "the demo has a valid plaque in 青山村"
    return row


def fits_the_phone(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"], page.url


def test_an_inspector_checks_a_sample_and_closes_the_notice(
    page: Page, live_database: Path, live_server: str, tmp_path: Path
) -> None:
    code, head_name, serial = a_plaque_holder_of_qingshan(live_database)

    login(page, live_server, "inspector")
    page.goto(f"{live_server}/inspection/520999/?period=2026Q3")
    expect(page.get_by_role("heading", name="2026Q3 本组负责的乡镇")).to_be_visible()
    page.get_by_role("link", name="抽查样本").first.click()
    expect(page.get_by_role("heading", name="松林镇 · 2026Q3 抽查样本")).to_be_visible()
    fits_the_phone(page)
    page.get_by_role("button", name="采用此样本").click()
    expect(page.get_by_text("已采用松林镇2026Q3的抽查样本")).to_be_visible()

    page.goto(f"{live_server}/inspection/520999/townships/52099901/periods/2026Q3/checks")
    expect(page.get_by_role("heading", name="松林镇 · 2026Q3 抽查")).to_be_visible()
    fits_the_phone(page)
    page.get_by_label("户编号").fill(code)
    page.get_by_role("button", name="录入该户抽查").click()
    expect(page.get_by_role("heading", name=f"{head_name} · 2026Q3 抽查")).to_be_visible()
    fits_the_phone(page)
    scores = page.locator("form.review-form input.score")
    assert scores.count() == 10  # the period's rubric, criterion by criterion
    for index in range(scores.count()):
        scores.nth(index).fill("５")  # full-width digits are digits
    page.get_by_role("button", name="保存抽查").click()
    saved = page.get_by_text(f"已保存抽查：{code}")
    expect(saved).to_be_visible()
    expect(saved).to_contain_text(f"已摘除牌匾 {serial}")
    expect(saved).to_contain_text("督办通知单")
    page.screenshot(path=str(tmp_path / "checked.png"), full_page=True)

    page.goto(f"{live_server}/inspection/520999/")
    page.get_by_role("link", name="问题台账").click()
    expect(page.get_by_text(head_name).first).to_be_visible()
    fits_the_phone(page)
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("已退出登录")).to_be_visible()  # the phone's queue and pages are cleared first

    login(page, live_server, "village")
    page.goto(f"{live_server}/village/5209990101/")
    page.get_by_role("link", name="督办通知单（待整改 1）").click()
    expect(page.get_by_text(head_name).first).to_be_visible()
    fits_the_phone(page)
    page.get_by_label("整改情况").fill("已清理院落，厕所已改造，村委会复查合格")
    # a report needs a photo of the place after the work (issue 31), taken with the phone's camera
    page.get_by_label(re.compile("整改后现场照片")).set_input_files(
        {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}
    )
    page.get_by_role("button", name="上报整改情况").click()
    expect(page.get_by_text("等待督查组验收")).to_be_visible()
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("已退出登录")).to_be_visible()  # the phone's queue and pages are cleared first

    login(page, live_server, "inspector")
    page.goto(f"{live_server}/inspection/520999/notices?state=rectified")
    page.get_by_role("link", name=re.compile(r"^第\d+号$")).first.click()
    expect(page.get_by_text("已清理院落，厕所已改造，村委会复查合格").first).to_be_visible()
    fits_the_phone(page)
    page.get_by_label("验收意见或退回理由").fill("现场复查，已整改到位")
    page.get_by_role("button", name="验收通过（销号）").click()
    expect(page.locator(".state").first).to_have_text("已销号")
    expect(page.get_by_text("现场复查，已整改到位").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "closed.png"), full_page=True)

    page.goto(f"{live_server}/public/villages/5209990101/households/{code}")
    expect(page.get_by_text(re.compile(r"已于 \d{4}-\d{2}-\d{2} 摘牌"))).to_be_visible()  # residents see it too
