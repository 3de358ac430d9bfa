"""The township reviewer's area (乡镇审核员): the township's villages in a period, each village's
results from the engine, quotas, assessment, and the moves of RULES.md §5. County administrators
and inspectors of the county may look; only the township's own reviewer changes anything."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from hygiene import permissions
from hygiene.enums import Level, WorkflowState
from hygiene.io.exports import csv_bytes, xlsx_bytes
from hygiene.io.scores import format_points
from hygiene.models import Period, Plaque, Township, Village, VillagePeriod
from hygiene.services import audit
from hygiene.services.awards import plaques
from hygiene.services.rating import boards, objections, quotas, rating, results, sign_offs, workflow
from hygiene.services.setup import periods, units
from hygiene.services.supervision import accountability, consistency, notices, visits
from web.database import get_session
from web.downloads import CSV_MIMETYPE, XLSX_MIMETYPE, download
from web.handlers import load, save
from web.presentation import picked_period
from web.security import current_account, login_required, require
from web.township.forms import (
    AssessmentForm,
    MoveForm,
    ObjectionAnswerForm,
    QuotaForm,
    ReinstateForm,
    ReopenForm,
    RevokeForm,
    assessment_form_class,
)

bp = Blueprint("township", __name__, url_prefix="/township/<township_code>")

GUARDED_STATES = (WorkflowState.SUBMITTED, WorkflowState.APPROVED)  # approve and publish check first
MOVES = {
    "approve": lambda s, u, vp, v, reason: workflow.approve(s, u, vp, v, override_reason=reason),
    "return": workflow.return_for_changes,
    "unapprove": workflow.unapprove,
    "publish": lambda s, u, vp, v, reason: workflow.publish(s, u, vp, v, override_reason=reason),
    "withdraw": workflow.withdraw,
}


def _township(township_code: str, *, review: bool = False) -> Township:
    township = load(units.get_township, township_code)
    user = current_account()
    require(
        permissions.can_review_township(user, township) if review else permissions.can_view_township(user, township)
    )
    return township


def _period(township: Township, period_code: str) -> Period:
    return load(periods.get_period, township.county_id, period_code)


def _village(township: Township, village_code: str) -> Village:
    village = next((v for v in township.villages if v.code == village_code), None)
    if village is None:
        abort(404)
    return village


@bp.get("/")
@login_required
def home(township_code: str) -> str:
    township = _township(township_code)
    session = get_session()
    all_periods = units.county_periods(session, township.county_id)
    period = picked_period(all_periods)
    rows = boards.township_board(session, township, period) if period else []
    counts = ("cleanest_awarded", "clean_awarded", "cleanest_floor", "clean_floor")
    return render_template(
        "township/home.html",
        township=township,
        periods=all_periods,
        period=period,
        rows=rows,
        chart_max=max([1, *(int(row.result.get(c) or 0) for row in rows for c in counts)]),
        pending_objections=len(objections.pending_for_township(session, township)),
        own_notices=notices.open_count_for_township(session, township, villages=False),
        village_notices=notices.open_count_for_township(session, township, villages=True),
        ladder=accountability.unit_rungs(session, township.county, township=township),
        visits=visits.done_for_township(session, township),
        visit_levels={lv.value: lv.label for lv in Level},  # which level visited (issue 33)
        reviewers=consistency.reviewers(session, township, period) if period else [],
        inconsistent_points=consistency.INCONSISTENT_POINTS,
    )


@bp.get("/periods/<period_code>/ranking.<any(csv, xlsx):fmt>")
@login_required
def ranking_file(township_code: str, period_code: str, fmt: str) -> Response:
    """The township's villages in the period, ranked by assessment, as Excel or CSV (formula-safe)."""
    township = _township(township_code)
    period = _period(township, period_code)
    header, rows = results.township_ranking_table(boards.township_board(get_session(), township, period))
    name = f"{township.name}{period.code}各村评比排名"
    if fmt == "csv":
        return download(csv_bytes(header, rows), f"{name}.csv", CSV_MIMETYPE)
    return download(xlsx_bytes([("各村排名", header, rows)], title=name), f"{name}.xlsx", XLSX_MIMETYPE)


