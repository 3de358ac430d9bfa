"""The village clerk's review entry (村委会): one review of one household, and the 复评 of a whole
villager group on one screen. Registered on the village blueprint of ``web.village.views``."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from wtforms.fields.choices import SelectChoice

from hygiene.enums import CRITERIA, ReviewKind
from hygiene.io.scores import format_points
from hygiene.io.sheets import UploadRejected
from hygiene.models import Group, Household, Period, Review, Village
from hygiene.services import photos
from hygiene.services.errors import FieldErrors
from hygiene.services.rating import review_imports, reviews
from hygiene.services.setup import units
from web import field
from web.database import get_session
from web.forms import BaseForm
from web.handlers import load, save
from web.security import current_account, login_required
from web.village.forms import GroupEntryForm, group_entry_form_class, review_form_class
from web.village.views import _household, _period, _village, bp


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
    household = _household(village, household_code)
    if request.args.get("kind", "group") not in set(ReviewKind):
        abort(404)
    kind = ReviewKind(request.args.get("kind", "group"))
    form = _review_form(village, period, household, kind)
    reviewer_code = request.args.get("reviewer") or None
    status = 200
    if request.method == "GET":
        _fill_from_existing(form, session, household, period, kind, reviewer_code)
    elif (started := field.SaveOnce.start())[1] is not None:
        return started[1]  # the same save again: its first answer; the key reused: 422
    elif form.validate_on_submit():
        if (answer := _post_review(village, period, household, kind, form, reviewer_code, started[0])) is not None:
            return answer
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


def _post_review(
    village: Village,
    period: Period,
    household: Household,
    kind: ReviewKind,
    form: BaseForm,
    reviewer_code: str | None,
    once: field.SaveOnce,
) -> ResponseReturnValue | None:
    """Save the posted review with its photos: the answer to send, or None to show the form again."""
    entry = reviews.ReviewInput(
        kind=kind,
        scores={c: getattr(form, c).tenths for c in CRITERIA},
        reviewer_code=form.reviewer.data,
        team_members=form.team_members.data,
        edited_reviewer_code=reviewer_code,
    )

    def review_and_photos(s: Session) -> tuple[str, str]:
        shots = field.checked_photos() if kind is ReviewKind.GROUP else []
        saved_review = reviews.save_review(
            s, current_account(), village, period, household, entry, expected_version=form.version.data
        )
        photos.attach(s, field.media_root(), current_account(), shots, review=saved_review)
        return _after_review(village, period, household, kind, and_next=bool(form.save_and_next.data))

    saved = save(
        review_and_photos,
        done=lambda after: after[1],
        form=form,
        once=once.once(village.county_id, lambda after: after[0]),
    )
    if saved:
        return field.answered(saved, 302)
    return field.refusal(saved)


def _after_review(
    village: Village, period: Period, household: Household, kind: ReviewKind, *, and_next: bool
) -> tuple[str, str]:
    """Where a saved review goes, and what it says: the next household without a 复评 when asked,
    else the household's reviews."""
    saved = f"已保存 {household.code} {household.head_name} 的{kind.label}"
    kind_arg: dict[str, Any]
    following = reviews.next_household(get_session(), household, period) if and_next else None
    if following is not None:
        message = f"{saved}，下一户：{following.code} {following.head_name}"
        code, endpoint, kind_arg = following.code, "village.review", {"kind": ReviewKind.GROUP.value}
    else:
        message = saved + ("，本村已没有尚无复评的农户" if and_next else "")
        code, endpoint, kind_arg = household.code, "village.household_reviews", {}
    location = url_for(endpoint, village_code=village.code, period_code=period.code, household_code=code, **kind_arg)
    return location, message


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
    form.version.data = existing.version
    form.reviewer.data = reviewer.code if reviewer else ""
    form.team_members.data = existing.team_members or ""
    for code in CRITERIA:
        getattr(form, code).data = format_points(getattr(existing, code))  # as typed: "8", "9.5"


@bp.route("/periods/<period_code>/groups/<group_code>/review", methods=["GET", "POST"])
@login_required
def group_entry(village_code: str, period_code: str, group_code: str) -> ResponseReturnValue:
    """The 复评 of a whole villager group on one screen: one row a household, the ten criteria as
    columns, one save for the group, all or nothing, each error in its cell."""
    village = _village(village_code, edit=True)
    period = _period(village, period_code)
    session = get_session()
    group = load(units.get_group, village, group_code)
    entries = reviews.group_entry(session, group, period)
    form = group_entry_form_class([h.code for h, _ in entries])()
    status = 200
    if request.method == "GET":
        _fill_group_entry(form, village, period, entries)
    elif (started := field.SaveOnce.start())[1] is not None:
        return started[1]  # the same save again: its first answer; the key reused: 422
    elif not form.validate_on_submit():
        status = 422
        if field.wants_json():
            return field.refused("内容有误，未保存：请打开表单改正")
    elif (answer := _post_group_entry(village, period, group, entries, form, started[0])) is not None:
        return answer
    else:
        status = 422
    return _group_entry_page(village, period, group, entries, form), status


