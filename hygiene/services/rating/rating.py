"""The one door to the scoring engine: every rule of RULES.md §2-4 and §7 that the engine owns is
reached through here, and no other module of ``hygiene`` calls ``scoring``.

It reads what the engine needs for a period in a few set-based queries, hands it over as integer
tenths straight from the database (no text round trip), and returns the engine's result tables.
A published or final village period is read from its record (``hygiene.services.rating.records``), never
recomputed: ``results`` answers with the record for those and computes the others now, in tables of
the same shape. When the engine refuses live data (a peer reviewer moved to another group, a quota
below a floor that grew), ``RatingRefused`` says in Chinese what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.orm import Session

import scoring
import scoring.io
from hygiene.enums import CRITERIA, AwardLevel, Grade, ReviewKind
from hygiene.io import exports
from hygiene.models import AwardQuota, Group, Household, Period, Review, Township, Village, VillagePeriod
from hygiene.models._types import RATING_SETTINGS
from hygiene.services import bulk
from hygiene.services.errors import ServiceError
from hygiene.services.rating.shortfalls import Shortfalls as Shortfalls
from hygiene.services.rating.shortfalls import plain as plain
from scoring.arith import decimal_array

HOUSEHOLD_INPUT_COLUMNS = ("household_code", "township_code", "village_code", "group_code", "head_name")


class RatingRefused(ServiceError):
    """The engine refused the data as it stands now; the message names each household and what to fix."""


# --- the rules a period keeps ---------------------------------------------------------------------


def rubric_of(period: Period) -> scoring.Rubric:
    """The rubric version the period opened with (RULES.md §2)."""
    version = period.rubric_version
    return scoring.Rubric(
        tuple(scoring.Criterion(c.code, c.label, Decimal(c.max_tenths) / 10) for c in version.criteria)
    )


def settings_of(period: Period) -> scoring.Settings:
    """The engine's settings as the period keeps them: its rubric version's grade thresholds and the
    rating settings copied from the county when it opened."""
    version = period.rubric_version
    return scoring.Settings(
        cleanest_min=Decimal(version.cleanest_tenths) / 10,
        clean_min=Decimal(version.clean_tenths) / 10,
        fairly_clean_min=Decimal(version.fairly_clean_tenths) / 10,
        cleanest_floor_ratio=Decimal(period.cleanest_floor_percent) / 100,
        clean_floor_ratio=Decimal(period.clean_floor_percent) / 100,
        gap=Decimal(period.gap_tenths) / 10,
        min_peers=period.min_peers,
    )


def rubric_problems(criteria: Sequence[tuple[str, str, int]], thresholds: tuple[int, int, int]) -> list[str]:
    """Why a new rubric version cannot be used (RULES.md §2), by the engine's own checks: ten
    criteria c01…c10 with positive maxima summing to 100 points; thresholds descending within 0…100."""
    table = pd.DataFrame(
        {
            "criterion": [code for code, _, _ in criteria],
            "label": [label for _, label, _ in criteria],
            "max_points": [str(Decimal(tenths) / 10) for _, _, tenths in criteria],
        }
    )
    problems: list[scoring.Problem] = []
    for check in (
        lambda: scoring.Rubric.from_frame(table),
        lambda: scoring.Settings(
            cleanest_min=Decimal(thresholds[0]) / 10,
            clean_min=Decimal(thresholds[1]) / 10,
            fairly_clean_min=Decimal(thresholds[2]) / 10,
        ),
    ):
        try:
            check()
        except scoring.InvalidInput as refused:
            problems += refused.problems
    words = {
        "max_points": "满分", "criterion": "评分项", "thresholds": "等级分数线",
        "thresholds.cleanest": "最清洁户分数线", "thresholds.clean": "清洁户分数线",
        "thresholds.fairly_clean": "较清洁户分数线", "cleanest > clean > fairly_clean": "最清洁 > 清洁 > 较清洁",
    }  # fmt: skip
    shown = []
    for p in problems:
        reason = p.reason
        for english, chinese in words.items():
            reason = reason.replace(english, chinese) if " > " in english else reason
        shown.append(f"{words.get(p.column, p.column)} {p.value}：{reason}")
    return shown


def settings_snapshot(period: Period) -> dict[str, Any]:
    """The rules a period was scored with, as a record stores them and a period's page shows them."""
    version = period.rubric_version
    return {
        "rubric_version": version.number,
        "thresholds": [version.cleanest_tenths, version.clean_tenths, version.fairly_clean_tenths],
        "criteria": [[c.code, c.label, c.max_tenths] for c in version.criteria],
        **{name: getattr(period, name) for name in RATING_SETTINGS},
    }


