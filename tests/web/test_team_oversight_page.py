"""The county's oversight page of its inspection teams (issue 33): offices set and shown, each
team's work; the county's administrator only."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.models import InspectionTeam
from tests.web.conftest import Auth

PAGE = "/county/520999/teams/oversight"


def test_the_administrator_sets_a_teams_offices_and_sees_its_work(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    team = db_session.scalars(sa.select(InspectionTeam).order_by(InspectionTeam.id)).first()
    auth.login("county")
    html = client.get(PAGE).get_data(as_text=True)
    assert f'id="team-{team.id}"' in html and "牵头单位：未填" in html
    state = re.search(
        rf'action="/county/520999/teams/{team.id}/offices".*?name="state" type="hidden" value="([^"]*)"', html, re.S
    )
    assert state
    url = f"/county/520999/teams/{team.id}/offices"
    saved = auth.post(
        url, {"state": state[1], "lead_office": "督办督查局", "member_offices": "文明办、妇联"}, token_from=PAGE
    )
    assert saved.status_code == 303
    page = client.get(PAGE).get_data(as_text=True)
    assert "牵头单位：督办督查局；成员单位：文明办、妇联" in page
    stale = auth.post(url, {"state": state[1], "lead_office": "卫健局", "member_offices": ""}, token_from=PAGE)
    assert stale.status_code == 409
    empty = auth.post(url, {"lead_office": "", "member_offices": ""}, token_from=PAGE)  # the state the page shows
    assert "请填写牵头单位" in client.get(empty.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("username", ["inspector", "township", "county2"])
def test_only_the_countys_administrator(client: FlaskClient, auth: Auth, db_session: Session, username: str) -> None:
    team = db_session.scalars(sa.select(InspectionTeam).order_by(InspectionTeam.id)).first()
    auth.login(username)
    assert client.get(PAGE).status_code == 403
    posted = auth.post(f"/county/520999/teams/{team.id}/offices", {"lead_office": "x"}, token_from="/")
    assert posted.status_code == 403


def test_another_countys_team_is_not_found(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    team = db_session.scalars(sa.select(InspectionTeam).order_by(InspectionTeam.id)).first()
    auth.login("county2")
    posted = auth.post(f"/county/520998/teams/{team.id}/offices", {"lead_office": "x"}, token_from="/")
    assert posted.status_code == 404
