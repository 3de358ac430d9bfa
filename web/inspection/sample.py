"""The spot-check sample an inspector proposes for a township (RULES.md §9), with why each household
was drawn; the same township, period and seed always draw the same households. An inspector of the
team holding the township in the period adopts the sample shown (its seed and size are stored), and
the township's spot-check list then works from it."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import HiddenField, SubmitField

from hygiene import permissions
from hygiene.io.scores import parse_whole_number
from hygiene.models import County, InspectionAssignment, Period, Township, User
from hygiene.services.errors import ServiceError
from hygiene.services.setup import units
from hygiene.services.supervision import inspections, sampling
from web.database import get_session
from web.forms import BaseForm
from web.handlers import load, save
from web.inspection.views import bp
from web.presentation import picked_period
from web.security import current_account, login_required, require

MAX_SIZE = inspections.MAX_SAMPLE_SIZE


class AdoptSampleForm(BaseForm):
    """采用此样本: the size and seed of the sample shown, and what the page showed as adopted."""

    size = HiddenField()
    seed = HiddenField()
    state = HiddenField()
    submit = SubmitField("采用此样本")


def _township(county_code: str, township_code: str) -> tuple[County, Township]:
    county = load(units.get_county, county_code)
    township = load(units.get_township, township_code)
    require(permissions.can_inspect_in(current_account(), county))
    if township.county_id != county.id:
        abort(404)
    require(permissions.can_inspect_township(current_account(), township))
    return county, township


def _size_and_seed() -> tuple[int, int | None, str | None]:
    """The asked sample size and seed (none: a fresh one), or the defaults with the error to show."""
    try:
        size = parse_whole_number(request.args.get("size") or str(sampling.DEFAULT_SIZE), 1, MAX_SIZE)
        seed_text = request.args.get("seed", "").strip()
        seed = parse_whole_number(seed_text, 0, sampling.MAX_SEED) if seed_text else None
    except ValueError as exc:
        return sampling.DEFAULT_SIZE, None, f"抽查户数或随机种子有误：{exc}"
    return size, seed, None


@bp.get("/townships/<township_code>/sample")
@login_required
def sample(county_code: str, township_code: str) -> str:
    county, township = _township(county_code, township_code)
    session = get_session()
    all_periods = units.county_periods(session, county.id)
    period = picked_period(all_periods)
    size, seed, error = _size_and_seed()
    drawn = None
    if period is not None and error is None:
        try:
            drawn = sampling.draw(session, township, period, size=size, seed=seed)
        except ServiceError as exc:
            error = str(exc)
    assignment = (
        inspections.held_assignment(session, township, period, inspections.level_of(current_account()))
        if period
        else None
    )
    user: User = current_account()
    form = None
    if drawn is not None and assignment is not None and permissions.can_spot_check(user, assignment):
        form = AdoptSampleForm(
            formdata=None, size=str(drawn.size), seed=str(drawn.seed), state=inspections.sample_state(assignment)
        )
    adopted_by = (
        session.get(User, assignment.sample_adopted_by_id) if assignment and assignment.sample_adopted_by_id else None
    )
    return render_template(
        "inspection/sample.html",
        county=county,
        township=township,
        periods=all_periods,
        period=period,
        sample=drawn,
        households=sampling.sampled_households(get_session(), drawn) if drawn else {},
        size=size,
        error=error,
        assignment=assignment,
        adopted_by=adopted_by,
        form=form,
    )


def _held(county: County, township: Township) -> tuple[Period, InspectionAssignment]:
    """The chosen period and the township's assignment in it, which the signed-in inspector holds."""
    session = get_session()
    period: Period | None = picked_period(units.county_periods(session, county.id))
    if period is None:
        abort(404)
    assignment = inspections.held_assignment(session, township, period, inspections.level_of(current_account()))
    if assignment is None:
        abort(404)
    require(permissions.can_spot_check(current_account(), assignment))
    return period, assignment


@bp.post("/townships/<township_code>/sample/adopt")
@login_required
def adopt_sample(county_code: str, township_code: str) -> ResponseReturnValue:
    county, township = _township(county_code, township_code)
    period, assignment = _held(county, township)
    form = AdoptSampleForm()
    back = url_for(
        "inspection.sample",
        county_code=county.code,
        township_code=township.code,
        period=period.code,
        size=form.size.data or None,
        seed=form.seed.data or None,
    )
    if not form.validate_on_submit():
        flash("表单已过期，请重新打开抽样页面后再采用", "error")
        return redirect(back, 303)
    if not save(
        lambda s: inspections.adopt_sample(
            s,
            current_account(),
            assignment,
            size=form.size.data or "",
            seed=form.seed.data or "",
            shown_state=form.state.data or "",
        ),
        done=lambda adopted: (
            f"已采用{township.name}{period.code}的抽查样本：{len(adopted.drawn)} 户，随机种子 {adopted.seed}"
        ),
    ):
        return redirect(back, 303)
    return redirect(
        url_for(
            "inspection.spot_checks", county_code=county.code, township_code=township.code, period_code=period.code
        ),
        303,
    )
