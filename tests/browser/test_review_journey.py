"""One quarter of 青山村 end to end, in headless Chromium on a phone-sized screen: the clerk imports a
roster that adds a group of three households, enters one household's three reviews by form and the
others' by the downloaded review template, submits; the township reviewer is refused a quota below
the floor, sets the quotas and returns the period with a reason; the clerk sees the reason, corrects
a score and resubmits; the reviewer approves and publishes; a resident reads the posted list.
The clerk's phone moves from one household's 复评 to the next; at the office desktop the clerk saves
a whole villager group on the group screen, and the submit guard's count falls by as many. The
resident's screen is 360 px wide, and every card's grade and award lie inside it."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, expect

from scoring.rubric import DEFAULT_LABELS
from tests.browser.conftest import PHONE
from tests.browser.test_phone_lists import WIDTH, inside_viewport
from tests.conftest import PASSWORDS

pytestmark = pytest.mark.browser

VILLAGE = "5209990101"  # 松林镇 青山村: its 2026Q4 is still 填报中 in the demo data
TOWNSHIP = "52099901"
PERIOD = "2026Q4"
NEW_GROUP = "第五组"  # 青山村 has four groups: the roster adds a fifth
# (code, head name, members, phone): the phones must never reach the public list
LONG = ("520999010105001", "龙秀英", "4", "13912340001")
AN = ("520999010105002", "安德明", "3", "13912340002")
LU = ("520999010105003", "禄春兰", "5", "13912340003")
TEAM = "王组长、李委员"
RETURN_REASON = "第五组龙秀英户复评“家庭个人卫生”分数有误，请核实后重新提交"


def login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORDS[username])
    page.get_by_role("button", name="登录").click()


def logout(page: Page) -> None:
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("已退出登录")).to_be_visible()


def flash(page: Page, text: str, category: str = "success") -> None:
    """A flashed message (role=status), of the given category (its colour)."""
    expect(page.get_by_role("status").filter(has_text=text)).to_have_class(f"flash flash-{category}")


def fill_scores(page: Page, scores: list[str]) -> None:
    """The ten score inputs, found by their labels (criterion and range), as a clerk reads them."""
    assert len(scores) == len(DEFAULT_LABELS) == 10
    for label, score in zip(DEFAULT_LABELS, scores, strict=True):
        page.get_by_label(f"{label}（0–10分）", exact=True).fill(score)


def write_roster(path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["乡镇", "村", "村民组", "户编号", "户主姓名", "人口", "联系电话", "是否脱贫户/低收入户"])
        for code, name, members, phone in (LONG, AN, LU):
            writer.writerow(["松林镇", "青山村", NEW_GROUP, code, name, members, phone, "否"])


def fill_template(template: Path, filled: Path) -> None:
    """Score 安德明's and 禄春兰's prefilled 复评 rows, leave every other prefilled row as it came (a
    row whose ten scores are blank is 未填 and skipped: issue 17), and add their 自评 and 互评 rows
    below, as the sheet's instructions say."""
    wb = openpyxl.load_workbook(template)
    ws = wb["评分表"]
    header_row = next(r for r in range(1, 11) if ws.cell(r, 1).value == "户编号")
    header = [ws.cell(header_row, c).value for c in range(1, ws.max_column + 1)]
    assert header[:5] == ["户编号", "户主姓名", "村民组", "评议类型", "评议人"]
    group_scores = {AN[0]: [8.5] * 10, LU[0]: [6.5] * 10}
    codes_seen = set()
    for r in range(header_row + 1, ws.max_row + 1):
        code = ws.cell(r, 1).value
        if code is None:
            continue
        codes_seen.add(code)
        if code in group_scores:
            assert ws.cell(r, 4).value == "复评"
            ws.cell(r, 5).value = TEAM
            for c, score in enumerate(group_scores[code], start=6):
                ws.cell(r, c).value = score
    assert {LONG[0], AN[0], LU[0]} <= codes_seen  # the template lists the households just imported
    extra = [
        (AN[0], AN[1], NEW_GROUP, "自评", None, [9] * 10),
        (AN[0], AN[1], NEW_GROUP, "互评", LU[0], [8.5] * 10),
        (LU[0], LU[1], NEW_GROUP, "自评", None, [8] * 10),
        (LU[0], LU[1], NEW_GROUP, "互评", LONG[0], [7] * 10),
    ]
    row = ws.max_row + 1
    for code, name, group, kind, reviewer, scores in extra:
        for c, value in enumerate([code, name, group, kind, reviewer, *scores], start=1):
            ws.cell(row, c).value = value
        row += 1
    wb.save(filled)