# --- who counts -----------------------------------------------------------------------------------


# The engine's flags (RULES.md §3) as people read them: pages, the spot-check sample's reasons.
FLAG_LABELS = {
    "no_self": "缺自评",
    "few_peers": "互评不足",
    "self_gap": "自评差距大",
    "peer_gap": "互评差距大",
}


def registered(period: Period) -> sa.ColumnElement[bool]:
    """Households registered for a period (RULES.md §4): counted from their first period on, and
    not moved away before the period began. Period codes ``YYYYQn`` sort as text."""
    return sa.and_(
        sa.or_(Household.registered_from.is_(None), Household.registered_from <= period.code),
        sa.or_(Household.moved_away_on.is_(None), Household.moved_away_on >= period.starts_on),
    )


def registered_households(session: Session, village: Village, period: Period) -> int:
    """H of RULES.md §4."""
    return (
        session.scalar(
            sa.select(sa.func.count(Household.id))
            .join(Group, Household.group_id == Group.id)
            .where(Group.village_id == village.id, registered(period))
        )
        or 0
    )


def floors(session: Session, village: Village, period: Period) -> tuple[int, int]:
    """(cleanest floor, clean floor) of the village in the period, from the period's ratios."""
    return scoring.ratio_floors(registered_households(session, village, period), settings_of(period))


def score_problems(period: Period, scores: Mapping[str, int | None]) -> dict[str, str]:
    """Why each criterion's score (tenths, None when blank) is not valid under the period's rubric
    (RULES.md §2-3: 0…the criterion's maximum; a blank is never 0), by criterion code."""
    problems = {}
    for criterion, max_tenths in zip(CRITERIA, rubric_of(period).max_tenths, strict=True):
        column = scoring.score_column(pd.Series([scores.get(criterion)], dtype="Int64"), max_tenths, in_tenths=True)
        if len(column.bad):
            problems[criterion] = column.reasons[0]
    return problems


def parse_period_code(code: str) -> tuple[int, int]:
    """(year, quarter) of ``2026Q4``, (year, month) of ``2026-11``; the formats are the engine's
    (scoring.periods)."""
    try:
        return scoring.parse_period(code.strip())
    except ValueError:
        raise ServiceError(f"季度格式不正确: {code!r}（应为如 2026Q4；按月评比的县为月份，如 2026-11）") from None


def period_kind(code: str) -> str:
    """ "quarter" or "month" (the code must be a period)."""
    return scoring.period_kind(code)


def first_period_after(code: str, length: str) -> str:
    """The first period of ``length`` ("quarter" or "month") after ``code`` ends."""
    return scoring.first_period_after(code, length)


def results_csv(table: pa.Table) -> bytes:
    """A result table (INTERCHANGE.md §1) as CSV, safe to open in Excel or WPS."""
    return scoring.io.csv_bytes(exports.formula_safe(table))


def write_results(household_results: pa.Table, village_results: pa.Table, folder: Path) -> None:
    """household_results.csv and village_results.csv into ``folder``, safe to open in Excel or WPS."""
    scoring.io.write_results(exports.formula_safe(household_results), exports.formula_safe(village_results), folder)


def next_period_code(code: str) -> str:
    return scoring.add_periods(code, 1)


def period_year(code: str) -> int:
    return scoring.period_year(code)


