"""A period's results as people read them: the public list of a published village period
(RULES.md §6), read from its record, and the results tables of ``hygiene results``
(INTERCHANGE.md §3): the record for published and final village periods, computed now otherwise."""

from __future__ import annotations

import datetime as dt
import functools
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session, undefer

from hygiene.enums import AwardLevel, Grade, PlaqueState, WorkflowState
from hygiene.io.scores import points_number
from hygiene.models import (
    County,
    Objection,
    Period,
    Plaque,
    ResultRecord,
    ResultRecordHousehold,
    RubricCriterion,
    Village,
    VillagePeriod,
)
from hygiene.models._types import utcnow
from hygiene.services.errors import NotFound, ServiceError
from hygiene.services.rating import objections, rating, records
from hygiene.services.rating.boards import TownshipRow
from hygiene.services.rating.records import PUBLIC_STATES, PostedRow, mask_name
from hygiene.services.setup import periods, units

RED_BLACK_SIZE = 3


@dataclass(frozen=True)
class PublicList:
    village: Village
    period: Period
    village_period: VillagePeriod
    state: WorkflowState
    record: ResultRecord
    rows: list[PostedRow]  # empty when not asked for and the record stores its rows' markup
    red_list: list[PostedRow]
    black_list: list[PostedRow]
    rows_html: str  # every row as the page shows it (records.rows_html): as stored, or rendered now
    groups: list[str]  # the villager groups of the listed households, by name (records.groups_of)
    corrects: int | None = None  # the version this one corrects (更正, RULES.md §5)

    def days_left(self, now: dt.datetime | None = None) -> int | None:
        """Whole days (rounded up) until the posting period ends; None once it has (or when final)."""
        ends = self.village_period.posting_ends_at
        if self.state is not WorkflowState.PUBLISHED or ends is None:
            return None
        left = (ends - (now or utcnow())).total_seconds()
        return math.ceil(left / 86400) if left > 0 else None


def normalized_query(text: str) -> str:
    """A search as typed on a phone: full-width characters folded (ＮＦＫＣ), spaces and the mask's
    stars dropped, so "张**", "张" and "５２０９…" all mean what they look like."""
    return unicodedata.normalize("NFKC", text).replace("*", "").replace(" ", "").strip()


def search_rows(rows: list[PostedRow], query: str = "", group: str = "") -> list[PostedRow]:
    """The rows a resident looks for: by household code (any part of it), by surname (the masked
    name, the only name the public list shows) and by villager group."""
    wanted = normalized_query(query)
    found = [row for row in rows if not group or row.group_name == group]
    if not wanted:
        return found
    return [row for row in found if wanted in row.household_code or row.masked_name.startswith(wanted)]


PUBLIC_LIST_HEADER = ["名次", "户编号", "户主", "村民组", "得分", "等级", "表彰"]


def public_list_table(posted: PublicList) -> tuple[list[str], list[list[object]]]:
    """The posted list as the rows of a file: what the page shows (surnames only), nothing more."""
    return PUBLIC_LIST_HEADER, [
        [
            r.rank,
            r.household_code,
            r.masked_name,
            r.group_name,
            points_number(r.final_tenths),
            r.grade.label,
            r.award.label if r.award else "",
        ]
        for r in posted.rows
    ]


TOWNSHIP_RANKING_HEADER = [
    "名次", "村代码", "村", "状态", "户数", "已评定",
    "最清洁户评出", "最清洁户名额", "最清洁户下限", "清洁户评出", "清洁户名额", "清洁户下限",
    "比例达标", "考核分", "考核结果",
]  # fmt: skip


def township_ranking_table(board: Sequence[TownshipRow]) -> tuple[list[str], list[list[object]]]:
    """A township's villages in a period as a file, ranked by their assessment score (RULES.md §2:
    80 completes the quarter), ties and unassessed villages by code, each with its awards against
    quotas and floors as the township board shows them."""

    def key(row: TownshipRow) -> tuple[int, str]:
        return (-(row.assessment.total_tenths()) if row.assessment else 1, row.village.code)

    lines: list[list[object]] = []
    for rank, row in enumerate(sorted(board, key=key), start=1):
        r = row.result
        counts: list[object] = (
            [r.get(k) for k in ("households", "rated", "cleanest_awarded", "cleanest_quota", "cleanest_floor")]
            + [r.get(k) for k in ("clean_awarded", "clean_quota", "clean_floor")]
            if r and not row.refused
            else [None] * 8
        )
        met = "" if not r or row.refused else ("达标" if r.get("meets_ratios") else "未达标")
        score = points_number(row.assessment.total_tenths()) if row.assessment else None
        passed = "" if row.assessment_passed is None else ("合格" if row.assessment_passed else "未达80分")
        state = row.state.label if row.village_period else "未开始"
        lines.append(
            [rank if row.assessment else None, row.village.code, row.village.name, state, *counts, met, score, passed]
        )
    return TOWNSHIP_RANKING_HEADER, lines


