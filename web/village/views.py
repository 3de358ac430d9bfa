"""The village clerk's area (村委会): households and groups of one village. Township reviewers,
county administrators and inspectors of the same unit may look; only the village's clerk edits."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from hygiene import permissions
from hygiene.enums import CRITERIA, EDITABLE_STATES, ReviewKind
from hygiene.io.scores import format_tenths
from hygiene.io.sheets import UploadRejected
from hygiene.models import Household, Period, Review, Village
from hygiene.services import audit, imports, notices, periods, photos, plaques, reviews, units, workflow
from hygiene.services.errors import FieldErrors, NotFound, ServiceError
from web import field, uploads
from web.database import get_session
from web.downloads import XLSX_MIMETYPE, download
from web.forms import BaseForm, ConfirmImportForm
from web.security import current_account, require
from web.village.forms import (
    DeleteReviewForm,
    GroupEntryForm,
    HouseholdEditForm,
    HouseholdForm,
    SubmitPeriodForm,
    UploadForm,
    group_entry_form_class,
    review_form_class,
)

bp = Blueprint("village", __name__, url_prefix="/village/<village_code>")


def _village(village_code: str, *, edit: bool = False) -> Village:
    try:
        village = units.get_village(get_session(), village_code)
    except NotFound:
        abort(404)
    user = current_account()
    require(permissions.can_edit_village(user, village) if edit else permissions.can_view_village(user, village))
    return village


def _household(village: Village, household_code: str) -> Household:
    """A household of this village; a code of another village is "not found" (no probing)."""
    try:
        return units.get_household(get_session(), village, household_code)
    except NotFound:
        abort(404)


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
def household(village_code: str, household_code: str) -> str:
    village = _village(village_code)
    session = get_session()
    household = _household(village, household_code)
    history = audit.history(session, "household", household.id, county_id=household.county_id)
    return render_template(
        "village/household.html",
        village=village,
        household=household,
        history=history,
        reviewers=units.reviewer_names(session, history),
        can_edit=permissions.can_edit_village(current_account(), village),
        notice_count=notices.open_count_for_village(session, village),
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
        except FieldErrors as exc:
            for name, message in exc.errors.items():
                form[name].errors = [message]
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
    household = _household(village, household_code)
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
        except FieldErrors as exc:
            for name, message in exc.errors.items():
                form[name].errors = [message]
        except ServiceError as exc:
            form.moved_away_on.errors = [str(exc)]
        else:
            session.commit()
            flash("已保存", "success")
            return redirect(url_for("village.household", village_code=village.code, household_code=household.code))
    return render_template("village/household_form.html", village=village, form=form, household=household)


def _period(village: Village, period_code: str) -> Period:
    try:
        return periods.get_period(get_session(), village.township.county_id, period_code)
    except ServiceError:
        abort(404)


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


def _review_form(village: Village, period: Period, household: Household, kind: ReviewKind) -> BaseForm:
    criteria = [(c.code, c.label, c.max_tenths) for c in period.rubric_version.criteria]
    peers = (
        [
            SelectChoice(h.code, f"{h.code} {h.head_name}")
            for h in household.group.households
            if h.id != household.id and h.moved_away_on is None
        ]
        if kind is ReviewKind.PEER
        else []
    )
    return review_form_class(criteria, [SelectChoice("", "请选择"), *peers])()


@bp.route("/periods/<period_code>/households/<household_code>/review", methods=["GET", "POST"])
@login_required
def review(village_code: str, period_code: str, household_code: str) -> ResponseReturnValue:
    """Enter or change one review of one household: ?kind=self|peer|group (&reviewer= for a peer)."""
    village = _village(village_code, edit=True)
    period = _period(village, period_code)
    session = get_session()
    try:
        household = units.get_household(session, village, household_code)
        kind = ReviewKind(request.args.get("kind", "group"))
    except (NotFound, ValueError):
        abort(404)
    form = _review_form(village, period, household, kind)
    reviewer_code = request.args.get("reviewer") or None
    status = 200
    if request.method == "GET":
        _fill_from_existing(form, session, household, period, kind, reviewer_code)
    elif (started := field.SaveOnce.start())[1] is not None:
        return started[1]  # the same save again: its first answer; the key reused: 422
    elif form.validate_on_submit():
        entry = reviews.ReviewInput(
            kind=kind,
            scores={c: getattr(form, c).tenths for c in CRITERIA},
            reviewer_code=form.reviewer.data,
            team_members=form.team_members.data,
            edited_reviewer_code=reviewer_code,
        )
        status = 422 if field.wants_json() else 200  # the page shows its errors as it always has
        try:
            shots = field.checked_photos() if kind is ReviewKind.GROUP else []
            saved_review = reviews.save_review(
                session,
                current_account(),
                village,
                period,
                household,
                entry,
                expected_version=int(form.version.data or 0),
            )
            photos.attach(session, field.media_root(), current_account(), shots, review=saved_review)
        except photos.PhotoRejected as exc:
            session.rollback()
            if field.wants_json():
                return field.refused(str(exc))
            flash(str(exc), "error")
        except reviews.ReviewRejected as exc:
            for name, message in exc.errors.items():
                getattr(form, name).errors = [message]
        except ServiceError as exc:
            flash(str(exc), "error")
        else:
            saved = f"已保存 {household.code} {household.head_name} 的{kind.label}"
            following = reviews.next_household(session, household, period) if form.save_and_next.data else None
            if following is not None:
                location = url_for(
                    "village.review",
                    village_code=village.code,
                    period_code=period.code,
                    household_code=following.code,
                    kind=ReviewKind.GROUP.value,
                )
                return started[0].finish(
                    session,
                    village.county_id,
                    location,
                    f"{saved}，下一户：{following.code} {following.head_name}",
                    302,
                )
            location = url_for(
                "village.household_reviews",
                village_code=village.code,
                period_code=period.code,
                household_code=household.code,
            )
            message = saved + ("，本村已没有尚无复评的农户" if form.save_and_next.data else "")
            return started[0].finish(session, village.county_id, location, message, 302)
    elif request.method == "POST" and field.wants_json():
        status = 422
    return render_template(
        "village/review.html",
        village=village,
        period=period,
        household=household,
        kind=kind,
        form=form,
        locked=reviews.entry_lock(session, village, period),
        offers_next=kind is ReviewKind.GROUP and reviews.next_household(session, household, period) is not None,
    ), status


def _fill_from_existing(
    form: BaseForm, session: Session, household: Household, period: Period, kind: ReviewKind, reviewer_code: str | None
) -> None:
    reviewer = reviews.household_in_group(session, household.group_id, reviewer_code) if reviewer_code else None
    existing = (
        None
        if kind is ReviewKind.PEER and reviewer is None
        else reviews.existing_review(session, household, period, kind, reviewer)
    )
    if existing is None:
        if kind is ReviewKind.GROUP:  # the same team reviews the whole village: not retyped each time
            form.team_members.data = reviews.last_team(session, household.group.village, period) or ""
        return
    form.version.data = str(existing.version)
    form.reviewer.data = reviewer.code if reviewer else ""
    form.team_members.data = existing.team_members or ""
    for code in CRITERIA:
        getattr(form, code).data = format_tenths(getattr(existing, code))  # as typed: "8", "9.5"


@bp.route("/periods/<period_code>/groups/<group_code>/review", methods=["GET", "POST"])
@login_required
def group_entry(village_code: str, period_code: str, group_code: str) -> ResponseReturnValue:
    """The 复评 of a whole villager group on one screen: one row a household, the ten criteria as
    columns, one save for the group, all or nothing, each error in its cell."""
    village = _village(village_code, edit=True)
    period = _period(village, period_code)
    session = get_session()
    try:
        group = units.get_group(session, village, group_code)
    except NotFound:
        abort(404)
    entries = reviews.group_entry(session, group, period)
    form = group_entry_form_class([h.code for h, _ in entries])()
    cell_errors: dict[tuple[str, str], str] = {}
    status = 200
    if form.validate_on_submit():
        households = [h for h, _ in entries]
        grid = {h.code: {c: form[GroupEntryForm.cell(h.code, c)].data or "" for c in CRITERIA} for h in households}
        actor = current_account()
        try:
            plan = imports.plan_group_entry(
                session, actor, village, period, entries, form.team_members.data or "", grid
            )
            changed = imports.apply_review_import(session, actor, plan, file_name=imports.GROUP_ENTRY)
        except UploadRejected as exc:
            session.rollback()
            for problem in exc.problems:
                if problem.row and problem.column in CRITERIA:
                    cell_errors[(households[problem.row - 1].code, problem.column)] = problem.reason
                elif problem.column == "team_members":
                    form.team_members.errors = [problem.reason]
                else:
                    form.form_errors.append(
                        f"{households[problem.row - 1].code if problem.row else ''} {problem.reason}"
                    )
            status = 422
        except ServiceError as exc:
            session.rollback()
            flash(str(exc), "error")
            status = 422
        else:
            session.commit()
            flash(f"已保存{group.name}的小组复评：{changed} 户有变更，{plan.unfilled} 户未填", "success")
            return redirect(url_for("village.board", village_code=village.code, period_code=period.code), 303)
    elif request.method == "POST":
        status = 422
    else:
        teams = [r.team_members for _, r in entries if r is not None and r.team_members]
        form.team_members.data = teams[0] if teams else reviews.last_team(session, village, period) or ""
        for household, review in entries:
            if review is not None:
                for code in CRITERIA:
                    form[GroupEntryForm.cell(household.code, code)].data = format_tenths(getattr(review, code))
    return render_template(
        "village/group_entry.html",
        village=village,
        period=period,
        group=group,
        entries=entries,
        form=form,
        cell=GroupEntryForm.cell,
        cell_errors=cell_errors,
        criteria=period.rubric_version.criteria,
        locked=reviews.entry_lock(session, village, period),
    ), status


@bp.get("/periods/<period_code>/households/<household_code>/")
@login_required
def household_reviews(village_code: str, period_code: str, household_code: str) -> str:
    village = _village(village_code)
    period = _period(village, period_code)
    session = get_session()
    household = _household(village, household_code)
    return render_template(
        "village/household_reviews.html",
        village=village,
        period=period,
        household=household,
        reviews=reviews.household_reviews(session, household, period),
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
    session = get_session()
    review = session.get(Review, review_id)
    if review is None or review.period_id != period.id or review.household.group.village_id != village.id:
        abort(404)
    form = DeleteReviewForm()
    household_code = review.household.code
    if form.validate_on_submit():
        try:
            reviews.delete_review(
                session,
                current_account(),
                village,
                period,
                review,
                expected_version=int(form.version.data or 0),
                reason=form.reason.data or "",
            )
        except ServiceError as exc:
            flash(str(exc), "error")
        else:
            session.commit()
            flash("已删除该评议", "success")
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
    try:
        workflow.submit(
            session,
            current_account(),
            village_period,
            int(form.version.data or 0),
            override_reason=form.reason.data or "",
        )
    except ServiceError as exc:
        flash(str(exc), "error")
        return redirect(url_for("village.board", village_code=village.code, period_code=period.code)), 303
    session.commit()
    flash(f"{village.name} {period.code} 已提交乡镇审核，提交后不能再修改", "success")
    return redirect(url_for("village.board", village_code=village.code, period_code=period.code))


def _review_purpose(village: Village, period: Period) -> str:
    return f"reviews:{village.code}:{period.code}"


@bp.get("/periods/<period_code>/template.xlsx")
@login_required
def review_template(village_code: str, period_code: str) -> Response:
    """The review sheet pre-filled with the village's households and the period's rubric."""
    village = _village(village_code, edit=True)
    period = _period(village, period_code)
    data = imports.review_template(get_session(), village, period)
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
        lambda data, name: imports.plan_review_upload(get_session(), current_account(), village, period, data, name),
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
        plan = imports.plan_review_upload(session, actor, village, period, pending.data, pending.file_name)
        changed = imports.apply_review_import(session, actor, plan, file_name=pending.file_name)
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
        lambda data, name: imports.plan_roster_upload(get_session(), current_account(), [village], data, name),
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
        plan = imports.plan_roster_upload(session, actor, [village], pending.data, pending.file_name)
        changed = imports.apply_roster_import(session, actor, plan, file_name=pending.file_name)
        return f"已导入花名册 {pending.file_name}：{changed} 条变更"

    return uploads.confirm(
        f"roster:{village.code}",
        write,
        retry_url=url_for("village.upload_roster", village_code=village.code),
        done_url=url_for("village.home", village_code=village.code),
    )


@bp.get("/plaques/")
@login_required
def plaque_register(village_code: str) -> str:
    """Who in the village holds which plaque, since when; revoked plaques with their reason."""
    village = _village(village_code)
    rows = plaques.register(get_session(), village.township.county, village=village)
    return render_template("village/plaques.html", village=village, rows=rows)
