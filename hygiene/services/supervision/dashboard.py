"""The county dashboard (RULES.md §9, issue 19): the figures behind its charts, one function per
chart, each returning plain dataclasses that a page draws and tabulates.

Every figure is read from what the other services already keep, never recomputed by other rules:
grades from the posted records (``records``), coverage from ``rollout.coverage``, the villages short
of the award ratios by the shortfall rule the workflow's guards use (``rating.Shortfalls``),
warnings from ``ranking.ranking``, notices from ``notices.ledger``, and the method's health from the
workflow's own time stamps, the audit log of its moves and the plaques. Shares are exact fractions
shown as percentages with one decimal, rounded half-up; a share with nothing to divide by is None.
The definitions chosen where the issue left room are in docs/decisions.md ("County dashboard").
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from hygiene.enums import Grade, NoticeState, WorkflowState
from hygiene.models import (
    AuditEntry,
    County,
    Period,
    Plaque,
    ResultRecord,
    ResultRecordHousehold,
    Township,
    Village,
    VillagePeriod,
)
from hygiene.models._types import utcnow
from hygiene.services.rating import rating
from hygiene.services.rating.records import PUBLIC_STATES
from hygiene.services.setup import rollout, units
from hygiene.services.supervision import notices, ranking

# The workflow moves that send a village period back to its clerk (RULES.md §5): a village that went
# through one of them in a period was not approved at the first pass.
RETURN_ACTIONS = ("return", "withdraw", "return_on_objection")
# The village periods whose shortfalls the dashboard shows: handed in (their data locked) or posted.
HANDED_IN_STATES = (WorkflowState.SUBMITTED, WorkflowState.APPROVED, *PUBLIC_STATES)


def percent(part: int, whole: int) -> Decimal | None:
    """``part / whole`` as a percentage with one decimal, rounded half-up; None when ``whole`` is 0."""
    if not whole:
        return None
    share = Fraction(part * 100, whole)
    return (Decimal(share.numerator) / Decimal(share.denominator)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _townships(session: Session, county: County) -> list[Township]:
    return list(session.scalars(sa.select(Township).where(Township.county_id == county.id).order_by(Township.code)))


def _periods_up_to(session: Session, county: County, period: Period) -> list[Period]:
    """The county's periods up to and including ``period``, the oldest first."""
    return [p for p in reversed(units.county_periods(session, county.id)) if p.code <= period.code]


# --- 1. grade distribution by township --------------------------------------------------------------


@dataclass(frozen=True)
class TownshipGrades:
    """A township's households on the period's posted lists, by grade (未评: on the list, not rated)."""

    code: str
    name: str
    cleanest: int
    clean: int
    fairly_clean: int
    not_clean: int
    unrated: int
    villages_posted: int

    @property
    def households(self) -> int:
        return self.cleanest + self.clean + self.fairly_clean + self.not_clean + self.unrated