@bp.get("/periods/<period_code>/villages/<village_code>/")
@login_required
def village(township_code: str, period_code: str, village_code: str) -> str:
    """One village's period as the reviewer checks it: ranked households, quotas, assessment, moves."""
    township = _township(township_code)
    return _village_page(township, _period(township, period_code), _village(township, village_code))


def _village_page(
    township: Township,
    period: Period,
    village: Village,
    *,
    quota_form: QuotaForm | None = None,
    assessment_form: AssessmentForm | None = None,
) -> str:
    """The village page; a refused form comes back bound, with the typed values and its errors."""
    session = get_session()
    village_period = periods.village_period(session, village, period)
    problems_first = request.args.get("order") == "problems"
    review = boards.village_review(session, village_period, problems_first=problems_first) if village_period else None
    cleanest_floor, clean_floor = review.floors if review else rating.floors(session, village, period)
    if quota_form is None:
        quota = review.quota if review else None
        quota_form = QuotaForm(formdata=None)
        quota_form.cleanest_quota.data = quota.cleanest_quota if quota else cleanest_floor
        quota_form.clean_quota.data = quota.clean_quota if quota else clean_floor
        quota_form.version.data = quota.version if quota else 0
    if assessment_form is None:
        assessment_form = assessment_form_class(quotas.assessment_area_max(period))(formdata=None)
        if review is not None and review.assessment is not None:
            for area in quotas.ASSESSMENT_AREAS:
                getattr(assessment_form, area).data = format_points(getattr(review.assessment, area))
            assessment_form.notes.data = review.assessment.notes or ""
            assessment_form.version.data = review.assessment.version
    return render_template(
        "township/village.html",
        township=township,
        period=period,
        village=village,
        village_period=village_period,
        waiting_level=sign_offs.pending_level(village_period) if village_period else None,
        review=review,
        problems_first=problems_first,
        can_review=permissions.can_review_township(current_account(), township),
        floors=(cleanest_floor, clean_floor),
        quota_form=quota_form,
        assessment_form=assessment_form,
        move_form=MoveForm(formdata=None, version=village_period.version if village_period else 0),
        can_correct=permissions.can_administer_county(current_account(), township.county),
        areas=quotas.ASSESSMENT_AREAS,
        history=(
            audit.history(session, "village_period", village_period.id, county_id=village_period.county_id)
            if village_period
            else []
        ),
        shortfall_lines=(
            review.shortfalls.lines()
            if review and village_period is not None and village_period.state in GUARDED_STATES
            else []
        ),
        objections=objections.for_village_period(session, village_period) if village_period else [],
        answer_form=ObjectionAnswerForm(formdata=None, back="village"),
    )


def _village_url(township: Township, period: Period, village: Village) -> str:
    return url_for("township.village", township_code=township.code, period_code=period.code, village_code=village.code)


def _back(township: Township, period: Period, village: Village) -> ResponseReturnValue:
    return redirect(_village_url(township, period, village), 303)


def _confirm(
    title: str, lines: list[str], action: str, fields: dict[str, object], *, back: str, reason: str | None = None
) -> str:
    """The confirmation step of an irreversible action: what it will change, line by line, and the
    same form again with ``confirmed=1``; nothing is written until it is posted."""
    return render_template(
        "confirm.html", title=title, lines=lines, action=action, fields=fields, back=back, reason=reason
    )


def _publish_lines(village_period: VillagePeriod) -> list[str]:
    name = workflow.village_period_name(village_period)
    days = village_period.period.posting_days
    return [
        f"{name} 的评定结果对外公示 {days} 天：公示名单显示各户的等级、得分和表彰（户主只显示姓）",
        "公示结果存档为新的一版；公示后评分不能再修改，只能撤回公示，或由县管理员退回更正",
        "公示期满且异议处理完毕后自动定档，并按结果挂牌、摘牌",
    ]


