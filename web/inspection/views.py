"""The inspector's area (督查员): the county's townships, inspection teams and this period's progress."""

from __future__ import annotations

from flask import Blueprint, render_template

from hygiene import permissions
from hygiene.services.setup import units
from hygiene.services.supervision import inspection_teams, inspections
from web.database import get_session
from web.handlers import load
from web.presentation import picked_period
from web.security import current_account, login_required, require

bp = Blueprint("inspection", __name__, url_prefix="/inspection/<county_code>")


@bp.get("/")
@login_required
def home(county_code: str) -> str:
    session = get_session()
    county = load(units.get_county, county_code)
    require(permissions.can_inspect_county(current_account(), county))
    all_periods = units.county_periods(session, county.id)
    period = picked_period(all_periods)
    matrix = units.county_state_matrix(session, county, period) if period else {}
    held = inspections.held_townships(session, current_account(), period) if period else []
    return render_template(
        "inspection/home.html",
        county=county,
        period=period,
        periods=all_periods,
        teams=inspection_teams.teams(session, county),
        matrix=matrix,
        held=held,
    )
