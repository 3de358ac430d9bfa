"""Rectification and accountability notices (督办 / 问责, RULES.md §9) and the problem ledger (问题台账).

An inspector of the county issues a rectification notice by hand to a village or a township
(``issue``), or one for each black-listed household of a final village period (``issue_for_black_list``,
RULES.md §6); a spot check issues one through ``issue`` too. The addressee (the village's clerk, or
the township's reviewer for a township notice) reports it rectified with a note
(``report_rectified``); an inspector accepts the report, closing the notice, or rejects it as not
done (虚假整改: open again, same deadline). A rectification notice still open at its deadline
escalates, once, to an accountability notice (``escalate_overdue``, run by ``hygiene tick``), which
is reported and decided the same way. Every change is audited on the notice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from hygiene import naming, permissions
from hygiene.enums import Grade, Level, NoticeKind, NoticeSource, NoticeState, WorkflowState
from hygiene.models import County, Notice, Period, ResultRecordHousehold, Township, User, Village, VillagePeriod
from hygiene.models._types import BEIJING_TIME, utcnow
from hygiene.services import audit
from hygiene.services.errors import Conflict, FieldErrors, NotFound, PermissionDenied, ServiceError
from hygiene.services.rating import rating, records
from hygiene.services.rating.results import RED_BLACK_SIZE

NOTICE_FIELDS = ("kind", "state", "problem", "deadline", "escalated_from_id")


def escalate_overdue(session: Session, *, now: dt.datetime | None = None) -> list[Notice]:
    """Every open rectification notice past its deadline becomes ``escalated`` and gets an
    accountability notice with the county's deadline; returns the new accountability notices.
    Idempotent: an escalated notice is no longer open."""
    now = now or utcnow()
    overdue = session.scalars(
        sa.select(Notice)
        .where(
            Notice.kind == NoticeKind.RECTIFICATION,
            Notice.state == NoticeState.OPEN,
            Notice.deadline <= now,
        )
        .order_by(Notice.id)
        .with_for_update()
    ).all()
    escalated = []
    for notice in overdue:
        before = audit.snapshot(notice, NOTICE_FIELDS)
        notice.state = NoticeState.ESCALATED
        county = session.get_one(County, notice.county_id)
        accountability = Notice(
            county_id=notice.county_id,
            period_id=notice.period_id,
            township_id=notice.township_id,
            village_id=notice.village_id,
            spot_check_id=notice.spot_check_id,
            escalated_from_id=notice.id,
            kind=NoticeKind.ACCOUNTABILITY,
            problem=notice.problem,
            responsible_person=notice.responsible_person,
            source=notice.source,  # its key stays with the rectification notice (one per source item)
            level=notice.level,  # escalated at the level that issued it
            issued_at=now,
            deadline=now + dt.timedelta(hours=county.notice_deadline_hours),
        )
        session.add(accountability)
        session.flush()
        reason = "督办通知单逾期未整改，升级为问责通知单"  # the deadline itself is in before/after
        audit.record(
            session,
            None,
            notice,
            action="escalate",
            before=before,
            after=audit.snapshot(notice, NOTICE_FIELDS),
            reason=reason,
        )
        audit.record(
            session,
            None,
            accountability,
            action="create",
            after=audit.snapshot(accountability, NOTICE_FIELDS),
            reason=reason,
        )
        escalated.append(accountability)
    return escalated


# --- issuing, reporting and deciding (issue 19) ---------------------------------------------------

PROBLEM_MAX = 1000
PERSON_MAX = 40  # the column's length
NOTE_MAX = 1000
CHANGE_FIELDS = (
    *NOTICE_FIELDS,
    "responsible_person",
    "source",
    "source_ref",
    "report_note",
    "reported_at",
    "decision_note",
    "decided_at",
    "rejections",
    "resolved_at",
    "resolution",
)


def notice_title(notice: Notice) -> str:
    """第12号督办通知单: how a message names a notice."""
    return f"第{notice.id}号{notice.kind.label}"


def get_notice(session: Session, notice_id: int) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(f"找不到编号为 {notice_id} 的通知单")
    return notice


def default_deadline(county: County, now: dt.datetime) -> dt.datetime:
    """The county's time limit for rectification (its setting, 24 hours by default) from ``now``."""
    return now + dt.timedelta(hours=county.notice_deadline_hours)


