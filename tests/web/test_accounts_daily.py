"""Issue 30's account points: the unit picked by name from the county's units, the unit column,
visible labels on 停用 and 重置密码, and ``hygiene users reset-password`` lifting the lock."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.models import LoginThrottle, User
from hygiene.models._types import utcnow
from hygiene.services.setup import accounts
from tests.web.conftest import Auth
from tests.web.test_cli import hygiene

USERS = "/county/520999/users"


def test_the_account_page_names_units_and_labels_its_inputs(client: FlaskClient, auth: Auth) -> None:
    auth.login("county")
    html = client.get(USERS).get_data(as_text=True)
    assert "<th>所属单位</th>" in html
    row = r'<td data-label="用户名">village</td>.*?<td data-label="所属单位">松林镇 · 青山村</td>'
    assert re.search(row, html, re.S)
    assert '<label for="reason-village">停用原因</label>' in html
    assert '<label for="password-village">临时密码</label>' in html
    assert '<option value="5209990101">松林镇 · 青山村</option>' in html
    assert '<option value="52099901">松林镇</option>' in html and "520998" not in html.split("新建账号")[1]


def test_an_account_is_created_for_a_unit_picked_by_name(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("county")
    data = {
        "username": "qingshan2",
        "display_name": "青山村新文书",
        "role": "village_clerk",
        "unit_code": "5209990101",
        "password": "Qingshan-clerk-2026",
    }
    assert auth.post(USERS, data).status_code == 302
    db_session.rollback()
    user = db_session.scalars(sa.select(User).where(User.username == "qingshan2")).one()
    assert user.village_id is not None and user.must_change_password
    foreign = auth.post(USERS, data | {"username": "other3", "unit_code": "5209980101"})  # the other county's
    assert foreign.status_code == 200 and 'aria-invalid="true"' in foreign.get_data(as_text=True)
    db_session.rollback()
    assert db_session.scalar(sa.select(User.id).where(User.username == "other3")) is None


def test_users_reset_password_prints_a_temporary_password_and_lifts_the_lock(committing_engine: sa.Engine) -> None:
    engine = committing_engine
    with Session(engine) as session, session.begin():
        session.add(LoginThrottle(key="account:village", failures=30, window_started_at=utcnow()))
    done = hygiene(engine, "users", "reset-password", "village")
    assert done.exit_code == 0, done.output
    temporary = re.search(r"临时密码（只显示这一次）：(\S+)", done.stdout)
    assert temporary and "登录锁定已解除" in done.stdout
    with Session(engine) as session:
        assert session.get(LoginThrottle, "account:village") is None
        user = session.scalars(sa.select(User).where(User.username == "village")).one()
        assert user.must_change_password
        assert accounts.authenticate(session, "village", temporary.group(1)) is not None
    unknown = hygiene(engine, "users", "reset-password", "nobody")
    assert unknown.exit_code == 2 and "没有账号 nobody" in unknown.stderr
