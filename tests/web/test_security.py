"""Headers, cookies, CSRF and configuration: what a county IT office will ask to see."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.sheets import ROSTER_HEADER, csv_file, roster_row
from tests.web.conftest import Auth
from web import ConfigError, create_app

# Every state-changing route of the app, with the user who may use it.
POST_ROUTES = [
    ("/village/<village_code>/notices/<int:notice_id>/report", "/village/5209990101/notices/1/report", "village"),
    ("/township/<township_code>/notices/<int:notice_id>/report", "/township/52099901/notices/1/report", "township"),
    ("/county/<county_code>/inspection-teams/new", "/county/520999/inspection-teams/new", "county"),
    ("/county/<county_code>/inspection-teams/<int:team_id>", "/county/520999/inspection-teams/1", "county"),
    (
        "/county/<county_code>/inspection-teams/assignments",
        "/county/520999/inspection-teams/assignments?period=2026Q4",
        "county",
    ),
    (
        "/inspection/<county_code>/townships/<township_code>/sample/adopt",
        "/inspection/520999/townships/52099901/sample/adopt?period=2026Q3",
        "inspector",
    ),
    (
        "/inspection/<county_code>/townships/<township_code>/periods/<period_code>/households/<household_code>/check",
        "/inspection/520999/townships/52099901/periods/2026Q3/households/520999010101001/check",
        "inspector",
    ),
    (
        "/inspection/<county_code>/townships/<township_code>/periods/<period_code>/hold",
        "/inspection/520999/townships/52099901/periods/2026Q3/hold",
        "inspector",
    ),
    ("/inspection/<county_code>/notices/new", "/inspection/520999/notices/new", "inspector"),
    ("/inspection/<county_code>/notices/<int:notice_id>/decide", "/inspection/520999/notices/1/decide", "inspector"),
    ("/inspection/<county_code>/notices/black-list", "/inspection/520999/notices/black-list", "inspector"),
    ("/login", "/login", None),
    ("/logout", "/logout", "village"),
    ("/account/password", "/account/password", "village"),
    ("/village/<village_code>/households/new", "/village/5209990101/households/new", "village"),
    (
        "/village/<village_code>/households/<household_code>/edit",
        "/village/5209990101/households/520999010101001/edit",
        "village",
    ),
    (
        "/village/<village_code>/households/<household_code>/recode",
        "/village/5209990101/households/520999010101001/recode",
        "township",
    ),
    (
        "/village/<village_code>/households/<household_code>/move",
        "/village/5209990101/households/520999010101001/move",
        "county",
    ),
    ("/county/<county_code>/users", "/county/520999/users", "county"),
    ("/county/<county_code>/settings", "/county/520999/settings", "county"),
    ("/county/<county_code>/periods", "/county/520999/periods", "county"),
    ("/county/<county_code>/rubric", "/county/520999/rubric", "county"),
    ("/county/<county_code>/rollout", "/county/520999/rollout", "county"),
    ("/county/<county_code>/rollout/<township_code>", "/county/520999/rollout/52099901", "county"),
    ("/county/<county_code>/units/upload", "/county/520999/units/upload", "county"),
    (
        "/county/<county_code>/users/<username>/<any(disable, enable):change>",
        "/county/520999/users/village/disable",
        "county",
    ),
    ("/county/<county_code>/users/<username>/password", "/county/520999/users/village/password", "county"),
    ("/county/<county_code>/units/upload/confirm", "/county/520999/units/upload/confirm", "county"),
    ("/county/<county_code>/roster/upload", "/county/520999/roster/upload", "county"),
    ("/county/<county_code>/roster/upload/confirm", "/county/520999/roster/upload/confirm", "county"),
    ("/county/<county_code>/units/upload/cancel", "/county/520999/units/upload/cancel", "county"),
    ("/county/<county_code>/roster/upload/cancel", "/county/520999/roster/upload/cancel", "county"),
    (
        "/village/<village_code>/periods/<period_code>/households/<household_code>/review",
        "/village/5209990101/periods/2026Q4/households/520999010101001/review?kind=self",
        "village",
    ),
    (
        "/village/<village_code>/periods/<period_code>/reviews/<int:review_id>/delete",
        "/village/5209990101/periods/2026Q4/reviews/1/delete",
        "village",
    ),
    ("/village/<village_code>/periods/<period_code>/submit", "/village/5209990101/periods/2026Q4/submit", "village"),
    ("/village/<village_code>/periods/<period_code>/upload", "/village/5209990101/periods/2026Q4/upload", "village"),
    (
        "/village/<village_code>/periods/<period_code>/upload/confirm",
        "/village/5209990101/periods/2026Q4/upload/confirm",
        "village",
    ),
    ("/village/<village_code>/roster/upload", "/village/5209990101/roster/upload", "village"),
    ("/village/<village_code>/roster/upload/confirm", "/village/5209990101/roster/upload/confirm", "village"),
    ("/village/<village_code>/roster/upload/cancel", "/village/5209990101/roster/upload/cancel", "village"),
    (
        "/village/<village_code>/periods/<period_code>/groups/<group_code>/review",
        "/village/5209990101/periods/2026Q4/groups/520999010101/review",
        "village",
    ),
    (
        "/village/<village_code>/periods/<period_code>/upload/cancel",
        "/village/5209990101/periods/2026Q4/upload/cancel",
        "village",
    ),
    (
        "/township/<township_code>/periods/<period_code>/villages/<village_code>/quotas",
        "/township/52099901/periods/2026Q4/villages/5209990101/quotas",
        "township",
    ),
    (
        "/township/<township_code>/periods/<period_code>/villages/<village_code>/assessment",
        "/township/52099901/periods/2026Q4/villages/5209990101/assessment",
        "township",
    ),
    (
        "/township/<township_code>/periods/<period_code>/villages/<village_code>/<move>",
        "/township/52099901/periods/2026Q4/villages/5209990102/approve",
        "township",
    ),
    (
        "/public/villages/<village_code>/<period_code>/households/<household_code>/objection",
        "/public/villages/5209990104/2026Q4/households/520999010401001/objection",
        None,
    ),
    ("/township/<township_code>/objections/<int:objection_id>", "/township/52099901/objections/1", "township"),
    (
        "/township/<township_code>/plaques/<serial>/revoke",
        "/township/52099901/plaques/520999-2026-000001/revoke",
        "inspector",
    ),
    # issue 29: stars, the ledger, the catalogue, disqualifications
    (
        "/village/<village_code>/stars/<household_code>",
        "/village/5209990101/stars/520999010101001",
        "village",
    ),
    ("/township/<township_code>/awards", "/township/52099901/awards", "township"),
    ("/county/<county_code>/ledger", "/county/520999/ledger", "county"),
    ("/county/<county_code>/industry-support", "/county/520999/industry-support", "county"),
    ("/township/<township_code>/industry-support", "/township/52099901/industry-support", "township"),
    ("/county/<county_code>/stars/catalogue", "/county/520999/stars/catalogue", "county"),
    ("/county/<county_code>/disqualifications", "/county/520999/disqualifications", "county"),
    ("/county/<county_code>/accounts/upload", "/county/520999/accounts/upload", "county"),
    ("/county/<county_code>/accounts/upload/confirm", "/county/520999/accounts/upload/confirm", "county"),
    ("/county/<county_code>/accounts/upload/cancel", "/county/520999/accounts/upload/cancel", "county"),
    (
        "/township/<township_code>/plaques/<serial>/reinstate",
        "/township/52099901/plaques/520999-2026-000001/reinstate",
        "inspector",
    ),
    (
        "/township/<township_code>/periods/<period_code>/villages/<village_code>/reopen",
        "/township/52099901/periods/2026Q3/villages/5209990101/reopen",
        "county",
    ),
    # issues 31 and 33: photos, sign-offs, cadres and the ladder, visits, team offices
    ("/county/<county_code>/accountability", "/county/520999/accountability", "county"),
    ("/county/<county_code>/accountability/<int:case_id>/decide", "/county/520999/accountability/1/decide", "county"),
    ("/county/<county_code>/accountability/<int:case_id>/dismiss", "/county/520999/accountability/1/dismiss", "county"),
    ("/county/<county_code>/cadres/<int:cadre_id>/retire", "/county/520999/cadres/1/retire", "county"),
    (
        "/county/<county_code>/sign-offs/<int:village_period_id>/<any(approve, return):move>",
        "/county/520999/sign-offs/1/approve",
        "county",
    ),
    ("/county/<county_code>/teams/<int:team_id>/offices", "/county/520999/teams/1/offices", "county"),
    (
        "/inspection/<county_code>/notices/<int:notice_id>/photo-waiver",
        "/inspection/520999/notices/1/photo-waiver",
        "inspector",
    ),
    ("/inspection/<county_code>/visits", "/inspection/520999/visits", "inspector"),
    ("/inspection/<county_code>/visits/<int:visit_id>/checks", "/inspection/520999/visits/1/checks", "inspector"),
    ("/inspection/<county_code>/visits/<int:visit_id>/findings", "/inspection/520999/visits/1/findings", "inspector"),
]


def test_every_post_route_is_listed_here(app: Flask) -> None:
    rules = {r.rule for r in app.url_map.iter_rules() if "POST" in (r.methods or ())}
    assert rules == {rule for rule, _, _ in POST_ROUTES}


@pytest.mark.parametrize(("rule", "url", "username"), POST_ROUTES)
def test_a_post_without_csrf_token_is_refused(
    client: FlaskClient, auth: Auth, rule: str, url: str, username: str | None
) -> None:
    if username:
        auth.login(username)
    response = client.post(url, data={"username": "village", "head_name": "x", "reason": "x"})
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)


def test_security_headers_on_every_page(client: FlaskClient, auth: Auth) -> None:
    public = client.get("/")
    csp = public.headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "default-src 'self'"):
        assert directive in csp
    assert public.headers["X-Content-Type-Options"] == "nosniff"
    assert public.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" not in public.headers.get("Cache-Control", "")
    auth.login("village")
    private = client.get("/village/5209990101/")
    assert private.headers["Cache-Control"] == "no-store"


def test_public_pages_set_no_cookie(client: FlaskClient) -> None:
    for url in (
        "/",
        "/public/villages/5209990101",
        "/public/villages/5209990101/2026Q3",
        "/public/villages/5209990101/2026Q3?q=张",
        "/public/villages/5209990101/2026Q3.csv",
    ):
        assert "Set-Cookie" not in client.get(url).headers, url


def test_session_cookie_flags_in_production(client: FlaskClient, auth: Auth) -> None:
    response = auth.login("village")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_production_refuses_to_start_without_a_secret_key(sqlite_copy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HYGIENE_SECRET_KEY", "SECRET_KEY", "HYGIENE_ENV"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": sqlite_copy})


def test_development_makes_and_keeps_its_own_key(sqlite_copy: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"DATABASE_URL": sqlite_copy, "ENV": "development"})
    second = create_app({"DATABASE_URL": sqlite_copy, "ENV": "development"})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] and len(first.config["SECRET_KEY"]) == 64
    assert first.config["SESSION_COOKIE_SECURE"] is False
    for app in (first, second):
        app.extensions["hygiene.engine"].dispose()


def test_a_malformed_database_url_is_refused_with_a_clear_message() -> None:
    from web import ConfigError

    with pytest.raises(ConfigError, match="DATABASE_URL 格式不正确"):
        create_app({"DATABASE_URL": "postgresql://host:notaport/db", "SECRET_KEY": "x"})


def test_errors_are_shown_in_chinese(client: FlaskClient) -> None:
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "页面不存在" in page.get_data(as_text=True)


def test_hygiene_env_from_the_environment_selects_development(
    sqlite_copy: str,
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """`make run` sets HYGIENE_ENV=development in the environment, not in a config dict."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("HYGIENE_SECRET_KEY", raising=False)
    monkeypatch.setenv("HYGIENE_ENV", "development")
    app = create_app({"DATABASE_URL": sqlite_copy})
    assert app.config["ENV"] == "development" and app.config["SESSION_COOKIE_SECURE"] is False
    app.extensions["hygiene.engine"].dispose()


