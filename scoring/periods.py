"""Period arithmetic on quarters written `YYYYQn` (RULES.md §1)."""

from __future__ import annotations

import re

_PERIOD = re.compile(r"(\d{4})Q([1-4])", re.ASCII)


def parse_period(period: str) -> tuple[int, int]:
    """(year, quarter) of '2026Q4'; ValueError if it is not a `YYYYQn` period."""
    match = _PERIOD.fullmatch(period)
    if match is None:
        raise ValueError(f"not a period (YYYYQn): {period!r}")
    return int(match.group(1)), int(match.group(2))


def is_period(text: str) -> bool:
    """Whether `text` is a period written `YYYYQn`."""
    return _PERIOD.fullmatch(text) is not None


def period_index(period: str) -> int:
    """A running quarter number: consecutive periods differ by 1."""
    year, quarter = parse_period(period)
    return year * 4 + quarter - 1


def period_from_index(index: int) -> str:
    """The period of a running quarter number (inverse of `period_index`)."""
    year, quarter0 = divmod(index, 4)
    return f"{year:04d}Q{quarter0 + 1}"


def periods_between(start: str, end: str) -> int:
    """How many periods `end` is after `start`: periods_between('2025Q4', '2026Q1') == 1."""
    return period_index(end) - period_index(start)


def add_periods(period: str, count: int) -> str:
    """The period `count` quarters after (or before, if negative) `period`."""
    return period_from_index(period_index(period) + count)


def period_year(period: str) -> int:
    """The year of a period."""
    return parse_period(period)[0]
