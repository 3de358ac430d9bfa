"""The county administrator's inspection teams page (issue 19): teams, their members and inspector
accounts, and which team holds each township per period; what that changes for inspectors."""

from __future__ import annotations

import html as html_lib
import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.models import AuditEntry, InspectionTeam, User
from tests.web.conftest import Auth, csrf_token

PAGE = "/county/520999/inspection-teams"
CHECK_01 = "/inspection/520999/townships/52099901/periods/2026Q4/households/520999010101001/check"
CHECK_03 = "/inspection/520999/townships/52099903/periods/2026Q4/households/520999030101001/check"


def team(db: Session, name: str) -> InspectionTeam:
    return db.scalars(sa.select(InspectionTeam).where(InspectionTeam.name == name)).one()


def team_state(page: str, team_id: int) -> str:
    found = re.search(rf'name="team{team_id}-state" type="hidden" value="([^"]*)"', page)
    assert found
    return found[1]


def test_only_the_countys_administrator_opens_the_page(client: FlaskClient, auth: Auth) -> None:
    for username, status in (
        ("county", 200),
        ("inspector", 403),
        ("township", 403),
        ("village", 403),
        ("county2", 403),
    ):
        auth.login(username)
        assert client.get(PAGE).status_code == status, username
        created = auth.post(PAGE + "/new", {"name": "x", "members": "y"}, token_from="/")
        assert created.status_code == (303 if status == 200 else status), username
        auth.logout()
    auth.login("county")
    assert client.get("/county/000000/inspection-teams").status_code == 404
    assert client.get(PAGE + "?period=2030Q1").status_code == 404
    home = client.get("/county/520999/").get_data(as_text=True)
    assert "/county/520999/inspection-teams" in home


def test_the_page_shows_the_teams_and_this_periods_duty(client: FlaskClient, auth: Auth) -> None:
    auth.login("county")
    page = html_lib.unescape(client.get(PAGE, query_string={"period": "2026Q3"}).get_data(as_text=True))
    for name in ("第一督查组", "第二督查组", "第三督查组", "第四督查组"):
        assert name in page
    first = r'name="t_52099901"><option value="">（不分配）</option><option selected value="\d+">第一督查组'
    assert re.search(first, page)
    assert 'type="checkbox"' in page and "县督查组（inspector）" in page


def test_creating_and_editing_a_team(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("county")
    created = auth.post(PAGE + "/new?period=2026Q4", {"name": "第五督查组", "members": "甲、乙、丙、丁"})
    assert created.status_code == 303 and created.headers["Location"].endswith("/inspection-teams?period=2026Q4")
    duplicate = auth.post(PAGE + "/new", {"name": "第一督查组", "members": "甲"})
    assert duplicate.status_code == 422 and "本县已有名为“第一督查组”的督查组" in html_lib.unescape(
        duplicate.get_data(as_text=True)
    )
    fifth = team(db_session, "第五督查组")
    inspector = db_session.scalars(sa.select(User).where(User.username == "inspector")).one()
    page = client.get(PAGE).get_data(as_text=True)
    moved = client.post(
        f"{PAGE}/{fifth.id}",
        data={
            "csrf_token": csrf_token(page),
            f"team{fifth.id}-name": "第五督查组",
            f"team{fifth.id}-members": "甲、乙",
            f"team{fifth.id}-inspectors": [str(inspector.id)],
            f"team{fifth.id}-state": team_state(page, fifth.id),
        },
    )
    assert moved.status_code == 303
    db_session.rollback()
    assert db_session.get(User, inspector.id).inspection_team_id == fifth.id  # type: ignore[union-attr]
    assert db_session.scalar(
        sa.select(AuditEntry.id).where(AuditEntry.entity == "user", AuditEntry.action == "inspection_team")
    )
    # the same page again: it showed the team before the change
    stale = client.post(
        f"{PAGE}/{fifth.id}",
        data={
            "csrf_token": csrf_token(page),
            f"team{fifth.id}-name": "改名",
            f"team{fifth.id}-members": "甲",
            f"team{fifth.id}-state": team_state(page, fifth.id),
        },
    )
    assert stale.status_code == 409
    blank = client.post(
        f"{PAGE}/{fifth.id}",
        data={
            "csrf_token": csrf_token(page),
            f"team{fifth.id}-name": "",
            f"team{fifth.id}-members": "甲",
            f"team{fifth.id}-state": team_state(client.get(PAGE).get_data(as_text=True), fifth.id),
        },
    )
    assert blank.status_code == 422 and "请填写督查组名称" in blank.get_data(as_text=True)
    assert client.post(f"{PAGE}/999999", data={"csrf_token": csrf_token(page)}).status_code == 404


def test_assigning_townships_changes_where_the_inspector_writes(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    first, third = team(db_session, "第一督查组"), team(db_session, "第三督查组")
    auth.login("inspector")
    assert client.get(CHECK_01).status_code == 200 and client.get(CHECK_03).status_code == 403
    auth.logout()
    auth.login("county")
    url = PAGE + "/assignments?period=2026Q4"
    shown = PAGE + "?period=2026Q4"
    response = auth.post(
        url, {"t_52099901": str(third.id), "t_52099902": "", "t_52099903": str(first.id)}, token_from=shown
    )
    assert response.status_code == 303
    bad = auth.post(url, {"t_52099901": "abc", "t_52099902": "999999", "t_52099903": ""}, token_from=shown)
    assert bad.status_code == 422 and "没有这个督查组" in html_lib.unescape(bad.get_data(as_text=True))
    auth.logout()
    auth.login("inspector")
    assert client.get(CHECK_01).status_code == 403 and client.get(CHECK_03).status_code == 200
    unheld = client.get("/inspection/520999/townships/52099902/periods/2026Q4/checks").get_data(as_text=True)
    assert "尚未分配" in unheld
    auth.logout()
    auth.login("inspector")
    assert auth.post(url, {"t_52099901": str(first.id)}, token_from="/").status_code == 403
