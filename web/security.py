"""Response headers for every page, and the access guards that views use.

Guards turn the decisions of ``hygiene.permissions`` into HTTP answers: 404 for a unit that does
not exist, 403 for one outside the user's scope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import flask_login
from flask import Flask, Response, abort, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_login import current_user

from hygiene.models import County, User

F = TypeVar("F", bound=Callable[..., Any])

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)


# What a user whose password an administrator reset may still reach before choosing a new one.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.logout", "static"})


class NoCookieOnSharedPages(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except that a response a shared cache may keep
    (``Cache-Control: public``) never carries the session cookie: the cache would hand one
    visitor's cookie to the next (issue 28). Whatever the request changed in the session (Flask-
    Login marking a session not fresh) is saved on the visitor's next private page instead."""

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if response.cache_control.public:
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = NoCookieOnSharedPages()
    app.before_request(_new_password_first)
    app.after_request(_security_headers)


def _new_password_first() -> Response | None:
    if (
        current_user.is_authenticated
        and current_user.must_change_password
        and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS
    ):
        return redirect(url_for("auth.change_password"))  # type: ignore[return-value]
    return None


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if current_user and current_user.is_authenticated:
        # Pages with names, phones and scores must not stay in a shared office PC's cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def login_required(view: F) -> F:
    """Flask-Login's ``login_required``, typed (Flask-Login ships no type information): a view
    keeps its signature for mypy."""
    return cast(F, flask_login.login_required(view))


def require(allowed: bool) -> None:
    if not allowed:
        abort(403)


def permitted_county(county_code: str, rule: Callable[[User, County], bool]) -> County:
    """The county of the URL (404 if there is none) when the signed-in account passes ``rule``
    (one of hygiene.permissions), else 403."""
    from hygiene.services.setup import units
    from web.handlers import load

    county = load(units.get_county, county_code)
    require(rule(current_account(), county))
    return county


def safe_next_url(target: str | None) -> str | None:
    """A same-site path to return to after login, or None. Never an absolute or protocol-relative
    URL (an open redirect would let a phishing link bounce through our login page)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def client_address() -> str | None:
    return request.remote_addr


def current_account() -> Any:
    """The logged-in ``hygiene.models.User`` itself (not Flask-Login's proxy), for services."""
    return current_user._get_current_object()
