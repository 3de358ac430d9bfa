"""The inspector's area (督查员): the county's townships, inspection teams and this period's progress.

Three levels use it (RULES.md §9): the county's inspectors, its city's (every county of the city)
and a township's own inspectors (that township only); each sees its own teams and what it holds,
and the county-wide ones every level's assignments in the county."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from hygiene import permissions
from hygiene.enums import Level
from hygiene.services.setup import units
from hygiene.services.supervision import inspection_teams, inspections
from web.database import get_session
from web.forms import BaseForm
from web.handlers import load, save
from web.presentation import picked_period
from web.security import current_account, login_required, require

bp = Blueprint("inspection", __name__, url_prefix="/inspection/<county_code>")


@bp.get("/")
@login_required
def home(county_code: str) -> str:
    session = get_session()
    county = load(units.get_county, county_code)
    user = current_account()
    require(permissions.can_inspect_in(user, county))
    all_periods = units.county_periods(session, county.id)
    period = picked_period(all_periods)
    county_wide = permissions.can_inspect_county(user, county)
    level = inspections.level_of(user)
    townships = [t for t in county.townships if permissions.can_inspect_township(user, t)]
    held = inspections.held_townships(session, user, period) if period else []
    return render_template(
        "inspection/home.html",
        county=county,
        period=period,
        periods=all_periods,
        teams=inspection_teams.teams(session, county)
        if level is Level.COUNTY
        else inspection_teams.unit_teams(session, user),
        matrix=units.county_state_matrix(session, county, period) if period and county_wide else {},
        county_wide=county_wide,
        held=held,
        townships=townships,
        level=level,
        can_hold=level is not Level.COUNTY and user.inspection_team_id is not None,
        hold_form=BaseForm(formdata=None),
        levels=inspections.all_levels(session, county, period) if period and county_wide else [],
        level_labels={lv.value: lv.label for lv in Level},
    )


@bp.post("/townships/<township_code>/periods/<period_code>/hold")
@login_required
def hold_township(county_code: str, township_code: str, period_code: str) -> ResponseReturnValue:
    """A city's team or a township's own team takes a township of its area in the period."""
    session = get_session()
    county = load(units.get_county, county_code)
    user = current_account()
    require(permissions.can_inspect_in(user, county))
    township = load(units.get_township, township_code, belongs=lambda t: t.county_id == county.id)
    require(permissions.can_inspect_township(user, township))
    period = next((p for p in units.county_periods(session, county.id) if p.code == period_code), None)
    team = inspection_teams.team_of(session, user)
    if period is None or team is None:
        abort(404)
    if BaseForm().validate_on_submit():
        save(
            lambda s: inspections.hold(s, user, team, period, township),
            done=f"本组已认领{township.name}{period.code}的督查",
        )
    return redirect(url_for("inspection.home", county_code=county.code, period=period.code), 303)
