"""The notices of a township (督办 / 问责通知单, RULES.md §9): those addressed to the township itself,
which its reviewer reports rectified, and, to read, those addressed to its villages."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from hygiene import permissions
from hygiene.models._types import utcnow
from hygiene.services.supervision import notices
from web.database import get_session
from web.handlers import load
from web.notice_forms import ReportForm, notice_card, report_from_form
from web.security import current_account, login_required
from web.township.views import _township, bp


@bp.get("/notices")
@login_required
def notice_list(township_code: str) -> str:
    township = _township(township_code)
    session = get_session()
    now = utcnow()
    villages = [r for r in notices.ledger(session, township.county, township=township, now=now) if r.village_name]
    return render_template(
        "township/notices.html",
        township=township,
        cards=[notice_card(session, n, now) for n in notices.addressed_to_township(session, township)],
        village_rows=villages,
        report_form=ReportForm(formdata=None),
        can_report=permissions.can_review_township(current_account(), township),
    )


@bp.post("/notices/<int:notice_id>/report")
@login_required
def report_notice(township_code: str, notice_id: int) -> ResponseReturnValue:
    """The reviewer reports a notice to the township itself rectified; a stale version is the 409 page."""
    township = _township(township_code, review=True)
    notice = load(
        notices.get_notice, notice_id, belongs=lambda n: n.township_id == township.id and n.village_id is None
    )
    report_from_form(current_account(), notice)
    return redirect(url_for("township.notice_list", township_code=township.code, _anchor=f"notice-{notice_id}"), 303)
