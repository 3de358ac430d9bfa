"""The township's pages of stars and awards (RULES.md §8, issue 29): its benefits priority list
(also as Excel), the 缺什么奖什么 suggestions of its villages' final periods, accepted into the
ledger in one step per village, and its ledger entries. The township's own reviewer (and the county
administrator, through the county's pages); never a public page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from hygiene.enums import WorkflowState
from hygiene.io.scores import format_yuan
from hygiene.models import Period, Township, Village, VillagePeriod
from hygiene.models._types import beijing_today
from hygiene.services.awards import benefits, ledger, stars
from hygiene.services.setup import units
from web.county.awards import LedgerEntryForm, add_ledger_entry, industry_page
from web.database import get_session
from web.downloads import XLSX_MIMETYPE, download
from web.forms import BaseForm
from web.handlers import load, save
from web.presentation import page_number, picked_period
from web.security import current_account, login_required, require
from web.township.views import bp


class AcceptForm(BaseForm):
    pass


def _township(township_code: str) -> Township:
    township = load(units.get_township, township_code)
    require(benefits.can_view(current_account(), township.county, township))
    return township


@bp.get("/benefits")
@login_required
def benefits_list(township_code: str) -> ResponseReturnValue:
    township = _township(township_code)
    if request.args.get("format") == "xlsx":
        rows = benefits.priority_list(get_session(), township.county, township=township)
        data = benefits.priority_xlsx(rows, f"{township.name}惠民政策优先名单")
        return download(data, f"{township.name}惠民政策优先名单.xlsx", XLSX_MIMETYPE)
    listed = benefits.priority_page(get_session(), township.county, page_number(), township=township)
    xlsx_url = url_for("township.benefits_list", township_code=township.code, format="xlsx")
    stars_url = url_for("township.star_lists", township_code=township.code)
    return render_template(
        "awards/benefits.html", unit_name=township.name, listed=listed, xlsx_url=xlsx_url, stars_url=stars_url,
        industry_url=url_for("township.industry_support", township_code=township.code),
    )  # fmt: skip


@bp.route("/industry-support", methods=["GET", "POST"])
@login_required
def industry_support(township_code: str) -> ResponseReturnValue:
    township = _township(township_code)
    back = url_for("township.industry_support", township_code=township.code)
    return industry_page(township.county, township, back)


@bp.get("/stars.xlsx")
@login_required
def star_lists(township_code: str) -> ResponseReturnValue:
    """The township's five-plus, ten-star and tier lists as a workbook."""
    township = _township(township_code)
    held = stars.holdings(get_session(), township.county, township=township)
    return download(
        benefits.tier_lists_xlsx(held, f"{township.name}星级户名单"), f"{township.name}星级户名单.xlsx", XLSX_MIMETYPE
    )


def _final_periods(township: Township) -> list[Period]:
    return units.county_periods(get_session(), township.county_id)


@bp.route("/awards", methods=["GET", "POST"])
@login_required
def awards(township_code: str) -> ResponseReturnValue:
    township = _township(township_code)
    session = get_session()
    choices = _final_periods(township)
    period = picked_period(choices)
    form = LedgerEntryForm()
    back = url_for("township.awards", township_code=township.code, period=period.code if period else None)
    if request.method == "POST" and request.form.get("accept") and period is not None:
        village = load(units.get_village, request.form["accept"])
        require(village.township_id == township.id and AcceptForm().validate_on_submit())
        saved = save(
            lambda s: ledger.accept_suggestions(s, current_account(), township.county, village, period),
            done=lambda written: f"已登记{village.name}的奖励物资 {len(written)} 件",
        )
        if saved:
            return redirect(back, 303)
    elif form.validate_on_submit() and add_ledger_entry(township.county, form):
        return redirect(back, 303)
    final = set() if period is None else set(session.scalars(
        sa.select(VillagePeriod.village_id).where(
            VillagePeriod.period_id == period.id, VillagePeriod.state == WorkflowState.FINAL)))  # fmt: skip
    villages: list[Village] = [v for v in township.villages if v.id in final]
    year = beijing_today().year
    return render_template(
        "township/awards.html", township=township, period=period, periods=choices, form=form,
        accept_form=AcceptForm(), yuan=format_yuan, year=year,
        suggestions=[(v, ledger.suggestions(session, township.county, v, period)) for v in villages if period],
        rows=ledger.entries(session, township.county, year, township=township),
        remaining=ledger.spending(session, township.county, year).remaining_fen,
    ), 422 if form.errors else 200  # fmt: skip
