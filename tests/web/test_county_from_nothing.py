"""Issue 16's "done means": a new county is started and its first quarter opened with files and the
`hygiene` command alone, and with the county administrator's screens alone, on SQLite and
PostgreSQL. The county itself and its first administrator come from the installation's commands
(`hygiene county create`, `hygiene users create`): a county administrator's screens belong to a
county that exists (docs/decisions.md)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from hygiene.db import make_sessionmaker
from hygiene.enums import Role, WorkflowState
from hygiene.models import County, Household, Period, Village, VillagePeriod
from hygiene.services.setup import accounts, counties
from tests.sheets import REVIEW_HEADER, ROSTER_HEADER, TEAM, csv_file, review_row, roster_row
from tests.web.conftest import Auth
from tests.web.test_cli import UNIT_HEADER, hygiene, write_sheet
from web import create_app

UNITS = [
    ["52052701", "城关镇", "5205270101", "一村", "520527010101", "第一组", "2027"],
    ["52052701", "城关镇", "5205270101", "一村", "520527010102", "第二组", "2027"],
    ["52052701", "城关镇", "5205270102", "二村", "520527010201", "第一组", "2028"],
    ["52052702", "白果镇", "5205270201", "三村", "520527020101", "第一组", ""],
]
ROSTER = [
    roster_row("H001", "张一", "第一组", township="城关镇", village="一村"),
    roster_row("H002", "张二", "第一组", township="城关镇", village="一村"),
    roster_row("H003", "张三", "第一组", township="52052701", village="5205270101"),
    roster_row("H004", "李四", "第一组", township="城关镇", village="二村"),
    roster_row("H005", "王五", "第一组", township="白果镇", village="三村"),
]
PASSWORD = "a-long-enough-password-1"


def test_a_county_is_started_and_its_first_quarter_run_with_files_and_the_command(
    committing_engine: sa.Engine, tmp_path: Path
) -> None:
    engine = committing_engine
    assert hygiene(engine, "county", "create", "520527", "赫章县").exit_code == 0
    units = hygiene(engine, "import", "units", write_sheet(tmp_path / "单位表.xlsx", UNIT_HEADER, UNITS, "xlsx"),
                    "--county", "520527")  # fmt: skip
    assert units.exit_code == 0 and "新增乡镇 2 个、村 3 个、村民组 4 个" in units.stdout
    roster = hygiene(engine, "import", "roster", write_sheet(tmp_path / "花名册.csv", ROSTER_HEADER, ROSTER))
    assert roster.exit_code == 0 and "新增 5 户" in roster.stdout
    assert (
        hygiene(engine, "settings", "--county", "520527", "posting_days=5", "yearly_budget_fen=20000000").exit_code == 0
    )
    plan = hygiene(engine, "rollout", "--county", "520527", "2027=50", "2028=50")
    assert plan.exit_code == 0 and "已修改推进计划" in plan.stderr
    assert plan.stdout.splitlines()[0].startswith("2027=50  # 累计计划 50%，累计已评 0/5 户（0.0%）")
    opened = hygiene(engine, "period", "open", "2027Q1", "--county", "520527")
    assert opened.stdout == "已开启 2027Q1：新开 1 个村的评比（填报中）\n"  # 二村 joins in 2028, 三村 not planned
    reviews = [
        *(review_row(code, "自评", score="9") for code in ("H001", "H002", "H003")),
        review_row("H001", "互评", "H002", score="9"),
        review_row("H001", "互评", "H003", score="9"),
        review_row("H001", "复评", TEAM, score="9.5"),
        review_row("H002", "复评", TEAM, score="8"),
        review_row("H003", "复评", TEAM, score="5"),
    ]
    sheet = write_sheet(tmp_path / "评分表.csv", REVIEW_HEADER, reviews)
    imported = hygiene(engine, "import", "reviews", sheet, "--period", "2027Q1", "--village", "5205270101")
    assert imported.exit_code == 0, imported.output
    results = hygiene(engine, "results", "--period", "2027Q1", "--village", "5205270101")
    grades = {line.split(",")[0]: line.split(",")[6] for line in results.stdout.splitlines()[1:]}
    assert grades == {"H001": "cleanest", "H002": "clean", "H003": "not_clean"}
    with make_sessionmaker(engine)() as session:
        period = session.scalars(sa.select(Period).join(County).where(County.code == "520527")).one()
        assert (period.code, period.posting_days) == ("2027Q1", 5)


@pytest.fixture
def new_county_app(committing_engine: sa.Engine) -> Iterator[Flask]:
    """The installation's two commands: the county, and its administrator."""
    with make_sessionmaker(committing_engine, write=True).begin() as session:
        counties.create_county(session, None, "520527", "赫章县")
        accounts.create_user(session, username="hzadmin", password=PASSWORD, role=Role.COUNTY_ADMIN, unit_code="520527")
    url = committing_engine.url.render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "county-test-secret-key-0123456789abcdef"})
    yield app
    app.extensions["hygiene.engine"].dispose()


