"""Unannounced visits' pages (issue 33): an inspector plans one, the township never sees it until
its findings are entered, a failing plaque holder gets a notice; other roles and counties are kept out."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import PlaqueState
from hygiene.models import Group, Household, InspectionTeam, Plaque, UnannouncedVisit, Village
from tests.web.conftest import Auth

VISITS = "/inspection/520999/visits"


def plaque_holder(db: Session) -> Household:
    return db.scalars(
        sa.select(Household)
        .join(Plaque, Plaque.household_id == Household.id)
        .join(Group, Household.group_id == Group.id)
        .join(Village, Group.village_id == Village.id)
        .where(Village.code == "5209990101", Plaque.state == PlaqueState.VALID)
        .order_by(Household.code)
    ).first()


def plan(client: FlaskClient, auth: Auth, db: Session) -> UnannouncedVisit:
    team = db.scalars(sa.select(InspectionTeam).order_by(InspectionTeam.id)).first()
    done = auth.post(f"{VISITS}?period=2026Q4", {"village": "5209990101", "team": team.id, "planned_on": "2026-11-20"})
    assert done.status_code == 303, done.get_data(as_text=True)
    db.rollback()
    return db.scalars(sa.select(UnannouncedVisit)).one()


def test_a_visit_is_hidden_from_the_township_until_its_findings(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("inspector")
    refused = auth.post(f"{VISITS}?period=2026Q4", {"village": "5209990101", "team": "1", "planned_on": "2027-09-01"})
    assert refused.status_code == 422 and "暗访日期须在2026Q4期间前后一个月内" in refused.get_data(as_text=True)
    visit = plan(client, auth, db_session)
    assert "已计划（乡镇不可见）" in client.get(f"{VISITS}?period=2026Q4").get_data(as_text=True)
    auth.logout()
    auth.login("township")
    home = client.get("/township/52099901/").get_data(as_text=True)
    assert f'id="visit-{visit.id}"' not in home and "尚无暗访结果" in home
    assert client.get(VISITS).status_code == 403
    assert client.get(f"{VISITS}/{visit.id}").status_code == 403
    auth.logout()

    auth.login("inspector")
    page = f"{VISITS}/{visit.id}"
    holder = plaque_holder(db_session)
    data = {"household_code": holder.code, "notes": "院内杂物堆放", **{f"c{n:02d}": "3" for n in range(1, 11)}}
    checked = auth.post(f"{page}/checks", data, token_from=page)
    said = client.get(checked.headers["Location"]).get_data(as_text=True)
    assert "复评为不清洁户" in said and "已摘除牌匾" in said and "已下发督办通知单" in said
    auth.post(f"{page}/findings", {"version": 2, "findings": "公厕无人保洁"}, token_from=page)
    auth.logout()
    auth.login("township")
    home = client.get("/township/52099901/").get_data(as_text=True)
    row = re.search(rf'<tr id="visit-{visit.id}">(.*?)</tr>', home, re.S)
    assert row and "青山村" in row[1]


@pytest.mark.parametrize("username", ["county", "township", "village", "inspector2"])
def test_only_the_countys_inspectors_plan(client: FlaskClient, auth: Auth, username: str) -> None:
    auth.login(username)
    assert client.get(VISITS).status_code == 403
    posted = auth.post(VISITS, {"village": "5209990101", "team": "1", "planned_on": "2026-11-20"}, token_from="/")
    assert posted.status_code == 403


def test_another_countys_visit_is_not_found(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("inspector")
    visit = plan(client, auth, db_session)
    auth.logout()
    auth.login("inspector2")
    assert client.get(f"/inspection/520998/visits/{visit.id}").status_code == 404