def public_version(session: Session, village_code: str, period_code: str) -> tuple[object, ...] | None:
    """What a village period's public list shows changes with, in one small query: its current record,
    its state (final adds the red and black list), its posting end and its objections (each change to
    one bumps its version). None when nothing is posted, so the page is "not found" without more work.

    Asked on every view of a cached list (web/public/cache.py), so the statement is built once and
    run on the session's connection without the ORM layer (issue 34)."""
    found = (
        session.connection()
        .execute(_public_version_statement(), {"village_code": village_code, "period_code": period_code})
        .first()
    )
    if found is None or found[1] not in PUBLIC_STATES or found[3] is None:
        return None
    return tuple(found)


def version_has_objections(version: tuple[object, ...]) -> bool:
    """Whether a ``public_version`` counted any objection: without one, a page need not read them."""
    return bool(version[4])


@functools.cache
def _public_version_statement() -> sa.Select[Any]:
    record = (
        sa.select(ResultRecord.id)
        .where(ResultRecord.village_period_id == VillagePeriod.id, ResultRecord.superseded_at.is_(None))
        .scalar_subquery()
    )
    objections = (
        sa.select(sa.func.count(Objection.id) + sa.func.coalesce(sa.func.sum(Objection.version), 0) * 1_000_000)
        .where(Objection.village_period_id == VillagePeriod.id)
        .scalar_subquery()
    )
    return (
        sa.select(VillagePeriod.id, VillagePeriod.state, VillagePeriod.posting_ends_at, record, objections)
        .join(Village, VillagePeriod.village_id == Village.id)
        .join(Period, VillagePeriod.period_id == Period.id)
        .where(Village.code == sa.bindparam("village_code"), Period.code == sa.bindparam("period_code"))
    )


def public_list(session: Session, village: Village, period_code: str, *, read_rows: bool = True) -> PublicList:
    """The posted list of a published or final village period, in ranking order, exactly as it was
    posted. A period not yet published is "not found": the public never sees a list before the
    township publishes it.

    With ``read_rows=False`` (the unsearched page) the rows are not read when the record stores their
    markup (``records.stored_public_rows``, issue 34): the page shows ``rows_html`` and ``groups``."""
    found = _posted(session, period_code, Village.id == village.id)
    if found is None:
        periods.get_period(session, village.county_id, period_code)  # "not found" names a period that is not
        raise NotFound(f"{village.name} {period_code} 尚未公示")
    return _public_list(session, *found, read_rows=read_rows)


def public_list_of(session: Session, village_code: str, period_code: str, *, read_rows: bool = True) -> PublicList:
    """``public_list`` of the village by its code, the village read in the same statement (the list's
    page: a first view of a list is the public site's costliest request, issue 34)."""
    found = _posted(session, period_code, Village.code == village_code)
    if found is None:
        return public_list(session, units.get_village(session, village_code), period_code, read_rows=read_rows)
    return _public_list(session, *found, read_rows=read_rows)


def _posted(
    session: Session, period_code: str, village_is: sa.ColumnElement[bool]
) -> tuple[Village, VillagePeriod, Period, ResultRecord] | None:
    """The village, its period of that code (in the village's county), the village's period and its
    current record, in one statement, if the period is published or final."""
    rating.parse_period_code(period_code)
    found = session.execute(
        sa.select(Village, VillagePeriod, Period, ResultRecord)
        .join(VillagePeriod, VillagePeriod.village_id == Village.id)
        .join(Period, sa.and_(VillagePeriod.period_id == Period.id, Period.county_id == Village.county_id))
        .join(
            ResultRecord,
            sa.and_(
                ResultRecord.county_id == VillagePeriod.county_id,
                ResultRecord.village_period_id == VillagePeriod.id,
                ResultRecord.superseded_at.is_(None),
            ),
        )
        .where(village_is, Period.code == period_code, VillagePeriod.state.in_(PUBLIC_STATES))
        .options(undefer(ResultRecord.public_rows))
    ).first()
    if found is None:
        return None
    village, village_period, period, record = found
    return village, village_period, period, record