def _post_group_entry(
    village: Village,
    period: Period,
    group: Group,
    entries: list[tuple[Household, Review | None]],
    form: GroupEntryForm,
    once: field.SaveOnce,
) -> ResponseReturnValue | None:
    """Save the posted grid: the answer to send, or None to show the screen again with its errors."""
    board = url_for("village.board", village_code=village.code, period_code=period.code)
    saved = save(
        lambda s: _save_group_entry(s, village, period, group, entries, form),
        done=lambda result: (
            f"已保存{group.name}的小组复评：{result[0]} 户有变更，{result[1]} 户未填"
            + (f"，{result[2]} 张照片" if result[2] else "")
        ),
        form=form,
        once=once.once(village.county_id, lambda _: board),
    )
    if saved:
        return field.answered(saved)
    return field.refusal(saved)


def _group_entry_page(
    village: Village,
    period: Period,
    group: Group,
    entries: list[tuple[Household, Review | None]],
    form: GroupEntryForm,
) -> str:
    """The group screen with each cell's first error beside it."""
    cells = {(h.code, c): form[GroupEntryForm.cell(h.code, c)] for h, _ in entries for c in CRITERIA}
    cell_errors = {key: field.errors[0] for key, field in cells.items() if field.errors}
    return render_template(
        "village/group_entry.html",
        village=village,
        period=period,
        group=group,
        entries=entries,
        form=form,
        cell=GroupEntryForm.cell,
        version=GroupEntryForm.version,
        photo=GroupEntryForm.photo,
        cell_errors=cell_errors,
        criteria=period.rubric_version.criteria,
        locked=reviews.entry_lock(get_session(), village, period),
    )


def _fill_group_entry(
    form: GroupEntryForm, village: Village, period: Period, entries: list[tuple[Household, Review | None]]
) -> None:
    """The screen as saved: the team, each household's cells and the version of its group review."""
    teams = [r.team_members for _, r in entries if r is not None and r.team_members]
    form.team_members.data = teams[0] if teams else reviews.last_team(get_session(), village, period) or ""
    for household, review in entries:
        if review is not None:
            form[GroupEntryForm.version(household.code)].data = review.version
            for code in CRITERIA:
                form[GroupEntryForm.cell(household.code, code)].data = format_points(getattr(review, code))


def _save_group_entry(
    session: Session,
    village: Village,
    period: Period,
    group: Group,
    entries: list[tuple[Household, Review | None]],
    form: GroupEntryForm,
) -> tuple[int, int, int]:
    """Check and write the grid all or nothing, with each household's photos (optional) on its group
    review; the problems, cell by cell, are the form's errors."""
    households = [h for h, _ in entries]
    shots = {h.code: field.checked_photos((GroupEntryForm.photo(h.code),)) for h in households}
    written, unfilled = _write_group_entry(session, village, period, entries, form)
    reviewed = dict(reviews.group_entry(session, group, period))
    actor = current_account()
    count = 0
    for household in households:
        if not shots[household.code]:
            continue
        review = reviewed.get(household)
        if review is None:
            raise FieldErrors(
                {GroupEntryForm.photo(household.code): f"{household.code} {household.head_name}：拍了照片但没有评分"}
            )
        count += len(photos.attach(session, field.media_root(), actor, shots[household.code], review=review))
    return written, unfilled, count


def _write_group_entry(
    session: Session,
    village: Village,
    period: Period,
    entries: list[tuple[Household, Review | None]],
    form: GroupEntryForm,
) -> tuple[int, int]:
    households = [h for h, _ in entries]
    grid = {h.code: {c: form[GroupEntryForm.cell(h.code, c)].data or "" for c in CRITERIA} for h in households}
    versions = {h.code: form[GroupEntryForm.version(h.code)].data for h in households}
    actor = current_account()
    try:
        plan = review_imports.plan_group_entry(
            session, actor, village, period, entries, form.team_members.data or "", grid, versions
        )
        return review_imports.apply_review_import(
            session, actor, plan, file_name=review_imports.GROUP_ENTRY
        ), plan.unfilled
    except UploadRejected as exc:
        errors: dict[str, str] = {}
        for n, problem in enumerate(exc.problems):
            household = households[problem.row - 1].code if problem.row else ""
            if problem.row and problem.column in CRITERIA:
                errors[GroupEntryForm.cell(household, problem.column)] = problem.reason
            elif problem.column == "team_members":
                errors["team_members"] = problem.reason
            else:
                errors[f"problem {n}"] = f"{household} {problem.reason}"
        raise FieldErrors(errors) from exc
