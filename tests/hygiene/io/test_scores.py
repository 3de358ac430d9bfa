"""The strict score parser (INTERCHANGE.md §2.1, RELIABILITY.md trap 3): scores are integer tenths,
full-width digits read as digits, everything else refused with the reason to show."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hygiene.io.scores import format_points, parse_score, parse_whole_number

TEN = 100  # 10 points, in tenths
OUT_OF_RANGE = "不是0–10之间的分数"
BLANK = "分数未填（空白不按0分计）"
FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


@pytest.mark.parametrize(
    ("text", "tenths"),
    [
        ("9", 90),
        ("9.5", 95),
        ("0", 0),
        ("0.0", 0),
        ("0.1", 1),
        ("10", 100),
        ("10.0", 100),
        (" 10 ", 100),
        ("09.5", 95),
        ("９", 90),
        ("９．５", 95),  # typed with a Chinese input method
        ("\u3000９\u3000", 90),  # ideographic spaces at the ends are trimmed
        ("\xa08.5\t", 85),
        ("7\n", 70),
    ],
)
def test_a_plain_decimal_is_read_exactly_as_tenths(text: str, tenths: int) -> None:
    assert parse_score(text, TEN) == tenths


@pytest.mark.parametrize(
    "text",
    [
        "10.1",  # above the maximum
        "11",
        "100",
        "-1",
        "-0",
        "+9",
        "abc",
        "9.",
        ".5",
        "9 .5",
        "9,5",
        "1e1",
        "nan",
        "inf",
        "true",
        "9_0",
        "٩",  # Arabic-Indic nine: int() would take it
        "九",
        "9分",
        "/",
        "—",
        "1000",
        "0x9",
        "9\u200b",
    ],
)
def test_anything_but_a_plain_decimal_within_the_maximum_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=f"^{OUT_OF_RANGE}$"):
        parse_score(text, TEN)


@pytest.mark.parametrize("text", ["10.05", "9.55", "９.５５", "0.125"])
def test_two_decimals_are_refused_saying_so(text: str) -> None:
    with pytest.raises(ValueError, match=r"^最多一位小数（如 9\.5），0–10分$"):
        parse_score(text, TEN)


@pytest.mark.parametrize("text", ["", " ", "\u3000", "\t\r\n", "\xa0"])
def test_a_blank_is_never_zero(text: str) -> None:
    with pytest.raises(ValueError, match=f"^{BLANK}$"):
        parse_score(text, TEN)


@pytest.mark.parametrize(
    ("maximum", "message"),
    [(95, "不是0–9.5之间的分数"), (50, "不是0–5之间的分数"), (5, "不是0–0.5之间的分数")],
)
def test_the_refusal_names_the_criterions_own_maximum(maximum: int, message: str) -> None:
    assert parse_score(format_points(maximum), maximum) == maximum
    with pytest.raises(ValueError, match=f"^{message}$"):
        parse_score(format_points(maximum + 1), maximum)


@pytest.mark.parametrize(
    ("tenths", "text"),
    [(0, "0"), (1, "0.1"), (10, "1"), (95, "9.5"), (100, "10"), (105, "10.5"), (9999, "999.9")],
)
def test_format_tenths_writes_points_without_a_trailing_zero(tenths: int, text: str) -> None:
    assert format_points(tenths) == text


@given(st.integers(0, 9999).flatmap(lambda m: st.tuples(st.integers(0, m), st.just(m))))
def test_every_score_within_the_maximum_survives_format_then_parse(case: tuple[int, int]) -> None:
    tenths, maximum = case
    text = format_points(tenths)
    assert parse_score(text, maximum) == tenths
    assert format_points(parse_score(text, maximum)) == text
    assert parse_score(text.translate(FULL_WIDTH), maximum) == tenths


@given(st.integers(0, 9998).flatmap(lambda m: st.tuples(st.integers(m + 1, 9999), st.just(m))))
def test_no_score_above_the_maximum_is_accepted(case: tuple[int, int]) -> None:
    tenths, maximum = case
    with pytest.raises(ValueError, match=f"^不是0–{format_points(maximum)}之间的分数$"):
        parse_score(format_points(tenths), maximum)


@given(st.text(max_size=8))
def test_whatever_is_typed_the_result_is_its_nfkc_decimal_in_tenths_or_a_refusal(text: str) -> None:
    try:
        tenths = parse_score(text, TEN)
    except ValueError as error:
        assert str(error) in (OUT_OF_RANGE, BLANK)
    else:
        normalised = unicodedata.normalize("NFKC", text).strip()
        assert re.fullmatch(r"[0-9]{1,3}(\.[0-9])?", normalised, flags=re.ASCII)
        assert Decimal(normalised) * 10 == tenths
        assert 0 <= tenths <= TEN


# --- whole numbers: household members, award quotas ----------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [("4", 4), ("０", 0), ("１２", 12), (" 7 ", 7), ("007", 7), ("9999", 9999)])
def test_a_whole_number_in_ascii_or_full_width_digits_is_read(text: str, value: int) -> None:
    assert parse_whole_number(text, 0, 9999) == value


@pytest.mark.parametrize("text", ["", " ", "٩٠", "9_0", "+9", "-1", "1e2", "9.0", "九", "10000", "1" * 10, "nan"])
def test_anything_else_is_not_a_whole_number(text: str) -> None:
    with pytest.raises(ValueError, match=r"^不是0–9999之间的整数$"):
        parse_whole_number(text, 0, 9999)


@given(st.text(max_size=8))
def test_a_whole_number_is_its_nfkc_ascii_digits_or_a_refusal(text: str) -> None:
    normalised = unicodedata.normalize("NFKC", text).strip()
    expected = int(normalised) if re.fullmatch(r"[0-9]{1,9}", normalised) and 1 <= int(normalised) <= 99 else None
    try:
        assert parse_whole_number(text, 1, 99) == expected
    except ValueError:
        assert expected is None
