"""The village committee's star pages (RULES.md §8, issue 29): its households' stars and the
five-plus and ten-star lists (/village/<v>/stars, also as Excel), and one household's stars on one
screen, where the committee (or its township, reversing) grants and withdraws them with a date and
a reason. The hygiene star is shown, never offered: it follows the plaque."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response
from wtforms import DateField, StringField
from wtforms.validators import Optional

from hygiene import permissions
from hygiene.io import pdf
from hygiene.models import Household, Village
from hygiene.models._types import beijing_today
from hygiene.services.awards import benefits, certificates, stars
from hygiene.services.setup import units
from web.database import get_session
from web.downloads import XLSX_MIMETYPE, download
from web.forms import BaseForm
from web.handlers import load, save
from web.presentation import page_number
from web.security import current_account, login_required, require
from web.village.paper import PDF_MIMETYPE
from web.village.views import bp

PER_PAGE = 100  # rows of the village's list a page


class StarChangeForm(BaseForm):
    """The date and reason of the next grant or withdrawal; each star's button posts ``change``."""

    on = DateField("日期（不填为今天）", default=beijing_today, validators=[Optional()])
    reason = StringField("原因（如：村民代表会议评定）")


def _village(village_code: str) -> Village:
    village = load(units.get_village, village_code)
    require(permissions.can_view_village(current_account(), village))
    return village


@bp.get("/stars")
@login_required
def star_list(village_code: str) -> ResponseReturnValue:
    village = _village(village_code)
    county = village.township.county
    held = stars.holdings(get_session(), county, village=village, with_none=True)
    if request.args.get("format") == "xlsx":
        data = benefits.tier_lists_xlsx([h for h in held if h.count], f"{village.name}星级户名单")
        return download(data, f"{village.name}星级户名单.xlsx", XLSX_MIMETYPE)
    page, pages = page_number(), max(1, -(-len(held) // PER_PAGE))
    page = min(page, pages)
    shown = held[(page - 1) * PER_PAGE : page * PER_PAGE]
    return render_template("village/stars.html", village=village, held=held, shown=shown, page=page, pages=pages)


@bp.route("/stars/<household_code>", methods=["GET", "POST"])
@login_required
def household_stars(village_code: str, household_code: str) -> ResponseReturnValue:
    village = _village(village_code)
    household: Household = load(units.get_household, village, household_code)
    can_change = stars.can_grant(current_account(), village)
    form = StarChangeForm()
    if request.method == "POST":
        require(can_change)
        action, _, code = request.form.get("change", "").partition(":")
        star = load(stars.get_star, household.county_id, code)
        if form.validate() and action in ("grant", "withdraw"):
            change = stars.grant if action == "grant" else stars.withdraw
            done = f"已{'授予' if action == 'grant' else '摘除'}{star.name}"
            if save(
                lambda s: change(s, current_account(), household, star, reason=form.reason.data or "", on=form.on.data),
                done=done,
                form=form,
            ):
                return redirect(
                    url_for("village.household_stars", village_code=village.code, household_code=household.code), 303
                )
    session = get_session()
    return render_template(
        "village/household_stars.html",
        village=village,
        household=household,
        holding=stars.holding_of(session, household),
        catalogue=stars.catalogue(session, household.county_id),
        disqualified=stars.disqualification_of(session, household.id),
        history=stars.history(session, household),
        form=form,
        can_change=can_change,
    ), 422 if form.errors else 200


@bp.get("/stars/<household_code>/<star_code>/certificate.pdf")
@login_required
def title_certificate_pdf(village_code: str, household_code: str, star_code: str) -> Response:
    """The certificate of a star or title the household holds (好婆婆, 十星级文明户, ...), for
    whoever sees the household's stars: never public."""
    village = _village(village_code)
    household: Household = load(units.get_household, village, household_code)
    cert = load(certificates.title_certificate, household, star_code)
    data = pdf.title_certificate_pdf(cert)
    return download(data, f"{cert.certificate_name}{household.code}.pdf", PDF_MIMETYPE)
