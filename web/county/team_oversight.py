"""The county's oversight of its inspection teams (RULES.md §9): each team's lead and member offices
and what it did in a period, for the county's administrator."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import Length

from hygiene import permissions
from hygiene.enums import NoticeState
from hygiene.models import County
from hygiene.services.setup import units
from hygiene.services.supervision import inspection_teams, team_oversight
from web.county.views import bp
from web.database import get_session
from web.forms import BaseForm
from web.handlers import load, save
from web.presentation import picked_period
from web.security import current_account, login_required, permitted_county


class OfficesForm(BaseForm):
    state = HiddenField()
    lead_office = StringField("牵头单位", validators=[Length(max=60)])
    member_offices = StringField("成员单位（用顿号分隔）", validators=[Length(max=200)])
    submit = SubmitField("保存")


def _county(county_code: str) -> County:
    return permitted_county(county_code, permissions.can_manage_inspection_teams)


@bp.get("/teams/oversight")
@login_required
def team_oversight_page(county_code: str) -> str:
    county = _county(county_code)
    session = get_session()
    all_periods = units.county_periods(session, county.id)
    period = picked_period(all_periods)
    work = team_oversight.oversight(session, county, period) if period else []
    forms = {
        w.team.id: OfficesForm(
            formdata=None,
            state=team_oversight.offices_state(w.team),
            lead_office=w.team.lead_office or "",
            member_offices=w.team.member_offices or "",
        )
        for w in work
    }
    return render_template(
        "county/team_oversight.html",
        county=county,
        periods=all_periods,
        period=period,
        work=work,
        forms=forms,
        state_labels={s.value: s.label for s in NoticeState},
    )


@bp.post("/teams/<int:team_id>/offices")
@login_required
def team_offices(county_code: str, team_id: int) -> ResponseReturnValue:
    county = _county(county_code)
    team = load(inspection_teams.get_team, county, team_id)
    form = OfficesForm()
    if form.validate_on_submit():
        save(
            lambda s: team_oversight.set_offices(
                s,
                current_account(),
                team,
                lead_office=form.lead_office.data or "",
                member_offices=form.member_offices.data or "",
                shown_state=form.state.data or "",
            ),
            done=lambda changed: f"{team.name}：已保存牵头单位" if changed else "未变",
        )
    else:
        flash("；".join(e for errors in form.errors.values() for e in errors), "error")
    return redirect(url_for("county.team_oversight_page", county_code=county.code), 303)