def _withdraw_lines(village_period: VillagePeriod) -> list[str]:
    name = workflow.village_period_name(village_period)
    return [f"{name} 的公示名单撤下，退回村委会修改", "当前公示结果存档保留；再次公示时存为新的一版，并重新计算公示期"]


CONFIRMED_MOVES = {"publish": _publish_lines, "withdraw": _withdraw_lines}


def _would_go_ahead(village_period: VillagePeriod, move: str, form: MoveForm) -> bool:
    """Whether the move has what it needs to be confirmed: a refusal (no reason to withdraw, or
    shortfalls without a reason to publish despite them) is said at once, not after confirming."""
    reason = (form.reason.data or "").strip()
    if reason:
        return True
    if move == "withdraw":
        return False
    return (
        village_period.state is WorkflowState.APPROVED
        and not workflow.shortfalls(get_session(), village_period).lines()
    )


@bp.post("/periods/<period_code>/villages/<village_code>/reopen")
@login_required
def reopen(township_code: str, period_code: str, village_code: str) -> ResponseReturnValue:
    """更正 (RULES.md §5): the county administrator sends a published or final period back, after a
    confirmation step naming the record and the plaque changes it undoes."""
    township = _township(township_code)
    require(permissions.can_administer_county(current_account(), township.county))
    period, village = _period(township, period_code), _village(township, village_code)
    session = get_session()
    village_period = periods.village_period(session, village, period)
    if village_period is None:
        abort(404)
    form = ReopenForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return _back(township, period, village)
    if form.confirmed.data != "1":
        return _confirm(
            "退回更正",
            workflow.reopen_preview(session, village_period),
            url_for("township.reopen", township_code=township.code, period_code=period.code, village_code=village.code),
            {"version": form.version.data, "reason": form.reason.data or ""},
            back=_village_url(township, period, village),
            reason=form.reason.data,
        )
    save(
        lambda session: workflow.reopen(
            session, current_account(), village_period, form.version.data, form.reason.data or ""
        ),
        done=f"{village.name} {period.code} 已退回村委会更正",
    )
    return _back(township, period, village)


def _reviewed(township_code: str, period_code: str, village_code: str) -> tuple[Township, Period, Village]:
    township = _township(township_code, review=True)
    return township, _period(township, period_code), _village(township, village_code)


def _opened(village: Village, period: Period) -> VillagePeriod:
    return periods.open_village_period(get_session(), village, period)


def _form_errors(
    form: QuotaForm | AssessmentForm | MoveForm | ObjectionAnswerForm | ReopenForm | RevokeForm | ReinstateForm,
) -> str:
    return "；".join(f"{getattr(form, name).label.text}：{e}" for name, errors in form.errors.items() for e in errors)


@bp.post("/periods/<period_code>/villages/<village_code>/quotas")
@login_required
def set_quotas(township_code: str, period_code: str, village_code: str) -> ResponseReturnValue:
    township, period, village = _reviewed(township_code, period_code, village_code)
    form = QuotaForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
    elif not save(
        lambda session: quotas.set_quotas(
            session,
            current_account(),
            _opened(village, period),
            cleanest_quota=form.cleanest_quota.data or 0,
            clean_quota=form.clean_quota.data or 0,
            expected_version=form.version.data,
        ),
        done=f"已保存 {village.name} 的名额",
        form=form,
    ).field_errors:
        return _back(township, period, village)
    return _village_page(township, period, village, quota_form=form), 422