def _public_list(
    session: Session,
    village: Village,
    village_period: VillagePeriod,
    period: Period,
    record: ResultRecord,
    *,
    read_rows: bool,
) -> PublicList:
    stored = records.stored_public_rows(record)
    rows = records.posted_rows(session, record) if read_rows or stored is None else []
    rows_html, groups = stored if stored is not None else (records.rows_html(rows), records.groups_of(rows))
    # RULES.md §6: the red and black list of a final period, if the period's settings show it.
    show_red_black = village_period.state is WorkflowState.FINAL and record.settings["red_black_list"]
    if not show_red_black:
        red_list, black_list = [], []
    elif rows:
        red_list, black_list = rows[:RED_BLACK_SIZE], list(reversed(rows[-RED_BLACK_SIZE:]))
    else:
        red_list = records.posted_rows(session, record, first=RED_BLACK_SIZE)
        black_list = records.posted_rows(session, record, last=RED_BLACK_SIZE)
    return PublicList(
        village=village,
        period=period,
        village_period=village_period,
        state=village_period.state,
        record=record,
        rows=rows,
        red_list=red_list,
        black_list=black_list,
        rows_html=rows_html,
        groups=groups,
        corrects=records.corrected_number(session, record),
    )


def period_results(
    session: Session, period_code: str, village_code: str | None = None, *, county_code: str | None = None
) -> tuple[pa.Table, pa.Table]:
    """A period's results for one village or for the whole county (``hygiene results``); with
    ``county_code``, that county's, where several counties share the database."""
    rating.parse_period_code(period_code)
    if village_code is not None:
        village = session.scalar(sa.select(Village).where(Village.code == village_code))
        if village is None:
            raise NotFound(f"找不到编码为 {village_code} 的村")
        period = periods.get_period(session, village.township.county_id, period_code)
        return rating.results(session, period, [village.id])
    find = sa.select(Period).where(Period.code == period_code)
    if county_code is not None:
        find = find.join(County, Period.county_id == County.id).where(County.code == county_code)
    matching = list(session.scalars(find))
    if not matching:
        where = "" if county_code is None else f"县 {county_code} 的"
        raise NotFound(f"{where}季度 {period_code} 不存在")
    if len(matching) > 1:
        raise ServiceError(f"有{len(matching)}个县都有季度 {period_code}：请用 --county 指定县或用 --village 指定村")
    period = matching[0]
    village_ids = list(session.scalars(sa.select(Village.id).where(Village.county_id == period.county_id)))
    return rating.results(session, period, village_ids)


# --- a household's public page --------------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdPeriod:
    """One posted period of a household: what its public list said."""

    period_code: str
    state: WorkflowState
    objections_open: bool  # its posting period runs: the result may be objected to now
    record_number: int
    grade: Grade | None
    final_total: str | None
    rank: int | None
    award: AwardLevel | None


@dataclass(frozen=True)
class CriterionLine:
    """One criterion of the household's group review beside the maximum, the village's average
    group-review score on it and the household's peer-review mean (RULES.md §3)."""

    label: str
    max_points: str
    score: str | None
    village_average: str | None
    peer_mean: str | None
    below_average: bool


@dataclass(frozen=True)
class PlaqueStatus:
    level: AwardLevel
    valid: bool
    issued_period_code: str
    revoked_on: dt.datetime | None


@dataclass(frozen=True)
class PublicHousehold:
    village: Village
    household_code: str
    masked_name: str
    group_name: str
    history: list[HouseholdPeriod]  # newest first
    latest_period_code: str
    criteria: list[CriterionLine]  # of the newest posted period; empty if it was not rated
    plaque: PlaqueStatus | None


def _points(tenths: float | None) -> str | None:
    return None if tenths is None else rating.total_text(round(tenths))


def public_household(session: Session, village: Village, household_code: str) -> PublicHousehold:
    """What residents may read about one household of a village (RULES.md §6): its grade in each
    posted period, the newest group review criterion by criterion against the maximum, the village's
    average and its peer-review means, so that a family sees what to improve, and its plaque. Only
    the periods whose posted list names it (rated) count, and a household on none is "not found";
    nothing private (no full name, no reviewer)."""
    posted = session.execute(
        sa.select(ResultRecordHousehold, ResultRecord, VillagePeriod)
        .join(ResultRecordHousehold.record)
        .join(VillagePeriod, ResultRecord.village_period_id == VillagePeriod.id)
        .where(
            VillagePeriod.village_id == village.id,
            VillagePeriod.state.in_(PUBLIC_STATES),
            ResultRecord.superseded_at.is_(None),
            ResultRecordHousehold.household_code == household_code,
            ResultRecordHousehold.rank.is_not(None),  # the public lists name rated households only
        )
        .order_by(ResultRecord.period_code.desc())
    ).all()
    if not posted:
        raise NotFound(f"{village.name} 没有户编号为 {household_code} 的公示结果")
    latest_row, latest_record, _ = posted[0]
    history = [
        HouseholdPeriod(
            period_code=record.period_code,
            state=village_period.state,
            objections_open=objections.posting_open(village_period),
            record_number=record.number,
            grade=row.grade,
            final_total=None if row.final_total is None else rating.total_text(row.final_total),
            rank=row.rank,
            award=row.award,
        )
        for row, record, village_period in posted
    ]
    return PublicHousehold(
        village=village,
        household_code=household_code,
        masked_name=mask_name(latest_row.head_name),
        group_name=latest_row.group_name,
        history=history,
        latest_period_code=latest_record.period_code,
        criteria=_criterion_lines(session, latest_record, latest_row),
        plaque=_plaque_status(session, latest_row.household_id),
    )


