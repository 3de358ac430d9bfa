"""The county's inspection teams (联合督查考核组, RULES.md §9), kept by the county administrator: each
team's name, the names of everyone on it, which inspector accounts belong to it, and which team
holds each township in a period (/county/<c>/inspection-teams?period=P)."""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from hygiene import permissions
from hygiene.models import County, InspectionTeam, Period, Township
from hygiene.services.setup import units
from hygiene.services.supervision import inspection_teams as teams_service
from hygiene.services.supervision import inspections
from web.county.views import bp
from web.database import get_session
from web.forms import BaseForm
from web.handlers import load, save
from web.presentation import picked_period
from web.security import current_account, login_required, permitted_county


class NewTeamForm(BaseForm):
    name = StringField("督查组名称")
    members = StringField("组成人员（全组人员姓名，含没有账号的人员）")
    submit = SubmitField("新建督查组")


class TeamForm(BaseForm):
    name = StringField("督查组名称")
    members = StringField("组成人员（全组人员姓名，含没有账号的人员）")
    inspectors = SelectMultipleField(
        "本组的督查员账号（可抽查、录入本组负责的乡镇）",
        coerce=str,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    state = HiddenField()
    submit = SubmitField("保存本组")


class AssignmentForm(BaseForm):
    """One choice per township (``t_<township code>``), added by ``assignment_form_class``."""

    state = HiddenField()
    submit = SubmitField("保存本季度分工")


def assignment_form_class(townships: list[Township], teams: list[InspectionTeam]) -> type[AssignmentForm]:
    class CountyAssignmentForm(AssignmentForm):
        pass

    choices = [SelectChoice("", "（不分配）"), *(SelectChoice(str(t.id), t.name) for t in teams)]
    for township in townships:
        field = SelectField(f"{township.name}（{township.code}）", choices=choices, validate_choice=False)
        setattr(CountyAssignmentForm, f"t_{township.code}", field)
    return CountyAssignmentForm


def _county(county_code: str) -> County:
    return permitted_county(county_code, permissions.can_manage_inspection_teams)


def _townships(county: County) -> list[Township]:
    return sorted(county.townships, key=lambda t: t.code)


def _team_form(county: County, team: InspectionTeam, *, fresh: bool) -> TeamForm:
    session = get_session()
    form = TeamForm(prefix=f"team{team.id}", **({"formdata": None} if fresh else {}))
    choices = []
    for user in teams_service.county_inspectors(session, county):
        notes = []
        other = teams_service.team_of(session, user)
        if other is not None and other.id != team.id:
            notes.append(f"现属{other.name}，选中即调入本组")
        if not user.is_active:
            notes.append("已停用")
        label = f"{user.display_name}（{user.username}{'，' + '，'.join(notes) if notes else ''}）"
        choices.append(SelectChoice(str(user.id), label))
    form.inspectors.choices = choices
    if fresh:
        form.name.data, form.members.data = team.name, team.members
        form.inspectors.data = [str(u.id) for u in teams_service.team_inspectors(session, team)]
        form.state.data = teams_service.team_state(session, team)
    return form


def _assignment_form(county: County, period: Period | None, *, fresh: bool) -> AssignmentForm | None:
    if period is None:
        return None
    session = get_session()
    townships = _townships(county)
    form = assignment_form_class(townships, teams_service.teams(session, county))(
        **({"formdata": None} if fresh else {})
    )
    if fresh:
        held = inspections.assignments(session, county, period)
        for township in townships:
            form[f"t_{township.code}"].data = str(held[township.id].team_id) if township.id in held else ""
        form.state.data = inspections.assignments_state(session, county, period)
    return form


def _page(
    county: County,
    period: Period | None,
    periods: list[Period],
    *,
    status: int = 200,
    team_form: tuple[int, TeamForm] | None = None,
    new_form: NewTeamForm | None = None,
    assignment_form: AssignmentForm | None = None,
) -> ResponseReturnValue:
    session = get_session()
    teams = teams_service.teams(session, county)
    forms = [
        (team, team_form[1] if team_form and team_form[0] == team.id else _team_form(county, team, fresh=True))
        for team in teams
    ]
    return render_template(
        "county/inspection_teams.html",
        county=county,
        period=period,
        periods=periods,
        team_forms=forms,
        new_form=new_form or NewTeamForm(formdata=None),
        assignment_form=assignment_form or _assignment_form(county, period, fresh=True),
        townships=_townships(county),
    ), status


def _back(county: County, period: Period | None) -> str:
    return url_for("county.inspection_teams", county_code=county.code, period=period.code if period else None)


@bp.get("/inspection-teams")
@login_required
def inspection_teams(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    periods = units.county_periods(get_session(), county.id)
    return _page(county, picked_period(periods), periods)


@bp.post("/inspection-teams/new")
@login_required
def new_inspection_team(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    session = get_session()
    periods = units.county_periods(session, county.id)
    period = picked_period(periods)
    form = NewTeamForm()
    if not form.validate_on_submit():
        return _page(county, period, periods, status=422, new_form=form)
    if not save(
        lambda s: teams_service.create_team(
            s, current_account(), county, name=form.name.data or "", members=form.members.data or ""
        ),
        done=lambda team: f"已新建{team.name}",
        form=form,
    ):
        return _page(county, period, periods, status=422, new_form=form)
    return redirect(_back(county, period), 303)


@bp.post("/inspection-teams/<int:team_id>")
@login_required
def edit_inspection_team(county_code: str, team_id: int) -> ResponseReturnValue:
    county = _county(county_code)
    session = get_session()
    periods = units.county_periods(session, county.id)
    period = picked_period(periods)
    team = load(teams_service.get_team, county, team_id)
    form = _team_form(county, team, fresh=False)
    if not form.validate_on_submit():
        return _page(county, period, periods, status=422, team_form=(team.id, form))
    chosen = []
    for value in form.inspectors.data or []:
        if not value.isdigit():
            form.inspectors.errors = [f"不是本县督查员账号：{value}"]
            return _page(county, period, periods, status=422, team_form=(team.id, form))
        chosen.append(int(value))
    name = team.name
    if not save(
        lambda s: teams_service.update_team(
            s,
            current_account(),
            team,
            name=form.name.data or "",
            members=form.members.data or "",
            inspector_ids=chosen,
            shown_state=form.state.data or "",
        ),
        done=lambda changed: f"已保存{team.name}" if changed else f"{name}未变",
        form=form,
    ):
        return _page(county, period, periods, status=422, team_form=(team.id, form))
    return redirect(_back(county, period), 303)


@bp.post("/inspection-teams/assignments")
@login_required
def assign_inspection_teams(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    session = get_session()
    periods = units.county_periods(session, county.id)
    period = picked_period(periods)
    if period is None:
        abort(404)
    form = _assignment_form(county, period, fresh=False)
    assert form is not None
    if not form.validate_on_submit():
        return _page(county, period, periods, status=422, assignment_form=form)
    choices: dict[str, int | None] = {}
    for township in _townships(county):
        value = (form[f"t_{township.code}"].data or "").strip()
        if value and not value.isdigit():
            form[f"t_{township.code}"].errors = [f"{township.name}：没有这个督查组（{value}）"]
            return _page(county, period, periods, status=422, assignment_form=form)
        choices[township.code] = int(value) if value else None
    if not save(
        lambda s: inspections.assign(s, current_account(), county, period, choices, form.state.data or ""),
        done=lambda changed: f"已保存{period.code}的督查分工：{changed} 个乡镇有变更" if changed else "督查分工未变",
        form=form,
        field=lambda code: f"t_{code}",
    ):
        return _page(county, period, periods, status=422, assignment_form=form)
    return redirect(_back(county, period), 303)
