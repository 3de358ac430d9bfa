"""Issue 30's guidance as a new county meets it: the set-up checklist on an empty county's home,
the example sheets that carry the code rules and import cleanly, and a help page per role linked
from every page's footer."""

from __future__ import annotations

import io
import re

import openpyxl
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.models import County, User, Village
from hygiene.services.setup import guidance, roster_imports, unit_sheet
from tests.web.conftest import Auth


def test_an_empty_county_home_shows_the_checklist_and_a_set_up_one_does_not(client: FlaskClient, auth: Auth) -> None:
    auth.login("county2")  # the small neighbouring county: no rollout plan, no township account yet
    html = client.get("/county/520998/").get_data(as_text=True)
    assert "新县设置步骤" in html
    assert re.search(r'待完成：\s*<a href="/county/520998/rollout">设定推进计划</a>', html)
    assert re.search(r'✓ 已完成：\s*<a href="/county/520998/units/upload">导入单位表</a>', html)
    auth.logout()
    auth.login("county")
    assert "新县设置步骤" not in client.get("/county/520999/").get_data(as_text=True)


def test_the_checklist_follows_what_the_county_has(db_session: Session) -> None:
    demo = db_session.scalars(sa.select(County).where(County.code == "520999")).one()
    assert all(step.done for step in guidance.checklist(db_session, demo))
    other = db_session.scalars(sa.select(County).where(County.code == "520998")).one()
    done = {step.key: step.done for step in guidance.checklist(db_session, other)}
    assert done == {"units": True, "rollout": False, "roster": True, "users": False, "periods": True}


def test_the_example_sheets_carry_the_rules_and_import_cleanly(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("county2")
    units = client.get("/county/520998/examples/units.xlsx")
    roster = client.get("/county/520998/examples/roster.xlsx")
    auth.logout()
    auth.login("village")
    assert client.get("/village/5209990101/examples/roster.xlsx").status_code == 200
    assert client.get("/county/520998/examples/units.xlsx").status_code == 403
    assert units.status_code == 200 and roster.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(units.data))
    rules = " ".join(str(row[0].value) for row in book["填写说明"].iter_rows())
    assert "乡镇代码" in rules and "最长12位" in rules and "户编号" in rules
    assert book["单位表"]["A2"].value == "52099801"
    book = openpyxl.load_workbook(io.BytesIO(roster.data))
    assert [c.value for c in book["花名册"][1]][:4] == ["乡镇", "村", "村民组", "户编号"]
    # both examples pass the imports' own checks (written in the test's session, rolled back)
    county = db_session.scalars(sa.select(County).where(County.code == "520998")).one()
    admin = db_session.scalars(sa.select(User).where(User.username == "county2")).one()
    plan = unit_sheet.plan(db_session, admin, county, unit_sheet.read(units.data, "示例单位表.xlsx"))
    assert plan.count("township") == 1 and plan.count("village") == 2  # 邻镇 and 邻村 exist: renamed
    assert len(plan.renamed) == 2
    unit_sheet.apply(db_session, admin, plan, file_name="示例单位表.xlsx")
    villages = db_session.scalars(sa.select(Village).where(Village.county_id == county.id)).all()
    households = roster_imports.plan_roster_upload(db_session, admin, villages, roster.data, "示例花名册.xlsx")
    assert (households.added, households.updated) == (2, 1)
    db_session.rollback()


def test_every_page_links_its_help_and_each_role_has_one(client: FlaskClient, auth: Auth) -> None:
    public = client.get("/").get_data(as_text=True)
    assert 'href="/help/">使用帮助' in public
    index = client.get("/help/").get_data(as_text=True)
    for role in ("county_admin", "township_reviewer", "village_clerk", "inspector", "resident"):
        assert f'href="/help/{role}"' in index
        page = client.get(f"/help/{role}")
        assert page.status_code == 200 and "使用帮助" in page.get_data(as_text=True)
    assert client.get("/help/nobody").status_code == 404
    auth.login("village")
    board = client.get("/village/5209990101/").get_data(as_text=True)
    assert 'href="/help/village_clerk">使用帮助' in board
    county_help = client.get("/help/county_admin").get_data(as_text=True)
    assert "退回更正" in county_help and "hygiene period reopen" in county_help
