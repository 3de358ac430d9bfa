"""Exact arithmetic: tenths, half-up rounding, ceilings of ratios, score parsing."""

from __future__ import annotations

import math
import re
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import ceil_ratio, div_half_up, format_tenths, tenths_of
from scoring.arith import decimal_array, format_points, plain_tenths, score_column, text_scores


def test_half_up_rounds_a_mean_of_85_25_to_85_3() -> None:
    # peer totals 85.2 and 85.3 → mean 85.25 → 85.3 (a float round() would give 85.2)
    assert div_half_up(852 + 853, 2) == 853
    assert round(85.25, 1) == 85.2  # what binary floats do: the reason for integer tenths


def test_half_up_rounds_89_95_to_90_0() -> None:
    assert div_half_up(899 + 900, 2) == 900


def test_half_up_rounds_down_below_the_half() -> None:
    assert div_half_up(852 + 852 + 853, 3) == 852  # 85.233…
    assert div_half_up(853 + 853 + 852, 3) == 853  # 85.266…


def test_half_up_on_arrays() -> None:
    result = div_half_up(np.array([1705, 10, 0]), np.array([2, 4, 1]))
    assert result.tolist() == [853, 3, 0]


def test_ceil_of_a_tenth_of_thirty_is_three_not_four() -> None:
    assert math.ceil(0.1 * 3 * 10) == 4  # 0.1 × 30 computed in floats as 3.0000000000000004
    assert ceil_ratio(Decimal("0.10"), 30) == 3
    assert ceil_ratio(0.1, 30) == 3


def test_ceil_ratio_is_exact_where_a_float_product_is_not() -> None:
    assert math.ceil(0.14 * 50) == 8  # 7.000000000000001
    assert ceil_ratio(Decimal("0.14"), 50) == 7
    assert ceil_ratio(0.14, 50) == 7


@pytest.mark.parametrize(
    ("ratio", "count", "expected"),
    [("0.10", 430, 43), ("0.10", 431, 44), ("0.20", 5, 1), ("0.20", 6, 2), ("0.10", 0, 0), ("0.3", 10, 3)],
)
def test_ceil_ratio(ratio: str, count: int, expected: int) -> None:
    assert ceil_ratio(Decimal(ratio), count) == expected


def test_ceil_ratio_on_arrays() -> None:
    assert ceil_ratio(Decimal("0.1"), np.array([30, 31, 9])).tolist() == [3, 4, 1]


def test_tenths_of_exact_decimals() -> None:
    assert tenths_of("9.5") == 95
    assert tenths_of(Decimal("10")) == 100
    with pytest.raises(ValueError, match="decimal"):
        tenths_of("9.55")


def test_formats() -> None:
    assert format_tenths(853) == "85.3"
    assert format_tenths(900) == "90.0"
    assert format_tenths(-5) == "-0.5"
    assert format_points(100) == "10"
    assert format_points(75) == "7.5"


def test_decimal_array_holds_tenths_exactly_with_nulls() -> None:
    array = decimal_array(np.array([853, 900, 7]), np.array([True, True, False]))
    assert array.to_pylist() == [Decimal("85.3"), Decimal("90.0"), None]


def test_decimal_strings_become_tenths() -> None:
    column = score_column(pd.Series(["9.5", "10", "0", " 7.0 ", "-0"], dtype="str"), 100)
    assert column.tenths.tolist() == [95, 100, 0, 70, 0]
    assert column.bad.tolist() == []


def test_floats_become_tenths() -> None:
    column = score_column(pd.Series([9.5, 10.0, 0.0, 8.3, -0.0]), 100)
    assert column.tenths.tolist() == [95, 100, 0, 83, 0]
    assert column.bad.tolist() == []


