"""The yearly roll-up per township (年度综合考核, RULES.md §9) for the county's inspectors and
administrator: a page and its Excel workbook."""

from __future__ import annotations

from flask import Response, abort, render_template, request

from hygiene import permissions
from hygiene.io.exports import xlsx_bytes
from hygiene.models import County
from hygiene.services.supervision import yearly
from web.database import get_session
from web.downloads import XLSX_MIMETYPE, download
from web.inspection.views import bp
from web.security import current_account, login_required, permitted_county


def _county(county_code: str) -> County:
    return permitted_county(county_code, permissions.can_view_supervision)


def _picked_year(choices: list[int]) -> int | None:
    """The year asked for (``?year=2026``), else the newest; one without periods is 404."""
    text = request.args.get("year")
    if not text:
        return choices[0] if choices else None
    if not (text.isascii() and text.isdigit()) or int(text) not in choices:
        abort(404)
    return int(text)


@bp.get("/yearly")
@login_required
def yearly_page(county_code: str) -> str:
    session = get_session()
    county = _county(county_code)
    years = yearly.years(session, county)
    year = _picked_year(years)
    review = yearly.yearly(session, county, year) if year is not None else None
    return render_template(
        "inspection/yearly.html",
        county=county,
        can_inspect=permissions.can_inspect_county(current_account(), county),
        years=years,
        year=year,
        review=review,
    )


@bp.get("/yearly.xlsx")
@login_required
def yearly_xlsx(county_code: str) -> Response:
    session = get_session()
    county = _county(county_code)
    year = _picked_year(yearly.years(session, county))
    if year is None:
        abort(404)
    review = yearly.yearly(session, county, year)
    data = xlsx_bytes(
        [
            ("年度综合考核", list(yearly.HEADER), yearly.summary_rows(review)),
            ("各期得分", list(yearly.PERIOD_HEADER), yearly.period_rows(review)),
        ],
        title=f"{county.name}{year}年度乡镇综合考核",
    )
    return download(data, f"{county.name}{year}年度综合考核.xlsx", XLSX_MIMETYPE)