def upload(auth: Auth, url: str, data: bytes, name: str) -> str:
    response = auth.post(url, {"file": (io.BytesIO(data), name)})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_a_county_is_started_and_its_first_quarter_opened_on_the_administrators_screens(
    new_county_app: Flask, committing_engine: sa.Engine
) -> None:
    client: FlaskClient = new_county_app.test_client()
    auth = Auth(client)
    C = "/county/520527"
    assert auth.login("hzadmin", PASSWORD).headers["Location"] == f"{C}/"

    assert "新增乡镇 2 个、村 3 个、村民组 4 个" in upload(
        auth, f"{C}/units/upload", csv_file(UNIT_HEADER, UNITS), "u.csv"
    )
    assert auth.post(f"{C}/units/upload/confirm", {}, token_from=f"{C}/units/upload").status_code == 302
    assert "新增 5 户" in upload(auth, f"{C}/roster/upload", csv_file(ROSTER_HEADER, ROSTER), "r.csv")
    written = auth.post(f"{C}/roster/upload/confirm", {}, token_from=f"{C}/roster/upload").get_data(as_text=True)
    assert "已导入花名册 r.csv：新增 5 户" in written

    page = client.get(f"{C}/settings").get_data(as_text=True)
    settings = dict(re.findall(r'name="(\w+)" required type="text" value="([^"]*)"', page))
    assert auth.post(f"{C}/settings", settings | {"posting_days": "5"}).status_code == 303

    plan = {f"year_{i}": "" for i in range(10)} | {f"share_{i}": "" for i in range(10)}
    plan |= {"year_0": "2027", "share_0": "50", "year_1": "2028", "share_1": "50"}
    assert auth.post(f"{C}/rollout", plan).status_code == 303
    years = {"village_5205270201": "2027"}  # 三村 brought in on the page
    assert auth.post(f"{C}/rollout/52052702", years).status_code == 303

    clerk = {"username": "yicun", "display_name": "一村文书", "role": "village_clerk", "unit_code": "5205270101",
             "password": PASSWORD}  # fmt: skip
    assert auth.post(f"{C}/users", clerk).status_code == 302
    assert auth.post(f"{C}/periods", {"code": "2027Q1"}).status_code == 303
    assert "已开启 2027Q1：新开 2 个村的评比" in client.get(f"{C}/periods").get_data(as_text=True)

    with make_sessionmaker(committing_engine)() as session:
        opened = session.execute(
            sa.select(Village.code, VillagePeriod.state, Period.posting_days)
            .join(VillagePeriod, VillagePeriod.village_id == Village.id)
            .join(Period, VillagePeriod.period_id == Period.id)
            .where(Period.code == "2027Q1")
            .order_by(Village.code)
        ).all()
        assert opened == [("5205270101", WorkflowState.DRAFT, 5), ("5205270201", WorkflowState.DRAFT, 5)]
        assert session.scalar(sa.select(sa.func.count(Household.id)).where(Household.code.like("H00_"))) == 5
    auth.logout()
    auth.login("yicun", PASSWORD)
    # an account the administrator created chooses its own password first (issue 30)
    own = "yicun-own-password-2027"
    assert auth.post("/account/password", {"current": PASSWORD, "new": own, "confirm": own}).status_code == 302
    board = client.get("/village/5205270101/periods/2027Q1/").get_data(as_text=True)
    assert "张一" in board and "张三" in board and "李四" not in board
