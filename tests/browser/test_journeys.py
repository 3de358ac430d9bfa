"""User journeys in headless Chromium, on a phone-sized screen, against `hygiene serve`."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE
from tests.conftest import PASSWORDS

pytestmark = pytest.mark.browser


def login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORDS[username])
    page.get_by_role("button", name="登录").click()


def test_a_resident_finds_the_village_list_on_a_phone(page: Page, live_server: str, tmp_path: Path) -> None:
    page.goto(live_server)
    expect(page.get_by_role("heading", name="农户卫生星级评比公示")).to_be_visible()
    expect(page.get_by_role("heading", name="示范县")).to_be_visible()
    # the page fits the phone's width: nothing to scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    page.get_by_role("link", name="青山村").click()
    expect(page.get_by_role("heading", name="松林镇 · 青山村")).to_be_visible()
    expect(page.get_by_role("cell", name="2026Q3")).to_be_visible()
    # hanzi are drawn with a CJK font, not as "tofu" boxes: a missing glyph draws the same box for
    # every character, so two different hanzi drawing identical pixels means no CJK font.
    distinct = page.evaluate("""() => {
        const draw = (ch) => {
            const c = document.createElement('canvas'); c.width = 40; c.height = 40;
            const g = c.getContext('2d'); g.font = '32px ' + getComputedStyle(document.body).fontFamily;
            g.fillText(ch, 2, 34); return Array.from(g.getImageData(0, 0, 40, 40).data).join(',');
        };
        return draw('青') !== draw('山') && draw('青') !== draw(String.fromCodePoint(0x10FFFD));
    }""")
    assert distinct
    page.screenshot(path=str(tmp_path / "resident.png"), full_page=True)


def test_a_village_clerk_adds_and_moves_a_household_then_logs_out(page: Page, live_server: str) -> None:
    login(page, live_server, "village")
    expect(page.get_by_role("heading", name="松林镇 · 青山村")).to_be_visible()
    expect(page.get_by_text("欢迎，青山村文书")).to_be_visible()

    page.get_by_role("link", name="添加农户").click()
    page.get_by_label("户编号").fill("520999010101888")
    page.get_by_label("户主姓名").fill("龙秀英")
    page.get_by_label("村民组").select_option(label="第二组")
    page.get_by_label("人口").fill("5")
    page.get_by_label("联系电话（不公开）").fill("13900000000")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已添加农户 520999010101888 龙秀英")).to_be_visible()

    # a duplicate code is refused next to the field
    page.goto(f"{live_server}/village/5209990101/households/new")
    page.get_by_label("户编号").fill("520999010101888")
    page.get_by_label("户主姓名").fill("重复")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("户编号 520999010101888 已存在")).to_be_visible()

    page.goto(f"{live_server}/village/5209990101/households/520999010101888")
    page.get_by_role("link", name="修改", exact=True).click()
    page.get_by_label("村民组").select_option(label="第三组")
    page.get_by_label("修改原因").fill("分户调整")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已保存")).to_be_visible()
    expect(page.get_by_role("cell", name="分户调整")).to_be_visible()

    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("已退出登录")).to_be_visible()
    page.goto(f"{live_server}/village/5209990101/")
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()


@pytest.mark.parametrize(
    ("username", "heading"),
    [
        ("township", "松林镇"),
        ("county", "示范县 管理"),
        ("inspector", "示范县 督查"),
    ],
)
def test_each_staff_role_reaches_its_own_area(browser: Browser, live_server: str, username: str, heading: str) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    login(page, live_server, username)
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    page.goto(f"{live_server}/village/5209990201/")  # another township's village
    if username == "township":
        expect(page.get_by_role("heading", name="无权访问")).to_be_visible()
    else:
        expect(page.get_by_role("heading", name="河坝乡 · 河东村")).to_be_visible()
    context.close()
