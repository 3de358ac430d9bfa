"""The period's scores (RULES.md §2-4): totals, grades, village ranking, awards, shortfalls, flags.

Steps, each a pure function of arrays so that the benchmark can time them:
`validate_inputs` (scoring.validate) → `aggregate` (self, peer and group totals per household, on
integer tenths with np.bincount) → `rank_and_award` (grades, ranking, awards, flags, village counts)
→ `household_frame` / `village_frame` (the result tables of INTERCHANGE.md §1).
`score_period` runs them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scoring.arith import IntArray, ceil_ratio, decimal_array, div_half_up
from scoring.rubric import CRITERIA, GRADES, Rubric, Settings
from scoring.validate import GROUP, PEER, SELF, Prepared, validate_inputs

HOUSEHOLD_RESULT_COLUMNS: tuple[str, ...] = (
    "household_code", "village_code", "self_total", "peer_total", "peer_count", "final_total",
    "grade", "rank", "award", "flags",
)  # fmt: skip
VILLAGE_RESULT_COLUMNS: tuple[str, ...] = (
    "village_code", "township_code", "households", "rated", "cleanest", "clean", "fairly_clean", "not_clean",
    "cleanest_floor", "clean_floor", "cleanest_quota", "clean_quota", "cleanest_awarded", "clean_awarded",
    "cleanest_shortfall", "clean_shortfall", "meets_ratios",
)  # fmt: skip
_TOTAL = pa.decimal128(6, 1)
_TEXT = pa.large_string()
HOUSEHOLD_RESULT_SCHEMA = pa.schema(
    [
        ("household_code", _TEXT), ("village_code", _TEXT), ("self_total", _TOTAL), ("peer_total", _TOTAL),
        ("peer_count", pa.int64()), ("final_total", _TOTAL), ("grade", _TEXT), ("rank", pa.int64()),
        ("award", _TEXT), ("flags", _TEXT),
    ]
)  # fmt: skip
VILLAGE_RESULT_SCHEMA = pa.schema(
    [("village_code", _TEXT), ("township_code", _TEXT)]
    + [(name, pa.int64()) for name in VILLAGE_RESULT_COLUMNS[2:-1]]
    + [("meets_ratios", pa.bool_())]
)
FLAGS: tuple[str, ...] = ("few_peers", "no_self", "peer_gap", "self_gap")  # sorted: bit i = FLAGS[i]
AWARDS: tuple[str, ...] = ("cleanest", "clean")
_FLAG_TEXT = pa.array(
    [";".join(f for i, f in enumerate(FLAGS) if bits >> i & 1) for bits in range(1 << len(FLAGS))],
    type=pa.large_string(),
)
_BITS = 11  # a total is at most 1000 tenths; 1001 marks a missing review


@dataclass(frozen=True)
class Totals:
    """Per household (input order): totals in tenths; a total is meaningful only where its review exists."""

    self_total: IntArray
    has_self: npt.NDArray[np.bool_]
    peer_total: IntArray
    peer_count: IntArray
    final_total: IntArray
    rated: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Ranked:
    """Per household: grade index into GRADES (−1 not rated), 1-based rank in the village (0 not rated),
    award index into AWARDS (−1 none), flag bits. Per village: grade counts and awards."""

    grade: npt.NDArray[np.int8]
    rank: IntArray
    award: npt.NDArray[np.int8]
    flags: npt.NDArray[np.int64]
    rated_per_village: IntArray
    grade_counts: IntArray  # villages × 4
    cleanest_awarded: IntArray
    clean_awarded: IntArray


def coerce_rubric(rubric: Rubric | pd.DataFrame | None) -> Rubric:
    """A Rubric from a Rubric, a rubric table (criterion, label, max_points), or None (the default)."""
    if rubric is None:
        return Rubric.default()
    if isinstance(rubric, Rubric):
        return rubric
    return Rubric.from_frame(rubric)


def coerce_settings(settings: Settings | Mapping[str, Any] | None) -> Settings:
    """Settings from Settings, a settings.json mapping, or None (the defaults)."""
    if settings is None:
        return Settings()
    if isinstance(settings, Settings):
        return settings
    return Settings.from_dict(settings)


def aggregate(prepared: Prepared) -> Totals:
    """Self total (sum of the ten scores), peer total (mean of the peer reviewers' totals, rounded
    half-up to one decimal: sum of tenths / count in integers), peer count, final total (the group
    total); a household is rated when it has a group review."""
    n = prepared.household_count
    key = prepared.review_household.astype(np.int64) * 3 + prepared.review_kind
    counts = np.bincount(key, minlength=3 * n).reshape(n, 3)
    sums = np.bincount(key, weights=prepared.review_total, minlength=3 * n).astype(np.int64).reshape(n, 3)
    peer_count = counts[:, PEER].astype(np.int64)
    peer_total = div_half_up(sums[:, PEER], np.maximum(peer_count, 1))
    return Totals(
        self_total=sums[:, SELF],
        has_self=counts[:, SELF] > 0,
        peer_total=peer_total,
        peer_count=peer_count,
        final_total=sums[:, GROUP],
        rated=counts[:, GROUP] > 0,
    )


def grade_codes(total_tenths: IntArray, settings: Settings) -> npt.NDArray[np.int8]:
    """Index into GRADES of each total (in tenths): 0 cleanest … 3 not_clean."""
    cleanest, clean, fairly = settings.thresholds_tenths
    above = (
        (total_tenths >= cleanest).astype(np.int8)
        + (total_tenths >= clean).astype(np.int8)
        + (total_tenths >= fairly).astype(np.int8)
    )
    return (3 - above).astype(np.int8)


def grade_of(total_tenths: int, settings: Settings | None = None) -> str:
    """The grade of a total given in tenths: grade_of(900) == 'cleanest', grade_of(899) == 'clean'."""
    code = grade_codes(np.array([total_tenths], dtype=np.int64), settings or Settings())
    return GRADES[int(code[0])]


def ratio_floors(households: int, settings: Settings | None = None) -> tuple[int, int]:
    """(cleanest floor, clean floor) of a village of `households`: ceil(ratio × H) exactly."""
    s = settings or Settings()
    return ceil_ratio(s.cleanest_floor_ratio, households), ceil_ratio(s.clean_floor_ratio, households)


def _descending(total: IntArray, present: npt.NDArray[np.bool_]) -> IntArray:
    return np.where(present, 1000 - total, 1001).astype(np.int64)


def ranking_order(
    village: IntArray,
    final_total: IntArray,
    peer_total: IntArray,
    has_peer: npt.NDArray[np.bool_],
    self_total: IntArray,
    has_self: npt.NDArray[np.bool_],
    code_order: IntArray,
) -> IntArray:
    """Positions of the households in ranking order (RULES.md §4), village by village.

    Order inside a village: final total descending, then peer total descending, then self total
    descending (a missing peer or self total counts as lowest), then household code ascending.
    `code_order` lists the positions to rank sorted by household code; the result is a stable sort
    of it on one packed integer key (village, final, peer, self), so equal keys stay in code order.
    Totals are tenths in 0…1000.
    """
    key = (
        village.astype(np.int64) << (3 * _BITS)
        | (1000 - final_total.astype(np.int64)) << (2 * _BITS)
        | _descending(peer_total, has_peer) << _BITS
        | _descending(self_total, has_self)
    )
    order = np.argsort(key[code_order], kind="stable")
    return np.asarray(code_order[order], dtype=np.int64)


def rank_and_award(prepared: Prepared, totals: Totals, settings: Settings, code_order: IntArray) -> Ranked:
    """Grades, ranks, awards and flags (RULES.md §2-4), and the village counts.

    Awards: the first cleanest_quota households in rank order among those graded cleanest, then,
    among the remaining households graded cleanest or clean, the first clean_quota. Because the
    ranking starts with the final total, and the grade is a function of it, the households graded
    cleanest-or-clean are exactly ranks 1 … (cleanest + clean) of their village, the cleanest first.
    """
    n_villages = prepared.village_count
    village = prepared.village_of
    rated = totals.rated
    grade = np.where(rated, grade_codes(totals.final_total, settings), -1).astype(np.int8)

    rated_in_code_order = code_order[rated[code_order]]
    ranked = ranking_order(
        village[rated_in_code_order].astype(np.int64),
        totals.final_total[rated_in_code_order],
        totals.peer_total[rated_in_code_order],
        totals.peer_count[rated_in_code_order] > 0,
        totals.self_total[rated_in_code_order],
        totals.has_self[rated_in_code_order],
        np.arange(len(rated_in_code_order), dtype=np.int64),
    )
    ranked = rated_in_code_order[ranked]
    ranked_village = village[ranked]
    new_village = np.r_[True, ranked_village[1:] != ranked_village[:-1]] if len(ranked) else np.zeros(0, bool)
    starts = np.flatnonzero(new_village)
    position = np.arange(len(ranked), dtype=np.int64)
    rank = np.zeros(len(village), dtype=np.int64)
    rank[ranked] = position - starts[np.cumsum(new_village) - 1] + 1

    graded = np.flatnonzero(rated)
    grade_counts = np.bincount(village[graded].astype(np.int64) * 4 + grade[graded], minlength=4 * n_villages).reshape(
        n_villages, 4
    )
    cleanest_awarded = np.minimum(prepared.cleanest_quota, grade_counts[:, 0])
    clean_awarded = np.minimum(prepared.clean_quota, grade_counts[:, 0] + grade_counts[:, 1] - cleanest_awarded)
    award = np.full(len(village), -1, dtype=np.int8)
    award[rated & (grade <= 1) & (rank <= cleanest_awarded[village] + clean_awarded[village])] = 1
    award[rated & (grade == 0) & (rank <= cleanest_awarded[village])] = 0

    gap = settings.gap_tenths
    has_peer = totals.peer_count > 0
    flags = (
        (totals.peer_count < settings.min_peers).astype(np.int64)
        | (~totals.has_self).astype(np.int64) << 1
        | (has_peer & (np.abs(totals.peer_total - totals.final_total) >= gap)).astype(np.int64) << 2
        | (totals.has_self & (np.abs(totals.self_total - totals.final_total) >= gap)).astype(np.int64) << 3
    )
    flags = np.where(rated, flags, 0)
    return Ranked(
        grade=grade,
        rank=rank,
        award=award,
        flags=flags,
        rated_per_village=np.bincount(village[graded], minlength=n_villages).astype(np.int64),
        grade_counts=grade_counts.astype(np.int64),
        cleanest_awarded=cleanest_awarded.astype(np.int64),
        clean_awarded=clean_awarded.astype(np.int64),
    )


def code_order(prepared: Prepared) -> IntArray:
    """Household positions sorted by household code (the output order and the last tie-break)."""
    return prepared.code_order


def _labels(names: tuple[str, ...], index: npt.NDArray[np.int8]) -> pa.Array:
    return pc.take(pa.array(names, type=pa.large_string()), pa.array(index, mask=index < 0, type=pa.int64()))


def household_table(prepared: Prepared, totals: Totals, ranked: Ranked, order: IntArray) -> pa.Table:
    """household_results (INTERCHANGE.md §1) as an Arrow table, sorted by household code."""
    take = pa.array(order)
    rated = totals.rated[order]
    return pa.table(
        {
            "household_code": pc.take(prepared.household_codes, take),
            "village_code": pc.take(prepared.village_codes, pa.array(prepared.village_of[order])),
            "self_total": decimal_array(totals.self_total[order], totals.has_self[order]),
            "peer_total": decimal_array(totals.peer_total[order], totals.peer_count[order] > 0),
            "peer_count": pa.array(totals.peer_count[order], type=pa.int64()),
            "final_total": decimal_array(totals.final_total[order], rated),
            "grade": _labels(GRADES, ranked.grade[order]),
            "rank": pa.array(ranked.rank[order], mask=~rated, type=pa.int64()),
            "award": _labels(AWARDS, ranked.award[order]),
            "flags": pc.take(_FLAG_TEXT, pa.array(ranked.flags[order])),
        }
    )


def village_table(prepared: Prepared, ranked: Ranked) -> pa.Table:
    """village_results (INTERCHANGE.md §1) as an Arrow table, sorted by village code."""
    order = np.asarray(pc.sort_indices(prepared.village_codes).to_numpy(), dtype=np.int64)
    cleanest_short = np.maximum(0, prepared.cleanest_floor - ranked.cleanest_awarded)
    clean_short = np.maximum(0, prepared.clean_floor - ranked.clean_awarded)
    counts = ranked.grade_counts
    columns: dict[str, Any] = {
        "village_code": pc.take(prepared.village_codes, pa.array(order)),
        "township_code": pc.take(prepared.township_codes, pa.array(order)),
        "households": prepared.households_per_village,
        "rated": ranked.rated_per_village,
        "cleanest": counts[:, 0],
        "clean": counts[:, 1],
        "fairly_clean": counts[:, 2],
        "not_clean": counts[:, 3],
        "cleanest_floor": prepared.cleanest_floor,
        "clean_floor": prepared.clean_floor,
        "cleanest_quota": prepared.cleanest_quota,
        "clean_quota": prepared.clean_quota,
        "cleanest_awarded": ranked.cleanest_awarded,
        "clean_awarded": ranked.clean_awarded,
        "cleanest_shortfall": cleanest_short,
        "clean_shortfall": clean_short,
        "meets_ratios": (cleanest_short == 0) & (clean_short == 0),
    }
    return pa.table(
        {
            name: value if isinstance(value, pa.Array) else pa.array(np.ascontiguousarray(value[order]))
            for name, value in columns.items()
        }
    )


def _types(arrow_type: pa.DataType) -> Any:
    if pa.types.is_decimal(arrow_type):
        return pd.ArrowDtype(arrow_type)
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    return None


def to_frame(table: pa.Table) -> pd.DataFrame:
    """A result table as a DataFrame: codes and labels as str (missing = NaN), totals as exact
    decimals (`decimal128(6, 1)[pyarrow]`, missing = NA), integers as nullable Int64, meets_ratios bool."""
    frame: pd.DataFrame = table.to_pandas(types_mapper=_types)
    return frame


def score_tables(
    households: pd.DataFrame,
    reviews: pd.DataFrame,
    quotas: pd.DataFrame | None = None,
    rubric: Rubric | pd.DataFrame | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
    *,
    scores_in_tenths: bool = False,
    code_width: int = 0,
) -> tuple[pa.Table, pa.Table]:
    """Like `score_period`, but the results as Arrow tables (what the CSV writer takes).
    With `scores_in_tenths` the review scores are whole numbers of tenths (95 is 9.5 points), as a
    database stores them: no text round trip. `code_width`: the reviews' codes and kinds as numbers
    (`validate_inputs`)."""
    rub = coerce_rubric(rubric)
    sett = coerce_settings(settings)
    prepared = validate_inputs(
        households, reviews, quotas, rub, sett, in_tenths=scores_in_tenths, code_width=code_width
    )
    totals = aggregate(prepared)
    order = code_order(prepared)
    ranked = rank_and_award(prepared, totals, sett, order)
    return household_table(prepared, totals, ranked, order), village_table(prepared, ranked)


def score_period(
    households: pd.DataFrame,
    reviews: pd.DataFrame,
    quotas: pd.DataFrame | None = None,
    rubric: Rubric | pd.DataFrame | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score one period: (household_results, village_results) as in INTERCHANGE.md §1.

    Inputs are the interchange tables as DataFrames (codes as text; scores as decimal strings,
    numbers or Decimals). `rubric` may be a Rubric or a rubric table, `settings` Settings or the
    settings.json mapping. household_results is sorted by household code, village_results by
    village code, columns exactly as listed in HOUSEHOLD_RESULT_COLUMNS and VILLAGE_RESULT_COLUMNS.
    Raises InvalidInput carrying every problem found. A large period (`scoring.parallel.LARGE`
    households or more) is scored whole villages at a time in forked processes, one per CPU, with
    the same results: call it from a command or a script, not from a threaded server.
    """
    from scoring.parallel import score_frames_split  # it scores pieces with score_tables

    rub, sett = coerce_rubric(rubric), coerce_settings(settings)
    split = score_frames_split(households, reviews, quotas, rub, sett)
    household_results, village_results = split or score_tables(households, reviews, quotas, rub, sett)
    return to_frame(household_results), to_frame(village_results)


