"""Login, logout and password change. The cookie carries a rotating token (see ``hygiene.services.setup.accounts``)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask import session as flask_session
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from hygiene.enums import Role
from hygiene.models import City, County, Township, User, Village
from hygiene.services.setup import accounts
from web.auth.device import known_device, remember_device
from web.auth.forms import ChangePasswordForm, LoginForm, LogoutForm
from web.database import get_session
from web.handlers import save
from web.security import client_address, current_account, login_required, safe_next_url

bp = Blueprint("auth", __name__)


def home_url(user: User) -> str:
    """Where each role works."""
    session = get_session()
    if user.role is Role.VILLAGE_CLERK:
        village = session.get(Village, user.village_id)
        assert village is not None
        return url_for("village.home", village_code=village.code)
    if user.role is Role.TOWNSHIP_REVIEWER:
        township = session.get(Township, user.township_id)
        assert township is not None
        return url_for("township.home", township_code=township.code)
    if user.role is Role.INSPECTOR and user.city_id is not None:  # a city's inspector: its counties
        return url_for("inspection_city.city_home", city_code=session.get_one(City, user.city_id).code)
    if user.role is Role.INSPECTOR and user.township is not None:  # a township's own inspector
        return url_for("inspection.home", county_code=user.township.county.code)
    county = session.get(County, user.county_id)
    assert county is not None
    if user.role is Role.INSPECTOR:
        return url_for("inspection.home", county_code=county.code)
    return url_for("county.home", county_code=county.code)


def new_csrf_secret() -> None:
    """A new CSRF secret when who is signed in changes: a token read before login (a shared office PC,
    a planted cookie) is worthless afterwards."""
    name = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    flask_session.pop(name, None)
    g.pop(name, None)  # the token Flask-WTF cached for this request was made from the old secret


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    username = form.username.data or ""
    try:
        user = save(
            lambda s: accounts.authenticate(
                s, username, form.password.data or "", remote_addr=client_address(), device=known_device(username)
            ),
            commit_on=(accounts.LoginThrottled,),  # the refused attempt is counted all the same
        ).value
    except accounts.LoginThrottled as exc:
        flash(str(exc), "error")
        return render_template("auth/login.html", form=form), 429
    if user is None:
        flash("用户名或密码不正确", "error")
        return render_template("auth/login.html", form=form), 200
    new_csrf_secret()
    login_user(user)
    if user.must_change_password:
        flash("管理员已重置您的密码，请先设置新密码", "error")
        return remember_device(redirect(url_for("auth.change_password")), user.username)
    flash(f"欢迎，{user.display_name}", "success")
    return remember_device(redirect(safe_next_url(request.args.get("next")) or home_url(user)), user.username)


@bp.post("/logout")
@login_required
def logout() -> Response:
    if LogoutForm().validate_on_submit():
        user = current_account()
        save(lambda s: accounts.end_sessions(user))
        logout_user()
        new_csrf_secret()
        flash("已退出登录", "success")
    return redirect(url_for("public.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_account()
        if not save(
            lambda s: accounts.change_password(s, user, form.current.data or "", form.new.data or ""),
            form=form,
            refusal_field="current",
        ):
            return render_template("auth/password.html", form=form), 422
        login_user(user)  # the old token is dead; this browser continues with the new one
        flash("密码已修改，其他设备上的登录已失效", "success")
        return redirect(home_url(user))
    return render_template("auth/password.html", form=form)


@bp.app_context_processor
def account_context() -> dict[str, object]:
    if current_user.is_authenticated:
        # formdata=None: the form is only rendered here, and reading the request's body would
        # raise again inside the 413 page of an oversized upload.
        return {"account_home": home_url(current_user), "logout_form": LogoutForm(formdata=None)}
    return {}
