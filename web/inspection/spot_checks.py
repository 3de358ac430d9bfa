"""Spot checks (抽查, RULES.md §9) of a township in a period: the list, from the adopted sample, with
each check's grade beside the posted final grade and the township's agreement; and the entry of one
household's check on a phone, criterion by criterion on the period's rubric. Every inspector of the
county reads; only an inspector of the team holding the township in the period writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from wtforms import StringField, SubmitField, TextAreaField

from hygiene import permissions
from hygiene.enums import CRITERIA, Grade
from hygiene.io.scores import format_points
from hygiene.models import County, Household, InspectionAssignment, Period, SpotCheck, Township, User
from hygiene.services import photos
from hygiene.services.errors import NotFound, ServiceError
from hygiene.services.setup import units
from hygiene.services.supervision import inspections, ranking
from web import field
from web.database import get_session
from web.forms import BaseForm, VersionField
from web.handlers import Once, Saved, load, save
from web.inspection.views import bp
from web.security import current_account, login_required, require


class SpotCheckForm(BaseForm):
    """One text field per criterion (``c01`` … ``c10``, added by ``spot_check_form_class``); the
    service parses them as a review's scores are parsed and names each bad one."""

    members = StringField("抽查人员（在场的督查组成员）")
    notes = TextAreaField("抽查记录（发现的问题，可不填）")
    version = VersionField()
    submit = SubmitField("保存抽查")


def spot_check_form_class(period: Period) -> type[SpotCheckForm]:
    class PeriodSpotCheckForm(SpotCheckForm):
        pass

    for c in period.rubric_version.criteria:
        field = StringField(
            f"{c.label}（0–{format_points(c.max_tenths)}分）",
            render_kw={"inputmode": "decimal", "autocomplete": "off", "class": "score"},
        )
        setattr(PeriodSpotCheckForm, c.code, field)
    return PeriodSpotCheckForm


def _place(county_code: str, township_code: str, period_code: str) -> tuple[County, Township, Period]:
    """The county, a township of it (its inspectors only: the county's, the city's, its own) and a
    period of it; anything else is 404."""
    session = get_session()
    county = load(units.get_county, county_code)
    township = load(units.get_township, township_code)
    require(permissions.can_inspect_in(current_account(), county))
    require(township.county_id != county.id or permissions.can_inspect_township(current_account(), township))
    period = next((p for p in units.county_periods(session, county.id) if p.code == period_code), None)
    if township.county_id != county.id or period is None:
        abort(404)
    return county, township, period


@dataclass(frozen=True)
class SampleRow:
    household_code: str
    village_name: str
    reasons: tuple[str, ...]
    check: SpotCheck | None


@bp.get("/townships/<township_code>/periods/<period_code>/checks")
@login_required
def spot_checks(county_code: str, township_code: str, period_code: str) -> ResponseReturnValue:
    county, township, period = _place(county_code, township_code, period_code)
    session = get_session()
    assignment = inspections.held_assignment(session, township, period, inspections.level_of(current_account()))
    wanted = request.args.get("household")
    lookup_error = None
    if wanted is not None:
        try:
            household = inspections.household_in_township(session, township, wanted)
        except NotFound as exc:
            lookup_error = str(exc) if wanted.strip() else "请输入户编号"
        else:
            return redirect(_check_url(county, township, period, household.code))
    user: User = current_account()
    return render_template(
        "inspection/spot_checks.html",
        county=county,
        township=township,
        period=period,
        assignment=assignment,
        can_write=assignment is not None and permissions.can_spot_check(user, assignment),
        grade_label=lambda value: Grade(value).label if value else "未评定",
        lookup_error=lookup_error,
        wanted=wanted or "",
        **_checks_table(county, township, period, assignment),
    ), (422 if lookup_error else 200)


def _save_check(
    form: BaseForm, assignment: InspectionAssignment, household: Household, once: Once
) -> Saved[inspections.SpotCheckOutcome]:
    """The spot check as typed, with its photos (issue 31), saved once under the phone's key."""
    photographed = any(f.filename for f in request.files.getlist("photo"))

    def check(s: Session) -> inspections.SpotCheckOutcome:
        shots = field.checked_photos()
        outcome = inspections.save_spot_check(
            s,
            current_account(),
            assignment,
            household,
            scores={c: form[c].data or "" for c in CRITERIA},
            members=form["members"].data or "",
            notes=form["notes"].data or "",
            expected_version=form["version"].data,
        )
        photos.attach(s, field.media_root(), current_account(), shots, spot_check=outcome.check)
        return outcome

    return save(
        check,
        done=lambda outcome: ("已保存抽查：" if outcome.changed or photographed else "抽查未变：") + outcome.text(),
        form=form,
        once=once,
    )