def _flush(session: Session, notice: Notice) -> None:
    title = notice_title(notice)  # read now: after a failed flush the session may not be read again
    try:
        session.flush()  # UPDATE ... WHERE version = <read>
    except StaleDataError:
        raise Conflict(f"{title}已被他人处理，请刷新后重试") from None


def _check_version(notice: Notice, expected_version: int) -> None:
    if notice.version != expected_version:
        raise Conflict(f"{notice_title(notice)}已被他人处理或修改，请刷新后重试")


def issue(
    session: Session,
    actor: User,
    county: County,
    *,
    period: Period,
    township: Township,
    village: Village | None = None,
    responsible_person: str,
    problem: str,
    deadline: dt.datetime | None = None,
    source: NoticeSource = NoticeSource.MANUAL,
    source_ref: str | None = None,
    spot_check_id: int | None = None,
    now: dt.datetime | None = None,
) -> Notice:
    """A rectification notice issued by an inspector of the county to a village or a township of it
    (``village`` None: the township itself), naming who answers for it, with a deadline (the
    county's time limit from now by default)."""
    now = now or utcnow()
    if not permissions.can_inspect_township(actor, township):
        raise PermissionDenied("只有本县督查员可以下发督办通知单")
    if township.county_id != county.id or period.county_id != county.id:
        raise NotFound("该乡镇或季度不属于本县")
    if village is not None and village.township_id != township.id:
        raise FieldErrors({"addressee": f"{village.name}不属于{township.name}"})
    person, person_problem = naming.text_field(responsible_person, "责任人", PERSON_MAX, multiline=False)
    text, problem_problem = naming.text_field(problem, "问题描述", PROBLEM_MAX, multiline=True)
    errors = {name: why for name, why in (("responsible_person", person_problem), ("problem", problem_problem)) if why}
    deadline = deadline or default_deadline(county, now)
    if deadline <= now:
        errors["deadline"] = "整改时限须晚于下发时间"
    if errors:
        raise FieldErrors(errors)
    if source_ref is not None and session.scalar(sa.select(Notice.id).where(Notice.source_ref == source_ref)):
        raise ServiceError("该问题已下发过督办通知单")
    notice = Notice(
        county_id=county.id,
        period_id=period.id,
        township_id=township.id,
        village_id=village.id if village is not None else None,
        spot_check_id=spot_check_id,
        kind=NoticeKind.RECTIFICATION,
        state=NoticeState.OPEN,
        problem=text,
        issued_at=now,
        deadline=deadline,
        responsible_person=person,
        source=source,
        source_ref=source_ref,
        level=(permissions.inspector_level(actor) or Level.COUNTY).value,
    )
    session.add(notice)
    session.flush()
    addressee = village.name if village is not None else township.name
    audit.record(
        session,
        actor,
        notice,
        action="create",
        after=audit.snapshot(notice, CHANGE_FIELDS) | {"addressee": addressee},
        reason=f"{source.label}：向{addressee}下发督办通知单",
    )
    return notice


def black_list_ref(village_period: VillagePeriod, household_code: str) -> str:
    return f"black_list:{village_period.id}:{household_code}"