def grade_distribution(session: Session, county: County, period: Period) -> list[TownshipGrades]:
    """Every township of the county by code, with the grades of the households of its villages'
    current records of the period (published or final); a township with none posted has zeros."""
    found = session.execute(
        sa.select(Township.id, ResultRecordHousehold.grade, sa.func.count(ResultRecordHousehold.id))
        .join(ResultRecordHousehold.record)
        .join(VillagePeriod, ResultRecord.village_period_id == VillagePeriod.id)
        .join(Village, VillagePeriod.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .where(*_posted(county, period))
        .group_by(Township.id, ResultRecordHousehold.grade)
    )
    counts: dict[int, Counter[Grade | None]] = {}
    for township_id, grade, n in found:
        counts.setdefault(township_id, Counter())[grade] = n
    posted = dict(
        session.execute(
            sa.select(Township.id, sa.func.count(VillagePeriod.id))
            .join(ResultRecord, ResultRecord.village_period_id == VillagePeriod.id)
            .join(Village, VillagePeriod.village_id == Village.id)
            .join(Township, Village.township_id == Township.id)
            .where(*_posted(county, period))
            .group_by(Township.id)
        ).all()
    )
    lines = []
    for township in _townships(session, county):
        c = counts.get(township.id, Counter())
        lines.append(
            TownshipGrades(
                code=township.code,
                name=township.name,
                cleanest=c[Grade.CLEANEST],
                clean=c[Grade.CLEAN],
                fairly_clean=c[Grade.FAIRLY_CLEAN],
                not_clean=c[Grade.NOT_CLEAN],
                unrated=c[None],
                villages_posted=posted.get(township.id, 0),
            )
        )
    return lines


def _posted(county: County, period: Period) -> tuple[sa.ColumnElement[bool], ...]:
    """The current records of the county's published or final village periods of ``period``."""
    return (
        Township.county_id == county.id,
        VillagePeriod.period_id == period.id,
        VillagePeriod.state.in_(PUBLIC_STATES),
        ResultRecord.superseded_at.is_(None),
    )


# --- 2. trend by period -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodTrend:
    """The county's posted lists of one period: households listed, rated, graded cleanest and clean."""

    period_code: str
    households: int
    rated: int
    cleanest: int
    clean: int

    @property
    def rated_percent(self) -> Decimal | None:
        return percent(self.rated, self.households)

    @property
    def cleanest_percent(self) -> Decimal | None:
        """Share of the rated households graded cleanest."""
        return percent(self.cleanest, self.rated)

    @property
    def clean_percent(self) -> Decimal | None:
        """Share of the rated households graded clean (not counting cleanest)."""
        return percent(self.clean, self.rated)


def trend(session: Session, county: County, period: Period) -> list[PeriodTrend]:
    """Each period up to ``period``, the oldest first, summed over the current records of its
    published or final village periods (a period with none posted has zeros)."""
    sums = {
        period_id: (households, rated, cleanest, clean)
        for period_id, households, rated, cleanest, clean in session.execute(
            sa.select(
                VillagePeriod.period_id,
                sa.func.sum(ResultRecord.households),
                sa.func.sum(ResultRecord.rated),
                sa.func.sum(ResultRecord.cleanest),
                sa.func.sum(ResultRecord.clean),
            )
            .join(ResultRecord, ResultRecord.village_period_id == VillagePeriod.id)
            .join(Village, VillagePeriod.village_id == Village.id)
            .join(Township, Village.township_id == Township.id)
            .where(
                Township.county_id == county.id,
                VillagePeriod.state.in_(PUBLIC_STATES),
                ResultRecord.superseded_at.is_(None),
            )
            .group_by(VillagePeriod.period_id)
        )
    }
    return [
        PeriodTrend(p.code, *(int(n or 0) for n in sums.get(p.id, (0, 0, 0, 0))))
        for p in _periods_up_to(session, county, period)
    ]


# --- 3. coverage against the plan by township ------------------------------------------------------


@dataclass(frozen=True)
class TownshipCoverage:
    """A township's coverage in the period's year (RULES.md §9) against the cumulative plan."""

    code: str
    name: str
    year: int
    households: int
    rated: int  # rated at least once by the end of the year (published or final lists)
    planned_percent: int | None  # None: the plan has no such year (and then no figures: 0 and 0)

    @property
    def coverage_percent(self) -> Decimal | None:
        return percent(self.rated, self.households)

    @property
    def on_target(self) -> bool | None:
        """Coverage ≥ plan, compared exactly (``rollout.CoverageYear.on_target``)."""
        if self.planned_percent is None or not self.households:
            return None
        return self.rated * 100 >= self.planned_percent * self.households


def coverage_by_township(
    session: Session, county: County, period: Period, by_year: dict[int, list[rollout.CoverageYear]] | None = None
) -> list[TownshipCoverage]:
    """Every township by code, its line of ``rollout.coverage`` for the period's year; ``by_year``
    is that coverage per township id when the caller already has it."""
    year = rating.period_year(period.code)
    lines = []
    for township in _townships(session, county):
        years = by_year[township.id] if by_year is not None else rollout.coverage(session, county, township)
        line = next((y for y in years if y.year == year), None)
        lines.append(
            TownshipCoverage(
                code=township.code,
                name=township.name,
                year=year,
                households=line.households if line else 0,
                rated=line.rated if line else 0,
                planned_percent=line.planned_percent if line else None,
            )
        )
    return lines


def coverage_years(session: Session, county: County) -> dict[int, list[rollout.CoverageYear]]:
    """``rollout.coverage`` of each township, by township id: read once for coverage and warnings."""
    return {t.id: rollout.coverage(session, county, t) for t in _townships(session, county)}


# --- 4. villages short of the award ratios ---------------------------------------------------------


@dataclass(frozen=True)
class VillageShortfall:
    """A village of the period whose results fall short of the ratio floors (RULES.md §4), by the
    rule the workflow's guards apply (``rating.Shortfalls``), or whose data the engine refuses."""

    township_name: str
    code: str
    name: str
    state: WorkflowState
    cleanest_short: int
    clean_short: int
    refused: str | None = None


@dataclass(frozen=True)
class Shortfalls:
    villages_checked: int  # the handed-in or posted village periods of the period
    short: list[VillageShortfall]  # by township code, then village code


def shortfalls(session: Session, county: County, period: Period) -> Shortfalls:
    """The period's village periods that were handed in or posted (submitted, approved, published,
    final): the posted ones read from their records, the others computed now (their data is locked
    while handed in), each through ``rating.Shortfalls.from_results``; those short listed."""
    rows = session.execute(
        sa.select(Village, VillagePeriod.state, Township.name)
        .join(VillagePeriod, VillagePeriod.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .where(
            Township.county_id == county.id,
            VillagePeriod.period_id == period.id,
            VillagePeriod.state.in_(HANDED_IN_STATES),
        )
        .order_by(Township.code, Village.code)
    ).all()
    found = _village_shortfalls(session, period, [village for village, _, _ in rows])
    short = []
    for village, state, township_name in rows:
        s = found[village.code]
        if s.refused or s.cleanest_short or s.clean_short:
            line = VillageShortfall(
                township_name, village.code, village.name, state, s.cleanest_short, s.clean_short, s.refused
            )
            short.append(line)
    return Shortfalls(villages_checked=len(rows), short=short)


def _village_shortfalls(session: Session, period: Period, villages: list[Village]) -> dict[str, rating.Shortfalls]:
    """``rating.Shortfalls`` of each village by code, from one engine call; when the engine refuses
    the live data of one, the villages are read one by one and that one says why (as the township
    board does)."""
    try:
        return _split_shortfalls(*rating.result_frames(session, period, [v.id for v in villages]))
    except rating.RatingRefused:
        found: dict[str, rating.Shortfalls] = {}
        for village in villages:
            try:
                found |= _split_shortfalls(*rating.result_frames(session, period, [village.id]))
            except rating.RatingRefused as refused:
                found[village.code] = rating.Shortfalls.refused_by(str(refused))
        return found


def _split_shortfalls(households: pd.DataFrame, villages: pd.DataFrame) -> dict[str, rating.Shortfalls]:
    return {
        str(code): rating.Shortfalls.from_results(
            households[households["village_code"] == code], villages[villages["village_code"] == code]
        )
        for code in villages["village_code"]
    }


# --- 5. warnings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TownshipWarning:
    """A township's line of the period's ranking (RULES.md §9): score, rank and warning."""

    code: str
    name: str
    score: Decimal | None  # None: unranked (no component with data)
    rank: int | None
    warning: str  # "red", "yellow" or ""

    @property
    def warning_label(self) -> str:
        return ranking.WARNING_LABELS.get(self.warning, "")


def warnings(
    session: Session, county: County, period: Period, by_year: dict[int, list[rollout.CoverageYear]] | None = None
) -> list[TownshipWarning]:
    """Every township of ``ranking.ranking`` in its order (rank, then code; unranked last)."""
    result = ranking.ranking(session, county, period, coverage=by_year)
    return [TownshipWarning(t.code, t.name, t.score, t.rank, t.warning) for t in result.townships]


# --- 6. open and overdue notices by township --------------------------------------------------------


@dataclass(frozen=True)
class TownshipNotices:
    """A township's notices of the period (to it or to its villages) still to be dealt with."""

    code: str
    name: str
    open: int  # 待整改, overdue or not
    overdue: int  # open at or past the deadline
    reported: int  # 已整改: reported, waiting for the inspector's decision

    @property
    def open_in_time(self) -> int:
        return self.open - self.overdue


def notices_by_township(
    session: Session, county: County, period: Period, *, now: dt.datetime | None = None
) -> list[TownshipNotices]:
    """Every township by code, counting the period's notices of the problem ledger (``notices.ledger``)."""
    now = now or utcnow()
    tally: dict[str, Counter[str]] = {}
    for row in notices.ledger(session, county, period=period, now=now):
        c = tally.setdefault(row.township_code, Counter())
        if row.notice.state is NoticeState.OPEN:
            c["open"] += 1
            c["overdue"] += row.overdue
        elif row.notice.state is NoticeState.RECTIFIED:
            c["reported"] += 1
    lines = []
    for township in _townships(session, county):
        c = tally.get(township.code, Counter())
        lines.append(TownshipNotices(township.code, township.name, c["open"], c["overdue"], c["reported"]))
    return lines


# --- 7. the method's health per period -------------------------------------------------------------


@dataclass(frozen=True)
class MethodHealth:
    """How the method runs in one period (definitions in docs/decisions.md)."""

    period_code: str
    approved: int  # village periods approved (and still so: approved, published or final)
    lags: tuple[dt.timedelta, ...]  # each one's submission (the last) to its approval
    first_pass: int  # of the approved, those never sent back to the clerk in the period
    plaques_at_start: int  # plaques valid when the period began
    revoked: int  # plaques revoked in the period

    @property
    def approval_lag_hours(self) -> Decimal | None:
        """The median lag in hours, one decimal, rounded half-up; None when nothing was approved."""
        if not self.lags:
            return None
        ordered = sorted(self.lags)
        middle = len(ordered) // 2
        pair = ordered[middle - 1 : middle + 1] if len(ordered) % 2 == 0 else ordered[middle : middle + 1]
        micros = sum(lag // dt.timedelta(microseconds=1) for lag in pair)
        hours = Fraction(micros, len(pair) * 3_600_000_000)
        return (Decimal(hours.numerator) / Decimal(hours.denominator)).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def first_pass_percent(self) -> Decimal | None:
        return percent(self.first_pass, self.approved)

    @property
    def relapse_percent(self) -> Decimal | None:
        return percent(self.revoked, self.plaques_at_start)


def method_health(session: Session, county: County, period: Period) -> list[MethodHealth]:
    """Each period up to ``period``, the oldest first."""
    return [_health(session, county, p) for p in _periods_up_to(session, county, period)]


def _health(session: Session, county: County, period: Period) -> MethodHealth:
    approved = session.execute(
        sa.select(VillagePeriod.id, VillagePeriod.submitted_at, VillagePeriod.approved_at)
        .join(Village, VillagePeriod.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .where(
            Township.county_id == county.id,
            VillagePeriod.period_id == period.id,
            VillagePeriod.approved_at.is_not(None),
        )
    ).all()
    ids = [str(vp_id) for vp_id, _, _ in approved]
    returned = set(
        session.scalars(
            sa.select(AuditEntry.entity_id).where(
                AuditEntry.county_id == county.id,
                AuditEntry.entity == "village_period",
                AuditEntry.entity_id.in_(ids),
                AuditEntry.action.in_(RETURN_ACTIONS),
            )
        )
    )
    lags = tuple(
        approved_at - submitted_at
        for _, submitted_at, approved_at in approved
        if submitted_at is not None and approved_at is not None
    )
    issued, revoked = aliased(Period), aliased(Period)
    at_start = session.scalar(
        sa.select(sa.func.count(Plaque.id))
        .join(issued, Plaque.issued_period_id == issued.id)
        .outerjoin(revoked, Plaque.revoked_period_id == revoked.id)
        .where(
            issued.county_id == county.id,
            issued.code < period.code,
            sa.or_(revoked.id.is_(None), revoked.code >= period.code),
        )
    )
    revoked_now = session.scalar(sa.select(sa.func.count(Plaque.id)).where(Plaque.revoked_period_id == period.id))
    return MethodHealth(
        period_code=period.code,
        approved=len(approved),
        lags=lags,
        first_pass=sum(1 for vp_id in ids if vp_id not in returned),
        plaques_at_start=at_start or 0,
        revoked=revoked_now or 0,
    )


# --- the whole page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    period: Period
    grades: list[TownshipGrades]
    trend: list[PeriodTrend]
    coverage: list[TownshipCoverage]
    shortfalls: Shortfalls
    warnings: list[TownshipWarning]
    notices: list[TownshipNotices]
    health: list[MethodHealth]


def county_dashboard(session: Session, county: County, period: Period, *, now: dt.datetime | None = None) -> Dashboard:
    """Every chart's figures for the county in ``period``; the coverage is read once for two charts."""
    by_year = coverage_years(session, county)
    return Dashboard(
        period=period,
        grades=grade_distribution(session, county, period),
        trend=trend(session, county, period),
        coverage=coverage_by_township(session, county, period, by_year),
        shortfalls=shortfalls(session, county, period),
        warnings=warnings(session, county, period, by_year),
        notices=notices_by_township(session, county, period, now=now),
        health=method_health(session, county, period),
    )