def _fill_check_form(form: BaseForm, existing: SpotCheck | None, assignment: InspectionAssignment) -> None:
    """The form as saved, or with the team's members for a first check."""
    if existing is None:
        form["members"].data = assignment.team.members
        return
    form["version"].data = existing.version
    form["members"].data = existing.members or ""
    form["notes"].data = existing.notes or ""
    for c in CRITERIA:
        form[c].data = format_points(getattr(existing, c))


def _checks_table(
    county: County, township: Township, period: Period, assignment: InspectionAssignment | None
) -> dict[str, object]:
    """The adopted sample with each household's check, the checks outside it, and their grades."""
    session = get_session()
    checks = inspections.spot_checks(session, assignment) if assignment else {}
    households = {h.id: h for h in session.scalars(sa.select(Household).where(Household.id.in_(list(checks))))}
    checked_by_code = {households[hid].code: check for hid, check in checks.items()}
    villages = {v.code: v.name for v in township.villages}
    error, sample = None, None
    if assignment is not None:
        try:
            sample = inspections.adopted_sample(session, assignment)
        except ServiceError as exc:
            error = str(exc)
    rows = [
        SampleRow(c.household_code, villages.get(c.village_code, ""), c.reasons, checked_by_code.get(c.household_code))
        for c in (sample.drawn if sample else [])
    ]
    in_sample = {r.household_code for r in rows}
    try:
        line = next(t for t in ranking.ranking(session, county, period).townships if t.code == township.code)
    except ServiceError as exc:
        line, error = None, str(exc)
    outside = sorted(
        ((households[hid], check) for hid, check in checks.items() if households[hid].code not in in_sample),
        key=lambda pair: pair[0].code,
    )
    graded = {c.code: c for c in line.checks} if line else {}
    return {"sample": sample, "rows": rows, "outside": outside, "graded": graded, "line": line, "error": error}


def _check_url(county: County, township: Township, period: Period, household_code: str) -> str:
    return url_for(
        "inspection.spot_check",
        county_code=county.code,
        township_code=township.code,
        period_code=period.code,
        household_code=household_code,
    )


def _writable(township: Township, period: Period) -> InspectionAssignment:
    assignment = inspections.held_assignment(get_session(), township, period, inspections.level_of(current_account()))
    if assignment is None:
        abort(404)
    require(permissions.can_spot_check(current_account(), assignment))
    return assignment


@bp.route("/townships/<township_code>/periods/<period_code>/households/<household_code>/check", methods=["GET", "POST"])
@login_required
def spot_check(county_code: str, township_code: str, period_code: str, household_code: str) -> ResponseReturnValue:
    county, township, period = _place(county_code, township_code, period_code)
    session = get_session()
    household = load(inspections.household_in_township, township, household_code)
    assignment = _writable(township, period)
    existing = inspections.get_spot_check(session, assignment, household)
    form = spot_check_form_class(period)()
    status = 200
    if request.method == "POST":
        started, replay = field.SaveOnce.start()
        if replay is not None:
            return replay  # the same save again: its first answer; the key reused: 422
    if form.validate_on_submit():
        back: dict[str, Any] = {"county_code": county.code, "township_code": township.code, "period_code": period.code}
        saved = _save_check(
            form, assignment, household, started.once(county.id, lambda _: url_for("inspection.spot_checks", **back))
        )
        if saved:
            return field.answered(saved)
        if (answer := field.refusal(saved)) is not None:
            return answer
        status = 422
    elif request.method == "POST":
        status = 422
    else:
        _fill_check_form(form, existing, assignment)
    return render_template(
        "inspection/spot_check.html",
        county=county,
        township=township,
        period=period,
        household=household,
        assignment=assignment,
        existing=existing,
        grade=inspections.grade_of(existing, period) if existing else None,
        notice=inspections.notice_of(session, existing) if existing else None,
        form=form,
        criteria=sorted(period.rubric_version.criteria, key=lambda c: c.code),
        photos=field.photos_for(spot_check=existing) if existing else [],
    ), status
