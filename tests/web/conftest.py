from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import PASSWORDS
from web import create_app

CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


@pytest.fixture
def app(sqlite_copy: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": sqlite_copy,
            "SECRET_KEY": "test-secret-key",
            "MEDIA_PATH": str(tmp_path / "media"),  # photos (issue 31), never under the working folder
        }
    )
    yield app
    app.extensions["hygiene.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    """A separate session on the app's database, to look at what a request committed. It holds no
    app context: one left pushed would be shared by every request of the test (their `g`, and so
    their database session), which a real server never does."""
    session = app.extensions["hygiene.sessionmaker"]()
    yield session
    session.close()


class Auth:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def token(self, url: str = "/login") -> str:
        return csrf_token(self.client.get(url).get_data(as_text=True))

    def login(self, username: str, password: str | None = None):  # type: ignore[no-untyped-def]
        return self.client.post(
            "/login",
            data={
                "csrf_token": self.token(),
                "username": username,
                "password": password or PASSWORDS[username],
            },
        )

    def logout(self):  # type: ignore[no-untyped-def]
        token = self.token("/")
        return self.client.post("/logout", data={"csrf_token": token})

    def post(self, url: str, data: dict[str, object], token_from: str | None = None):  # type: ignore[no-untyped-def]
        """Post ``data`` as the browser would from the page just loaded: with its CSRF token and, on
        a page that has one, the ``state`` it showed (``check_unchanged``), unless ``data`` has it."""
        page = self.client.get(token_from or url).get_data(as_text=True)
        shown = re.search(r'name="state" type="hidden" value="([^"]*)"', page)
        return self.client.post(
            url, data={"csrf_token": csrf_token(page), **({"state": shown[1]} if shown else {}), **data}
        )


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)
