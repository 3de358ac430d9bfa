"""The county administrator's journey in headless Chromium: a unit sheet brings in a new township
(checked, previewed, confirmed), a county-wide roster fills it with its progress shown, the rollout
plan's shares change, a setting changes, and the next quarter opens for the villages in the
programme."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_journeys import login
from tests.sheets import ROSTER_HEADER, csv_file, roster_row

pytestmark = pytest.mark.browser

UNIT_HEADER = ["乡镇代码", "乡镇", "村代码", "村", "村民组代码", "村民组", "纳入年度"]


def test_a_county_brings_in_a_township_and_opens_the_next_quarter(page: Page, live_server: str, tmp_path: Path) -> None:
    sheet = tmp_path / "单位表.csv"
    sheet.write_bytes(
        csv_file(
            UNIT_HEADER,
            [
                ["52099904", "新镇", "5209990401", "新村", "520999040101", "第一组", "2027"],
                ["52099904", "新镇", "5209990401", "新村", "520999040102", "第二组", "2027"],
            ],
        )
    )
    login(page, live_server, "county")
    page.get_by_role("link", name="导入单位表").click()
    page.get_by_label("选择文件").set_input_files(str(sheet))
    page.get_by_role("button", name="上传并检查").click()
    expect(page.get_by_text("新增乡镇 1 个、村 1 个、村民组 2 个")).to_be_visible()
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_text("已导入单位表 单位表.csv：5 条变更")).to_be_visible()

    roster = tmp_path / "全县花名册.csv"
    rows = [roster_row(f"52099904010{n:04d}", f"新户{n}", township="新镇", village="新村") for n in range(1, 4001)]
    roster.write_bytes(csv_file(ROSTER_HEADER, rows))
    page.get_by_role("link", name="导入全县花名册").click()
    page.get_by_label("选择文件").set_input_files(str(roster))
    page.get_by_role("button", name="上传并检查").click()
    expect(page.get_by_text("检查通过（4000 行），确认后将：新增 4000 户")).to_be_visible()
    expect(page.get_by_role("cell", name="新镇")).to_be_visible()
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_text("已导入花名册 全县花名册.csv：新增 4000 户")).to_be_visible()
    expect(page.get_by_text("正在写入：4000 / 4000 户")).to_be_hidden()  # only the latest step shows
    page.get_by_role("link", name="完成").click()

    page.get_by_role("link", name="推进计划").click()
    page.get_by_label("第1年 比例（%）").fill("10")
    page.get_by_label("第2年 比例（%）").fill("40")
    page.get_by_role("button", name="保存推进计划").click()
    expect(page.get_by_text("已修改推进计划")).to_be_visible()
    expect(page.get_by_role("row", name="2026 40% 50%")).to_be_visible()
    page.get_by_role("link", name="← 示范县").click()

    page.get_by_role("link", name="评比设置").click()
    page.get_by_label("公示天数（天）").fill("10")
    page.get_by_role("button", name="保存设置").click()
    expect(page.get_by_text("公示天数（天）：7 → 10")).to_be_visible()

    page.get_by_role("link", name="← 示范县").click()
    page.get_by_role("link", name="季度").click()
    expect(page.get_by_label("季度（如 2027Q1）")).to_have_value("2027Q1")
    page.get_by_role("button", name="开启季度").click()
    expect(page.get_by_text("已开启 2027Q1：新开 13 个村的评比")).to_be_visible()
    expect(page.get_by_role("cell", name="2027Q1")).to_be_visible()
    page.screenshot(path=str(tmp_path / "periods.png"), full_page=True)