def _criterion_lines(session: Session, record: ResultRecord, row: ResultRecordHousehold) -> list[CriterionLine]:
    if row.group_scores is None:
        return []
    criteria = list(
        session.scalars(
            sa.select(RubricCriterion)
            .where(RubricCriterion.rubric_version_id == record.rubric_version_id)
            .order_by(RubricCriterion.code)
        )
    )
    reviewed: list[list[int]] = [
        scores
        for scores in session.scalars(
            sa.select(ResultRecordHousehold.group_scores).where(
                ResultRecordHousehold.county_id == record.county_id, ResultRecordHousehold.record_id == record.id
            )
        )
        if scores is not None
    ]
    lines = []
    for i, criterion in enumerate(criteria):
        average = sum(scores[i] for scores in reviewed) / len(reviewed) if reviewed else None
        score = row.group_scores[i]
        lines.append(
            CriterionLine(
                label=criterion.label,
                max_points=rating.total_text(criterion.max_tenths),
                score=rating.total_text(score),
                village_average=_points(average),
                peer_mean=_points(row.peer_means[i]) if row.peer_means else None,
                below_average=average is not None and score < average,
            )
        )
    return lines


def _plaque_status(session: Session, household_id: int) -> PlaqueStatus | None:
    """The household's valid plaque, else its most recently revoked one, else none."""
    plaque = session.scalar(
        sa.select(Plaque)
        .where(Plaque.household_id == household_id)
        .order_by((Plaque.state == PlaqueState.VALID).desc(), Plaque.issued_at.desc())
        .limit(1)
    )
    if plaque is None:
        return None
    issued = session.get(Period, plaque.issued_period_id)
    return PlaqueStatus(
        level=plaque.level,
        valid=plaque.state is PlaqueState.VALID,
        issued_period_code=issued.code if issued else "",
        revoked_on=plaque.revoked_at,
    )


# --- the county's results as a file (issue 30) -------------------------------------------------------

COUNTY_VILLAGE_HEADER = [
    "乡镇代码", "乡镇", "村代码", "村", "公示版本", "户数", "已评定", "最清洁", "清洁", "较清洁", "不清洁",
    "最清洁户评出", "清洁户评出", "比例达标",
]  # fmt: skip
COUNTY_HOUSEHOLD_HEADER = [
    "乡镇", "村", "村民组", "户编号", "户主", "自评得分", "互评得分", "互评户数", "最终得分", "等级", "名次", "表彰",
]  # fmt: skip


def county_results_sheets(
    session: Session, county: County, period: Period
) -> list[tuple[str, list[str], list[list[object]]]]:
    """Every published or final village of the county in the period, as posted (its current
    record): one sheet of villages, one of households; scores are numbers."""
    villages = session.scalars(sa.select(Village).where(Village.county_id == county.id).order_by(Village.code)).all()
    posted = records.current_records(session, period, [v.id for v in villages])
    village_rows: list[list[object]] = []
    household_rows: list[list[object]] = []
    for village in villages:
        record = posted.get(village.id)
        if record is None:
            continue
        village_rows.append(
            [
                record.township_code, record.township_name, record.village_code, record.village_name, record.number,
                record.households, record.rated, record.cleanest, record.clean, record.fairly_clean,
                record.not_clean, record.cleanest_awarded, record.clean_awarded, "是" if record.meets_ratios else "否",
            ]
        )  # fmt: skip
        for row in record.rows:
            household_rows.append(
                [
                    record.township_name, record.village_name, row.group_name, row.household_code, row.head_name,
                    points_number(row.self_total), points_number(row.peer_total), row.peer_count,
                    points_number(row.final_total), row.grade.label if row.grade else "未评定", row.rank,
                    row.award.label if row.award else "",
                ]
            )  # fmt: skip
    return [("各村结果", COUNTY_VILLAGE_HEADER, village_rows), ("各户结果", COUNTY_HOUSEHOLD_HEADER, household_rows)]
