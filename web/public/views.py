"""What residents see, without logging in: the county's villages and their published lists.
Only public data: no ID numbers, phones, poverty status or reviewers (RULES.md §6)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request, send_from_directory
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from hygiene.enums import WorkflowState
from hygiene.io.exports import csv_bytes, xlsx_bytes
from hygiene.models._types import beijing_today
from hygiene.services.rating import objections, records, results
from hygiene.services.setup import units
from web.database import get_session
from web.downloads import CSV_MIMETYPE, XLSX_MIMETYPE, download
from web.handlers import load
from web.public import cache

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> str:
    return render_template("public/index.html", counties=units.counties(get_session()))


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """Browsers ask for it on every site; the app's icon, not a 404 in the logs."""
    assert current_app.static_folder is not None
    return send_from_directory(current_app.static_folder, "favicon.ico", max_age=7 * 24 * 3600)


@bp.get("/public/villages/<village_code>")
def village(village_code: str) -> str:
    session = get_session()
    village = load(units.get_village, village_code)
    published = [vp for vp in units.village_periods(session, village) if vp.state.value in ("published", "final")]
    return render_template("public/village.html", village=village, village_periods=published)


@bp.get("/public/villages/<village_code>/<period_code>")
def village_list(village_code: str, period_code: str) -> ResponseReturnValue:
    """The posted list (张榜公示) of a published village period, for residents' phones: searchable by
    household code, surname and group. The unsearched page is rendered once per version of what it
    shows (web/public/cache.py)."""
    version = cache.version(
        ("list", village_code, period_code),
        lambda: results.public_version(get_session(), village_code, period_code),
    )
    if version is None:
        abort(404)
    query, group = request.args.get("q", "")[:40], request.args.get("group", "")[:60]

    def render() -> str:
        session = get_session()
        searched = bool(query or group)
        posted = results.public_list_of(session, village_code, period_code, read_rows=searched)
        # The unsearched list inserts the rows' markup its record stores (issue 34); a search renders
        # the rows it found with the same function.
        found = results.search_rows(posted.rows, query, group) if searched else posted.rows
        return render_template(
            "public/list.html",
            posted=posted,
            found=len(found),
            rows_html=Markup(records.rows_html(found) if searched else posted.rows_html),  # noqa: S704 - escaped by rows_html
            query=query,
            group=group,
            days_left=posted.days_left(),
            # the version counts the period's objections: a list without any asks for none (issue 34)
            public_objections=objections.public_objections(session, posted.village_period)
            if results.version_has_objections(version)
            else [],
        )

    if query or group:
        return cache.Page.of(render()).response(shared=cache.shareable())
    # a posting's page says how many days are left: it changes with the date until the period is final
    day = beijing_today() if version[1] is WorkflowState.PUBLISHED else None
    return cache.serve(("list", village_code, period_code, version, day), render)


@bp.get("/public/villages/<village_code>/households/<household_code>")
def household(village_code: str, household_code: str) -> ResponseReturnValue:
    """One household's public page: its grades by period, what its group review gave it criterion by
    criterion against the village's average and its peers, and its plaque."""
    village = load(units.get_village, village_code)
    found = load(results.public_household, village, household_code)
    page = cache.Page.of(render_template("public/household.html", household=found))
    return page.response(shared=cache.shareable())


@bp.get("/public/villages/<village_code>/<period_code>.<any(csv, xlsx):fmt>")
def village_list_file(village_code: str, period_code: str, fmt: str) -> Response:
    """The posted list as a file, as public as the page (surnames only), formula-safe."""
    village = load(units.get_village, village_code)
    posted = load(results.public_list, village, period_code)
    header, rows = results.public_list_table(posted)
    name = f"{posted.record.village_name}{period_code}卫生评比公示"
    if fmt == "csv":
        return download(csv_bytes(header, rows), f"{name}.csv", CSV_MIMETYPE)
    return download(
        xlsx_bytes([("公示名单", header, rows)], title=f"{posted.record.township_name} {name}"),
        f"{name}.xlsx",
        XLSX_MIMETYPE,
    )