def grade_of(total_tenths: int, settings: scoring.Settings) -> str:
    """The grade (RULES.md §2) of a total in tenths under a period's settings."""
    return scoring.grade_of(total_tenths, settings)


def peer_reviewer_problem(household: Household, reviewer_code: str, reviewer: Household | None) -> str | None:
    """Why ``reviewer_code`` may not peer-review ``household`` (RULES.md §3), or None; ``reviewer`` is
    the household with that code among those the caller may see (None: no such household)."""
    return scoring.peer_reviewer_problem(
        household.code, household.group_id, reviewer_code, reviewer.group_id if reviewer else None
    )


REVIEW_KIND_NAMES: dict[str, ReviewKind] = {
    name: ReviewKind(english) for name, english in scoring.KIND_NAMES.items()
}  # the sheet's 自评/互评/复评 and self/peer/group, as the engine reads them


# --- the engine, live ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineInputs:
    households: pd.DataFrame
    reviews: pd.DataFrame
    quotas: pd.DataFrame
    rubric: scoring.Rubric
    settings: scoring.Settings
    reviews_kind: np.ndarray  # per review row, its kind as an index into KIND_CODES, for naming refused rows


KIND_CODES = (ReviewKind.SELF, ReviewKind.PEER, ReviewKind.GROUP)  # a review's kind as read in bulk: its index here


