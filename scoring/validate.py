"""Validation of a period's input tables (RULES.md §3-4, INTERCHANGE.md §1), vectorised.

`validate_inputs` checks every rule at once and either raises `InvalidInput` with every problem
found, or returns a `Prepared` period: the same data as integer arrays (household row indices,
review kinds, review totals in tenths, village ids, quotas), which is all the engine needs.

Checks: required columns present and not given twice; household codes present and unique;
township, village and group codes present; a village in one township only; each review's household
known; kind self/peer/group (or 自评/互评/复评); a peer reviewer given, known, not the household
itself and in the household's group (same village and group code); scores plain decimals with at
most one decimal within 0…the criterion's maximum; at most one self and one group review per
household and one peer review per (reviewer, household); quotas for known villages, once each,
non-negative integers (blank = the floor) and not below the floor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from scoring.arith import IntArray, ceil_ratio, score_column, text_array
from scoring.problems import InvalidInput, Problem
from scoring.rubric import CRITERIA, Rubric, Settings

# The vocabulary is defined in scoring.vocabulary (no pandas) and still read from here.
from scoring.vocabulary import KIND_NAMES as KIND_NAMES
from scoring.vocabulary import KINDS as KINDS

HOUSEHOLD_COLUMNS: tuple[str, ...] = ("household_code", "township_code", "village_code", "group_code", "head_name")
REVIEW_COLUMNS: tuple[str, ...] = ("household_code", "kind", "reviewer", *CRITERIA)
QUOTA_COLUMNS: tuple[str, ...] = ("village_code", "cleanest_quota", "clean_quota")
SELF, PEER, GROUP = 0, 1, 2  # positions in KINDS
_KIND_NAMES = pa.array(list(KIND_NAMES), type=pa.large_string())
_COUNT = re.compile(r"\d+", re.ASCII)

Int32Array = npt.NDArray[np.int32]

# RULES.md §3: a peer reviewer is another household of the same group.
REVIEWER_MISSING = "互评须填写评议人户号"
REVIEWER_UNKNOWN = "农户表中无此评议人户号"
REVIEWS_ITSELF = "农户不能评议自己"
REVIEWER_OUTSIDE_GROUP = "评议人不是本组农户"


def peer_reviewer_problem(
    household_code: str, household_group: object, reviewer_code: str, reviewer_group: object | None
) -> str | None:
    """Why a peer review by `reviewer_code` of `household_code` breaks RULES.md §3, or None.
    `reviewer_group` is None when no household has that code. The engine applies the same rule
    to whole tables at once (`_check_reviews`)."""
    if not reviewer_code:
        return REVIEWER_MISSING
    if reviewer_code == household_code:
        return REVIEWS_ITSELF
    if reviewer_group is None:
        return REVIEWER_UNKNOWN
    if reviewer_group != household_group:
        return REVIEWER_OUTSIDE_GROUP
    return None


@dataclass(frozen=True)
class Prepared:
    """A valid period as arrays. Households keep their input order (index = row − 1)."""

    household_codes: pa.Array  # per household
    code_order: IntArray  # household indices sorted by code
    village_of: Int32Array  # per household: village id
    village_codes: pa.Array  # per village id (order of first appearance)
    township_codes: pa.Array  # per village id
    review_household: Int32Array  # per review: household index
    review_kind: npt.NDArray[np.int8]  # per review: SELF, PEER or GROUP
    review_total: Int32Array  # per review: sum of the ten scores, tenths
    review_criteria: npt.NDArray[np.int16] | None  # per review × criterion, tenths (if kept)
    households_per_village: IntArray
    cleanest_floor: IntArray
    clean_floor: IntArray
    cleanest_quota: IntArray
    clean_quota: IntArray

    @property
    def household_count(self) -> int:
        return len(self.household_codes)

    @property
    def village_count(self) -> int:
        return len(self.village_codes)


def _column_problems(frame: pd.DataFrame, file: str, required: tuple[str, ...]) -> list[Problem]:
    names = [str(c) for c in frame.columns]
    problems = [Problem(file, 0, c, "", "缺少必需的列") for c in required if c not in names]
    twice = sorted({c for c in names if names.count(c) > 1 and c in required})
    problems += [Problem(file, 0, c, "", "列重复") for c in twice]
    return problems


def _rows_problems(file: str, rows: IntArray, column: str, values: list[str], reason: str | list[str]) -> list[Problem]:
    reasons = [reason] * len(values) if isinstance(reason, str) else reason
    return [Problem(file, int(r) + 1, column, v, why) for r, v, why in zip(rows.tolist(), values, reasons, strict=True)]


def _take_text(array: pa.Array, rows: IntArray) -> list[str]:
    if len(rows) == 0:
        return []
    return [str(v) for v in pc.take(array, pa.array(rows)).to_pylist()]


def _blank_problems(file: str, column: str, array: pa.Array, reason: str) -> list[Problem]:
    blank = np.flatnonzero(pc.equal(array, "").to_numpy(zero_copy_only=False))
    return _rows_problems(file, blank, column, [""] * len(blank), reason)


_COUNTED = 1 << 20  # keys below this are counted for repeats (8 MiB of counts at most)
_SORTED_DIRECTLY = 1 << 14  # fewer keys than this are sorted without hashing them first


def repeats(keys: npt.NDArray[np.int64]) -> tuple[IntArray, IntArray]:
    """Positions of repeated keys after their first occurrence, and that first occurrence's position."""
    empty = np.zeros(0, dtype=np.int64)
    if len(keys) < 2:
        return empty, empty
    # Small keys (a household's position) are counted: 1 ms, where the sort takes 25 ms for
    # 300,000 keys in random order; they are sorted only when some key is there twice.
    if keys.min() >= 0 and keys.max() < max(4 * len(keys), _COUNTED) and np.bincount(keys).max() < 2:
        return empty, empty
    if len(keys) > _SORTED_DIRECTLY and (keys[1:] < keys[:-1]).any():
        # Large keys in no order (peer pairs of a shuffled file): only keys that share a hash bucket
        # can be equal, so only those are sorted. 25-35 ms for 700,000 keys, where sorting them all
        # took 70-100 ms; keys in order are sorted at once (timsort finds the runs).
        bits = max(10, (4 * len(keys) - 1).bit_length())
        bucket = (keys.view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - bits)
        bucket = bucket.astype(np.intp)
        shared = np.flatnonzero(np.bincount(bucket, minlength=1 << bits)[bucket] > 1)
        later, first = repeats(keys[shared]) if len(shared) < len(keys) else _sorted_repeats(keys)
        return shared[later], shared[first]
    return _sorted_repeats(keys)


