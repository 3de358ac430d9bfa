"""The county administrator's area (县管理员): every township's progress, and staff accounts."""

from __future__ import annotations

from collections.abc import Generator

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from hygiene import permissions
from hygiene.enums import CRITERIA, Role
from hygiene.io.exports import csv_bytes, xlsx_bytes
from hygiene.io.scores import format_points
from hygiene.io.sheets import COUNTY_SHEET_LIMITS, UploadRejected
from hygiene.models import County, User
from hygiene.services import integrity
from hygiene.services.awards import plaques
from hygiene.services.errors import ServiceError
from hygiene.services.rating import results
from hygiene.services.setup import (
    account_sheet,
    accounts,
    counties,
    guidance,
    periods,
    rollout,
    roster_exports,
    roster_imports,
    unit_sheet,
    units,
)
from web import uploads
from web.county.forms import (
    NOT_IN_PROGRAMME,
    AccountActiveForm,
    CreateUserForm,
    OpenPeriodForm,
    ResetPasswordForm,
    programme_years_form_class,
    rollout_plan_form_class,
    rubric_form_class,
    settings_form_class,
)
from web.database import get_session
from web.downloads import CSV_MIMETYPE, XLSX_MIMETYPE, download
from web.forms import ConfirmImportForm
from web.handlers import load, save
from web.presentation import picked_period
from web.security import current_account, login_required, permitted_county
from web.village.forms import UploadForm

bp = Blueprint("county", __name__, url_prefix="/county/<county_code>")


def _county(county_code: str) -> County:
    return permitted_county(county_code, permissions.can_administer_county)


@bp.get("/")
@login_required
def home(county_code: str) -> str:
    county = _county(county_code)
    session = get_session()
    all_periods = units.county_periods(session, county.id)
    period = picked_period(all_periods)
    matrix = units.county_state_matrix(session, county, period) if period else {}
    steps = guidance.checklist(session, county)
    return render_template(
        "county/home.html",
        county=county,
        period=period,
        periods=all_periods,
        matrix=matrix,
        steps=steps if not all(step.done for step in steps) else [],
    )


# --- downloads (issue 30) ----------------------------------------------------------------------------


@bp.get("/examples/<any(units, roster):what>.xlsx")
@login_required
def example_file(county_code: str, what: str) -> Response:
    """An example unit sheet or roster for the county, with the code rules on a second sheet."""
    county = _county(county_code)
    if what == "units":
        return download(guidance.example_unit_sheet(county), "示例单位表.xlsx", XLSX_MIMETYPE)
    return download(guidance.example_roster(county), "示例花名册.xlsx", XLSX_MIMETYPE)


@bp.get("/roster.xlsx")
@login_required
def roster_file(county_code: str) -> Response:
    """The county's households in the roster sheet's own layout: edit it and import it back."""
    county = _county(county_code)
    header, rows = roster_exports.roster_table(get_session(), county)
    return download(xlsx_bytes([("花名册", header, rows)]), f"{county.name}农户花名册.xlsx", XLSX_MIMETYPE)


@bp.get("/plaques.<any(csv, xlsx):fmt>")
@login_required
def plaque_file(county_code: str, fmt: str) -> Response:
    """The county's plaque register (挂牌台账)."""
    county = _county(county_code)
    header, rows = plaques.register_table(plaques.register(get_session(), county))
    name = f"{county.name}挂牌台账"
    if fmt == "csv":
        return download(csv_bytes(header, rows), f"{name}.csv", CSV_MIMETYPE)
    return download(xlsx_bytes([("挂牌台账", header, rows)], title=name), f"{name}.xlsx", XLSX_MIMETYPE)


@bp.get("/periods/<period_code>/results.xlsx")
@login_required
def results_file(county_code: str, period_code: str) -> Response:
    """Every published or final village of the period, as posted: villages and households."""
    county = _county(county_code)
    session = get_session()
    period = load(periods.get_period, county.id, period_code)
    sheets = results.county_results_sheets(session, county, period)
    name = f"{county.name}{period.code}评比结果"
    return download(xlsx_bytes(list(sheets), title=name), f"{name}.xlsx", XLSX_MIMETYPE)


@bp.get("/integrity")
@login_required
def integrity_page(county_code: str) -> str:
    """Tamper evidence (issue 32): the county's posted records against their digests and its audit
    log as a hash chain, verified as the page is opened."""
    county = _county(county_code)
    found = integrity.county_integrity(get_session(), county)
    return render_template("county/integrity.html", county=county, found=found)


