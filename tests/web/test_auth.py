"""Login, logout and sessions (RELIABILITY.md traps 1, 7, 11, 12)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORDS
from tests.web.conftest import Auth
from web import create_app


@pytest.mark.parametrize(
    ("username", "home"),
    [
        ("village", "/village/5209990101/"),
        ("township", "/township/52099901/"),
        ("county", "/county/520999/"),
        ("inspector", "/inspection/520999/"),
    ],
)
def test_each_role_lands_in_its_own_area(client: FlaskClient, auth: Auth, username: str, home: str) -> None:
    response = auth.login(username)
    assert response.status_code == 302 and response.headers["Location"] == home
    page = client.get(home)
    assert page.status_code == 200
    assert "退出" in page.get_data(as_text=True)


def test_wrong_password_and_unknown_user_get_the_same_reply(client: FlaskClient, auth: Auth) -> None:
    wrong = auth.login("village", "wrong-password").get_data(as_text=True)
    unknown = auth.login("nobody-here", "wrong-password").get_data(as_text=True)
    assert "用户名或密码不正确" in wrong and "用户名或密码不正确" in unknown


def test_five_failures_lock_the_login_even_with_the_right_password(client: FlaskClient, auth: Auth) -> None:
    for _ in range(5):
        assert auth.login("village", "wrong-password").status_code == 200
    locked = auth.login("village")
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.get_data(as_text=True)


def test_a_cookie_copied_before_logout_is_dead_afterwards(app: Flask, client: FlaskClient, auth: Auth) -> None:
    auth.login("village")
    stolen = client.get_cookie("hygiene_session")
    assert stolen is not None
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("hygiene_session", stolen.value)
    response = thief.get("/village/5209990101/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_changing_the_password_ends_other_sessions(app: Flask, client: FlaskClient, auth: Auth) -> None:
    other = app.test_client()
    Auth(other).login("village")
    auth.login("village")
    response = auth.post(
        "/account/password", {"current": PASSWORDS["village"], "new": "a-new-password-1", "confirm": "a-new-password-1"}
    )
    assert response.status_code == 302
    assert client.get("/village/5209990101/").status_code == 200  # this browser continues
    assert other.get("/village/5209990101/").status_code == 302  # the other one is logged out


def test_wrong_current_password_is_shown_next_to_the_field(auth: Auth) -> None:
    auth.login("village")
    response = auth.post(
        "/account/password", {"current": "nope", "new": "a-new-password-1", "confirm": "a-new-password-1"}
    )
    assert response.status_code == 422
    assert "当前密码不正确" in response.get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"])
def test_next_never_leaves_the_site(client: FlaskClient, auth: Auth, target: str) -> None:
    token = auth.token()
    response = client.post(
        f"/login?next={target}", data={"csrf_token": token, "username": "village", "password": PASSWORDS["village"]}
    )
    assert response.headers["Location"] == "/village/5209990101/"


def test_next_returns_to_a_page_of_the_site(client: FlaskClient, auth: Auth) -> None:
    token = auth.token()
    response = client.post(
        "/login?next=/village/5209990101/households/520999010101001",
        data={"csrf_token": token, "username": "village", "password": PASSWORDS["village"]},
    )
    assert response.headers["Location"] == "/village/5209990101/households/520999010101001"


def test_anonymous_users_are_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/county/520999/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_behind_a_proxy_the_login_limit_counts_the_forwarded_client(sqlite_copy: str) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": sqlite_copy, "SECRET_KEY": "test-secret-key", "PROXY_COUNT": 1})
    stranger, staff = app.test_client(), app.test_client()
    stranger.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
    staff.environ_base["HTTP_X_FORWARDED_FOR"] = "10.1.1.5"
    for _ in range(5):
        assert Auth(stranger).login("village", "wrong-password").status_code == 200
    assert Auth(stranger).login("village").status_code == 429
    assert Auth(staff).login("village").status_code == 302  # the staff member's own computer is not locked
    app.extensions["hygiene.engine"].dispose()