def test_integers_and_decimal_objects_become_tenths() -> None:
    assert score_column(pd.Series([9, 10, 0]), 100).tenths.tolist() == [90, 100, 0]
    objects = pd.Series([Decimal("9.5"), 7, "8.5"], dtype=object)
    assert score_column(objects, 100).tenths.tolist() == [95, 70, 85]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "分数为空"),
        ("9.55", "分数最多一位小数"),
        ("10.5", "分数超出0–10范围"),
        ("11", "分数超出0–10范围"),
        ("-1", "分数超出0–10范围"),
        ("九", "不是有效的分数（须为0–10之间、最多一位小数的数）"),
        ("9分", "不是有效的分数（须为0–10之间、最多一位小数的数）"),
        ("1e1", "不是有效的分数（须为0–10之间、最多一位小数的数）"),
        ("nan", "不是有效的分数（须为0–10之间、最多一位小数的数）"),
        ("９", "不是有效的分数（须为0–10之间、最多一位小数的数）"),
    ],
)
def test_bad_score_strings_are_named(value: str, reason: str) -> None:
    column = score_column(pd.Series(["5", value], dtype="str"), 100)
    assert column.bad.tolist() == [1]
    assert column.values == [value]
    assert column.reasons == [reason]


@pytest.mark.parametrize(
    ("value", "shown", "reason"),
    [
        (float("nan"), "", "分数为空"),
        (9.55, "9.55", "分数最多一位小数"),
        (10.5, "10.5", "分数超出0–10范围"),
        (-0.5, "-0.5", "分数超出0–10范围"),
        (float("inf"), "inf", "分数超出0–10范围"),
    ],
)
def test_bad_score_floats_are_named(value: float, shown: str, reason: str) -> None:
    column = score_column(pd.Series([5.0, value]), 100)
    assert column.bad.tolist() == [1]
    assert column.values == [shown]
    assert column.reasons == [reason]


def test_booleans_and_none_are_not_scores() -> None:
    assert (
        score_column(pd.Series([True, False]), 100).reasons == ["不是有效的分数（须为0–10之间、最多一位小数的数）"] * 2
    )
    assert score_column(pd.Series([None, "5"], dtype=object), 100).reasons == ["分数为空"]


def test_the_maximum_is_the_criterions() -> None:
    column = score_column(pd.Series(["7.5", "7.6"], dtype="str"), 75)
    assert column.bad.tolist() == [1]
    assert column.reasons == ["分数超出0–7.5范围"]


@pytest.mark.parametrize("dtype", ["int16", "int32", "int64", "uint8"])
def test_integer_tenths_are_checked_as_the_same_numbers_in_floats(dtype: str) -> None:
    # the integer fast path and the float path agree on good and bad cells alike
    for values in ([0, 95, 100], [0, 101, 5], [3, 2, 1], [100, 100]):
        integers = score_column(pd.Series(np.array(values, dtype=dtype)), 100, in_tenths=True)
        floats = score_column(pd.Series(np.array(values, dtype=np.float64)), 100, in_tenths=True)
        assert integers.tenths.tolist() == floats.tenths.tolist()
        assert integers.tenths.dtype == np.int32
        assert integers.bad.tolist() == floats.bad.tolist()
        assert (integers.values, integers.reasons) == (floats.values, floats.reasons)
    below = score_column(pd.Series(np.array([5, -1, 7], dtype=np.int16)), 100, in_tenths=True)
    assert (below.bad.tolist(), below.values, below.tenths.tolist()) == ([1], ["-0.1"], [5, 0, 7])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789.- +e١", max_size=7), max_size=30), st.sampled_from([50, 100, 200]))
def test_plainly_written_scores_read_fast_are_the_exact_paths(texts: list[str], max_tenths: int) -> None:
    # the byte reader accepts only what the exact path accepts, and reads it as the same tenths
    array = pa.array(texts, type=pa.large_string())
    fast = plain_tenths(array, max_tenths)
    exact = text_scores(array, max_tenths)
    if fast is not None:
        assert exact.bad.tolist() == []
        assert fast.tolist() == exact.tenths.tolist()
    elif texts and all(re.fullmatch(r"[0-9]{1,3}(\.[0-9])?", t) for t in texts):
        assert max(exact.tenths.tolist() + [int(float(t) * 10 + 0.5) for t in texts]) > max_tenths


def test_plain_scores_in_a_slice_are_read_from_its_own_bytes() -> None:
    array = pa.array(["1", "22", "3.5", "100", "7.0", "x"], type=pa.large_string())
    assert plain_tenths(array.slice(1, 4), 1000).tolist() == [220, 35, 1000, 70]  # type: ignore[union-attr]
    assert plain_tenths(array, 1000) is None
    assert plain_tenths(pa.array(["1"] * 99 + ["x" * 300]), 1000) is None  # a long value among short ones
