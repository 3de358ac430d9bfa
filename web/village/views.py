"""The village clerk's area (村委会): households and groups of one village. Township reviewers,
county administrators and inspectors of the same unit may look; only the village's clerk edits."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from hygiene import permissions
from hygiene.enums import EDITABLE_STATES, ReviewKind
from hygiene.io.exports import csv_bytes, xlsx_bytes
from hygiene.models import Household, Period, Review, Village
from hygiene.services import audit, photos
from hygiene.services.awards import plaques
from hygiene.services.rating import review_imports, reviews, workflow
from hygiene.services.setup import guidance, household_moves, periods, roster_exports, roster_imports, units
from hygiene.services.supervision import notices
from web import uploads
from web.database import get_session
from web.downloads import CSV_MIMETYPE, XLSX_MIMETYPE, download
from web.forms import ConfirmImportForm
from web.handlers import load, save
from web.security import current_account, login_required, require
from web.village.forms import (
    DeleteReviewForm,
    HouseholdEditForm,
    HouseholdForm,
    SubmitPeriodForm,
    UploadForm,
)

bp = Blueprint("village", __name__, url_prefix="/village/<village_code>")


def _village(village_code: str, *, edit: bool = False) -> Village:
    village = load(units.get_village, village_code)
    user = current_account()
    require(permissions.can_edit_village(user, village) if edit else permissions.can_view_village(user, village))
    return village


def _household(village: Village, household_code: str) -> Household:
    """A household of this village; a code of another village is "not found" (no probing)."""
    return load(units.get_household, village, household_code)


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
        notice_count=notices.open_count_for_village(session, village),
    )


@bp.get("/households/<household_code>")
@login_required
def household(village_code: str, household_code: str) -> ResponseReturnValue:
    village = _village(village_code)
    session = get_session()
    moved = _former_code(village, household_code)
    if moved is not None:
        return moved
    household = _household(village, household_code)
    history = audit.history(session, "household", household.id, county_id=household.county_id)
    return render_template(
        "village/household.html",
        village=village,
        household=household,
        history=history,
        reviewers=units.reviewer_names(session, history),
        can_edit=permissions.can_edit_village(current_account(), village),
        can_recode=permissions.can_recode_household(current_account(), village),
        former_codes=household_moves.former_codes(session, household),
        notice_count=notices.open_count_for_village(session, village),
    )


def _former_code(village: Village, code: str) -> Response | None:
    """A link with a code the household had before a correction or a move (issue 30): a redirect
    to its page now, if the account may see its village now; else None (the page's own 404)."""
    found = household_moves.renamed(get_session(), village.county_id, code)
    if found is None or not permissions.can_view_village(current_account(), found.group.village):
        return None
    return redirect(url_for("village.household", village_code=found.group.village.code, household_code=found.code))


@bp.route("/households/new", methods=["GET", "POST"])
@login_required
def new_household(village_code: str) -> str | Response:
    village = _village(village_code, edit=True)
    form = HouseholdForm()
    form.group_id.choices = _group_choices(village)
    if form.validate_on_submit():
        saved = save(
            lambda session: units.add_household(
                session,
                village,
                actor=current_account(),
                code=form.code.data or "",
                head_name=form.head_name.data or "",
                members=form.members.data or 1,
                group_id=form.group_id.data,
                phone=form.phone.data,
                is_poor=form.is_poor.data,
            ),
            done=lambda household: f"已添加农户 {household.code} {household.head_name}",
            form=form,
            refusal_field="code",
        )
        if saved.value is not None:
            code = saved.value.code
            return redirect(url_for("village.household", village_code=village.code, household_code=code))
    return render_template("village/household_form.html", village=village, form=form, household=None)


@bp.route("/households/<household_code>/edit", methods=["GET", "POST"])
@login_required
def edit_household(village_code: str, household_code: str) -> str | Response:
    village = _village(village_code, edit=True)
    household = _household(village, household_code)
    form = HouseholdEditForm(obj=household)  # posted values win over the row's
    form.group_id.choices = _group_choices(village)
    if form.validate_on_submit() and save(
        lambda session: units.update_household(
            session,
            village,
            household,
            actor=current_account(),
            expected_version=form.version.data,
            head_name=form.head_name.data or "",
            members=form.members.data or 1,
            group_id=form.group_id.data,
            phone=form.phone.data,
            is_poor=form.is_poor.data,
            moved_away_on=form.moved_away_on.data,
            reason=form.reason.data or "",
        ),
        done="已保存",
        form=form,
        refusal_field="moved_away_on",
    ):
        return redirect(url_for("village.household", village_code=village.code, household_code=household.code))
    return render_template("village/household_form.html", village=village, form=form, household=household)


def _period(village: Village, period_code: str) -> Period:
    return load(periods.get_period, village.township.county_id, period_code)


@bp.get("/periods/<period_code>/")
@login_required
def board(village_code: str, period_code: str) -> str:
    """The period's review board: who still lacks which review, totals and grades so far."""
    village = _village(village_code)
    period = _period(village, period_code)
    session = get_session()
    board = reviews.review_board(session, village, period)
    rows = board.rows
    group_filter, missing_filter = request.args.get("group", ""), request.args.get("missing", "")
    missing = ReviewKind(missing_filter) if missing_filter in set(ReviewKind) else None
    shown = [
        r
        for r in rows
        if (not group_filter or r.group.code == group_filter) and (missing is None or missing in r.missing)
    ]
    village_period = periods.village_period(session, village, period)
    groups = units.village_groups(session, village)
    return render_template(
        "village/board.html",
        village=village,
        period=period,
        rows=shown,
        all_rows=rows,
        progress=reviews.group_progress(rows, groups),
        groups=groups,
        village_period=village_period,
        locked=reviews.entry_lock(session, village, period),
        refused=board.refused,
        group_filter=group_filter,
        missing_filter=missing_filter,
        can_edit=permissions.can_edit_village(current_account(), village),
        submit_form=SubmitPeriodForm(version=village_period.version if village_period else 0),
        shortfall_lines=board.shortfalls.lines()
        if village_period is not None and village_period.state in EDITABLE_STATES
        else [],
    )


@bp.get("/periods/<period_code>/households/<household_code>/")
@login_required
def household_reviews(village_code: str, period_code: str, household_code: str) -> str:
    village = _village(village_code)
    period = _period(village, period_code)
    session = get_session()
    household = _household(village, household_code)
    found = reviews.household_reviews(session, household, period)
    user = current_account()
    return render_template(
        "village/household_reviews.html",
        village=village,
        period=period,
        household=household,
        reviews=found,
        review_photos=photos.photos_of_reviews(session, [r.id for r in found]),
        sees_location=lambda photo: photos.can_see_location(user, photo),
        can_edit=permissions.can_edit_village(current_account(), village),
        locked=reviews.entry_lock(session, village, period),
        next_household=reviews.next_household(session, household, period),
        delete_form=DeleteReviewForm(),
    )


@bp.post("/periods/<period_code>/reviews/<int:review_id>/delete")
@login_required
def delete_review(village_code: str, period_code: str, review_id: int) -> ResponseReturnValue:
    village = _village(village_code, edit=True)
    period = _period(village, period_code)
    review = load(
        lambda session, review_id: session.get(Review, review_id),
        review_id,
        belongs=lambda r: r.period_id == period.id and r.household.group.village_id == village.id,
    )
    form = DeleteReviewForm()
    household_code = review.household.code
    if form.validate_on_submit():
        save(
            lambda session: reviews.delete_review(
                session,
                current_account(),
                village,
                period,
                review,
                expected_version=form.version.data,
                reason=form.reason.data or "",
            ),
            done="已删除该评议",
        )
    else:
        flash("；".join(e for errors in form.errors.values() for e in errors), "error")
    return redirect(
        url_for(
            "village.household_reviews",
            village_code=village.code,
            period_code=period.code,
            household_code=household_code,
        )
    )


@bp.post("/periods/<period_code>/submit")
@login_required
def submit(village_code: str, period_code: str) -> ResponseReturnValue:
    village = _village(village_code, edit=True)
    period = _period(village, period_code)
    session = get_session()
    form = SubmitPeriodForm()
    village_period = periods.village_period(session, village, period)
    if village_period is None or not form.validate_on_submit():
        abort(400)
    if not save(
        lambda session: workflow.submit(
            session, current_account(), village_period, form.version.data, override_reason=form.reason.data or ""
        ),
        done=f"{village.name} {period.code} 已提交乡镇审核，提交后不能再修改",
    ):
        return redirect(url_for("village.board", village_code=village.code, period_code=period.code)), 303
    return redirect(url_for("village.board", village_code=village.code, period_code=period.code))


def _review_purpose(village: Village, period: Period) -> str:
    return f"reviews:{village.code}:{period.code}"


@bp.get("/periods/<period_code>/template.xlsx")
@login_required
def review_template(village_code: str, period_code: str) -> Response:
    """The review sheet pre-filled with the village's households and the period's rubric."""
    village = _village(village_code, edit=True)
    period = _period(village, period_code)
    data = review_imports.review_template(get_session(), village, period)
    return download(data, f"{village.name}{period.code}评分表.xlsx", XLSX_MIMETYPE)


@bp.route("/periods/<period_code>/upload", methods=["GET", "POST"])
@login_required
def upload_reviews(village_code: str, period_code: str) -> ResponseReturnValue:
    """Check an uploaded review sheet: every problem, or a preview of what confirming will write."""
    village = _village(village_code, edit=True)
    period = _period(village, period_code)
    return uploads.preview(
        _review_purpose(village, period),
        "village/upload_reviews.html",
        {
            "village": village,
            "period": period,
            "form": UploadForm(),
            "confirm_form": ConfirmImportForm(),
            "locked": reviews.entry_lock(get_session(), village, period),
        },
        lambda data, name: review_imports.plan_review_upload(
            get_session(), current_account(), village, period, data, name
        ),
    )


@bp.post("/periods/<period_code>/upload/cancel")
@login_required
def cancel_reviews(village_code: str, period_code: str) -> ResponseReturnValue:
    village = _village(village_code, edit=True)
    period = _period(village, period_code)
    return uploads.cancel(
        _review_purpose(village, period), url_for("village.board", village_code=village.code, period_code=period.code)
    )


@bp.post("/periods/<period_code>/upload/confirm")
@login_required
def confirm_reviews(village_code: str, period_code: str) -> ResponseReturnValue:
    village = _village(village_code, edit=True)
    period = _period(village, period_code)

    def write(pending: uploads.PendingUpload) -> str:
        session, actor = get_session(), current_account()
        plan = review_imports.plan_review_upload(session, actor, village, period, pending.data, pending.file_name)
        changed = review_imports.apply_review_import(session, actor, plan, file_name=pending.file_name)
        unfilled = f"，未填 {plan.unfilled} 行未导入" if plan.unfilled else ""
        return f"已导入 {pending.file_name}：{changed} 条变更{unfilled}"

    return uploads.confirm(
        _review_purpose(village, period),
        write,
        retry_url=url_for("village.upload_reviews", village_code=village.code, period_code=period.code),
        done_url=url_for("village.board", village_code=village.code, period_code=period.code),
    )


@bp.route("/roster/upload", methods=["GET", "POST"])
@login_required
def upload_roster(village_code: str) -> ResponseReturnValue:
    village = _village(village_code, edit=True)
    return uploads.preview(
        f"roster:{village.code}",
        "village/upload_roster.html",
        {"village": village, "form": UploadForm(), "confirm_form": ConfirmImportForm()},
        lambda data, name: roster_imports.plan_roster_upload(get_session(), current_account(), [village], data, name),
    )


@bp.post("/roster/upload/cancel")
@login_required
def cancel_roster(village_code: str) -> ResponseReturnValue:
    village = _village(village_code, edit=True)
    return uploads.cancel(f"roster:{village.code}", url_for("village.home", village_code=village.code))


@bp.post("/roster/upload/confirm")
@login_required
def confirm_roster(village_code: str) -> ResponseReturnValue:
    village = _village(village_code, edit=True)

    def write(pending: uploads.PendingUpload) -> str:
        session, actor = get_session(), current_account()
        plan = roster_imports.plan_roster_upload(session, actor, [village], pending.data, pending.file_name)
        changed = roster_imports.apply_roster_import(session, actor, plan, file_name=pending.file_name)
        return f"已导入花名册 {pending.file_name}：{changed} 条变更"

    return uploads.confirm(
        f"roster:{village.code}",
        write,
        retry_url=url_for("village.upload_roster", village_code=village.code),
        done_url=url_for("village.home", village_code=village.code),
    )


@bp.get("/roster.xlsx")
@login_required
def roster_file(village_code: str) -> Response:
    """The village's households in the roster sheet's own layout: edit it and import it back."""
    village = _village(village_code)
    header, rows = roster_exports.roster_table(get_session(), village.township.county, village=village)
    return download(xlsx_bytes([("花名册", header, rows)]), f"{village.name}农户花名册.xlsx", XLSX_MIMETYPE)


@bp.get("/examples/roster.xlsx")
@login_required
def example_roster(village_code: str) -> Response:
    """An example roster with the household code rules on a second sheet."""
    village = _village(village_code)
    return download(guidance.example_roster(village.township.county), "示例花名册.xlsx", XLSX_MIMETYPE)


@bp.get("/plaques.<any(csv, xlsx):fmt>")
@login_required
def plaque_file(village_code: str, fmt: str) -> Response:
    """The village's plaque register (挂牌台账)."""
    village = _village(village_code)
    header, rows = plaques.register_table(plaques.register(get_session(), village.township.county, village=village))
    name = f"{village.name}挂牌台账"
    if fmt == "csv":
        return download(csv_bytes(header, rows), f"{name}.csv", CSV_MIMETYPE)
    return download(xlsx_bytes([("挂牌台账", header, rows)], title=name), f"{name}.xlsx", XLSX_MIMETYPE)


@bp.get("/plaques/")
@login_required
def plaque_register(village_code: str) -> str:
    """Who in the village holds which plaque, since when; revoked plaques with their reason."""
    village = _village(village_code)
    rows = plaques.register(get_session(), village.township.county, village=village)
    return render_template("village/plaques.html", village=village, rows=rows)
