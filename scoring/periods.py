"""Period arithmetic (RULES.md §1): a period is a quarter written `YYYYQn` or, for a county that
rates monthly, a month written `YYYY-MM`.

Periods of one kind follow each other by 1. A county may switch from one kind to the other (a
change applies from the next period opened); the count between a period of one kind and a later
one of the other kind is in the later one's periods, from the end of the earlier: after `2026Q4`
come `2027-01` (1), `2027-02` (2) …; after `2026-12` comes `2027Q1` (1). So waiting times and
overdue rules counted in periods keep working across a switch.
"""

from __future__ import annotations

import re
from fractions import Fraction
from math import ceil

_QUARTER = re.compile(r"(\d{4})Q([1-4])", re.ASCII)
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])", re.ASCII)
QUARTER, MONTH = "quarter", "month"
LENGTHS = (QUARTER, MONTH)
_MONTHS = {QUARTER: 3, MONTH: 1}


def period_kind(period: str) -> str:
    """ "quarter" for `YYYYQn`, "month" for `YYYY-MM`; ValueError for anything else."""
    if _QUARTER.fullmatch(period):
        return QUARTER
    if _MONTH.fullmatch(period):
        return MONTH
    raise ValueError(f"not a period (YYYYQn or YYYY-MM): {period!r}")


def parse_period(period: str) -> tuple[int, int]:
    """(year, quarter) of '2026Q4', (year, month) of '2026-11'; ValueError if it is neither."""
    match = _QUARTER.fullmatch(period) or _MONTH.fullmatch(period)
    if match is None:
        raise ValueError(f"not a period (YYYYQn or YYYY-MM): {period!r}")
    return int(match.group(1)), int(match.group(2))


def is_period(text: str) -> bool:
    """Whether `text` is a period written `YYYYQn` or `YYYY-MM`."""
    return _QUARTER.fullmatch(text) is not None or _MONTH.fullmatch(text) is not None


def period_index(period: str) -> int:
    """A running number of the period among those of its kind: consecutive periods differ by 1."""
    year, n = parse_period(period)
    return year * (4 if period_kind(period) == QUARTER else 12) + n - 1


def period_from_index(index: int, kind: str = QUARTER) -> str:
    """The period of a running number of its kind (inverse of `period_index`)."""
    if kind == MONTH:
        year, month0 = divmod(index, 12)
        return f"{year:04d}-{month0 + 1:02d}"
    year, quarter0 = divmod(index, 4)
    return f"{year:04d}Q{quarter0 + 1}"


def first_month(period: str) -> int:
    """The running month number (year × 12 + month − 1) the period starts in."""
    year, n = parse_period(period)
    return year * 12 + (3 * n - 3 if period_kind(period) == QUARTER else n - 1)


def last_month(period: str) -> int:
    """The running month number the period ends in."""
    return first_month(period) + _MONTHS[period_kind(period)] - 1


def periods_between(start: str, end: str) -> int:
    """How many periods `end` is after `start`: periods_between('2025Q4', '2026Q1') == 1; across a
    switch of kind, counted in `end`'s periods from the end of `start` (a part period counts whole)."""
    if period_kind(start) == period_kind(end):
        return period_index(end) - period_index(start)
    return ceil(Fraction(last_month(end) - last_month(start), _MONTHS[period_kind(end)]))


def add_periods(period: str, count: int) -> str:
    """The period `count` periods of its kind after (or before, if negative) `period`."""
    return period_from_index(period_index(period) + count, period_kind(period))


def first_period_after(period: str, kind: str) -> str:
    """The first period of `kind` starting after `period` ends (the next one when the kind is the same)."""
    if kind == period_kind(period):
        return add_periods(period, 1)
    month = last_month(period) + 1
    year, month0 = divmod(month, 12)
    if kind == MONTH:
        return f"{year:04d}-{month0 + 1:02d}"
    quarter0 = -(-month0 // 3)  # the quarter starting at or after that month
    year, quarter0 = divmod(year * 4 + quarter0, 4)
    return f"{year:04d}Q{quarter0 + 1}"


def period_year(period: str) -> int:
    """The year of a period."""
    return parse_period(period)[0]
