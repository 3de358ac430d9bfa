"""The public verification page of a plaque certificate's QR code (RULES.md §7): the plaque's
current status, read now from the database. An altered or guessed link shows "无效" and nothing
else: no serial, no hint whether such a plaque exists."""

from __future__ import annotations

from flask import current_app, render_template
from flask.typing import ResponseReturnValue

from hygiene.services.awards import certificates
from hygiene.services.errors import NotFound
from web.database import get_session
from web.public.views import bp


@bp.get("/verify/<token>")
def verify(token: str) -> ResponseReturnValue:
    try:
        verification = certificates.verify(get_session(), token, current_app.config["SECRET_KEY"])
    except NotFound:
        verification = None
    page = render_template("public/verify.html", verification=verification)
    # the status may change at any time (摘牌): never cached
    headers = {"Cache-Control": "no-store"}
    return (page, 200, headers) if verification else (page, 404, headers)
