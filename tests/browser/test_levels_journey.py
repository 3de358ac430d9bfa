"""A city inspector's journey on a phone (issue 33, three levels of supervision): from the city's
page into one of its counties, the city's team takes a township, adopts its sample and enters a
spot check that fails a plaque holder; the plaque is revoked and the notice, issued at the city's
level, is in the county's problem ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from hygiene.db import make_engine, make_sessionmaker
from tests.browser.conftest import serving
from tests.browser.test_inspection_journey import a_plaque_holder_of_qingshan, fits_the_phone
from tests.hygiene.levels import PASSWORD, three_levels

pytestmark = pytest.mark.browser


def test_a_city_inspector_plans_and_enters_a_spot_check_in_its_county(
    page: Page, live_database: Path, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{live_database}")
    with make_sessionmaker(engine).begin() as session:
        three_levels(session)
    engine.dispose()
    code, head_name, serial = a_plaque_holder_of_qingshan(live_database)
    with serving(live_database) as base:
        page.goto(f"{base}/login")
        page.get_by_label("用户名").fill("city-inspector")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name="测试市 · 市级督查")).to_be_visible()
        fits_the_phone(page)
        page.get_by_role("link", name="进入督查").click()
        page.goto(f"{base}/inspection/520999/?period=2026Q3")
        expect(page.get_by_role("heading", name="2026Q3 认领督查乡镇（市级督查）")).to_be_visible()
        page.locator("tr", has_text="松林镇").get_by_role("button", name="本组认领").click()
        expect(page.get_by_text("本组已认领松林镇2026Q3的督查")).to_be_visible()
        fits_the_phone(page)
        page.get_by_role("link", name="抽查样本").first.click()
        expect(page.get_by_role("heading", name="松林镇 · 2026Q3 抽查样本")).to_be_visible()
        page.get_by_role("button", name="采用此样本").click()
        expect(page.get_by_text("已采用松林镇2026Q3的抽查样本")).to_be_visible()

        page.goto(f"{base}/inspection/520999/townships/52099901/periods/2026Q3/checks")
        page.get_by_label("户编号").fill(code)
        page.get_by_role("button", name="录入该户抽查").click()
        expect(page.get_by_role("heading", name=f"{head_name} · 2026Q3 抽查")).to_be_visible()
        scores = page.locator("form.review-form input.score")
        for index in range(scores.count()):
            scores.nth(index).fill("5")
        page.get_by_role("button", name="保存抽查").click()
        saved = page.get_by_text(f"已保存抽查：{code}")
        expect(saved).to_contain_text(f"已摘除牌匾 {serial}")
        expect(saved).to_contain_text("督办通知单")
        fits_the_phone(page)
        page.screenshot(path=str(tmp_path / "city-checked.png"), full_page=True)

        page.goto(f"{base}/inspection/520999/notices")
        expect(page.locator("tr", has_text=head_name).first).to_contain_text("市级")
        answer = page.goto(f"{base}/inspection/520998/")  # another city's county
        assert answer is not None and answer.status == 403
        expect(page.get_by_role("heading", name="无权访问")).to_be_visible()
