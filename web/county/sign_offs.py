"""The county's sign-off levels (RULES.md §5): the village periods of a period waiting for a county
level, each approved or returned with a reason, for the county's administrator."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from hygiene import permissions
from hygiene.models import County
from hygiene.services.rating import sign_offs
from hygiene.services.setup import units
from web.county.views import bp
from web.database import get_session
from web.handlers import load, save
from web.presentation import picked_period
from web.security import current_account, login_required, permitted_county
from web.township.forms import MoveForm


def _county(county_code: str) -> County:
    return permitted_county(county_code, permissions.can_sign_off)


@bp.get("/sign-offs")
@login_required
def sign_off_list(county_code: str) -> str:
    county = _county(county_code)
    session = get_session()
    all_periods = units.county_periods(session, county.id)
    period = picked_period(all_periods)
    return render_template(
        "county/sign_offs.html",
        county=county,
        periods=all_periods,
        period=period,
        waiting=sign_offs.waiting(session, county, period) if period else [],
        level_names=sign_offs.LEVEL_NAMES,
        form=MoveForm(formdata=None),
    )


@bp.post("/sign-offs/<int:village_period_id>/<any(approve, return):move>")
@login_required
def sign_off_move(county_code: str, village_period_id: int, move: str) -> ResponseReturnValue:
    county = _county(county_code)
    village_period = load(sign_offs.get_village_period, village_period_id, belongs=lambda vp: vp.county_id == county.id)
    period_code = village_period.period.code
    form = MoveForm()
    if form.validate_on_submit():
        name = f"{village_period.village.name} {period_code}"
        if move == "approve":
            save(
                lambda s: sign_offs.sign_off(s, current_account(), village_period, form.version.data),
                done=f"{name} 已签批通过",
            )
        else:
            save(
                lambda s: sign_offs.return_at_level(
                    s, current_account(), village_period, form.version.data, form.reason.data or ""
                ),
                done=f"{name} 已退回村委会",
            )
    else:
        flash("；".join(e for errors in form.errors.values() for e in errors), "error")
    return redirect(url_for("county.sign_off_list", county_code=county.code, period=period_code), 303)
