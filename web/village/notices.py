"""The notices addressed to a village (督办 / 问责通知单, RULES.md §9): its clerk reports each open one
rectified; the township's reviewer, the county administrator and inspectors of the county may look."""

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
from web.village.views import _village, bp


@bp.get("/notices")
@login_required
def notice_list(village_code: str) -> str:
    """The village's notices, the open and reported ones first, then by deadline."""
    village = _village(village_code)
    session = get_session()
    now = utcnow()
    return render_template(
        "village/notices.html",
        village=village,
        cards=[notice_card(session, n, now) for n in notices.addressed_to_village(session, village)],
        report_form=ReportForm(formdata=None),
        can_report=permissions.can_edit_village(current_account(), village),
    )


@bp.post("/notices/<int:notice_id>/report")
@login_required
def report_notice(village_code: str, notice_id: int) -> ResponseReturnValue:
    """The clerk reports an open notice rectified, saying how; a stale version is the 409 page."""
    village = _village(village_code, edit=True)
    notice = load(notices.get_notice, notice_id, belongs=lambda n: n.village_id == village.id)
    report_from_form(current_account(), notice)
    return redirect(url_for("village.notice_list", village_code=village.code, _anchor=f"notice-{notice_id}"), 303)