def test_a_forged_pending_upload_reaches_no_file_outside_the_users_own(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    """The outside probe, holding the secret key, put ``../../victim`` in the cookie: the next
    upload's clean-up deleted that file. Now the id must be 32 hex digits of the user's own."""
    victim = Path(app.instance_path) / "victim.txt"
    victim.parent.mkdir(parents=True, exist_ok=True)
    victim.write_text("keep me")
    auth.login("village")
    forged = {"token": "../victim.txt", "purpose": "roster:5209990101", "file_name": "x.csv"}
    with client.session_transaction() as cookie:
        cookie["pending_upload"] = forged
    confirm = auth.post("/village/5209990101/roster/upload/confirm", {}, token_from="/")
    assert "没有待确认的上传文件" in client.get(confirm.headers["Location"]).get_data(as_text=True)
    with client.session_transaction() as cookie:
        cookie["pending_upload"] = forged
    sheet = csv_file(ROSTER_HEADER, [roster_row("520999010105001")])
    assert auth.post("/village/5209990101/roster/upload", {"file": (io.BytesIO(sheet), "a.csv")}).status_code == 200
    assert victim.read_text() == "keep me"
    victim.unlink()


def test_another_users_pending_upload_cannot_be_confirmed(app: Flask, auth: Auth) -> None:
    clerk, other = app.test_client(), app.test_client()
    Auth(clerk).login("village")
    sheet = csv_file(ROSTER_HEADER, [roster_row("520999010105001")])
    assert (
        Auth(clerk).post("/village/5209990101/roster/upload", {"file": (io.BytesIO(sheet), "a.csv")}).status_code == 200
    )
    with clerk.session_transaction() as cookie:
        upload_id = cookie["pending_upload"]["token"]
    Auth(other).login("village2")
    with other.session_transaction() as cookie:  # the same id, forged into another clerk's cookie
        cookie["pending_upload"] = {"token": upload_id, "purpose": "roster:5209990201", "file_name": "a.csv"}
    confirm = Auth(other).post("/village/5209990201/roster/upload/confirm", {}, token_from="/")
    assert "没有待确认的上传文件" in other.get(confirm.headers["Location"]).get_data(as_text=True)


def test_production_refuses_a_short_secret_key(sqlite_copy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYGIENE_ENV", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY 太短"):
        create_app({"DATABASE_URL": sqlite_copy, "SECRET_KEY": "a"})
    create_app({"DATABASE_URL": sqlite_copy, "SECRET_KEY": "k" * 32}).extensions["hygiene.engine"].dispose()


def test_a_csrf_token_from_before_login_is_worthless_after_it(client: FlaskClient, auth: Auth) -> None:
    before = auth.token("/login")
    auth.login("village")
    assert client.post("/logout", data={"csrf_token": before}).status_code == 400
    assert auth.logout().status_code == 302


def test_the_served_app_moves_time_itself_and_survives_a_failing_tick(
    sqlite_copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run` has no cron: the app finalises due periods itself, at most once per interval."""
    import sqlalchemy as sa

    from hygiene.db import make_sessionmaker
    from hygiene.enums import WorkflowState
    from hygiene.models import Plaque, VillagePeriod
    from hygiene.services import tick

    app = create_app({"TESTING": True, "DATABASE_URL": sqlite_copy, "SECRET_KEY": "k" * 32, "TICK_SECONDS": 3600})
    maker = make_sessionmaker(app.extensions["hygiene.engine"])

    def published() -> int:
        with maker() as session:
            return (
                session.scalar(
                    sa.select(sa.func.count(VillagePeriod.id)).where(VillagePeriod.state == WorkflowState.PUBLISHED)
                )
                or 0
            )

    def plaques() -> int:
        with maker() as session:
            return session.scalar(sa.select(sa.func.count(Plaque.id))) or 0

    assert published() == 2  # the demo's two, both past their posting end
    before = plaques()
    assert app.test_client().get("/").status_code == 200
    assert published() == 0 and plaques() > before
    calls = []
    monkeypatch.setattr(tick, "run", lambda session: calls.append(1))
    app.test_client().get("/")
    assert calls == []  # not again within the interval
    app.extensions["hygiene.last_tick"] = float("-inf")

    def failing(session: object) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(tick, "run", failing)
    assert app.test_client().get("/").status_code == 200  # a failed tick never reaches the request
    app.extensions["hygiene.engine"].dispose()
