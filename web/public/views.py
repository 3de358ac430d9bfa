"""What residents see, without logging in: the county's villages and their published lists.
Only public data: no ID numbers, phones, poverty status or reviewers (RULES.md §6)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, send_from_directory
from flask.typing import ResponseReturnValue

from hygiene.services import results, units
from hygiene.services.errors import NotFound, ServiceError
from web.database import get_session

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> str:
    return render_template("public/index.html", counties=units.counties(get_session()))


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """Browsers ask for it on every site; the app's icon, not a 404 in the logs."""
    assert current_app.static_folder is not None
    return send_from_directory(current_app.static_folder, "favicon.ico", max_age=7 * 24 * 3600)


@bp.get("/public/villages/<village_code>")
def village(village_code: str) -> str:
    session = get_session()
    try:
        village = units.get_village(session, village_code)
    except NotFound:
        abort(404)
    published = [vp for vp in units.village_periods(session, village) if vp.state.value in ("published", "final")]
    return render_template("public/village.html", village=village, village_periods=published)


@bp.get("/public/villages/<village_code>/<period_code>")
def village_list(village_code: str, period_code: str) -> str:
    """The posted list (张榜公示) of a published village period, for residents' phones."""
    session = get_session()
    try:
        village = units.get_village(session, village_code)
        posted = results.public_list(session, village, period_code)
    except ServiceError:
        abort(404)
    return render_template("public/list.html", posted=posted)