def _sorted_repeats(keys: npt.NDArray[np.int64]) -> tuple[IntArray, IntArray]:
    empty = np.zeros(0, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return empty, empty
    new_run = np.r_[True, ~same]
    run_start = np.flatnonzero(new_run)
    first = order[run_start[np.cumsum(new_run) - 1]]
    return order[1:][same].astype(np.int64), first[1:][same].astype(np.int64)


_INT64_DIGITS = 18  # every number of up to 18 digits fits an int64


def digit_keys(codes: pa.Array, width: int) -> npt.NDArray[np.int64]:
    """Each code as its number when it is exactly `width` ASCII digits, else −1."""
    plain = pc.and_(pc.equal(pc.binary_length(codes), width), pc.ascii_is_decimal(codes))
    # the usual case, all plain: no copy of the text with the others replaced
    every = plain.null_count == 0 and pc.all(plain).as_py()
    digits = codes if every else pc.if_else(plain, codes, "-1")
    return np.asarray(pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False))


def digit_width(codes: pa.Array) -> int:
    """The width of the codes when all are ASCII digits of one width (at most 18), else 0."""
    if len(codes) == 0:
        return 0
    lengths = pc.min_max(pc.binary_length(codes))
    width = lengths["min"].as_py()
    if 0 < width == lengths["max"].as_py() <= _INT64_DIGITS and pc.all(pc.ascii_is_decimal(codes)).as_py():
        return int(width)
    return 0


