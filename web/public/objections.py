"""A resident's objection to one household of a posted list (异议, RULES.md §6), without logging
in: CSRF-protected like every form, with a honeypot field and a per-client limit
(hygiene.services.rating.objections). The client is known to the database only by a keyed hash of its
address, never the address."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import StringField, SubmitField, TextAreaField

from hygiene.models import Objection, Period, Village, VillagePeriod
from hygiene.services.errors import FieldErrors, NotFound, ServiceError
from hygiene.services.rating import objections, records
from hygiene.services.setup import periods, units
from web.database import get_session
from web.forms import BaseForm
from web.handlers import Saved, load, save
from web.public.views import bp
from web.security import client_address


class ObjectionForm(BaseForm):
    """The lengths and characters are checked by the service, which names the field."""

    reason = TextAreaField(
        f"异议理由（必填，最多{objections.REASON_MAX}字）",
        render_kw={"maxlength": objections.REASON_MAX, "rows": 5, "required": True},
    )
    contact = StringField(
        f"联系方式（选填，仅乡镇审核员可见，不公开，最多{objections.CONTACT_MAX}字）",
        render_kw={"maxlength": objections.CONTACT_MAX, "autocomplete": "tel"},
    )
    # The honeypot: hidden from people (the template hides its wrapper), filled by robots.
    website = StringField("网址", render_kw={"tabindex": "-1", "autocomplete": "off"})
    submit = SubmitField("提交异议")


def _target(village_code: str, period_code: str, household_code: str) -> tuple[Village, Period, VillagePeriod]:
    """The village period and the household objected to; 404 for a list that is not public or a
    household not on it."""
    session = get_session()
    village = load(units.get_village, village_code)
    period = load(periods.get_period, village.township.county_id, period_code)
    village_period = periods.village_period(session, village, period)
    if village_period is None or village_period.state not in records.PUBLIC_STATES:
        abort(404)
    record = records.current_record(session, village_period)
    if record is None or not any(row.household_code == household_code for row in record.rows):
        abort(404)
    return village, period, village_period


def _file(form: ObjectionForm, village_period: VillagePeriod, household_code: str) -> Saved[Objection | None]:
    client = objections.client_hash(current_app.config["SECRET_KEY"], client_address())
    return save(
        lambda s: objections.file_objection(
            s,
            village_period,
            household_code,
            reason=form.reason.data or "",
            contact=form.contact.data,
            client=client,
            honeypot=form.website.data or "",
        ),
        done="已收到您的异议。乡镇审核员处理后，答复将在公示页上公布（不公布提出人）。",
        form=form,
    )


def _refusal_status(error: ServiceError | None) -> int:
    """A refused objection's answer: its fields (422), too many from this client (429), the
    household not on the list (404), else the rules (403: e.g. the posting has ended)."""
    if isinstance(error, NotFound):
        abort(404)
    if isinstance(error, FieldErrors):
        return 422
    return 429 if isinstance(error, objections.ObjectionThrottled) else 403


@bp.route(
    "/public/villages/<village_code>/<period_code>/households/<household_code>/objection", methods=["GET", "POST"]
)
def objection(village_code: str, period_code: str, household_code: str) -> ResponseReturnValue:
    village, period, village_period = _target(village_code, period_code, household_code)
    session = get_session()
    is_open = objections.posting_open(village_period)
    form = ObjectionForm()
    status = 200
    if request.method == "POST":
        if not is_open:
            status = 403  # the page says why: not in the posting period
        elif form.validate_on_submit():
            saved = _file(form, village_period, household_code)
            if saved.ok:
                return redirect(
                    url_for(
                        "public.objection",
                        village_code=village.code,
                        period_code=period.code,
                        household_code=household_code,
                    ),
                    303,
                )
            status = _refusal_status(saved.error)
    return render_template(
        "public/objection.html",
        village=village,
        period=period,
        village_period=village_period,
        household_code=household_code,
        is_open=is_open,
        form=form,
        objections=objections.public_objections(session, village_period),
    ), status
