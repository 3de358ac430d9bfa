"""The spot-check sample an inspector proposes for a township (RULES.md §9), with why each household
was drawn; the same township, period and seed always draw the same households."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import login_required

from hygiene import permissions
from hygiene.io.scores import parse_whole_number
from hygiene.services import sampling, units
from hygiene.services.errors import NotFound, ServiceError
from web.database import get_session
from web.inspection.views import bp
from web.presentation import picked_period
from web.security import current_account, require

MAX_SIZE = 200


@bp.get("/townships/<township_code>/sample")
@login_required
def sample(county_code: str, township_code: str) -> str:
    session = get_session()
    try:
        county = units.get_county(session, county_code)
        township = units.get_township(session, township_code)
    except NotFound:
        abort(404)
    require(permissions.can_inspect_county(current_account(), county))
    if township.county_id != county.id:
        abort(404)
    all_periods = units.county_periods(session, county.id)
    period = picked_period(all_periods)
    error, drawn = None, None
    try:
        size = parse_whole_number(request.args.get("size") or str(sampling.DEFAULT_SIZE), 1, MAX_SIZE)
        seed_text = request.args.get("seed", "").strip()
        seed = parse_whole_number(seed_text, 0, sampling.MAX_SEED) if seed_text else None
    except ValueError as exc:
        error, size, seed = f"抽查户数或随机种子有误：{exc}", sampling.DEFAULT_SIZE, None
    if period is not None and error is None:
        try:
            drawn = sampling.draw(session, township, period, size=size, seed=seed)
        except ServiceError as exc:
            error = str(exc)
    return render_template(
        "inspection/sample.html",
        county=county,
        township=township,
        periods=all_periods,
        period=period,
        sample=drawn,
        size=size,
        error=error,
    )
