"""Correcting a household's code and moving it to another village (issue 30): the township reviewer
and the county administrator, from the household's page, each after a confirmation step naming
what changes (``hygiene.services.setup.household_moves``)."""

from __future__ import annotations

from collections.abc import Callable

from flask import redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from wtforms.fields.choices import SelectChoice

from hygiene import naming, permissions
from hygiene.models import Group, Household, Village
from hygiene.services.setup import household_moves
from web.database import get_session
from web.handlers import save
from web.security import current_account, login_required, require
from web.village.forms import MoveHouseholdForm, RecodeForm
from web.village.views import _household, _village, bp


def _page(village: Village, household: Household) -> str:
    return url_for("village.household", village_code=village.code, household_code=household.code)


def _two_steps(
    form: RecodeForm | MoveHouseholdForm,
    title: str,
    check: Callable[[Session], list[str]],
    change: Callable[[Session], object],
    *,
    fields: dict[str, object],
    back: str,
    then: str,
    done: str,
) -> ResponseReturnValue | None:
    """The form checked and confirmed, then the change: the confirmation page (nothing written; its
    cancel link goes ``back``), a redirect to ``then`` once changed, or None when refused (the
    errors are on the form or flashed)."""
    if form.confirmed.data != "1":
        checked = save(check, form=form)
        if checked.value is None:
            return None
        shown = {"lines": checked.value, "fields": fields, "back": back, "reason": fields["reason"]}
        return render_template("confirm.html", title=title, action="", **shown)
    return redirect(then, 303) if save(change, done=done, form=form) else None


def _form_page(village: Village, household: Household, form: RecodeForm | MoveHouseholdForm) -> ResponseReturnValue:
    page = render_template(
        "village/household_move.html", village=village, household=household, form=form, move=hasattr(form, "to_group")
    )
    return page, 422 if form.is_submitted() else 200


@bp.route("/households/<household_code>/recode", methods=["GET", "POST"])
@login_required
def recode_household(village_code: str, household_code: str) -> ResponseReturnValue:
    """更正户编号: the form, then the confirmation naming the change, then the change."""
    village = _village(village_code)
    household = _household(village, household_code)
    actor = current_account()
    require(permissions.can_recode_household(actor, village))
    form = RecodeForm(version=household.version)
    if form.validate_on_submit():
        code, reason, version = form.new_code.data or "", form.reason.data or "", form.version.data
        answer = _two_steps(
            form,
            "更正户编号",
            lambda s: household_moves.correction_preview(s, actor, household, code, reason),
            lambda s: household_moves.correct_code(s, actor, household, code, reason, expected_version=version),
            fields={"version": version, "new_code": code, "reason": reason},
            back=_page(village, household),
            then=url_for("village.household", village_code=village.code, household_code=naming.clean(code)),
            done=f"户编号已更正为 {naming.clean(code)}",
        )
        if answer is not None:
            return answer
    return _form_page(village, household, form)


def _destinations(household: Household) -> list[SelectChoice]:
    groups = household_moves.destinations(get_session(), current_account(), household)
    return [SelectChoice(g.id, f"{g.village.township.name} {g.village.name} {g.name}") for g in groups]


@bp.route("/households/<household_code>/move", methods=["GET", "POST"])
@login_required
def move_household(village_code: str, household_code: str) -> ResponseReturnValue:
    """迁移农户: to a group of another village, with its code kept or changed, after confirming."""
    village = _village(village_code)
    household = _household(village, household_code)
    actor = current_account()
    require(permissions.can_recode_household(actor, village))
    form = MoveHouseholdForm(version=household.version, new_code=household.code)
    form.to_group.choices = _destinations(household)
    if form.validate_on_submit():
        group = get_session().get_one(Group, form.to_group.data)  # one of the choices
        code, reason, version = form.new_code.data or "", form.reason.data or "", form.version.data
        answer = _two_steps(
            form,
            "迁移农户",
            lambda s: household_moves.move_preview(s, actor, household, group, code, reason),
            lambda s: household_moves.move(s, actor, household, group, code, reason, expected_version=version),
            fields={"version": version, "to_group": group.id, "new_code": code, "reason": reason},
            back=_page(village, household),
            then=url_for("village.household", village_code=group.village.code, household_code=naming.clean(code)),
            done=f"已迁至 {group.village.name} {group.name}",
        )
        if answer is not None:
            return answer
    return _form_page(village, household, form)