def _lookup(values: pa.Array, value_set: pa.Array) -> IntArray:
    """Index of each value in value_set (first occurrence), −1 where absent.

    Codes are usually digits of one width (户号 "01000000001"): then they are looked up as int64
    numbers, hashed, about twice as fast as hashing the strings. Equal width keeps "0012" and "012"
    apart (a code of another shape is −1, which no code of the set is); any other set of codes is
    hashed as text. Hashing does not care about the order of the values: a sorted search took
    0.16 s for a million reviews in random order against a 200,000-household piece, 0.02 s in
    code order; the hash takes 0.03-0.04 s either way."""
    if len(value_set) and len(values):
        width = digit_width(value_set)
        if width:
            values = pa.array(digit_keys(values, width))
            value_set = pa.array(digit_keys(value_set, width))
    found = pc.index_in(values, value_set=value_set)  # the first occurrence of a repeated code
    return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _index_in(values: pa.Array, value_set: pa.Array) -> IntArray:
    found = pc.index_in(values, value_set=value_set)  # the first occurrence of a repeated value
    return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


@dataclass(frozen=True)
class _Households:
    codes: pa.Array
    width: int  # the codes are ASCII digits of this width, or 0
    keys: pd.Index | None  # width > 0: the codes' int64 numbers
    code_order: IntArray
    village_of: Int32Array
    group_of: Int32Array
    village_codes: pa.Array
    township_codes: pa.Array


