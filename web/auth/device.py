"""The device cookie (OWASP, "Slow down online guessing attacks with device cookies"): a browser
an account signed in from is given a signed cookie naming the account and a random id; its later
login attempts for that account are counted on their own (``accounts.authenticate(device=...)``),
so strangers guessing the account's password from elsewhere never lock that browser out."""

from __future__ import annotations

import datetime as dt
import secrets

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

COOKIE = "hygiene_device"
LIFETIME = dt.timedelta(days=180)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="hygiene-device-cookie")


def known_device(username: str) -> str | None:
    """The id of this browser's device cookie when it was given for ``username``, else None."""
    text = request.cookies.get(COOKIE)
    if not text:
        return None
    try:
        payload = _serializer().loads(text)
    except BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("u") != username.strip() or not isinstance(payload.get("n"), str):
        return None
    return str(payload["n"])


def remember_device(response: Response, username: str) -> Response:
    """Give the browser a new device cookie for the account that just signed in (only the login
    page reads it)."""
    value = _serializer().dumps({"u": username, "n": secrets.token_hex(16)})
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(LIFETIME.total_seconds()),
        path="/login",
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        httponly=True,
        samesite="Lax",
    )
    return response