@bp.route("/users", methods=["GET", "POST"])
@login_required
def users(county_code: str) -> str | Response:
    county = _county(county_code)
    form = CreateUserForm()
    session = get_session()
    form.unit_code.choices = [("", "请选择")] + [(c.code, c.label) for c in accounts.unit_choices(session, county)]
    if form.validate_on_submit():
        role = Role(form.role.data)
        if save(
            lambda session: accounts.create_user(
                session,
                username=form.username.data or "",
                password=form.password.data or "",
                role=role,
                unit_code=form.unit_code.data or "",
                display_name=form.display_name.data,
                actor=current_account(),
                within_county=county,
            ),
            done=lambda user: f"已创建账号 {user.username}（{role.label}）",
            form=form,
            refusal_field="unit_code",
        ):
            return redirect(url_for("county.users", county_code=county.code))
    return render_template(
        "county/users.html",
        county=county,
        form=form,
        users=accounts.county_accounts(session, county),
        unit_labels=accounts.unit_labels(session, county),
        unit_label=accounts.unit_label,
        active_form=AccountActiveForm(formdata=None),
        password_form=ResetPasswordForm(formdata=None),
    )


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
        if save(
            lambda s: counties.change_settings(s, current_account(), county, typed, form.state.data or ""),
            done=lambda changed: f"已修改 {len(changed)} 项设置，只影响此后新开的季度" if changed else "设置未变",
            form=form,
        ):
            return redirect(url_for("county.settings", county_code=county.code), 303)
        status = 422
    elif request.method == "GET":
        form.state.data = counties.settings_state(county)
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
    if county.period_length == "month":  # RULES.md §1: a monthly county opens months
        form.code.label.text, form.submit.label.text = "月份（如 2027-01）", "开启月份"
    if form.validate_on_submit() and save(
        lambda s: counties.open_period(s, current_account(), county, (form.code.data or "").strip()),
        done=lambda opened: (
            f"{'已开启' if opened.created else '已存在'} {opened.period.code}：新开 {opened.village_periods} 个村的评比"
        ),
        form=form,
        refusal_field="code",
    ):
        return redirect(url_for("county.periods_page", county_code=county.code), 303)
    all_periods = units.county_periods(session, county.id)
    if request.method == "GET":
        form.code.data = counties.next_period_code(all_periods[0].code if all_periods else None, county.period_length)
    counts = counties.period_state_counts(session, county)
    return render_template("county/periods.html", county=county, form=form, periods=all_periods, counts=counts)


# --- the account sheet (issue 30) --------------------------------------------------------------------


@bp.route("/accounts/upload", methods=["GET", "POST"])
@login_required
def upload_accounts(county_code: str) -> ResponseReturnValue:
    """Import the county's staff accounts from one sheet: check and preview, then confirm."""
    county = _county(county_code)
    return uploads.preview(
        f"accounts:{county.code}",
        "county/upload_accounts.html",
        {"county": county, "form": UploadForm(), "confirm_form": ConfirmImportForm()},
        lambda data, name: account_sheet.plan(get_session(), current_account(), county, account_sheet.read(data, name)),
        max_bytes=COUNTY_SHEET_LIMITS["max_bytes"],
    )