def issue_for_black_list(
    session: Session, actor: User, village_period: VillagePeriod, *, now: dt.datetime | None = None
) -> list[Notice]:
    """RULES.md §6: the bottom three rated households of a final village period's record are told to
    rectify, one notice each addressed to the village (the household's head answers for it), if the
    period's settings publish the red and black list. Idempotent: a household already notified for
    this period gets no second notice; returns the notices created now."""
    now = now or utcnow()
    village = village_period.village
    county = village.township.county
    if not permissions.can_inspect_county(actor, county):
        raise PermissionDenied("只有本县督查员可以下发督办通知单")
    name = f"{village.name} {village_period.period.code}"
    if village_period.state is not WorkflowState.FINAL:
        raise ServiceError(f"{name} 现为{village_period.state.label}，定档后才有红黑榜")
    record = records.current_record(session, village_period)
    if record is None:
        raise ServiceError(f"{name} 没有公示结果")
    if not record.settings.get("red_black_list"):
        raise ServiceError(f"{name} 按本县设置不公布红黑榜")
    R = ResultRecordHousehold
    ranked = session.execute(
        sa.select(R.rank, R.household_code, R.head_name, R.group_name, R.grade, R.final_total)
        .where(R.county_id == record.county_id, R.record_id == record.id, R.rank.is_not(None))
        .order_by(R.rank, R.household_code)
    ).all()
    bottom = list(reversed(ranked[-RED_BLACK_SIZE:]))
    issued = []
    for place, (rank, code, head_name, group_name, grade, final_total) in enumerate(bottom, start=1):
        ref = black_list_ref(village_period, code)
        if session.scalar(sa.select(Notice.id).where(Notice.source_ref == ref)) is not None:
            continue
        grade_label = Grade(grade).label if grade else ""
        problem = (
            f"{village_period.period.code}黑榜户：户编号 {code}（户主 {head_name}，{group_name}），"
            f"得分 {rating.total_text(final_total or 0)}，{grade_label}，全村第{rank}名（倒数第{place}）。"
            "请村委会督促该户对照评比标准整改，并上报整改情况。"
        )
        issued.append(
            issue(
                session,
                actor,
                county,
                period=village_period.period,
                township=village.township,
                village=village,
                responsible_person=head_name[:PERSON_MAX],
                problem=problem,
                source=NoticeSource.BLACK_LIST,
                source_ref=ref,
                now=now,
            )
        )
    return issued


def can_report(user: User, notice: Notice, session: Session) -> bool:
    """The addressee reports: the village's clerk for a village notice, the township's reviewer for
    a township notice."""
    if notice.village_id is not None:
        return permissions.can_edit_village(user, session.get_one(Village, notice.village_id))
    return permissions.can_review_township(user, session.get_one(Township, notice.township_id))


def report_rectified(
    session: Session,
    actor: User,
    notice: Notice,
    expected_version: int,
    note: str,
    *,
    now: dt.datetime | None = None,
) -> Notice:
    """The addressee reports the problem rectified, saying how; the inspector then accepts or rejects
    it. Only an open notice, and a rectification notice only before its deadline: one still open at
    its deadline escalates (``escalate_overdue``)."""
    now = now or utcnow()
    if not can_report(actor, notice, session):
        raise PermissionDenied("只有通知单所发往的村委会或乡镇审核员可以上报整改情况")
    _check_version(notice, expected_version)
    if notice.state is not NoticeState.OPEN:
        raise ServiceError(f"{notice_title(notice)}现为{notice.state.label}，不能上报整改")
    if notice.kind is NoticeKind.RECTIFICATION and notice.deadline <= now:
        raise ServiceError(f"{notice_title(notice)}已过整改时限，将升级为问责通知单，请在问责通知单上上报整改")
    text, problem = naming.text_field(note, "整改情况", NOTE_MAX, multiline=True)
    if problem:
        raise FieldErrors({"note": problem})
    before = audit.snapshot(notice, CHANGE_FIELDS)
    notice.state, notice.report_note, notice.reported_at = NoticeState.RECTIFIED, text, now
    _flush(session, notice)
    audit.record(
        session, actor, notice, action="report", before=before, after=audit.snapshot(notice, CHANGE_FIELDS), reason=text
    )
    return notice