def peer_criterion_means(
    households: pd.DataFrame,
    reviews: pd.DataFrame,
    rubric: Rubric | pd.DataFrame | None = None,
    *,
    scores_in_tenths: bool = False,
) -> pd.DataFrame:
    """Per household, the mean peer score of each criterion, rounded half-up to one decimal.

    Columns: household_code, peer_count, c01…c10 (exact decimals, NA without peer reviews);
    sorted by household code. Validates the inputs as score_period does (without quotas).
    """
    prepared = validate_inputs(
        households, reviews, None, coerce_rubric(rubric), Settings(), keep_criteria=True, in_tenths=scores_in_tenths
    )
    assert prepared.review_criteria is not None
    n = prepared.household_count
    peer = prepared.review_kind == PEER
    who = prepared.review_household[peer]
    count = np.bincount(who, minlength=n).astype(np.int64)
    order = code_order(prepared)
    has_peer = count[order] > 0
    columns: dict[str, pa.Array] = {
        "household_code": pc.take(prepared.household_codes, pa.array(order)),
        "peer_count": pa.array(count[order]),
    }
    criteria = prepared.review_criteria[peer]
    for j, name in enumerate(CRITERIA):
        sums = np.bincount(who, weights=criteria[:, j], minlength=n).astype(np.int64)
        columns[name] = decimal_array(div_half_up(sums, np.maximum(count, 1))[order], has_peer)
    return to_frame(pa.table(columns))
