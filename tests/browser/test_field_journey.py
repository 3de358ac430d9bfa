"""Work in the field on a phone in headless Chromium (issue 31): group reviews scored with the
connection down wait on the phone ("N 条待上传") and are sent when it is back, exactly once each; the
same save replayed ten times writes one review; a queued save that meets a changed review is shown
as a conflict, never applied; a session that expired while offline asks to log in, then sends."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, BrowserContext, Page, expect

from hygiene.db import make_engine
from tests.browser.conftest import PHONE
from tests.browser.test_journeys import login
from tests.conftest import PASSWORDS
from tests.hygiene.test_field import jpeg_with_gps

pytestmark = pytest.mark.browser
V1 = "/village/5209990101/periods/2026Q4"
GROUP_OF_H1 = "520999010101"


def query(database: Path, sql: str | sa.TextClause, **params: object) -> list[tuple]:  # type: ignore[type-arg]
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql) if isinstance(sql, str) else sql, params)]
    finally:
        engine.dispose()


GROUP_REVIEWS = sa.text(
    "SELECT h.code, r.c01, r.version FROM reviews r JOIN households h ON h.id = r.household_id"
    " JOIN periods p ON p.id = r.period_id"
    " WHERE r.kind = 'group' AND p.code = '2026Q4' AND h.code IN :codes ORDER BY h.code"
).bindparams(sa.bindparam("codes", expanding=True))


def group_reviews(database: Path, codes: list[str]) -> list[tuple[str, int, int]]:
    """(household code, c01 in tenths, version) of the 2026Q4 group reviews of these households."""
    return query(database, GROUP_REVIEWS, codes=codes)


def unreviewed(database: Path, count: int) -> list[str]:
    """Households of 青山村 without a 2026Q4 group review."""
    rows = query(
        database,
        "SELECT h.code FROM households h WHERE h.code LIKE '5209990101%' AND h.moved_away_on IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM reviews r JOIN periods p ON p.id = r.period_id"
        "  WHERE r.household_id = h.id AND r.kind = 'group' AND p.code = '2026Q4') ORDER BY h.code",
    )
    assert len(rows) >= count
    return [r[0] for r in rows[:count]]


def form_url(base: str, code: str) -> str:
    return f"{base}{V1}/households/{code}/review?kind=group"


def worker_ready(page: Page) -> None:
    """The service worker installed and controlling the page (the page that registered it is
    controlled from its next load)."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("() => !!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("() => !!navigator.serviceWorker.controller")


def visit_for_offline(page: Page, url: str) -> None:
    """Open a form online, through the worker, and wait until the phone has kept it."""
    page.goto(url)
    page.wait_for_function("u => caches.match(u, {ignoreVary: true}).then(Boolean)", arg=url)


def fill_review(page: Page, score: str) -> None:
    page.get_by_label("评比检查小组成员").fill("王组长、李委员")
    cells = page.locator("form.review-form input[inputmode=decimal]")
    expect(cells).to_have_count(10)
    for i in range(10):
        cells.nth(i).fill(score)


def queue(page: Page) -> object:
    return page.locator("#field-queue")


def test_three_households_scored_offline_wait_on_the_phone_then_are_sent_once(
    page: Page, phone: BrowserContext, live_server: str, live_database: Path
) -> None:
    codes = unreviewed(live_database, 3)
    login(page, live_server, "village")
    page.goto(f"{live_server}{V1}/")
    worker_ready(page)
    for code in codes:  # visited once online: the forms are kept for working offline
        visit_for_offline(page, form_url(live_server, code))
    phone.set_offline(True)
    for n, code in enumerate(codes, start=1):
        page.goto(form_url(live_server, code))  # from the phone's cache
        expect(page.get_by_role("heading")).to_contain_text(code)
        fill_review(page, "9")
        page.get_by_role("button", name="保存评议").click()
        expect(page.locator(".queue-note")).to_contain_text("网络不通：已保存在本机")
        expect(queue(page)).to_have_attribute("data-waiting", str(n))
    expect(queue(page)).to_contain_text(f"3 条待上传：{codes[0]}")
    assert group_reviews(live_database, codes) == []
    phone.set_offline(False)  # the "online" event sends the queue
    expect(queue(page)).to_have_attribute("data-waiting", "0", timeout=15_000)
    assert [(code, c01) for code, c01, _ in group_reviews(live_database, codes)] == [(c, 90) for c in codes]
    page.reload()  # the next page load finds nothing left to send, and sends nothing twice
    expect(queue(page)).to_be_hidden()
    assert [v for _, _, v in group_reviews(live_database, codes)] == [1, 1, 1]