def _decide(
    session: Session,
    actor: User,
    notice: Notice,
    expected_version: int,
    note: str,
    accepted: bool,
    now: dt.datetime | None,
) -> Notice:
    now = now or utcnow()
    if not permissions.can_inspect_township(actor, session.get_one(Township, notice.township_id)):
        raise PermissionDenied("只有本县督查员可以验收整改")
    _check_version(notice, expected_version)
    if notice.state is not NoticeState.RECTIFIED:
        raise ServiceError(f"{notice_title(notice)}现为{notice.state.label}，没有待验收的整改")
    text, problem = naming.text_field(note, "验收意见" if accepted else "退回理由", NOTE_MAX, multiline=True)
    if problem:
        raise FieldErrors({"note": problem})
    before = audit.snapshot(notice, CHANGE_FIELDS)
    notice.decision_note, notice.decided_at = text, now
    if accepted:
        notice.state, notice.resolved_at, notice.resolution = NoticeState.CLOSED, now, text
    else:
        # 虚假整改: open again, with the same deadline (a rejection buys no time).
        notice.state, notice.rejections = NoticeState.OPEN, notice.rejections + 1
    _flush(session, notice)
    audit.record(
        session,
        actor,
        notice,
        action="accept" if accepted else "reject",
        before=before,
        after=audit.snapshot(notice, CHANGE_FIELDS),
        reason=text,
    )
    return notice


def accept(
    session: Session, actor: User, notice: Notice, expected_version: int, note: str, *, now: dt.datetime | None = None
) -> Notice:
    """验收通过: the reported rectification is done; the notice is closed (销号)."""
    return _decide(session, actor, notice, expected_version, note, True, now)


def reject(
    session: Session, actor: User, notice: Notice, expected_version: int, reason: str, *, now: dt.datetime | None = None
) -> Notice:
    """虚假整改: the reported rectification is not done; the notice is open again with the reason and
    its deadline unchanged, so that it escalates at the deadline as any open notice does."""
    return _decide(session, actor, notice, expected_version, reason, False, now)


# --- the problem ledger (问题台账) --------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerRow:
    notice: Notice
    period_code: str
    township_code: str
    township_name: str
    village_code: str | None
    village_name: str | None
    overdue: bool  # open at or past its deadline

    @property
    def addressee(self) -> str:
        return f"{self.township_name} {self.village_name}" if self.village_name else self.township_name


def ledger(
    session: Session,
    county: County,
    *,
    state: NoticeState | None = None,
    township: Township | None = None,
    village: Village | None = None,
    period: Period | None = None,
    now: dt.datetime | None = None,
) -> list[LedgerRow]:
    """Every notice of the county (RULES.md §9), newest first, filtered by state, township, village
    (its own notices, not the township's) and period."""
    now = now or utcnow()
    query = (
        sa.select(Notice, Period.code, Township.code, Township.name, Village.code, Village.name)
        .join(Period, Notice.period_id == Period.id)
        .join(Township, Notice.township_id == Township.id)
        .outerjoin(Village, Notice.village_id == Village.id)
        .where(Notice.county_id == county.id)
        .order_by(Notice.issued_at.desc(), Notice.id.desc())
    )
    if state is not None:
        query = query.where(Notice.state == state)
    if township is not None:
        query = query.where(Notice.township_id == township.id)
    if village is not None:
        query = query.where(Notice.village_id == village.id)
    if period is not None:
        query = query.where(Notice.period_id == period.id)
    return [
        LedgerRow(
            notice=notice,
            period_code=period_code,
            township_code=township_code,
            township_name=township_name,
            village_code=village_code,
            village_name=village_name,
            overdue=notice.state is NoticeState.OPEN and notice.deadline <= now,
        )
        for notice, period_code, township_code, township_name, village_code, village_name in session.execute(query)
    ]


def addressed_to_village(session: Session, village: Village) -> list[Notice]:
    """The village's notices, the open and reported ones first, then by deadline."""
    return _addressed(session, Notice.village_id == village.id)


def addressed_to_township(session: Session, township: Township) -> list[Notice]:
    """The notices addressed to the township itself (not to its villages)."""
    return _addressed(session, sa.and_(Notice.township_id == township.id, Notice.village_id.is_(None)))