@bp.post("/periods/<period_code>/villages/<village_code>/assessment")
@login_required
def set_assessment(township_code: str, period_code: str, village_code: str) -> ResponseReturnValue:
    township, period, village = _reviewed(township_code, period_code, village_code)
    form = assessment_form_class(quotas.assessment_area_max(period))()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return _village_page(township, period, village, assessment_form=form), 422
    areas: dict[str, int] = {area: getattr(form, area).tenths for area in quotas.ASSESSMENT_AREAS}
    save(
        lambda session: quotas.set_assessment(
            session,
            current_account(),
            _opened(village, period),
            areas,
            notes=form.notes.data,
            expected_version=form.version.data,
        ),
        done=f"已保存 {village.name} 的考核分",
    )
    return _back(township, period, village)


@bp.post("/periods/<period_code>/villages/<village_code>/<move>")
@login_required
def move(township_code: str, period_code: str, village_code: str, move: str) -> ResponseReturnValue:
    """approve, return (with a reason), unapprove (with a reason), publish or withdraw (with a reason)."""
    if move not in MOVES:
        abort(404)
    township, period, village = _reviewed(township_code, period_code, village_code)
    session = get_session()
    village_period = periods.village_period(session, village, period)
    form = MoveForm()
    if village_period is None:
        abort(404)
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
        return _back(township, period, village)
    action = MOVES[move]
    if move in CONFIRMED_MOVES and form.confirmed.data != "1" and _would_go_ahead(village_period, move, form):
        return _confirm(
            workflow.MOVE_LABELS[move],
            CONFIRMED_MOVES[move](village_period),
            url_for(
                "township.move",
                township_code=township.code,
                period_code=period.code,
                village_code=village.code,
                move=move,
            ),
            {"version": form.version.data, "reason": form.reason.data or ""},
            back=_village_url(township, period, village),
            reason=form.reason.data if move == "withdraw" else None,
        )
    save(
        lambda session: action(session, current_account(), village_period, form.version.data, form.reason.data or ""),
        done=f"{village.name} {period.code} 已{workflow.MOVE_LABELS[move]}",
    )
    return _back(township, period, village)


# --- objections (异议, RULES.md §6) -----------------------------------------------------------------


@bp.get("/objections")
@login_required
def objection_list(township_code: str) -> str:
    """The township's open objections, the oldest first; its reviewer answers each here."""
    township = _township(township_code)
    return render_template(
        "township/objections.html",
        township=township,
        objections=objections.pending_for_township(get_session(), township),
        answer_form=ObjectionAnswerForm(formdata=None, back="list"),
        can_review=permissions.can_review_township(current_account(), township),
    )


@bp.post("/objections/<int:objection_id>")
@login_required
def answer_objection(township_code: str, objection_id: int) -> ResponseReturnValue:
    """Uphold or dismiss one objection with a public reply; upholding returns the village period."""
    township = _township(township_code, review=True)
    objection = load(
        objections.get_objection, objection_id, belongs=lambda o: o.village_period.village.township_id == township.id
    )
    village_period = objection.village_period
    form = ObjectionAnswerForm()
    code = objection.household.code
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
    elif form.decision.data == "uphold":
        save(
            lambda session: objections.uphold(
                session, current_account(), objection, form.version.data, form.reply.data or ""
            ),
            form=form,
            done=f"已采纳对 {code} 的异议，{village_period.village.name} {village_period.period.code} 已退回村委会更正",
        )
    else:
        save(
            lambda session: objections.dismiss(
                session, current_account(), objection, form.version.data, form.reply.data or ""
            ),
            form=form,
            done=f"已答复对 {code} 的异议（不予采纳）",
        )
    if form.back.data == "village":
        return _back(township, village_period.period, village_period.village)
    return redirect(url_for("township.objection_list", township_code=township.code), 303)


# --- the plaque register ---------------------------------------------------------------------------


@bp.get("/plaques/")
@login_required
def plaque_register(township_code: str) -> str:
    """Who in the township holds which plaque, since when; revoked plaques with their reason."""
    township = _township(township_code)
    village = _village(township, request.args["village"]) if request.args.get("village") else None
    rows = plaques.register(get_session(), township.county, township=township, village=village)
    return render_template("township/plaques.html", township=township, village=village, rows=rows)


