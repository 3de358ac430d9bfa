"""The village clerk's area (村委会): households and groups of one village. Township reviewers,
county administrators and inspectors of the same unit may look; only the village's clerk edits."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import login_required
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from hygiene import permissions
from hygiene.models import Village
from hygiene.services import audit, units
from hygiene.services.errors import Conflict, NotFound, ServiceError
from web.database import get_session
from web.security import current_account, require
from web.village.forms import HouseholdEditForm, HouseholdForm

bp = Blueprint("village", __name__, url_prefix="/village/<village_code>")


def _village(village_code: str, *, edit: bool = False) -> Village:
    try:
        village = units.get_village(get_session(), village_code)
    except NotFound:
        abort(404)
    user = current_account()
    require(permissions.can_edit_village(user, village) if edit else permissions.can_view_village(user, village))
    return village


def _group_choices(village: Village) -> list[SelectChoice]:
    return [SelectChoice(g.id, g.name) for g in units.village_groups(get_session(), village)]


@bp.get("/")
@login_required
def home(village_code: str) -> str:
    village = _village(village_code)
    session = get_session()
    return render_template(
        "village/home.html",
        village=village,
        groups=units.village_groups(session, village),
        village_periods=units.village_periods(session, village),
        can_edit=permissions.can_edit_village(current_account(), village),
    )


@bp.get("/households/<household_code>")
@login_required
def household(village_code: str, household_code: str) -> str:
    village = _village(village_code)
    session = get_session()
    try:
        household = units.get_household(session, village, household_code)
    except NotFound:
        abort(404)
    return render_template(
        "village/household.html",
        village=village,
        household=household,
        history=audit.history(session, "household", household.id),
        can_edit=permissions.can_edit_village(current_account(), village),
    )


@bp.route("/households/new", methods=["GET", "POST"])
@login_required
def new_household(village_code: str) -> str | Response:
    village = _village(village_code, edit=True)
    form = HouseholdForm()
    form.group_id.choices = _group_choices(village)
    if form.validate_on_submit():
        session = get_session()
        try:
            household = units.add_household(
                session,
                village,
                actor=current_account(),
                code=form.code.data or "",
                head_name=form.head_name.data or "",
                members=form.members.data or 1,
                group_id=form.group_id.data,
                phone=form.phone.data,
                is_poor=form.is_poor.data,
            )
        except ServiceError as exc:
            form.code.errors = [str(exc)]
        else:
            session.commit()
            flash(f"已添加农户 {household.code} {household.head_name}", "success")
            return redirect(url_for("village.household", village_code=village.code, household_code=household.code))
    return render_template("village/household_form.html", village=village, form=form, household=None)


@bp.route("/households/<household_code>/edit", methods=["GET", "POST"])
@login_required
def edit_household(village_code: str, household_code: str) -> str | Response:
    village = _village(village_code, edit=True)
    session = get_session()
    try:
        household = units.get_household(session, village, household_code)
    except NotFound:
        abort(404)
    form = HouseholdEditForm(obj=household)  # posted values win over the row's
    form.group_id.choices = _group_choices(village)
    if form.validate_on_submit():
        try:
            units.update_household(
                session,
                village,
                household,
                actor=current_account(),
                expected_version=int(form.version.data or 0),
                head_name=form.head_name.data or "",
                members=form.members.data or 1,
                group_id=form.group_id.data,
                phone=form.phone.data,
                is_poor=form.is_poor.data,
                moved_away_on=form.moved_away_on.data,
                reason=form.reason.data or "",
            )
        except Conflict as exc:
            flash(str(exc), "error")
            return render_template("village/household_form.html", village=village, form=form, household=household), 409
        except ServiceError as exc:
            form.moved_away_on.errors = [str(exc)]
        else:
            session.commit()
            flash("已保存", "success")
            return redirect(url_for("village.household", village_code=village.code, household_code=household.code))
    return render_template("village/household_form.html", village=village, form=form, household=household)