def _addressed(session: Session, where: sa.ColumnElement[bool]) -> list[Notice]:
    waiting = sa.case((Notice.state.in_((NoticeState.OPEN, NoticeState.RECTIFIED)), 0), else_=1)
    return list(session.scalars(sa.select(Notice).where(where).order_by(waiting, Notice.deadline, Notice.id)))


def _local(moment: dt.datetime | None) -> str:
    return moment.astimezone(BEIJING_TIME).strftime("%Y-%m-%d %H:%M") if moment else ""


LEDGER_HEADER = [
    "编号", "类别", "来源", "督查层级", "季度", "乡镇", "村", "责任人", "问题", "下发时间（北京时间）",
    "整改时限（北京时间）", "状态", "逾期", "整改情况", "上报时间", "验收意见", "验收时间", "虚假整改次数", "升级自",
]  # fmt: skip


def ledger_table(rows: list[LedgerRow]) -> tuple[list[str], list[list[object]]]:
    """The ledger as the rows of a file (the writer makes every text cell text: formula-safe)."""
    return LEDGER_HEADER, [
        [
            r.notice.id,
            r.notice.kind.label,
            r.notice.source.label,
            Level(r.notice.level).label,
            r.period_code,
            r.township_name,
            r.village_name or "（乡镇本级）",
            r.notice.responsible_person or "",
            r.notice.problem,
            _local(r.notice.issued_at),
            _local(r.notice.deadline),
            r.notice.state.label,
            "是" if r.overdue else "",
            r.notice.report_note or "",
            _local(r.notice.reported_at),
            r.notice.decision_note or "",
            _local(r.notice.decided_at),
            r.notice.rejections,
            r.notice.escalated_from_id or "",
        ]
        for r in rows
    ]


# --- reading one notice and counting the open ones, for the pages (issue 19) -----------------------


def is_overdue(notice: Notice, now: dt.datetime) -> bool:
    """Open at or past its deadline (as the ledger marks it): waiting for ``hygiene tick`` to
    escalate it if a rectification notice, plain late if an accountability notice."""
    return notice.state is NoticeState.OPEN and notice.deadline <= now


def ledger_row(session: Session, notice: Notice, *, now: dt.datetime | None = None) -> LedgerRow:
    """One notice as a row of the ledger: its period and addressee by name."""
    village = session.get_one(Village, notice.village_id) if notice.village_id is not None else None
    township = session.get_one(Township, notice.township_id)
    return LedgerRow(
        notice=notice,
        period_code=session.get_one(Period, notice.period_id).code,
        township_code=township.code,
        township_name=township.name,
        village_code=village.code if village else None,
        village_name=village.name if village else None,
        overdue=is_overdue(notice, now or utcnow()),
    )


def escalated_to(session: Session, notice: Notice) -> Notice | None:
    """The accountability notice this rectification notice escalated to, if it did."""
    return session.scalar(sa.select(Notice).where(Notice.escalated_from_id == notice.id))


@dataclass(frozen=True)
class OpenCount:
    open: int  # waiting for the addressee's report
    overdue: int  # of which past the deadline


def open_count_for_village(session: Session, village: Village, *, now: dt.datetime | None = None) -> OpenCount:
    """The village's open notices, and how many of them are past their deadline."""
    return _open_count(session, Notice.village_id == village.id, now or utcnow())


def open_count_for_township(
    session: Session, township: Township, *, villages: bool, now: dt.datetime | None = None
) -> OpenCount:
    """The open notices addressed to the township itself, or (``villages``) to its villages."""
    addressee = Notice.village_id.is_not(None) if villages else Notice.village_id.is_(None)
    return _open_count(session, sa.and_(Notice.township_id == township.id, addressee), now or utcnow())


def _open_count(session: Session, where: sa.ColumnElement[bool], now: dt.datetime) -> OpenCount:
    late = sa.func.coalesce(sa.func.sum(sa.case((Notice.deadline <= now, 1), else_=0)), 0)
    count, overdue = session.execute(
        sa.select(sa.func.count(Notice.id), late).where(where, Notice.state == NoticeState.OPEN)
    ).one()
    return OpenCount(open=int(count), overdue=int(overdue))