def unrated_count(page: Page) -> int:
    """The guard's count of households without a group review, as the board states it."""
    guard = page.get_by_text(re.compile(r"全村 70 户中有 \d+ 户没有复评"))
    match = re.search(r"有 (\d+) 户没有复评", guard.inner_text())
    assert match, guard.inner_text()
    return int(match[1])


def test_a_quarter_from_roster_to_public_list(page: Page, browser: Browser, live_server: str, tmp_path: Path) -> None:
    base = live_server
    board_url = f"{base}/village/{VILLAGE}/periods/{PERIOD}/"

    # --- the clerk imports a roster adding a fifth group of three households --------------------
    login(page, base, "village")
    flash(page, "欢迎，青山村文书")
    expect(page.get_by_role("heading", name="松林镇 · 青山村")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=PERIOD)).to_contain_text("填报中")
    page.get_by_role("link", name="导入花名册").click()
    roster = tmp_path / "青山村新增农户.csv"
    write_roster(roster)
    page.get_by_label("选择文件（.xlsx、.xls 或 .csv）").set_input_files(roster)
    page.get_by_role("button", name="上传并检查").click()
    checked = f"{roster.name} 检查通过，确认后将：新增 3 户，更新 0 户，0 户不变。"
    expect(page.get_by_role("heading", name=checked)).to_be_visible()
    page.get_by_role("button", name="确认导入").click()
    flash(page, f"已导入花名册 {roster.name}：3 条变更")
    expect(page.get_by_role("heading", name=f"{NEW_GROUP}（3户）")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=LONG[0])).to_contain_text(LONG[3])  # staff see the phone

    # --- 龙秀英's three reviews by the entry form ----------------------------------------------
    page.get_by_role("link", name=PERIOD, exact=True).click()
    expect(page.get_by_role("heading", name=f"青山村 · {PERIOD} 评议情况")).to_be_visible()
    expect(page.locator(".state")).to_have_text("填报中")
    page.get_by_role("link", name=LONG[0]).click()
    expect(page.get_by_role("cell", name="本季度尚无评议")).to_be_visible()

    page.get_by_role("link", name="录入农户自评").click()
    fill_scores(page, ["9.5"] * 10)
    page.get_by_role("button", name="保存评议").click()
    flash(page, f"已保存 {LONG[0]} 龙秀英 的农户自评")

    page.get_by_role("link", name="录入群众互评").click()
    page.get_by_label("评议户（同组其他农户）").select_option(label=f"{AN[0]} {AN[1]}")
    fill_scores(page, ["9"] * 10)
    page.get_by_role("button", name="保存评议").click()
    flash(page, f"已保存 {LONG[0]} 龙秀英 的群众互评")

    page.get_by_role("link", name="录入小组复评").click()
    page.get_by_label("评比检查小组成员").fill(TEAM)
    fill_scores(page, ["9.5"] * 10)
    page.get_by_role("button", name="保存并录入下一户").click()  # the phone flow: one tap to the next
    flash(page, f"已保存 {LONG[0]} 龙秀英 的小组复评，下一户：{AN[0]} {AN[1]}")
    expect(page.get_by_role("link", name=f"← {AN[1]} 的评议")).to_be_visible()
    expect(page.get_by_label("评比检查小组成员")).to_have_value(TEAM)  # the team is not retyped
    page.get_by_role("link", name=f"← {AN[1]} 的评议").click()  # 安德明's 复评 comes by the template
    page.get_by_role("link", name=f"← 青山村 {PERIOD} 评议情况").click()
    page.get_by_role("link", name=LONG[0]).click()
    rows = page.get_by_role("row")
    expect(rows.filter(has_text="农户自评")).to_contain_text("95.0")
    expect(rows.filter(has_text="群众互评")).to_contain_text(f"{AN[0]} {AN[1]}")
    expect(rows.filter(has_text="小组复评")).to_contain_text(TEAM)

    # --- the other two by the downloaded template ------------------------------------------------
    page.get_by_role("link", name=f"← 青山村 {PERIOD} 评议情况").click()
    page.get_by_role("link", name="导入评分表").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载评分表模板（已填好本村农户）").click()
    download = download_info.value
    assert download.suggested_filename == f"青山村{PERIOD}评分表.xlsx"
    template = tmp_path / "template.xlsx"
    download.save_as(template)
    sheet = tmp_path / "第五组评分.xlsx"
    fill_template(template, sheet)
    page.get_by_label("选择文件（.xlsx、.xls 或 .csv）").set_input_files(sheet)
    page.get_by_role("button", name="上传并检查").click()
    preview = page.locator("section.preview")
    expect(preview.get_by_role("heading", name=f"{sheet.name} 检查通过，确认后将写入：")).to_be_visible()
    counts = preview.locator("table").first
    for kind, new in (("农户自评", "2"), ("群众互评", "2"), ("小组复评", "2")):
        expect(counts.get_by_role("row").filter(has_text=kind)).to_have_text(re.compile(rf"{kind}\s*{new}\s*0"))
    expect(preview).to_contain_text("共 6 条变更")
    expect(preview.get_by_text(re.compile(r"未填：[1-9]\d* 行"))).to_be_visible()  # the untouched template rows
    changes = preview.locator("table.import-changes tbody tr")
    expect(changes).to_have_count(6)
    expect(changes.filter(has_text=AN[0]).filter(has_text="小组复评")).to_contain_text("未评定 → 清洁户")
    preview.get_by_role("button", name="确认导入").click()
    flash(page, f"已导入 {sheet.name}：6 条变更")
    expect(page.get_by_role("heading", name=f"青山村 · {PERIOD} 评议情况")).to_be_visible()

    page.get_by_label("村民组").select_option(label=NEW_GROUP)
    page.get_by_role("button", name="筛选").click()
    board = page.locator("table.board tbody tr")
    expect(board).to_have_count(3)
    for code, grade in ((LONG[0], "最清洁户"), (AN[0], "清洁户"), (LU[0], "较清洁户")):
        expect(board.filter(has_text=code).get_by_role("cell").nth(9)).to_have_text(grade)  # 等级

    # the guard states what is missing, in numbers that follow the entries
    expect(page.get_by_text("提交审核前请核对")).to_be_visible()
    unrated_before = unrated_count(page)

    # --- at the office desktop, the clerk enters 第一组's 复评 on the group screen -------------------
    desk = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    try:
        office = desk.new_page()
        login(office, base, "village")
        office.goto(f"{base}/village/{VILLAGE}/periods/{PERIOD}/groups/{VILLAGE}01/review")
        expect(office.get_by_role("heading", name="第一组 · 小组复评录入")).to_be_visible()
        expect(office.get_by_label("评比检查小组成员")).to_have_value(TEAM)  # remembered for the period
        entry_rows = office.locator("table.entry-grid tbody tr")
        filled = 0
        for i in range(entry_rows.count()):
            cells = entry_rows.nth(i).locator("input.score-cell")
            if cells.first.input_value() == "":  # a household still without a 复评
                for c in range(10):
                    cells.nth(c).fill("8")
                expect(entry_rows.nth(i).locator("output.row-total")).to_have_text("80.0")
                filled += 1
        assert filled > 0
        office.get_by_role("button", name="保存本组复评").click()
        expect(office.get_by_text(f"的小组复评：{filled} 户有变更")).to_be_visible()
    finally:
        desk.close()
    page.reload()
    assert unrated_count(page) == unrated_before - filled

    # going ahead takes a reason (the browser will not send a blank)
    page.get_by_role("button", name="提交乡镇审核").click()
    expect(page.locator(".state")).to_have_text("填报中")
    page.get_by_label("仍要提交审核的原因（必填）").fill("其余农户下季度补评")
    page.get_by_role("button", name="提交乡镇审核").click()
    flash(page, f"青山村 {PERIOD} 已提交乡镇审核，提交后不能再修改")
    expect(page.locator(".state")).to_have_text("已提交")
    expect(page.get_by_role("link", name="导入评分表")).to_have_count(0)
    logout(page)

    # --- the township reviewer: quotas (one below the floor), then returns the period ----------
    login(page, base, "township")
    expect(page.get_by_role("heading", name="松林镇", exact=True)).to_be_visible()
    page.get_by_role("link", name=PERIOD, exact=True).click()
    village_row = page.locator("table.township-board tbody tr").filter(has_text="青山村")
    expect(village_row).to_contain_text("已提交")
    village_row.get_by_role("link", name="青山村").click()
    expect(page.get_by_role("heading", name=f"青山村 · {PERIOD} 审核")).to_be_visible()
    expect(page.locator(".state").first).to_have_text("已提交")
    floors_hint = page.get_by_text(re.compile(r"下限：最清洁户 \d+，清洁户 \d+"))
    match = re.search(r"下限：最清洁户 (\d+)，清洁户 (\d+)", floors_hint.inner_text())
    assert match, floors_hint.inner_text()
    cleanest_floor, clean_floor = int(match[1]), int(match[2])
    assert (cleanest_floor, clean_floor) == (7, 14)  # 70 households: ⌈10% × 70⌉, ⌈20% × 70⌉

    page.get_by_label("最清洁户名额", exact=True).fill(str(cleanest_floor - 1))
    page.get_by_label("清洁户名额", exact=True).fill(str(clean_floor))
    page.get_by_role("button", name="保存名额").click()
    flash(page, f"最清洁户名额 {cleanest_floor - 1} 低于下限 {cleanest_floor}", "error")
    expect(page.get_by_text(f"名额 {cleanest_floor - 1}，下限")).to_have_count(0)  # nothing was saved

    page.get_by_label("最清洁户名额", exact=True).fill(str(cleanest_floor + 1))
    page.get_by_label("清洁户名额", exact=True).fill(str(clean_floor + 1))
    page.get_by_role("button", name="保存名额").click()
    flash(page, "已保存 青山村 的名额")
    expect(page.get_by_label("最清洁户名额", exact=True)).to_have_value(str(cleanest_floor + 1))
    expect(page.get_by_text(f"名额 {cleanest_floor + 1}，下限 {cleanest_floor}")).to_be_visible()

    page.get_by_label("退回原因（村委会可见）").fill(RETURN_REASON)
    page.get_by_role("button", name="退回修改").click()
    flash(page, f"青山村 {PERIOD} 已退回")
    expect(page.locator(".state").first).to_have_text("已退回")
    expect(page.get_by_text(f"退回原因：{RETURN_REASON}")).to_be_visible()
    logout(page)

    # --- the clerk reads the reason, corrects the score and resubmits ----------------------------
    login(page, base, "village")
    expect(page.get_by_role("row").filter(has_text=PERIOD)).to_contain_text("已退回")
    expect(page.get_by_role("row").filter(has_text=PERIOD)).to_contain_text(RETURN_REASON)
    page.get_by_role("link", name=PERIOD, exact=True).click()
    expect(page.locator(".state")).to_have_text("已退回")
    expect(page.get_by_text(f"退回原因：{RETURN_REASON}")).to_be_visible()
    page.get_by_role("link", name=LONG[0]).click()
    page.get_by_role("row").filter(has_text="小组复评").get_by_role("link", name="修改").click()
    first = page.get_by_label(f"{DEFAULT_LABELS[0]}（0–10分）", exact=True)
    expect(first).to_have_value("9.5")
    expect(page.get_by_label("评比检查小组成员")).to_have_value(TEAM)
    first.fill("8")
    page.get_by_role("button", name="保存评议").click()
    flash(page, f"已保存 {LONG[0]} 龙秀英 的小组复评")
    expect(page.get_by_role("row").filter(has_text="小组复评")).to_contain_text("93.5")

    page.goto(board_url)
    page.get_by_label("仍要提交审核的原因（必填）").fill("其余农户下季度补评")
    page.get_by_role("button", name="提交乡镇审核").click()
    flash(page, f"青山村 {PERIOD} 已提交乡镇审核，提交后不能再修改")
    expect(page.locator(".state")).to_have_text("已提交")
    page.goto(f"{base}/village/{VILLAGE}/")  # the answered return's reason is no longer shown
    expect(page.get_by_role("row").filter(has_text=PERIOD)).to_contain_text("已提交")
    expect(page.get_by_role("row").filter(has_text=PERIOD)).not_to_contain_text(RETURN_REASON)
    logout(page)

    # --- the reviewer approves and publishes -------------------------------------------------------
    login(page, base, "township")
    page.goto(f"{base}/township/{TOWNSHIP}/periods/{PERIOD}/villages/{VILLAGE}/")
    expect(page.locator(".state").first).to_have_text("已提交")
    results = page.locator("table.results tbody tr")
    expect(results.filter(has_text=LONG[0])).to_contain_text("93.5")
    lead = page.get_by_text(re.compile(r"共 70 户，已评定 \d+ 户"))
    rated = re.search(r"已评定 (\d+) 户", lead.inner_text())
    assert rated, lead.inner_text()
    expect(page.get_by_text("审核通过前请核对")).to_be_visible()
    page.get_by_label("仍要审核通过的原因（必填）").fill("村委会已说明")
    page.get_by_role("button", name="审核通过").click()
    flash(page, f"青山村 {PERIOD} 已审核通过")
    expect(page.locator(".state").first).to_have_text("已审核")
    page.get_by_label("仍要公示的原因（必填）").fill("村委会已说明")
    page.get_by_role("button", name="发布公示").click()
    expect(page.get_by_role("heading", name="请确认：公示")).to_be_visible()
    page.get_by_role("button", name="确认公示").click()
    flash(page, f"青山村 {PERIOD} 已公示")
    expect(page.locator(".state").first).to_have_text("公示中")
    expect(page.get_by_text("公示截止")).to_be_visible()
    history = page.locator("table.history")
    expect(history).to_contain_text(RETURN_REASON)
    expect(history).to_contain_text("青山村文书（村委会）")  # the person and office, not the username
    logout(page)

    # --- a resident, not logged in, reads the posted list -----------------------------------------
    resident = browser.new_context(locale="zh-CN", **{**PHONE, "viewport": {"width": WIDTH, "height": 740}})
    try:
        public = resident.new_page()
        public.goto(base)
        public.get_by_role("link", name="青山村").click()
        expect(public.get_by_role("heading", name="松林镇 · 青山村")).to_be_visible()
        public.get_by_role("link", name=PERIOD, exact=True).click()
        expect(public.get_by_role("heading", name="松林镇 · 青山村")).to_be_visible()
        expect(public.get_by_text(f"{PERIOD} 农户卫生评比结果（公示中）")).to_be_visible()
        listed = public.locator("table.public-list tbody tr")
        expect(listed).to_have_count(int(rated[1]))  # every rated household, no unrated one
        # 名次, 户编号, 户主 (surname only), 得分, 等级 (表彰 depends on the rest of the village)
        for code, masked, total, grade in (
            (LONG[0], "龙**", "93.5", "最清洁户"),
            (AN[0], "安**", "85.0", "清洁户"),
            (LU[0], "禄**", "65.0", "较清洁户"),
        ):
            cells = listed.filter(has_text=code).get_by_role("cell")
            expect(cells.nth(0)).to_have_text(re.compile(r"^\d+$"))
            for i, value in enumerate((code, masked, total, grade), start=1):
                expect(cells.nth(i)).to_have_text(value)
        # 龙秀英 ranks within the eight cleanest places the reviewer set
        expect(listed.filter(has_text=LONG[0]).get_by_role("cell").nth(5)).to_have_text("最清洁户")
        text = public.locator("main").inner_text()
        for name in (LONG[1], AN[1], LU[1], TEAM):
            assert name not in text
        assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", public.content()), "a phone number is public"
        assert public.evaluate("document.documentElement.scrollWidth") <= WIDTH
        # at 360 px each card's grade and award lie inside the screen, measured on their own boxes
        assert inside_viewport(public.locator("table.public-list td:nth-child(5)")) == []
        assert inside_viewport(public.locator("table.public-list td:nth-child(6):not(:empty)")) == []
    finally:
        resident.close()
