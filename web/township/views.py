"""The township reviewer's area (乡镇审核员): the township's villages and their workflow states."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import login_required

from hygiene import permissions
from hygiene.services import periods, units
from hygiene.services.errors import NotFound, ServiceError
from web.database import get_session
from web.security import current_account, require

bp = Blueprint("township", __name__, url_prefix="/township/<township_code>")


@bp.get("/")
@login_required
def home(township_code: str) -> str:
    session = get_session()
    try:
        township = units.get_township(session, township_code)
    except NotFound:
        abort(404)
    require(permissions.can_view_township(current_account(), township))
    all_periods = units.county_periods(session, township.county_id)
    period = all_periods[0] if all_periods else None
    if request.args.get("period"):
        try:
            period = periods.get_period(session, township.county_id, request.args["period"])
        except ServiceError:
            abort(404)
    return render_template(
        "township/home.html",
        township=township,
        periods=all_periods,
        period=period,
        rows=units.township_overview(session, township, period),
    )
