"""The inspector's area (督查员): the county's townships, inspection teams and this period's progress."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask_login import login_required

from hygiene import permissions
from hygiene.models import InspectionTeam
from hygiene.services.errors import NotFound
from hygiene.services.setup import units
from hygiene.services.supervision import inspections
from web.database import get_session
from web.presentation import picked_period
from web.security import current_account, require

bp = Blueprint("inspection", __name__, url_prefix="/inspection/<county_code>")


@bp.get("/")
@login_required
def home(county_code: str) -> str:
    session = get_session()
    try:
        county = units.get_county(session, county_code)
    except NotFound:
        abort(404)
    require(permissions.can_inspect_county(current_account(), county))
    all_periods = units.county_periods(session, county.id)
    period = picked_period(all_periods)
    teams = session.scalars(
        sa.select(InspectionTeam).where(InspectionTeam.county_id == county.id).order_by(InspectionTeam.id)
    )
    matrix = units.county_state_matrix(session, county, period) if period else {}
    held = inspections.held_townships(session, current_account(), period) if period else []
    return render_template(
        "inspection/home.html",
        county=county,
        period=period,
        periods=all_periods,
        teams=list(teams),
        matrix=matrix,
        held=held,
    )
