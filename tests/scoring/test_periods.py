"""Period arithmetic on YYYYQn."""

from __future__ import annotations

import pytest

from scoring import (
    add_periods,
    first_period_after,
    is_period,
    parse_period,
    period_index,
    period_kind,
    period_year,
    periods_between,
)


def test_periods_between_counts_quarters_across_years() -> None:
    assert periods_between("2025Q4", "2026Q1") == 1
    assert periods_between("2026Q1", "2026Q1") == 0
    assert periods_between("2026Q3", "2026Q1") == -2
    assert periods_between("2024Q1", "2026Q1") == 8


def test_add_periods_wraps_years() -> None:
    assert add_periods("2026Q4", 1) == "2027Q1"
    assert add_periods("2026Q1", -1) == "2025Q4"
    assert add_periods("2026Q2", 8) == "2028Q2"


def test_parse_and_index() -> None:
    assert parse_period("2026Q3") == (2026, 3)
    assert period_year("2026Q3") == 2026
    assert period_index("2026Q2") - period_index("2026Q1") == 1


@pytest.mark.parametrize("text", ["2026Q5", "2026Q0", "26Q1", "2026q1", "2026Q1 ", ""])
def test_malformed_periods_are_refused(text: str) -> None:
    assert not is_period(text)
    with pytest.raises(ValueError, match="period"):
        parse_period(text)


# --- monthly counties (issue 33, RULES.md §1) -------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind", "parsed"),
    [("2027-01", "month", (2027, 1)), ("2027-12", "month", (2027, 12)), ("2027Q3", "quarter", (2027, 3))],
)
def test_months_and_quarters_are_periods(code: str, kind: str, parsed: tuple[int, int]) -> None:
    assert is_period(code) and period_kind(code) == kind and parse_period(code) == parsed


@pytest.mark.parametrize("code", ["2027-00", "2027-13", "2027-1", "27-01", "2027/01", "２０２７-01", "2027Q5"])
def test_bad_months_are_refused(code: str) -> None:
    assert not is_period(code)
    with pytest.raises(ValueError):
        parse_period(code)


def test_month_arithmetic() -> None:
    assert add_periods("2026-12", 1) == "2027-01" and add_periods("2027-01", -1) == "2026-12"
    assert add_periods("2027-03", 12) == "2028-03"
    assert periods_between("2026-11", "2027-02") == 3 and periods_between("2027-02", "2026-11") == -3


def test_counting_across_a_switch_of_kind_is_in_the_later_periods() -> None:
    assert periods_between("2026Q4", "2027-01") == 1 and periods_between("2026Q4", "2027-03") == 3
    assert periods_between("2026-12", "2027Q1") == 1 and periods_between("2026-12", "2027Q2") == 2
    assert periods_between("2026-11", "2027Q1") == 2  # December, a part of a quarter, counts whole
    assert first_period_after("2026Q4", "month") == "2027-01" and first_period_after("2026-12", "quarter") == "2027Q1"
    assert first_period_after("2027-02", "quarter") == "2027Q2" and first_period_after("2027Q1", "quarter") == "2027Q2"
    assert first_period_after("2027-12", "month") == "2028-01"
