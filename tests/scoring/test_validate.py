"""Every validation error is found, named in Chinese with file, row, column and value, and all at once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scoring_builders import households_frame, review, reviews_frame

from scoring import InvalidInput, Problem, Rubric, Settings, score_period
from scoring.routing import _as_numbers
from scoring.validate import _check_households, _lookup, _sorted_repeats, repeats, validate_inputs


def problems_of(households: pd.DataFrame, reviews: pd.DataFrame, quotas: pd.DataFrame | None = None) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        score_period(households, reviews, quotas)
    return [str(p) for p in caught.value.problems]


def two_groups() -> pd.DataFrame:
    return pd.concat(
        [households_frame(["A1", "A2", "A3"], group="G1"), households_frame(["B1"], group="G2")], ignore_index=True
    )


def test_problem_prints_file_row_column_value_reason() -> None:
    assert str(Problem("reviews", 12, "c01", "九", "不是有效的分数")) == "reviews:12:c01: 九: 不是有效的分数"


def test_missing_required_columns_are_named() -> None:
    households = households_frame(["A1"]).drop(columns=["group_code"])
    reviews = reviews_frame([]).drop(columns=["c07", "kind"])
    assert problems_of(households, reviews) == [
        "households:0:group_code: : 缺少必需的列",
        "reviews:0:kind: : 缺少必需的列",
        "reviews:0:c07: : 缺少必需的列",
    ]


def test_a_column_given_twice_is_an_error() -> None:
    households = households_frame(["A1"])
    households.insert(1, "dup", households["household_code"])
    households = households.rename(columns={"dup": "household_code"})
    assert problems_of(households, reviews_frame([])) == ["households:0:household_code: : 列重复"]


def test_missing_quota_columns_are_named() -> None:
    quotas = pd.DataFrame({"village_code": ["V1"], "clean_quota": ["1"]})
    assert problems_of(households_frame(["A1"]), reviews_frame([]), quotas) == [
        "quotas:0:cleanest_quota: : 缺少必需的列"
    ]


def test_duplicate_household_codes() -> None:
    assert problems_of(households_frame(["A1", "A2", "A1"]), reviews_frame([])) == [
        "households:3:household_code: A1: 户号重复（与第1行相同）"
    ]


def test_blank_codes_in_households() -> None:
    households = households_frame(["A1", ""])
    households.loc[0, "group_code"] = ""
    households.loc[0, "village_code"] = ""
    households.loc[1, "township_code"] = ""
    assert problems_of(households, reviews_frame([])) == [
        "households:1:village_code: : 村编码为空",
        "households:1:group_code: : 村民组编码为空",
        "households:2:household_code: : 户号为空",
        "households:2:township_code: : 乡镇编码为空",
    ]


def test_a_village_in_two_townships() -> None:
    households = households_frame(["A1", "A2"])
    households.loc[1, "township_code"] = "T9"
    assert problems_of(households, reviews_frame([])) == [
        "households:2:township_code: T9: 同一村属于多个乡镇（第1行为T1）"
    ]


def test_unknown_household() -> None:
    rows = [review("A1", "group", 800), review("Z9", "group", 800), review("", "self", 800)]
    assert problems_of(two_groups(), reviews_frame(rows)) == [
        "reviews:2:household_code: Z9: 农户表中无此户号",
        "reviews:3:household_code: : 户号为空",
    ]


def test_household_of_another_village_is_unknown_when_not_listed() -> None:
    assert problems_of(households_frame(["A1"], village="V1"), reviews_frame([review("0012", "group", 800)])) == [
        "reviews:1:household_code: 0012: 农户表中无此户号"
    ]


def test_kind_must_be_self_peer_or_group() -> None:
    rows = [review("A1", "inspection", 800), review("A1", "", 800), review("A1", "Self", 800)]
    assert problems_of(two_groups(), reviews_frame(rows)) == [
        "reviews:1:kind: inspection: 评议类型须为self、peer或group",
        "reviews:2:kind: : 评议类型须为self、peer或group",
        "reviews:3:kind: Self: 评议类型须为self、peer或group",
    ]


def test_peer_reviewer_rules() -> None:
    rows = [
        review("A1", "peer", 800, "A2"),  # fine
        review("A1", "peer", 800, "A1"),  # itself
        review("A1", "peer", 800, "B1"),  # other group
        review("A1", "peer", 800, "Z9"),  # unknown
        review("A1", "peer", 800, ""),  # blank
    ]
    assert problems_of(two_groups(), reviews_frame(rows)) == [
        "reviews:2:reviewer: A1: 农户不能评议自己",
        "reviews:3:reviewer: B1: 评议人不是本组农户",
        "reviews:4:reviewer: Z9: 农户表中无此评议人户号",
        "reviews:5:reviewer: : 互评须填写评议人户号",
    ]


def test_same_group_code_in_another_village_is_another_group() -> None:
    households = pd.concat([households_frame(["A1"], village="V1"), households_frame(["C1"], village="V2")])
    assert problems_of(households, reviews_frame([review("A1", "peer", 800, "C1")])) == [
        "reviews:1:reviewer: C1: 评议人不是本组农户"
    ]


def test_second_self_group_or_peer_review_is_refused_naming_both_rows() -> None:
    rows = [
        review("A1", "self", 800),
        review("A1", "group", 800),
        review("A1", "peer", 800, "A2"),
        review("A1", "self", 900),
        review("A1", "group", 900),
        review("A1", "peer", 900, "A2"),
        review("A1", "peer", 900, "A3"),
        review("A2", "self", 900),
    ]
    assert problems_of(two_groups(), reviews_frame(rows)) == [
        "reviews:4:household_code: A1: 同一户重复自评（与第1行重复）",
        "reviews:5:household_code: A1: 同一户重复复评（与第2行重复）",
        "reviews:6:reviewer: A2: 同一评议人重复互评同一户（与第3行重复）",
    ]


def test_scores_out_of_range_or_with_two_decimals() -> None:
    row = review("A1", "group", 800) | {"c01": "10.5", "c02": "9.55", "c03": "-1", "c04": "", "c05": "九"}
    assert problems_of(two_groups(), reviews_frame([row])) == [
        "reviews:1:c01: 10.5: 分数超出0–10范围",
        "reviews:1:c02: 9.55: 分数最多一位小数",
        "reviews:1:c03: -1: 分数超出0–10范围",
        "reviews:1:c04: : 分数为空",
        "reviews:1:c05: 九: 不是有效的分数（须为0–10之间、最多一位小数的数）",
    ]


def test_numeric_scores_are_checked_too() -> None:
    reviews = reviews_frame([review("A1", "group", 800)]).astype({"c01": "float64", "c02": "float64"})
    reviews.loc[0, "c01"] = 9.55
    reviews.loc[0, "c02"] = float("nan")
    assert problems_of(two_groups(), reviews) == ["reviews:1:c01: 9.55: 分数最多一位小数", "reviews:1:c02: : 分数为空"]


def quota(cleanest: object, clean: object, village: str = "V1") -> pd.DataFrame:
    return pd.DataFrame({"village_code": [village], "cleanest_quota": [cleanest], "clean_quota": [clean]})


def test_quota_below_floor_is_refused() -> None:
    households = households_frame([f"H{i}" for i in range(30)])
    assert problems_of(households, reviews_frame([]), quota("2", "5")) == [
        "quotas:1:cleanest_quota: 2: 名额低于底线3（30户×10%，向上取整）",
        "quotas:1:clean_quota: 5: 名额低于底线6（30户×20%，向上取整）",
    ]


def test_quota_must_be_a_non_negative_integer() -> None:
    households = households_frame(["H1"])
    assert problems_of(households, reviews_frame([]), quota("1.5", "-1")) == [
        "quotas:1:cleanest_quota: 1.5: 名额须为非负整数",
        "quotas:1:clean_quota: -1: 名额须为非负整数",
    ]
    assert problems_of(households, reviews_frame([]), quota(1.5, True)) == [
        "quotas:1:cleanest_quota: 1.5: 名额须为非负整数",
        "quotas:1:clean_quota: True: 名额须为非负整数",
    ]


def test_numeric_and_missing_quotas_are_read() -> None:
    households = households_frame([f"H{i}" for i in range(10)])
    quotas = quota(pd.NA, 3).astype({"cleanest_quota": "Int64", "clean_quota": "Int64"})
    _, villages = score_period(households, reviews_frame([]), quotas)
    assert (villages.loc[0, "cleanest_quota"], villages.loc[0, "clean_quota"]) == (1, 3)
    _, villages = score_period(households, reviews_frame([]), quota(float("nan"), 4.0))
    assert (villages.loc[0, "cleanest_quota"], villages.loc[0, "clean_quota"]) == (1, 4)


def test_quota_for_an_unknown_or_repeated_village() -> None:
    quotas = pd.concat([quota("1", "2"), quota("1", "2", village="V9"), quota("3", "4")], ignore_index=True)
    assert problems_of(households_frame(["H1"]), reviews_frame([]), quotas) == [
        "quotas:2:village_code: V9: 农户表中无此村",
        "quotas:3:village_code: V1: 村编码重复（与第1行相同）",
    ]


def test_every_problem_is_collected_across_files() -> None:
    households = households_frame(["A1", "A1"])
    rows = [review("Z1", "group", 800), review("A1", "bad", 800) | {"c10": "11"}]
    problems = problems_of(households, reviews_frame(rows), quota("0", "0"))
    assert problems == [
        "households:2:household_code: A1: 户号重复（与第1行相同）",
        "reviews:1:household_code: Z1: 农户表中无此户号",
        "reviews:2:kind: bad: 评议类型须为self、peer或group",
        "reviews:2:c10: 11: 分数超出0–10范围",
        "quotas:1:cleanest_quota: 0: 名额低于底线1（2户×10%，向上取整）",
        "quotas:1:clean_quota: 0: 名额低于底线1（2户×20%，向上取整）",
    ]


def test_rows_are_positions_not_index_labels() -> None:
    reviews = reviews_frame([review("A1", "group", 800), review("Z1", "group", 800)])
    reviews.index = [10, 20]
    assert problems_of(two_groups(), reviews) == ["reviews:2:household_code: Z1: 农户表中无此户号"]


def test_invalid_input_is_a_value_error_with_a_summary() -> None:
    error = InvalidInput([Problem("reviews", 1, "c01", "x", "bad")])
    assert isinstance(error, ValueError)
    assert "1 problem(s)" in str(error)


# Codes as a clerk's sheet has them: digits of one width (the fast path), with repeats, blanks,
# other widths, leading zeros, full-width digits and letters (which must not match).
_CODE_TEXT = st.sampled_from(["", "0", "00", "012", "0012", "12", "120", "999", "１２０", "12a", " 12", "-12"])
_DIGIT_CODES = st.lists(st.text("0123456789", min_size=3, max_size=3), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    value_set=st.one_of(_DIGIT_CODES, st.lists(_CODE_TEXT, min_size=1, max_size=10)),
    values=st.lists(st.one_of(_CODE_TEXT, st.text("0123456789", min_size=3, max_size=3)), max_size=40),
)
def test_lookup_finds_what_hashing_the_text_finds(value_set: list[str], values: list[str]) -> None:
    as_text = pa.array(values, type=pa.large_string())
    table = pa.array(value_set, type=pa.large_string())
    expected = pc.fill_null(pc.index_in(as_text, value_set=table), -1).to_numpy(zero_copy_only=False)
    assert _lookup(as_text, table).tolist() == expected.tolist()


def test_a_review_code_with_other_leading_zeros_is_not_the_household() -> None:
    households = households_frame(["0012", "0013"])
    reviews = reviews_frame([review("012", "self", 900), review("12", "self", 900), review("0012", "self", 900)])
    with pytest.raises(InvalidInput) as caught:
        score_period(households, reviews, None)
    unknown = [(p.row, p.value) for p in caught.value.problems if p.reason == "农户表中无此户号"]
    assert unknown == [(1, "012"), (2, "12")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text("0123456789", min_size=3, max_size=3), min_size=1, max_size=40))
def test_digit_household_codes_are_ordered_and_repeats_found_as_their_text_would_be(codes: list[str]) -> None:
    # "A" before each code keeps the text's order but takes the text path (not all digits)
    as_digits, as_text = households_frame(codes), households_frame([f"A{c}" for c in codes])
    found_digits: list[Problem] = []
    found_text: list[Problem] = []
    digits = _check_households(as_digits, found_digits)
    text = _check_households(as_text, found_text)
    assert digits.code_order.tolist() == text.code_order.tolist()
    assert [(p.row, p.reason) for p in found_digits] == [(p.row, p.reason) for p in found_text]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 60), max_size=60))
def test_small_keys_counted_give_the_repeats_that_sorting_gives(keys: list[int]) -> None:
    small = np.array(keys, dtype=np.int64)
    large = small + (1 << 40)  # above the counted range: always sorted
    counted, sorted_ = repeats(small), repeats(large)
    assert counted[0].tolist() == sorted_[0].tolist()
    assert counted[1].tolist() == sorted_[1].tolist()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 40), st.integers(17_000, 40_000))
def test_large_keys_in_no_order_hashed_give_the_repeats_that_sorting_gives(seed: int, twins: int, size: int) -> None:
    # Peer pairs of a shuffled file: too many and too large to count, in no order, so only the keys
    # that share a hash bucket are sorted.
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 200_000, size) * 200_000 + rng.integers(0, 200_000, size)
    keys[rng.integers(0, size, twins)] = keys[rng.integers(0, size, twins)]  # some repeated, some thrice
    hashed, sorted_ = repeats(keys), _sorted_repeats(keys)
    assert hashed[0].tolist() == sorted_[0].tolist()
    assert hashed[1].tolist() == sorted_[1].tolist()


_SPELT = st.sampled_from(["self", "peer", "group", "自评", "互评", "复评", "", "Self", "peers"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text("0123456789", min_size=3, max_size=3), min_size=1, max_size=12),
    st.lists(st.tuples(_CODE_TEXT, _SPELT, st.one_of(_CODE_TEXT, st.just("")), st.integers(0, 100)), max_size=30),
    st.lists(st.integers(0, 1), max_size=12),
)
def test_reviews_as_numbers_find_what_their_text_finds(
    codes: list[str], rows: list[tuple[str, str, str, int]], groups: list[int]
) -> None:
    # The fast path hands the reviews' codes and kinds over as numbers (scoring.routing): the same
    # households, kinds and totals, or problems in the same rows and columns.
    households = households_frame(codes)
    households["group_code"] = [f"G{groups[i] if i < len(groups) else 0}" for i in range(len(codes))]
    # some reviews of the households themselves, by their neighbours
    rows = rows + [(c, "peer", codes[(i + 1) % len(codes)], 100) for i, c in enumerate(codes)]
    reviews = reviews_frame([review(code, kind, tenths, reviewer) for code, kind, reviewer, tenths in rows])
    table = pa.table({c: pa.array(reviews[c].tolist(), pa.string()) for c in ("household_code", "kind", "reviewer")})
    numbers = _as_numbers(table, None, 3).to_pandas()
    keyed = reviews.assign(**{c: numbers[c] for c in numbers.columns})
    found: dict[str, object] = {}
    for name, frame, width in (("text", reviews, 0), ("numbers", keyed, 3)):
        try:
            prepared = validate_inputs(households, frame, None, Rubric.default(), Settings(), code_width=width)
        except InvalidInput as error:
            found[name] = sorted({(p.file, p.row, p.column) for p in error.problems})
        else:
            found[name] = (
                prepared.review_household.tolist(),
                prepared.review_kind.tolist(),
                prepared.review_total.tolist(),
            )
    assert found["numbers"] == found["text"]


def test_a_repeated_digit_code_is_found_at_its_first_row() -> None:
    # digit codes are looked up as numbers; with a code twice the lookup must still find its first row
    households = households_frame(["001", "002", "001"])
    reviews = reviews_frame([review("001", "self", 900), review("002", "peer", 900, "001"), review("003", "self", 9)])
    assert problems_of(households, reviews) == [
        "households:3:household_code: 001: 户号重复（与第1行相同）",
        "reviews:3:household_code: 003: 农户表中无此户号",
    ]
