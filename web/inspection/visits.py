"""Unannounced visits (暗访, RULES.md §9) for the county's inspectors: planning one (village, date,
team), and entering its findings (a note, households re-scored). The township sees a visit only
once its findings are entered (its home page)."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from hygiene import permissions
from hygiene.enums import Level
from hygiene.io.scores import format_points
from hygiene.models import County, InspectionTeam, Period, UnannouncedVisit
from hygiene.services.setup import units
from hygiene.services.supervision import inspection_teams, visits
from web.database import get_session
from web.forms import BaseForm, VersionField
from web.handlers import load, save
from web.inspection.views import bp
from web.presentation import picked_period
from web.security import current_account, login_required, permitted_county


class PlanForm(BaseForm):
    village = SelectField("村", validators=[DataRequired("请选择村")], invalid_choice_message="请选择本县的村")
    team = SelectField(
        "督查组", coerce=int, validators=[DataRequired("请选择督查组")], invalid_choice_message="请选择本县的督查组"
    )
    planned_on = DateField("暗访日期", validators=[DataRequired("请填写日期")])
    submit = SubmitField("安排暗访")


class FindingsForm(BaseForm):
    version = VersionField()
    findings = TextAreaField("暗访发现的问题", validators=[DataRequired("请填写发现的问题"), Length(max=2000)])
    submit = SubmitField("录入暗访结果")


def _county(county_code: str) -> County:
    return permitted_county(county_code, permissions.can_inspect_in)


def _plan_form(county: County, formdata: object = None) -> PlanForm:
    """The villages of the inspector's area in the county and the teams of its own unit."""
    session = get_session()
    user = current_account()
    form = PlanForm() if formdata is None else PlanForm(formdata=None)
    form.village.choices = [
        (v.code, f"{v.township.name} {v.name}")
        for v in units.county_villages(session, county)
        if permissions.can_inspect_township(user, v.township)
    ]
    form.team.choices = [(t.id, t.name) for t in inspection_teams.unit_teams(session, user)]
    return form


@bp.route("/visits", methods=["GET", "POST"])
@login_required
def visit_list(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    session = get_session()
    all_periods = units.county_periods(session, county.id)
    period = picked_period(all_periods)
    form = _plan_form(county)
    status = 200
    if request.method == "POST":
        if period is None:
            abort(404)
        if form.validate_on_submit():
            village = units.get_village(session, form.village.data or "")
            team = inspection_teams.get_unit_team(session, current_account(), int(form.team.data))
            planned_on: dt.date = form.planned_on.data
            chosen: Period = period
            if save(
                lambda s: visits.plan(
                    s, current_account(), county, period=chosen, village=village, team=team, planned_on=planned_on
                ),
                done="已安排暗访（乡镇在录入结果前看不到）",
                form=form,
            ):
                return redirect(url_for("inspection.visit_list", county_code=county.code, period=chosen.code), 303)
        status = 422
    return render_template(
        "inspection/visits.html",
        county=county,
        periods=all_periods,
        period=period,
        visits=visits.visits(session, county, period, seen_by=current_account()) if period else [],
        level_labels={lv.value: lv.label for lv in Level},
        form=form,
        state_labels=visits.STATE_LABELS,
    ), status


def _visit(county: County, visit_id: int) -> UnannouncedVisit:
    return load(
        visits.get_visit,
        visit_id,
        belongs=lambda v: v.county_id == county.id and permissions.can_see_visit(current_account(), v, county),
    )


@bp.get("/visits/<int:visit_id>")
@login_required
def visit_page(county_code: str, visit_id: int) -> str:
    county = _county(county_code)
    visit = _visit(county, visit_id)
    session = get_session()
    period = session.get_one(Period, visit.period_id)
    return render_template(
        "inspection/visit.html",
        county=county,
        visit=visit,
        period=period,
        team=session.get(InspectionTeam, visit.team_id),
        checks=visits.checks(session, visit),
        findings_form=FindingsForm(formdata=None, version=visit.version, findings=visit.findings or ""),
        check_form=_check_form_class(period)(formdata=None),
        state_labels=visits.STATE_LABELS,
    )


class VisitCheckForm(BaseForm):
    household_code = StringField("户编号", validators=[DataRequired("请填写户编号"), Length(max=24)])
    notes = TextAreaField("暗访记录（可不填）", validators=[Optional(), Length(max=500)])
    submit = SubmitField("保存复评")


def _check_form_class(period: Period) -> type[VisitCheckForm]:
    """The household re-score form with the period's criteria (as the spot check's)."""

    class PeriodVisitCheckForm(VisitCheckForm):
        pass

    for c in period.rubric_version.criteria:
        field = StringField(
            f"{c.label}（0–{format_points(c.max_tenths)}分）",
            render_kw={"inputmode": "decimal", "autocomplete": "off", "class": "score"},
        )
        setattr(PeriodVisitCheckForm, c.code, field)
    return PeriodVisitCheckForm


def _back(county: County, visit: UnannouncedVisit) -> ResponseReturnValue:
    return redirect(url_for("inspection.visit_page", county_code=county.code, visit_id=visit.id), 303)


@bp.post("/visits/<int:visit_id>/findings")
@login_required
def visit_findings(county_code: str, visit_id: int) -> ResponseReturnValue:
    county = _county(county_code)
    visit = _visit(county, visit_id)
    form = FindingsForm()
    if form.validate_on_submit():
        save(
            lambda s: visits.enter_findings(s, current_account(), visit, form.version.data, form.findings.data or ""),
            done="已录入暗访结果",
        )
    else:
        flash("；".join(e for errors in form.errors.values() for e in errors), "error")
    return _back(county, visit)


@bp.post("/visits/<int:visit_id>/checks")
@login_required
def visit_check(county_code: str, visit_id: int) -> ResponseReturnValue:
    county = _county(county_code)
    visit = _visit(county, visit_id)
    period = get_session().get_one(Period, visit.period_id)
    form = _check_form_class(period)()
    if form.validate_on_submit():
        scores = {c.code: form[c.code].data or "" for c in period.rubric_version.criteria}
        save(
            lambda s: visits.check_household(
                s,
                current_account(),
                visit,
                form["household_code"].data or "",
                scores=scores,
                notes=form["notes"].data or "",
            ),
            done=lambda outcome: (
                f"{outcome.check.household.code} 复评为{outcome.grade.label}"
                + (f"；已摘除牌匾 {outcome.revoked.serial}" if outcome.revoked else "")
                + ("；已下发督办通知单" if outcome.notice else "")
            ),
        )
    else:
        flash("；".join(e for errors in form.errors.values() for e in errors), "error")
    return _back(county, visit)