@bp.get("/plaques.<any(csv, xlsx):fmt>")
@login_required
def plaque_file(township_code: str, fmt: str) -> Response:
    """The township's (or one village's) plaque register as a file."""
    township = _township(township_code)
    village = _village(township, request.args["village"]) if request.args.get("village") else None
    header, rows = plaques.register_table(
        plaques.register(get_session(), township.county, township=township, village=village)
    )
    name = f"{township.name}{village.name if village else ''}挂牌台账"
    if fmt == "csv":
        return download(csv_bytes(header, rows), f"{name}.csv", CSV_MIMETYPE)
    return download(xlsx_bytes([("挂牌台账", header, rows)], title=name), f"{name}.xlsx", XLSX_MIMETYPE)


@bp.get("/plaques/<serial>")
@login_required
def plaque(township_code: str, serial: str) -> str:
    """One plaque's history; an inspector or the county administrator may revoke it here."""
    township = _township(township_code)
    found = _plaque(township, serial)
    return render_template(
        "township/plaque.html",
        township=township,
        plaque=found,
        form=RevokeForm(formdata=None, version=found.version),
        reinstate_form=ReinstateForm(formdata=None, version=found.version),
        can_revoke=permissions.can_revoke_plaques(current_account(), township.county),
        revoked_in_cycle=found.state.value == "revoked" and plaques.revoked_in_cycle(get_session(), found),
    )


@bp.post("/plaques/<serial>/revoke")
@login_required
def revoke_plaque(township_code: str, serial: str) -> ResponseReturnValue:
    township = _township(township_code)
    found = _plaque(township, serial)
    form = RevokeForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
    elif form.confirmed.data != "1" and permissions.can_revoke_plaques(current_account(), township.county):
        return _confirm(
            f"摘牌 {serial}",
            _revoke_lines(found),
            url_for("township.revoke_plaque", township_code=township.code, serial=serial),
            {"version": form.version.data, "reason": form.reason.data or ""},
            back=url_for("township.plaque", township_code=township.code, serial=serial),
            reason=form.reason.data,
        )
    else:
        save(
            lambda session: plaques.revoke(
                session,
                current_account(),
                found,
                reason=form.reason.data or "",
                expected_version=form.version.data,
            ),
            done=f"已摘牌 {serial}",
        )
    return redirect(url_for("township.plaque", township_code=township.code, serial=serial), 303)


def _revoke_lines(plaque: Plaque) -> list[str]:
    household = plaque.household
    wait = plaque.household.group.village.township.county.plaque_wait_periods
    return [
        f"牌匾 {plaque.serial}（{household.code} {household.head_name}，{plaque.level.label}）摘除，此编号不再使用",
        "该户的卫生星随之撤销（五星以上、十星级资格随之失去）",
        f"摘牌后 {wait} 个季度内再评上，只表彰、不挂牌" if wait else "下次评上可重新挂牌（新编号）",
        "如系误摘，可由督查员或县管理员在本页恢复",
    ]


@bp.post("/plaques/<serial>/reinstate")
@login_required
def reinstate_plaque(township_code: str, serial: str) -> ResponseReturnValue:
    """Undo a revocation made outside the cycle by mistake (a wrong spot check)."""
    township = _township(township_code)
    found = _plaque(township, serial)
    form = ReinstateForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "error")
    else:
        save(
            lambda session: plaques.reinstate(
                session, current_account(), found, reason=form.reason.data or "", expected_version=form.version.data
            ),
            done=f"已恢复牌匾 {serial}",
        )
    return redirect(url_for("township.plaque", township_code=township.code, serial=serial), 303)


def _plaque(township: Township, serial: str) -> Plaque:
    def in_township(plaque: Plaque) -> bool:
        return plaque.household.group.village.township_id == township.id

    return load(plaques.get_plaque, township.county, serial, belongs=in_township)
