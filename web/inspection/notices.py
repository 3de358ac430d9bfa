"""The inspector's notices (RULES.md §9): the problem ledger (问题台账) with its filters and its Excel
file, a rectification notice issued by hand, one notice with its history where a reported
rectification is accepted or rejected as not done (虚假整改), and the black list's notices (§6)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from hygiene import permissions
from hygiene.enums import Level, NoticeState
from hygiene.io.exports import xlsx_bytes
from hygiene.models import County, Notice, Period, Township, Village
from hygiene.models._types import utcnow
from hygiene.services.setup import periods, units
from hygiene.services.supervision import accountability, notices
from web import field
from web.database import get_session
from web.downloads import XLSX_MIMETYPE, download
from web.handlers import load, save
from web.inspection.views import bp
from web.notice_forms import (
    BlackListForm,
    DecideForm,
    IssueForm,
    form_errors,
    notice_card,
    village_choices,
)
from web.presentation import local_time
from web.security import current_account, login_required, permitted_county

T = TypeVar("T")


def _county(county_code: str) -> County:
    return permitted_county(county_code, permissions.can_inspect_in)


def _notice(county: County, notice_id: int) -> Notice:
    """A notice of this county (of the inspector's township, for a township's own inspector); any
    other is "not found" (no probing)."""
    user = current_account()
    return load(
        notices.get_notice,
        notice_id,
        belongs=lambda n: (
            n.county_id == county.id
            and (permissions.can_inspect_county(user, county) or n.township_id == user.township_id)
        ),
    )


@dataclass(frozen=True)
class LedgerFilter:
    """The ledger's filters as the query string gives them (unknown codes are 404)."""

    state: NoticeState | None
    township: Township | None
    village: Village | None
    period: Period | None

    def args(self) -> dict[str, str]:
        """The query string that asks for these filters again (the Excel link, the redirects)."""
        values = {
            "state": self.state.value if self.state else None,
            "township": self.township.code if self.township else None,
            "village": self.village.code if self.village else None,
            "period": self.period.code if self.period else None,
        }
        return {k: v for k, v in values.items() if v}


def _filters(county: County, villages: list[Village], all_periods: list[Period]) -> LedgerFilter:
    args = request.args
    return LedgerFilter(
        state=_pick(list(NoticeState), args.get("state"), lambda s: s.value),
        township=_pick(county.townships, args.get("township"), lambda t: t.code),
        village=_pick(villages, args.get("village"), lambda v: v.code),
        period=_pick(all_periods, args.get("period"), lambda p: p.code),
    )


def _pick(choices: Sequence[T], code: str | None, key: Callable[[T], str]) -> T | None:
    """The choice a filter names; none for an empty filter, 404 for an unknown one."""
    if not code:
        return None
    found = next((c for c in choices if key(c) == code), None)
    if found is None:
        abort(404)
    return found


def _rows(county: County, chosen: LedgerFilter) -> list[notices.LedgerRow]:
    user = current_account()
    own = None if permissions.can_inspect_county(user, county) else user.township  # a township's own inspector
    return notices.ledger(
        get_session(),
        county,
        state=chosen.state,
        township=own or chosen.township,
        village=chosen.village,
        period=chosen.period,
    )


@bp.get("/notices")
@login_required
def notice_ledger(county_code: str) -> str:
    """The problem ledger: every notice of the county, newest first, filtered; overdue ones marked."""
    county = _county(county_code)
    session = get_session()
    villages = units.county_villages(session, county)
    all_periods = units.county_periods(session, county.id)
    chosen = _filters(county, villages, all_periods)
    rows = _rows(county, chosen)
    black_list = BlackListForm(formdata=None)
    _black_list_choices(black_list, all_periods, villages)
    black_list.period.data = chosen.period.code if chosen.period else (all_periods[0].code if all_periods else "")
    black_list.village.data = chosen.village.code if chosen.village else ""
    return render_template(
        "inspection/notices.html",
        county=county,
        rows=rows,
        chosen=chosen,
        states=list(NoticeState),
        periods=all_periods,
        villages=villages,
        overdue=sum(1 for r in rows if r.overdue),
        black_list=black_list,
        ladder=accountability.unit_rungs(session, county),
        level_labels={lv.value: lv.label for lv in Level},
    )


@bp.get("/notices.xlsx")
@login_required
def notice_ledger_file(county_code: str) -> Response:
    """The filtered ledger as an Excel file; every text cell is text, never a formula."""
    county = _county(county_code)
    session = get_session()
    chosen = _filters(county, units.county_villages(session, county), units.county_periods(session, county.id))
    header, lines = notices.ledger_table(_rows(county, chosen))
    name = f"{county.name}问题台账{local_time(utcnow(), '%Y%m%d')}"
    return download(xlsx_bytes([("问题台账", header, lines)], title=name), f"{name}.xlsx", XLSX_MIMETYPE)