def _check_households(frame: pd.DataFrame, problems: list[Problem], code_width: int = 0) -> _Households:
    file = "households"
    codes = text_array(frame["household_code"])
    township = text_array(frame["township_code"])
    village = text_array(frame["village_code"])
    group = text_array(frame["group_code"])
    problems += _blank_problems(file, "household_code", codes, "户号为空")
    problems += _blank_problems(file, "township_code", township, "乡镇编码为空")
    problems += _blank_problems(file, "village_code", village, "村编码为空")
    problems += _blank_problems(file, "group_code", group, "村民组编码为空")
    rows = np.arange(len(codes), dtype=np.int64)
    width = code_width or digit_width(codes)
    keys = None
    if width:  # digits of one width: sorted as int64 numbers, 15 ms for 200,000 against 40 ms as text
        keys = digit_keys(codes, width)
        order = np.argsort(keys, kind="stable")  # stable: equal codes by row
        ordered_keys = keys[order]
        same = ordered_keys[1:] == ordered_keys[:-1]
    elif len(codes) > 1:
        order = np.asarray(pc.sort_indices(codes).to_numpy(), dtype=np.int64)  # stable: equal codes by row
        ordered = pc.take(codes, pa.array(order))
        same = pc.equal(ordered.slice(1), ordered.slice(0, len(codes) - 1)).to_numpy(zero_copy_only=False)
        same &= pc.not_equal(ordered.slice(1), "").to_numpy(zero_copy_only=False)
    else:
        order, same = rows, np.zeros(0, dtype=np.bool_)
    if same.any():
        new_run = np.r_[True, ~same]
        first = np.empty(len(codes), dtype=np.int64)
        first[order] = order[np.flatnonzero(new_run)[np.cumsum(new_run) - 1]]
        for r, f, code in _triples(np.sort(order[1:][same]), first, codes):
            problems.append(Problem(file, r + 1, "household_code", code, f"户号重复（与第{f + 1}行相同）"))
    village_enc = pc.dictionary_encode(village)
    village_of = np.asarray(village_enc.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    first_row = _lookup(village, village)
    township_ids = np.asarray(pc.dictionary_encode(township).indices.to_numpy(zero_copy_only=False))
    mixed = np.flatnonzero(township_ids[first_row] != township_ids)
    for r, f, code in _triples(mixed, first_row, township):
        other = township[int(f)].as_py()
        problems.append(Problem(file, r + 1, "township_code", code, f"同一村属于多个乡镇（第{f + 1}行为{other}）"))
    first_rows_in_order = np.flatnonzero(first_row == rows)
    group_of = np.asarray(pc.dictionary_encode(group).indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    return _Households(
        codes=codes,
        width=width,
        keys=None if keys is None else pd.Index(keys, copy=False),
        code_order=order,
        village_of=village_of,
        group_of=group_of,
        village_codes=village_enc.dictionary,
        township_codes=pc.take(township, pa.array(first_rows_in_order)),
    )


def _find(values: pa.Array, hh: _Households) -> IntArray:
    """Each code's household (the first row of a repeated code), −1 where none. Codes are found as
    numbers when the households' codes are digits of one width (`_lookup`), with the numbers the
    households' check computed once; int64 values are such numbers already (`code_width`)."""
    if hh.keys is None:
        if pa.types.is_integer(values.type):
            return np.full(len(values), -1, dtype=np.int64)
        return _lookup(values, hh.codes)
    numbers = values.to_numpy() if pa.types.is_integer(values.type) else digit_keys(values, hh.width)
    if hh.keys.is_unique:
        # pandas' int64 hash table, built once per household table: 20 ms for a million codes
        # against 200,000, where Arrow's `index_in` took 60 ms (it builds its table per call)
        return np.asarray(hh.keys.get_indexer(pd.Index(numbers, copy=False)), dtype=np.int64)
    return _index_in(pa.array(numbers), pa.array(hh.keys.to_numpy()))  # a repeated code: its first row


def _numbers(series: pd.Series) -> pa.Array:
    return pa.array(series.to_numpy(dtype=np.int64, copy=False))


def _triples(rows: IntArray, first: IntArray, values: pa.Array) -> list[tuple[int, int, str]]:
    shown = _take_text(values, rows)
    return [(int(r), int(first[r]), v) for r, v in zip(rows.tolist(), shown, strict=True)]


@dataclass(frozen=True)
class _Reviews:
    household: Int32Array
    kind: npt.NDArray[np.int8]
    total: Int32Array
    criteria: npt.NDArray[np.int16] | None


def _check_reviews(
    frame: pd.DataFrame,
    hh: _Households,
    rubric: Rubric,
    keep_criteria: bool,
    problems: list[Problem],
    in_tenths: bool = False,
    code_width: int = 0,
) -> _Reviews:
    file = "reviews"
    count = len(frame)
    codes = _numbers(frame["household_code"]) if code_width else text_array(frame["household_code"])
    household = _find(codes, hh)
    unknown = np.flatnonzero(household < 0)
    for r, code in zip(unknown.tolist(), _take_text(codes, unknown), strict=True):
        problems.append(Problem(file, r + 1, "household_code", code, "户号为空" if code == "" else "农户表中无此户号"))

    if code_width:
        kind_text = pa.array(frame["kind"].to_numpy(dtype=np.int8, copy=False))
        kind = kind_text.to_numpy()
    else:
        kind_text = text_array(frame["kind"])
        kind_index = _lookup(kind_text, _KIND_NAMES)
        kind = np.where(kind_index >= 0, kind_index % 3, -1).astype(np.int8)
    bad_kind = np.flatnonzero(kind < 0)
    problems += _rows_problems(file, bad_kind, "kind", _take_text(kind_text, bad_kind), "评议类型须为self、peer或group")

    peer_rows = np.flatnonzero(kind == PEER)
    reviewer_all = _numbers(frame["reviewer"]) if code_width else text_array(frame["reviewer"])
    reviewer_text = pc.take(reviewer_all, pa.array(peer_rows))
    reviewer = _find(reviewer_text, hh)
    reviewed = household[peer_rows]
    if code_width:  # a blank reviewer is no number (−1), as any other code of no household
        blank = np.zeros(len(peer_rows), dtype=np.bool_)
    else:
        blank = pc.equal(reviewer_text, "").to_numpy(zero_copy_only=False)
    checks = (
        (blank, REVIEWER_MISSING),
        (~blank & (reviewer < 0), REVIEWER_UNKNOWN),
        ((reviewer >= 0) & (reviewer == reviewed), REVIEWS_ITSELF),
    )
    for mask, reason in checks:
        at = np.flatnonzero(mask)
        problems += _rows_problems(file, peer_rows[at], "reviewer", _take_text(reviewer_text, at), reason)
    both = (reviewer >= 0) & (reviewed >= 0) & (reviewer != reviewed)
    safe_reviewer = np.where(both, reviewer, 0)
    safe_reviewed = np.where(both, reviewed, 0)
    outside = both & (
        (hh.village_of[safe_reviewer] != hh.village_of[safe_reviewed])
        | (hh.group_of[safe_reviewer] != hh.group_of[safe_reviewed])
    )
    at = np.flatnonzero(outside)
    problems += _rows_problems(file, peer_rows[at], "reviewer", _take_text(reviewer_text, at), REVIEWER_OUTSIDE_GROUP)

    total = np.zeros(count, dtype=np.int32)
    criteria = np.zeros((count, len(CRITERIA)), dtype=np.int16) if keep_criteria else None
    for j, (column, max_tenths) in enumerate(zip(CRITERIA, rubric.max_tenths, strict=True)):
        scores = score_column(frame[column], max_tenths, in_tenths=in_tenths)
        total += scores.tenths
        if criteria is not None:
            criteria[:, j] = scores.tenths
        problems += _rows_problems(file, scores.bad, column, scores.values, scores.reasons)

    for kind_code, reason in ((SELF, "同一户重复自评"), (GROUP, "同一户重复复评")):
        rows = np.flatnonzero((kind == kind_code) & (household >= 0))
        later, first = repeats(household[rows].astype(np.int64))
        for r, f, code in zip(rows[later].tolist(), rows[first].tolist(), _take_text(codes, rows[later]), strict=True):
            problems.append(Problem(file, r + 1, "household_code", code, f"{reason}（与第{f + 1}行重复）"))
    valid_peer = np.flatnonzero(both)
    keys = reviewed[valid_peer].astype(np.int64) * len(hh.codes) + reviewer[valid_peer]
    later, first = repeats(keys)
    rows_later = peer_rows[valid_peer[later]]
    rows_first = peer_rows[valid_peer[first]]
    shown = _take_text(reviewer_text, valid_peer[later])
    for r, f, code in zip(rows_later.tolist(), rows_first.tolist(), shown, strict=True):
        problems.append(Problem(file, r + 1, "reviewer", code, f"同一评议人重复互评同一户（与第{f + 1}行重复）"))
    return _Reviews(household.astype(np.int32), kind, total, criteria)


def _quota_value(value: object) -> int | None:
    """A quota cell: None if blank, −1 if not a non-negative integer, else the integer."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool):
        return -1
    if isinstance(value, int | np.integer):
        return int(value) if value >= 0 else -1
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return None
        return int(value) if value >= 0 and float(value).is_integer() else -1
    text = str(value).strip()
    if text == "":
        return None
    return int(text) if _COUNT.fullmatch(text) else -1


def _ratio_text(ratio: Decimal) -> str:
    percent = Decimal(str(ratio)) * 100
    return f"{percent.normalize():f}%"


def _check_quotas(
    frame: pd.DataFrame | None,
    hh: _Households,
    floors: tuple[IntArray, IntArray],
    counts: IntArray,
    settings: Settings,
    problems: list[Problem],
) -> tuple[IntArray, IntArray]:
    quotas = (floors[0].copy(), floors[1].copy())
    if frame is None:
        return quotas
    file = "quotas"
    codes = text_array(frame["village_code"])
    village = _lookup(codes, hh.village_codes)
    first = _lookup(codes, codes)
    ratios = (settings.cleanest_floor_ratio, settings.clean_floor_ratio)
    columns = ("cleanest_quota", "clean_quota")
    cells = [frame[c].tolist() for c in columns]
    for row, code in enumerate(codes.to_pylist()):
        if village[row] < 0:
            problems.append(Problem(file, row + 1, "village_code", str(code), "农户表中无此村"))
            continue
        if first[row] != row:
            problems.append(
                Problem(file, row + 1, "village_code", str(code), f"村编码重复（与第{first[row] + 1}行相同）")
            )
            continue
        v = int(village[row])
        for k, column in enumerate(columns):
            raw = cells[k][row]
            value = _quota_value(raw)
            shown = "" if raw is None or raw is pd.NA or (isinstance(raw, float) and np.isnan(raw)) else str(raw)
            if value is None:
                continue
            if value < 0:
                problems.append(Problem(file, row + 1, column, shown, "名额须为非负整数"))
            elif value < floors[k][v]:
                reason = f"名额低于底线{floors[k][v]}（{counts[v]}户×{_ratio_text(ratios[k])}，向上取整）"
                problems.append(Problem(file, row + 1, column, shown, reason))
            else:
                quotas[k][v] = value
    return quotas


def _sorted(problems: list[Problem], file_order: tuple[str, ...]) -> list[Problem]:
    layout = {"households": HOUSEHOLD_COLUMNS, "reviews": REVIEW_COLUMNS, "quotas": QUOTA_COLUMNS}
    columns = {(f, c): i for f, names in layout.items() for i, c in enumerate(names)}
    files = {f: i for i, f in enumerate(file_order)}
    return sorted(problems, key=lambda p: (files.get(p.file, len(files)), p.row, columns.get((p.file, p.column), 99)))


def validate_inputs(
    households: pd.DataFrame,
    reviews: pd.DataFrame,
    quotas: pd.DataFrame | None,
    rubric: Rubric,
    settings: Settings,
    keep_criteria: bool = False,
    in_tenths: bool = False,
    code_width: int = 0,
) -> Prepared:
    """Check a period's tables against every rule; return them as arrays or raise InvalidInput.
    With ``in_tenths`` the review scores are whole numbers of tenths (a database's integers).

    With ``code_width`` (the fast path's routing, `scoring.routing`) the household codes are ASCII
    digits of that width, and the reviews come as numbers: `household_code` and `reviewer` as the
    int64 numbers of their codes (−1 for any other code, blank included) and `kind` as its position
    in KINDS (−1 for any other kind). The same problems are found, but they show those numbers in
    place of the text (the fast path only needs to know that there is one: it then scores the
    whole period, which reports them).

    Problems are ordered by file (households, reviews, quotas), then row, then column.
    """
    order = ("households", "reviews", "quotas")
    problems = _column_problems(households, "households", HOUSEHOLD_COLUMNS)
    problems += _column_problems(reviews, "reviews", REVIEW_COLUMNS)
    if quotas is not None:
        problems += _column_problems(quotas, "quotas", QUOTA_COLUMNS)
    if problems:
        raise InvalidInput(problems)
    hh = _check_households(households, problems, code_width)
    rv = _check_reviews(reviews, hh, rubric, keep_criteria, problems, in_tenths, code_width)
    counts = np.bincount(hh.village_of, minlength=len(hh.village_codes)).astype(np.int64)
    floors = (ceil_ratio(settings.cleanest_floor_ratio, counts), ceil_ratio(settings.clean_floor_ratio, counts))
    cleanest_quota, clean_quota = _check_quotas(quotas, hh, floors, counts, settings, problems)
    if problems:
        raise InvalidInput(_sorted(problems, order))
    return Prepared(
        household_codes=hh.codes,
        code_order=hh.code_order,
        village_of=hh.village_of,
        village_codes=hh.village_codes,
        township_codes=hh.township_codes,
        review_household=rv.household,
        review_kind=rv.kind,
        review_total=rv.total,
        review_criteria=rv.criteria,
        households_per_village=counts,
        cleanest_floor=floors[0],
        clean_floor=floors[1],
        cleanest_quota=cleanest_quota,
        clean_quota=clean_quota,
    )
