"""督查问责 end to end on a phone, in headless Chromium (issue 33, "Done means"): an unannounced visit
finds a failing plaque holder, the notice goes unanswered past its deadline, the ladder proposes
约谈 for the responsible cadre (青山村 failed once already this year), the county decides it, and
the yearly roll-up shows it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from hygiene.db import make_engine, make_sessionmaker
from hygiene.models import Notice, Township, User, Village
from hygiene.services import tick
from hygiene.services.setup import periods, units
from hygiene.services.supervision import accountability, notices
from tests.browser.test_inspection_journey import a_plaque_holder_of_qingshan, fits_the_phone
from tests.browser.test_journeys import login

pytestmark = pytest.mark.browser


def before_the_journey(database: Path) -> None:
    """The county keeps 青山村's 包保 cadre, and 青山村 already let one notice run past its deadline
    this year (the system proposed 表态, not yet decided)."""
    engine = make_engine(f"sqlite:///{database}")
    with make_sessionmaker(engine).begin() as session:
        county = units.get_county(session, "520999")
        admin = session.scalars(sa.select(User).where(User.username == "county")).one()
        inspector = session.scalars(sa.select(User).where(User.username == "inspector")).one()
        accountability.add_cadre(session, admin, county, unit_code="5209990101", name="张包保", title="包村干部")
        earlier = dt.datetime(2026, 10, 10, 1, tzinfo=dt.UTC)
        notices.issue(
            session, inspector, county, period=periods.get_period(session, county.id, "2026Q4"),
            township=session.scalars(sa.select(Township).where(Township.code == "52099901")).one(),
            village=session.scalars(sa.select(Village).where(Village.code == "5209990101")).one(),
            responsible_person="村主任", problem="村口垃圾未清运", now=earlier,
        )  # fmt: skip
        assert len(tick.run(session, now=earlier + dt.timedelta(hours=25)).proposed) == 1
    engine.dispose()


def time_passes(database: Path) -> None:
    """The clock moves past the visit notice's deadline: the hourly tick escalates it."""
    engine = make_engine(f"sqlite:///{database}")
    with make_sessionmaker(engine).begin() as session:
        open_notice = session.scalars(sa.select(Notice).where(Notice.problem.like("%暗访%"))).one()
        done = tick.run(session, now=open_notice.deadline + dt.timedelta(hours=1))
        assert [c.proposed_rung.value for c in done.proposed] == ["talk"]
    engine.dispose()


def test_an_unannounced_visit_ends_in_a_decided_talk_on_the_yearly_roll_up(
    page: Page, live_database: Path, live_server: str
) -> None:
    before_the_journey(live_database)
    code, _, serial = a_plaque_holder_of_qingshan(live_database)

    login(page, live_server, "inspector")
    page.goto(f"{live_server}/inspection/520999/visits?period=2026Q4")
    expect(page.get_by_role("heading", name="示范县 · 2026Q4 暗访")).to_be_visible()
    page.get_by_label("村").select_option("5209990101")
    page.get_by_label("暗访日期").fill("2026-11-20")
    page.get_by_role("button", name="安排暗访").click()
    expect(page.get_by_text("已安排暗访（乡镇在录入结果前看不到）")).to_be_visible()
    fits_the_phone(page)
    page.get_by_role("link", name="2026-11-20").click()
    page.get_by_label("户编号").fill(code)
    scores = page.locator("input.score")
    assert scores.count() == 10
    for index in range(scores.count()):
        scores.nth(index).fill("3")
    page.get_by_role("button", name="保存复评").click()
    expect(page.get_by_text(f"{code} 复评为不清洁户；已摘除牌匾 {serial}；已下发督办通知单")).to_be_visible()
    fits_the_phone(page)

    time_passes(live_database)

    page.context.clear_cookies()  # signed out
    login(page, live_server, "county")
    page.goto(f"{live_server}/county/520999/accountability")
    case = page.locator("section.case", has_text="青山村：建议约谈")
    expect(case).to_be_visible()
    expect(case.get_by_text("第 2 次逾期未整改")).to_be_visible()
    case.get_by_label("责任干部").select_option(label="青山村 包保干部 张包保")
    case.get_by_role("button", name="决定").click()
    expect(page.get_by_text("已决定问责")).to_be_visible()
    fits_the_phone(page)

    page.goto(f"{live_server}/inspection/520999/yearly?year=2026")
    row = page.locator("tr#y-52099901")
    expect(row.locator("td.accountability")).to_have_text("青山村 约谈（张包保）")
    fits_the_phone(page)
