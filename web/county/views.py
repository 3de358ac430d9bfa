"""The county administrator's area (县管理员): every township's progress, and staff accounts."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from werkzeug.wrappers import Response

from hygiene import permissions
from hygiene.enums import Role
from hygiene.models import County, Township, User, Village
from hygiene.services import accounts, counties, units
from hygiene.services.errors import FieldErrors, NotFound, ServiceError
from web.county.forms import CreateUserForm, OpenPeriodForm, settings_form_class
from web.database import get_session
from web.security import current_account, require

bp = Blueprint("county", __name__, url_prefix="/county/<county_code>")


def _county(county_code: str) -> County:
    try:
        county = units.get_county(get_session(), county_code)
    except NotFound:
        abort(404)
    require(permissions.can_administer_county(current_account(), county))
    return county


@bp.get("/")
@login_required
def home(county_code: str) -> str:
    county = _county(county_code)
    session = get_session()
    all_periods = units.county_periods(session, county.id)
    period = all_periods[0] if all_periods else None
    matrix = units.county_state_matrix(session, county, period) if period else {}
    return render_template("county/home.html", county=county, period=period, matrix=matrix)


def _county_users(county: County) -> list[User]:
    session = get_session()
    township_ids = sa.select(Township.id).where(Township.county_id == county.id)
    village_ids = sa.select(Village.id).where(Village.township_id.in_(township_ids))
    return list(
        session.scalars(
            sa.select(User)
            .where(
                sa.or_(
                    User.county_id == county.id, User.township_id.in_(township_ids), User.village_id.in_(village_ids)
                )
            )
            .order_by(User.role, User.username)
        )
    )


@bp.route("/users", methods=["GET", "POST"])
@login_required
def users(county_code: str) -> str | Response:
    county = _county(county_code)
    form = CreateUserForm()
    if form.validate_on_submit():
        session = get_session()
        role = Role(form.role.data)
        try:
            user = accounts.create_user(
                session,
                username=form.username.data or "",
                password=form.password.data or "",
                role=role,
                unit_code=form.unit_code.data or "",
                display_name=form.display_name.data,
                actor=current_account(),
                within_county=county,
            )
        except ServiceError as exc:
            form.unit_code.errors = [str(exc)]
        else:
            session.commit()
            flash(f"已创建账号 {user.username}（{role.label}）", "success")
            return redirect(url_for("county.users", county_code=county.code))
    return render_template("county/users.html", county=county, form=form, users=_county_users(county))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings(county_code: str) -> ResponseReturnValue:
    """The county's settings with their meaning, and their history; a change reaches periods opened later."""
    county = _county(county_code)
    session = get_session()
    form = settings_form_class()()
    status = 200
    if form.validate_on_submit():
        typed = {setting.key: form[setting.key].data or "" for setting in counties.SETTINGS}
        try:
            changed = counties.change_settings(session, current_account(), county, typed)
        except FieldErrors as exc:
            session.rollback()
            for key, message in exc.errors.items():
                form[key].errors = [message]
            status = 422
        else:
            session.commit()
            flash(f"已修改 {len(changed)} 项设置，只影响此后新开的季度" if changed else "设置未变", "success")
            return redirect(url_for("county.settings", county_code=county.code), 303)
    elif request.method == "GET":
        for setting, value in counties.settings_of(county):
            form[setting.key].data = value
    return render_template(
        "county/settings.html", county=county, form=form, history=counties.settings_history(session, county)
    ), status


@bp.route("/periods", methods=["GET", "POST"])
@login_required
def periods_page(county_code: str) -> ResponseReturnValue:
    """The county's periods with how far each is, and opening the next one."""
    county = _county(county_code)
    session = get_session()
    form = OpenPeriodForm()
    if form.validate_on_submit():
        try:
            opened = counties.open_period(session, current_account(), county, (form.code.data or "").strip())
        except ServiceError as exc:
            session.rollback()
            form.code.errors = [str(exc)]
        else:
            session.commit()
            what = "已开启" if opened.created else "已存在"
            flash(f"{what} {opened.period.code}：新开 {opened.village_periods} 个村的评比", "success")
            return redirect(url_for("county.periods_page", county_code=county.code), 303)
    all_periods = units.county_periods(session, county.id)
    if request.method == "GET":
        form.code.data = counties.next_period_code(all_periods[0].code if all_periods else None)
    counts = counties.period_state_counts(session, county)
    return render_template("county/periods.html", county=county, form=form, periods=all_periods, counts=counts)