@bp.route("/notices/new", methods=["GET", "POST"])
@login_required
def new_notice(county_code: str) -> ResponseReturnValue:
    """A rectification notice by hand; the deadline is the county's time limit unless given."""
    county = _county(county_code)
    session = get_session()
    villages = units.county_villages(session, county)
    all_periods = units.county_periods(session, county.id)
    form = IssueForm()
    form.set_choices(all_periods, county, villages)
    if request.method == "GET":
        form.period.data = request.args.get("period") or (all_periods[0].code if all_periods else "")
        form.township.data = request.args.get("township", "")
        form.village.data = request.args.get("village", "")
    if form.validate_on_submit():
        period = next(p for p in all_periods if p.code == form.period.data)
        township = next(t for t in county.townships if t.code == form.township.data)
        village = next((v for v in villages if v.code == form.village.data), None)
        saved = save(
            lambda session: notices.issue(
                session,
                current_account(),
                county,
                period=period,
                township=township,
                village=village,
                responsible_person=form.responsible_person.data or "",
                problem=form.problem.data or "",
                deadline=form.deadline.data,
            ),
            done=lambda n: f"已下发{notices.notice_title(n)}，整改时限 {local_time(n.deadline)}（北京时间）",
            form=form,
            field=lambda name: IssueForm.SERVICE_FIELDS.get(name, name),
        )
        if saved.value is not None:
            return redirect(url_for("inspection.notice", county_code=county.code, notice_id=saved.value.id), 303)
    status = 422 if request.method == "POST" else 200
    default_deadline = notices.default_deadline(county, utcnow())
    return render_template(
        "inspection/notice_new.html", county=county, form=form, default_deadline=default_deadline
    ), status


@bp.get("/notices/<int:notice_id>")
@login_required
def notice(county_code: str, notice_id: int) -> str:
    """One notice: addressee, source, problem, deadline, the report and decisions, its history."""
    county = _county(county_code)
    found = _notice(county, notice_id)
    form = DecideForm(formdata=None, version=found.version)
    return render_template(
        "inspection/notice.html",
        county=county,
        card=notice_card(get_session(), found, utcnow()),
        form=form,
        report_photos=field.photos_for(notice=found),
    )


@bp.post("/notices/<int:notice_id>/decide")
@login_required
def decide_notice(county_code: str, notice_id: int) -> ResponseReturnValue:
    """验收通过 closes a reported notice; 退回 (虚假整改) opens it again with the same deadline. A
    stale version (someone decided first) is the 409 page."""
    county = _county(county_code)
    found = _notice(county, notice_id)
    form = DecideForm()
    back = redirect(url_for("inspection.notice", county_code=county.code, notice_id=found.id), 303)
    if not form.validate_on_submit():
        flash(form_errors(form), "error")
        return back
    accepted = form.decision.data == "accept"
    decide = notices.accept if accepted else notices.reject
    done = "已验收通过，予以销号" if accepted else "已退回（虚假整改），仍须在原时限内整改"
    save(
        lambda session: decide(session, current_account(), found, form.version.data, form.note.data or ""),
        done=f"{notices.notice_title(found)}{done}",
    )
    return back


@bp.post("/notices/black-list")
@login_required
def black_list_notices(county_code: str) -> ResponseReturnValue:
    """The black-listed households of a village's final period, one notice each; again adds none."""
    county = _county(county_code)
    session = get_session()
    villages = units.county_villages(session, county)
    all_periods = units.county_periods(session, county.id)
    form = BlackListForm()
    _black_list_choices(form, all_periods, villages)
    if not form.validate_on_submit():
        flash(form_errors(form), "error")
        return redirect(url_for("inspection.notice_ledger", county_code=county.code), 303)
    village = next(v for v in villages if v.code == form.village.data)
    period = periods.get_period(session, county.id, form.period.data or "")
    village_period = periods.village_period(session, village, period)
    back = redirect(
        url_for("inspection.notice_ledger", county_code=county.code, period=period.code, village=village.code), 303
    )
    if village_period is None:
        flash(f"{village.name} {period.code} 尚未开始评比，没有红黑榜", "error")
        return back
    save(
        lambda session: notices.issue_for_black_list(session, current_account(), village_period),
        done=lambda issued: (
            f"已为{village.name} {period.code} 黑榜户下发 {len(issued)} 份督办通知单"
            if issued
            else f"{village.name} {period.code} 的黑榜户此前已下发督办通知单，本次新下发 0 份"
        ),
    )
    return back


def _black_list_choices(form: BlackListForm, all_periods: list[Period], villages: list[Village]) -> None:
    form.period.choices = [SelectChoice(p.code, p.code) for p in all_periods]
    form.village.choices = [SelectChoice("", "请选择村"), *village_choices(villages)]