def engine_inputs(session: Session, period: Period, village_ids: Sequence[int]) -> EngineInputs:
    """The engine's input tables (INTERCHANGE.md §1) for these villages in this period: the
    registered households and their reviews, scores as integer tenths. Read as whole columns
    (``hygiene.services.bulk``): household ids, kinds, reviewers and scores as integers (a binary
    COPY on PostgreSQL), codes and names as Arrow text; no Python object per review."""
    text = pa.large_string()
    households = bulk.read_text(
        session,
        sa.select(
            Household.id.label("id"),
            Household.code.label("household_code"),
            Township.code.label("township_code"),
            Village.code.label("village_code"),
            Group.code.label("group_code"),
            Household.head_name.label("head_name"),
        )
        .join(Group, Household.group_id == Group.id)
        .join(Village, Group.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .where(Village.id.in_(village_ids), registered(period)),
        {"id": pa.int64(), **dict.fromkeys(HOUSEHOLD_INPUT_COLUMNS, text)},
    )
    ids = households.column("id").to_numpy()
    county_villages = set(session.scalars(sa.select(Village.id).where(Village.county_id == period.county_id)))
    if county_villages <= set(village_ids):
        # The whole county (``hygiene results``): its reviews of the period straight from their
        # index, no join; reviews of households not read (not registered) are dropped below. The
        # joins cost PostgreSQL 0.75 s of 1.7 s for a county's million reviews.
        reviews_read: tuple[sa.ColumnElement[bool], ...] = (
            Review.county_id == period.county_id,
            Review.period_id == period.id,
        )
    else:
        # The households read, as a subquery (a semi-join): SQLite then looks each one up in the
        # reviews' index instead of walking the county's reviews of the period, 22 → 7 ms for a
        # village of 430 households among 20,000; PostgreSQL plans both forms alike (issue 34).
        read_ids = (
            sa.select(Household.id)
            .join(Group, Household.group_id == Group.id)
            .where(Group.village_id.in_(village_ids), registered(period))
        )
        reviews_read = (
            Review.county_id == period.county_id,  # leads the reviews' index (ix_reviews_period_household)
            Review.period_id == period.id,
            Review.household_id.in_(read_ids),
        )
    kind_code = sa.case(*((Review.kind == k.value, i) for i, k in enumerate(KIND_CODES)), else_=-1)
    ints = bulk.read_ints(
        session,
        sa.select(
            Review.household_id.label("household_id"),
            sa.cast(kind_code, sa.SmallInteger).label("kind"),
            sa.func.coalesce(Review.reviewer_household_id, 0).label("reviewer_id"),
            *(getattr(Review, c).label(c) for c in CRITERIA),
        ).where(*reviews_read),
    )
    teams = bulk.read_text(
        session,
        sa.select(
            Review.household_id.label("household_id"), sa.func.coalesce(Review.team_members, "").label("team")
        ).where(*reviews_read, Review.kind == ReviewKind.GROUP.value),
        {"household_id": pa.int64(), "team": text},
    )
    read = _members(ids, ints["household_id"])
    if not read.all():
        ints = {name: values[read] for name, values in ints.items()}
        teams = teams.filter(pa.array(_members(ids, teams.column("household_id").to_numpy())))
    kinds = ints["kind"]
    if (kinds < 0).any():
        raise ValueError("a review of an unknown kind")
    codes = households.column("household_code").combine_chunks()
    peer, group = kinds == KIND_CODES.index(ReviewKind.PEER), kinds == KIND_CODES.index(ReviewKind.GROUP)
    # each review's reviewer text as a position in [household codes, other reviewers' codes, teams, ""]
    reviewers = ints["reviewer_id"][peer]
    others_ids, others_codes = _other_codes(session, np.unique(reviewers[~_members(ids, reviewers)]))
    team_ids = teams.column("household_id").to_numpy()
    texts = pa.concat_arrays([codes, others_codes, teams.column("team").combine_chunks(), pa.array([""], text)])
    where = np.full(len(kinds), len(texts) - 1, dtype=np.int64)
    where[peer] = _positions(np.concatenate([ids, others_ids]), ints["reviewer_id"][peer])
    where[group] = len(ids) + len(others_ids) + _positions(team_ids, ints["household_id"][group])
    kind_names = pa.array([k.value for k in KIND_CODES], text)
    # One block per column (split_blocks): the ten score columns are not copied into one 2-D block.
    reviews = pa.table(
        {
            "household_code": codes.take(pa.array(_positions(ids, ints["household_id"]))),
            "kind": kind_names.take(pa.array(kinds)),
            "reviewer": texts.take(pa.array(where)),
            **{c: ints[c] for c in CRITERIA},
        }
    ).to_pandas(split_blocks=True)
    quotas = pd.DataFrame(
        session.execute(
            sa.select(Village.code, AwardQuota.cleanest_quota, AwardQuota.clean_quota)
            .join(VillagePeriod, VillagePeriod.village_id == Village.id)
            .join(AwardQuota, AwardQuota.village_period_id == VillagePeriod.id)
            .where(VillagePeriod.period_id == period.id, Village.id.in_(village_ids))
        ).all(),
        columns=["village_code", "cleanest_quota", "clean_quota"],
        dtype=object,
    )
    return EngineInputs(
        households.select(list(HOUSEHOLD_INPUT_COLUMNS)).to_pandas(),
        reviews,
        quotas,
        rubric_of(period),
        settings_of(period),
        kinds,
    )


def _positions(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The position in ``keys`` (distinct) of each of ``wanted`` (each one of them)."""
    if not len(wanted):
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    return order[np.searchsorted(keys, wanted, sorter=order)]


def _members(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Whether each of ``wanted`` is one of ``keys`` (a boolean mask over ``wanted``)."""
    if not len(keys):
        return np.zeros(len(wanted), dtype=bool)
    ordered = np.sort(keys)
    at = np.minimum(np.searchsorted(ordered, wanted), len(ordered) - 1)
    return np.asarray(ordered[at] == wanted, dtype=bool)


def _other_codes(session: Session, household_ids: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """The codes of peer reviewers outside the households read (moved away, another village): the
    engine names them in its refusal."""
    if not len(household_ids):
        return np.zeros(0, dtype=np.int64), pa.array([], pa.large_string())
    found = session.execute(
        sa.select(Household.id, Household.code).where(Household.id.in_([int(i) for i in household_ids]))
    ).all()
    return np.array([i for i, _ in found], dtype=np.int64), pa.array([c for _, c in found], pa.large_string())


_COLUMN_LABELS = {
    "reviewer": "评议人",
    "household_code": "户号",
    "group_code": "村民组",
    "cleanest_quota": "最清洁户名额",
    "clean_quota": "清洁户名额",
}


def _refusal(inputs: EngineInputs, refused: scoring.InvalidInput) -> RatingRefused:
    """The engine's problems, named by household and review kind instead of input rows."""
    lines = []
    for problem in refused.problems[:10]:
        column = _COLUMN_LABELS.get(problem.column, problem.column)
        what = f"{column} {problem.value}" if problem.value else column
        if problem.file == "reviews" and 1 <= problem.row <= len(inputs.reviews):
            code = inputs.reviews["household_code"].iat[problem.row - 1]
            kind = KIND_CODES[inputs.reviews_kind[problem.row - 1]]
            lines.append(f"农户 {code} 的{kind.label}（{what}）：{problem.reason}")
        elif problem.file == "households" and 1 <= problem.row <= len(inputs.households):
            lines.append(f"农户 {inputs.households['household_code'].iat[problem.row - 1]}（{what}）：{problem.reason}")
        else:
            lines.append(f"{what}：{problem.reason}")
    more = f"；另有{len(refused.problems) - 10}处" if len(refused.problems) > 10 else ""
    return RatingRefused(
        "现有数据无法计算评比结果，请先修改："
        + "；".join(lines)
        + more
        + "（互评须由本组其他农户作出；名额不得低于下限）"
    )


def _scored(inputs: EngineInputs) -> tuple[pa.Table, pa.Table]:
    try:
        return scoring.score_tables(
            inputs.households, inputs.reviews, inputs.quotas, inputs.rubric, inputs.settings, scores_in_tenths=True
        )
    except scoring.InvalidInput as refused:
        raise _refusal(inputs, refused) from None


def _peer_means(inputs: EngineInputs) -> pd.DataFrame:
    try:
        return scoring.peer_criterion_means(inputs.households, inputs.reviews, inputs.rubric, scores_in_tenths=True)
    except scoring.InvalidInput as refused:
        raise _refusal(inputs, refused) from None


@dataclass(frozen=True)
class Scored:
    """The engine's results for some villages computed now, with the inputs they were computed
    from: a workflow move that checks the results (its guard) hands them on to the record it posts,
    so that a publication reads the database and runs the engine once (issue 34)."""

    inputs: EngineInputs
    household_results: pa.Table
    village_results: pa.Table

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The results as DataFrames, as ``result_frames`` gives them."""
        return scoring.to_frame(self.household_results), scoring.to_frame(self.village_results)

    def peer_means(self) -> pd.DataFrame:
        """Per household, the mean peer score of each criterion (RULES.md §3), from the same inputs."""
        return _peer_means(self.inputs)


def score_now(session: Session, period: Period, village_ids: Sequence[int]) -> Scored:
    """The engine run on the database as it is now: one reading, one run. Raises ``RatingRefused``."""
    inputs = engine_inputs(session, period, village_ids)
    return Scored(inputs, *_scored(inputs))


def score_live(session: Session, period: Period, village_ids: Sequence[int]) -> tuple[pa.Table, pa.Table]:
    """The engine's (household_results, village_results) computed now from the database."""
    scored = score_now(session, period, village_ids)
    return scored.household_results, scored.village_results


def peer_means_live(session: Session, period: Period, village_ids: Sequence[int]) -> pd.DataFrame:
    """Per household, the mean peer score of each criterion (RULES.md §3), computed now."""
    return _peer_means(engine_inputs(session, period, village_ids))


def score_and_peer_means_live(
    session: Session, period: Period, village_ids: Sequence[int]
) -> tuple[pa.Table, pa.Table, pd.DataFrame]:
    """``score_live`` and ``peer_means_live`` from one reading of the database (what a record posts)."""
    scored = score_now(session, period, village_ids)
    return scored.household_results, scored.village_results, scored.peer_means()


# --- results: the record where there is one, the engine otherwise ----------------------------------


def household_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """household_results (INTERCHANGE.md §1) from stored rows: totals in tenths, None where absent."""

    def totals(name: str) -> pa.Array:
        values = np.array([r[name] if r[name] is not None else 0 for r in rows], dtype=np.int64)
        return decimal_array(values, np.array([r[name] is not None for r in rows], dtype=bool))

    return pa.table(
        {
            "household_code": pa.array([r["household_code"] for r in rows], pa.large_string()),
            "village_code": pa.array([r["village_code"] for r in rows], pa.large_string()),
            "self_total": totals("self_total"),
            "peer_total": totals("peer_total"),
            "peer_count": pa.array([r["peer_count"] for r in rows], pa.int64()),
            "final_total": totals("final_total"),
            "grade": pa.array([_value(r["grade"]) for r in rows], pa.large_string()),
            "rank": pa.array([r["rank"] for r in rows], pa.int64()),
            "award": pa.array([_value(r["award"]) for r in rows], pa.large_string()),
            "flags": pa.array([r["flags"] for r in rows], pa.large_string()),
        },
        schema=scoring.HOUSEHOLD_RESULT_SCHEMA,
    )


def village_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """village_results (INTERCHANGE.md §1) from stored rows."""
    return pa.Table.from_pylist([dict(r) for r in rows], schema=scoring.VILLAGE_RESULT_SCHEMA)


def _value(member: Grade | AwardLevel | str | None) -> str | None:
    return None if member is None else str(member)


def total_text(tenths: int) -> str:
    """A total as the result files show it: 85.3 for 853, 90.0 for 900."""
    return scoring.format_tenths(tenths)


def tenths(totals: pa.Array | pa.ChunkedArray) -> list[int | None]:
    """A column of engine totals or means (exact decimals with one place, ``decimal128(6, 1)``) as
    integer tenths, None where missing; column by column, where a ``Decimal`` a value took a
    publication 20 ms (issue 34)."""
    found: list[int | None] = pc.cast(pc.multiply(totals, pa.scalar(10, pa.int64())), pa.int64()).to_pylist()
    return found


def results(session: Session, period: Period, village_ids: Sequence[int]) -> tuple[pa.Table, pa.Table]:
    """A period's results for these villages: the current record of each published or final
    village period, the engine's live results for the rest; sorted by code, as the engine sorts."""
    from hygiene.services.rating import records

    recorded = records.current_records(session, period, village_ids)
    live_ids = [v for v in village_ids if v not in recorded]
    household_parts, village_parts = [], []
    if live_ids:
        live_households, live_villages = score_live(session, period, live_ids)
        household_parts.append(live_households)
        village_parts.append(live_villages)
    if recorded:
        household_parts.append(records.household_table_of(recorded.values()))
        village_parts.append(records.village_table_of(recorded.values()))
    if not household_parts:
        return household_table([]), village_table([])
    households = pa.concat_tables(household_parts).sort_by("household_code")
    villages = pa.concat_tables(village_parts).sort_by("village_code")
    return households, villages


def result_frames(session: Session, period: Period, village_ids: Sequence[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``results`` as DataFrames (exact decimals, nullable integers), for services and pages."""
    households, villages = results(session, period, village_ids)
    return scoring.to_frame(households), scoring.to_frame(villages)


def empty_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Result frames with no row, for a page whose data the engine refused."""
    return scoring.to_frame(household_table([])), scoring.to_frame(village_table([]))


def plaque_changes(
    plaques: pd.DataFrame,
    household_results: pd.DataFrame,
    period: Period,
    *,
    spot_checks: pd.DataFrame,
    county_code: str,
    next_sequence: int,
) -> pd.DataFrame:
    """RULES.md §7's plaque changes of a period that became final (``scoring.plaque_changes``),
    with the waiting time the period keeps."""
    return scoring.plaque_changes(
        plaques,
        household_results,
        period.code,
        spot_checks,
        wait_periods=period.plaque_wait_periods,
        county_code=county_code,
        next_sequence=next_sequence,
    )


def plaque_serial(county_code: str, year: int, sequence: int) -> str:
    return scoring.plaque_serial(county_code, year, sequence)
