"""Period arithmetic on YYYYQn."""

from __future__ import annotations

import pytest

from scoring import add_periods, is_period, parse_period, period_index, period_year, periods_between


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