@bp.post("/accounts/upload/cancel")
@login_required
def cancel_accounts(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    return uploads.cancel(f"accounts:{county.code}", url_for("county.users", county_code=county.code))


@bp.post("/accounts/upload/confirm")
@login_required
def confirm_accounts(county_code: str) -> ResponseReturnValue:
    """Write the previewed sheet, all or nothing, and show the new accounts' temporary passwords
    once (this page is not stored: the administrator copies or prints it now)."""
    county = _county(county_code)
    purpose = f"accounts:{county.code}"
    pending = uploads.take(purpose)
    if not ConfirmImportForm().validate_on_submit() or pending is None:
        flash("没有待确认的上传文件，请重新上传", "error")
        return redirect(url_for("county.upload_accounts", county_code=county.code))

    def write(session: Session) -> list[tuple[str, str]]:
        try:
            plan = account_sheet.plan(
                session, current_account(), county, account_sheet.read(pending.data, pending.file_name)
            )
            return account_sheet.apply(session, current_account(), plan, file_name=pending.file_name)
        except UploadRejected as exc:
            raise ServiceError(f"导入失败，未写入任何数据：{exc}") from exc

    saved = save(write, done=lambda created: f"已导入账号表 {pending.file_name}：新建 {len(created)} 个账号")
    if not saved:
        return redirect(url_for("county.upload_accounts", county_code=county.code))
    uploads.discard()
    response = Response(render_template("county/accounts_created.html", county=county, created=saved.value))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/examples/accounts.xlsx")
@login_required
def example_accounts(county_code: str) -> Response:
    county = _county(county_code)
    return download(account_sheet.example(county, list(county.townships)), "示例账号表.xlsx", XLSX_MIMETYPE)


@bp.route("/units/upload", methods=["GET", "POST"])
@login_required
def upload_units(county_code: str) -> ResponseReturnValue:
    """Import the county's townships, villages and groups: check and preview, then confirm."""
    county = _county(county_code)
    return uploads.preview(
        f"units:{county.code}",
        "county/upload_units.html",
        {"county": county, "form": UploadForm(), "confirm_form": ConfirmImportForm()},
        lambda data, name: unit_sheet.plan(get_session(), current_account(), county, unit_sheet.read(data, name)),
        max_bytes=COUNTY_SHEET_LIMITS["max_bytes"],
    )


@bp.post("/units/upload/cancel")
@login_required
def cancel_units(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    return uploads.cancel(f"units:{county.code}", url_for("county.home", county_code=county.code))


@bp.post("/units/upload/confirm")
@login_required
def confirm_units(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)

    def write(pending: uploads.PendingUpload) -> str:
        session, actor = get_session(), current_account()
        plan = unit_sheet.plan(session, actor, county, unit_sheet.read(pending.data, pending.file_name))
        changed = unit_sheet.apply(session, actor, plan, file_name=pending.file_name)
        return f"已导入单位表 {pending.file_name}：{changed} 条变更"

    return uploads.confirm(
        f"units:{county.code}",
        write,
        retry_url=url_for("county.upload_units", county_code=county.code),
        done_url=url_for("county.home", county_code=county.code),
    )


@bp.route("/roster/upload", methods=["GET", "POST"])
@login_required
def upload_roster(county_code: str) -> ResponseReturnValue:
    """The county-wide household roster (every village's households in one sheet, as the household
    register gives them when the county starts): check and preview, then confirm."""
    county = _county(county_code)

    def check(data: bytes, name: str) -> roster_imports.RosterImportPlan:
        session = get_session()
        return roster_imports.plan_roster_upload(
            session, current_account(), units.county_villages(session, county), data, name
        )

    return uploads.preview(
        f"roster:{county.code}",
        "county/upload_roster.html",
        {"county": county, "form": UploadForm(), "confirm_form": ConfirmImportForm()},
        check,
        max_bytes=COUNTY_SHEET_LIMITS["max_bytes"],
    )


@bp.post("/roster/upload/cancel")
@login_required
def cancel_roster(county_code: str) -> ResponseReturnValue:
    county = _county(county_code)
    return uploads.cancel(f"roster:{county.code}", url_for("county.home", county_code=county.code))


@bp.post("/roster/upload/confirm")
@login_required
def confirm_roster(county_code: str) -> ResponseReturnValue:
    """Write the previewed roster, the page showing the households written as it goes."""
    county = _county(county_code)

    def write(pending: uploads.PendingUpload) -> Generator[uploads.Step, None, str]:
        session, actor = get_session(), current_account()
        yield uploads.Step(f"正在重新逐行检查 {pending.file_name} …")
        villages = units.county_villages(session, county)
        plan = roster_imports.plan_roster_upload(session, actor, villages, pending.data, pending.file_name)
        for done, total in roster_imports.write_roster(session, actor, plan, file_name=pending.file_name):
            yield uploads.Step(f"正在写入：{done} / {total} 户", done, total)
        return (
            f"已导入花名册 {pending.file_name}：新增 {plan.added} 户，更新 {plan.updated} 户，{plan.unchanged} 户不变"
        )

    return uploads.confirm_streamed(
        f"roster:{county.code}",
        write,
        heading=f"{county.name} · 导入全县农户花名册",
        retry_url=url_for("county.upload_roster", county_code=county.code),
        done_url=url_for("county.home", county_code=county.code),
    )


def _county_user(county: County, username: str) -> User:
    """An account of this county's units; any other is "not found"."""
    return load(accounts.county_account, county, username)


@bp.post("/users/<username>/<any(disable, enable):change>")
@login_required
def set_account_active(county_code: str, username: str, change: str) -> ResponseReturnValue:
    """Disable (every session of the account ends at once) or enable an account, with a reason."""
    county = _county(county_code)
    user = _county_user(county, username)
    form = AccountActiveForm()
    if not form.validate_on_submit():
        flash("请填写停用或启用的原因", "error")
    elif user.id == current_account().id:
        flash("不能停用或启用自己的账号", "error")
    else:
        save(
            lambda s: accounts.set_active(
                s, user, change == "enable", actor=current_account(), reason=form.reason.data or ""
            ),
            done=f"已{'启用' if change == 'enable' else '停用'}账号 {user.username}",
        )
    return redirect(url_for("county.users", county_code=county.code), 303)


@bp.post("/users/<username>/password")
@login_required
def reset_account_password(county_code: str, username: str) -> ResponseReturnValue:
    """Give the account a temporary password; it must be changed at the next login."""
    county = _county(county_code)
    user = _county_user(county, username)
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        flash("；".join(e for errors in form.errors.values() for e in errors), "error")
    else:
        save(
            lambda s: accounts.reset_password(s, current_account(), user, form.password.data or ""),
            done=f"已重置 {user.username} 的密码：其登录已全部失效，下次登录须先修改密码",
        )
    return redirect(url_for("county.users", county_code=county.code), 303)


@bp.route("/rollout", methods=["GET", "POST"])
@login_required
def rollout_page(county_code: str) -> ResponseReturnValue:
    """The rollout plan (定目标) against coverage, per year cumulative and per township; the plan's
    yearly shares are edited here."""
    county = _county(county_code)
    session = get_session()
    form = rollout_plan_form_class()()
    status = 200
    if form.validate_on_submit():
        if save(
            lambda s: rollout.set_plan(s, current_account(), county, form.rows(), form.state.data or ""),
            done=lambda changed: "已修改推进计划" if changed else "推进计划未变",
            form=form,
            field=lambda key: "",  # the plan's problems are the form's own
        ):
            return redirect(url_for("county.rollout_page", county_code=county.code), 303)
        status = 422
    elif request.method == "POST":
        status = 422
    else:
        form.state.data = rollout.plan_state(session, county)
        for i, (year, share) in enumerate(rollout.plan_of(session, county)):
            form[f"year_{i}"].data, form[f"share_{i}"].data = str(year), str(share)
    years = rollout.coverage(session, county)
    townships = [(t, rollout.coverage(session, county, t)) for t in county.townships]
    return render_template(
        "county/rollout.html",
        county=county,
        years=years,
        now=counties.current_year(),
        townships=townships,
        form=form,
        rows=[(form[f"year_{i}"], form[f"share_{i}"]) for i in range(rollout.MAX_PLAN_YEARS)],
    ), status


@bp.route("/rollout/<township_code>", methods=["GET", "POST"])
@login_required
def programme_years(county_code: str, township_code: str) -> ResponseReturnValue:
    """The year each village of a township joins the programme (RULES.md §1)."""
    county = _county(county_code)
    session = get_session()
    township = load(units.get_township, township_code, belongs=lambda t: t.county_id == county.id)
    villages = sorted(township.villages, key=lambda v: v.code)
    plan_years = [year for year, _ in rollout.plan_of(session, county)]
    form = programme_years_form_class(villages, plan_years)()
    status = 200
    if form.validate_on_submit():
        typed = {v.code: form[f"village_{v.code}"].data or "" for v in villages}
        if save(
            lambda s: rollout.set_programme_years(s, current_account(), county, typed, form.state.data or ""),
            done=lambda changed: f"已调整 {changed} 个村的纳入年度" if changed else "纳入年度未变",
            form=form,
            field=lambda code: f"village_{code}",
        ):
            return redirect(url_for("county.rollout_page", county_code=county.code), 303)
        status = 422
    elif request.method == "POST":
        status = 422
    else:
        form.state.data = rollout.programme_years_state(villages)
        for village in villages:
            form[f"village_{village.code}"].data = str(village.programme_year or NOT_IN_PROGRAMME)
    return render_template("county/programme_years.html", county=county, township=township, form=form), status


@bp.route("/rubric", methods=["GET", "POST"])
@login_required
def rubric(county_code: str) -> ResponseReturnValue:
    """The rubric's versions, and a new version for the periods opened from now on."""
    county = _county(county_code)
    session = get_session()
    form = rubric_form_class()()
    status = 200
    if form.validate_on_submit():
        criteria = [(c, form[f"{c}_label"].data or "", form[f"{c}_max"].tenths or 0) for c in CRITERIA]
        thresholds = (form.cleanest.tenths or 0, form.clean.tenths or 0, form.fairly_clean.tenths or 0)
        if save(
            lambda s: counties.new_rubric_version(s, current_account(), county, criteria, thresholds),
            done=lambda version: f"已建立评分标准第{version.number}版，此后新开的季度使用",
        ):
            return redirect(url_for("county.rubric", county_code=county.code), 303)
        status = 422
    elif request.method == "POST":
        status = 422
    versions = counties.rubric_versions(session, county)
    if request.method == "GET" and versions:
        current = versions[0][0]
        for criterion in current.criteria:
            form[f"{criterion.code}_label"].data = criterion.label
            form[f"{criterion.code}_max"].data = format_points(criterion.max_tenths)
        form.cleanest.data = format_points(current.cleanest_tenths)
        form.clean.data = format_points(current.clean_tenths)
        form.fairly_clean.data = format_points(current.fairly_clean_tenths)
    return render_template("county/rubric.html", county=county, form=form, versions=versions, criteria=CRITERIA), status