def test_the_same_save_replayed_ten_times_writes_one_review(page: Page, live_server: str, live_database: Path) -> None:
    [code] = unreviewed(live_database, 1)
    login(page, live_server, "village")
    page.goto(form_url(live_server, code))
    fill_review(page, "8")
    answers = page.evaluate(
        """async () => {
            const form = document.querySelector("form.review-form");
            const key = crypto.randomUUID();
            const send = () => fetch(location.href, {
                method: "POST", body: new FormData(form), credentials: "same-origin",
                headers: {"Accept": "application/json", "Idempotency-Key": key},
            }).then(async r => [r.status, JSON.stringify(await r.json())]);
            const first = await send();  // then nine more at once: a retry storm after a lost answer
            const rest = await Promise.all(Array.from({length: 9}, send));
            return [first, ...rest];
        }"""
    )
    assert len(answers) == 10 and {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) == 1
    assert group_reviews(live_database, [code]) == [(code, 80, 1)]
    assert query(live_database, "SELECT count(*) FROM idempotency_keys") == [(1,)]


def test_a_queued_save_against_a_changed_review_shows_the_conflict(
    browser: Browser, page: Page, phone: BrowserContext, live_server: str, live_database: Path
) -> None:
    [code] = unreviewed(live_database, 1)
    login(page, live_server, "village")
    page.goto(f"{live_server}{V1}/")
    worker_ready(page)
    visit_for_offline(page, form_url(live_server, code))
    phone.set_offline(True)
    fill_review(page, "7")
    page.get_by_role("button", name="保存评议").click()
    expect(queue(page)).to_have_attribute("data-waiting", "1")
    # meanwhile the office saves the same household's group review
    office_context = browser.new_context(locale="zh-CN", **PHONE)
    office = office_context.new_page()
    login(office, live_server, "village")
    office.goto(form_url(live_server, code))
    fill_review(office, "10")
    office.get_by_role("button", name="保存评议").click()
    expect(office.get_by_text(re.compile("已保存"))).to_be_visible()
    office_context.close()
    phone.set_offline(False)
    problem = page.locator("#field-queue .queue-problem")
    expect(problem).to_contain_text(f"冲突：{code}", timeout=15_000)
    expect(problem.get_by_role("link", name="打开表单（显示最新内容）")).to_be_visible()
    expect(queue(page)).to_have_attribute("data-waiting", "0")
    assert group_reviews(live_database, [code]) == [(code, 100, 1)]  # the office's, untouched
    problem.get_by_role("button", name="放弃这条").click()
    expect(queue(page)).to_be_hidden()


def test_a_session_expired_offline_asks_to_log_in_then_sends_the_queue(
    page: Page, phone: BrowserContext, live_server: str, live_database: Path
) -> None:
    [code] = unreviewed(live_database, 1)
    login(page, live_server, "village")
    page.goto(f"{live_server}{V1}/")
    worker_ready(page)
    visit_for_offline(page, form_url(live_server, code))
    phone.set_offline(True)
    fill_review(page, "6")
    page.get_by_role("button", name="保存评议").click()
    expect(queue(page)).to_have_attribute("data-waiting", "1")
    phone.clear_cookies()  # the session ran out while the phone was offline
    phone.set_offline(False)
    expect(queue(page)).to_contain_text("登录已过期，待上传的记录仍在本机", timeout=15_000)
    assert group_reviews(live_database, [code]) == []
    queue(page).get_by_role("link", name="重新登录").click()
    page.get_by_label("用户名").fill("village")
    page.get_by_label("密码").fill(PASSWORDS["village"])
    page.get_by_role("button", name="登录").click()  # back to the form; the queue goes with a new token
    expect(page).to_have_url(form_url(live_server, code))
    expect(queue(page)).to_have_attribute("data-waiting", "0", timeout=15_000)
    expect(queue(page)).to_be_hidden()
    assert group_reviews(live_database, [code]) == [(code, 60, 1)]


def test_the_group_screen_scored_offline_with_a_photo_is_sent_when_the_connection_returns(
    page: Page, phone: BrowserContext, live_server: str, live_database: Path
) -> None:
    [code] = [c for c in unreviewed(live_database, 10) if c.startswith(GROUP_OF_H1)][:1]
    login(page, live_server, "village")
    page.goto(f"{live_server}{V1}/")
    worker_ready(page)
    screen = f"{live_server}{V1}/groups/{GROUP_OF_H1}/review"
    visit_for_offline(page, screen)
    phone.set_offline(True)
    page.goto(screen)  # from the phone's cache
    row = page.get_by_role("row").filter(has_text=code)
    cells = row.locator("input.score-cell")
    for i in range(10):
        cells.nth(i).fill("9")
    row.locator("input[type=file]").set_input_files(
        {"name": "row.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}
    )
    page.get_by_role("button", name="保存本组复评").click()
    expect(queue(page)).to_contain_text("1 条待上传：第一组小组复评")
    phone.set_offline(False)
    expect(queue(page)).to_have_attribute("data-waiting", "0", timeout=15_000)
    assert [(c, c01) for c, c01, _ in group_reviews(live_database, [code])] == [(code, 90)]
    assert query(live_database, "SELECT count(*) FROM photos WHERE review_id IS NOT NULL") == [(1,)]
