"""Plaque changes when a period becomes final (RULES.md §7, 动态挂牌).

`plaque_changes` compares the plaques held before the period with the period's results and the
inspections' spot checks, and returns what must change: issue a plaque, raise or lower its level,
revoke it (with the reason), commend without a plaque inside the waiting time after a revocation,
or keep it. It changes nothing itself; the caller records the changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from scoring.periods import is_period, period_year, periods_between
from scoring.problems import InvalidInput, Problem
from scoring.rubric import GRADE_LABELS

PLAQUE_ACTIONS: tuple[str, ...] = ("issue", "upgrade", "downgrade", "keep", "revoke", "commend")
PLAQUE_COLUMNS: tuple[str, ...] = (
    "household_code", "serial", "level", "state", "issued_period", "revoked_period",
)  # fmt: skip
CHANGE_COLUMNS: tuple[str, ...] = ("household_code", "action", "serial", "level", "previous_level", "reason")
LEVELS: tuple[str, ...] = ("cleanest", "clean")
_BELOW_CLEAN = ("fairly_clean", "not_clean")


def plaque_serial(county_code: str, year: int, sequence: int) -> str:
    """A plaque serial `<county code>-<year>-<6-digit sequence>`: plaque_serial('52', 2026, 7) == '52-2026-000007'."""
    return f"{county_code}-{year:04d}-{sequence:06d}"


@dataclass(frozen=True)
class _Held:
    serial: str
    level: str


def _text(value: object) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value)


def _read_plaques(plaques: pd.DataFrame) -> tuple[dict[str, _Held], dict[str, str]]:
    """Valid plaque per household, and the latest revocation period per household."""
    file = "plaques"
    problems = [Problem(file, 0, c, "", "缺少必需的列") for c in PLAQUE_COLUMNS if c not in plaques.columns]
    if problems:
        raise InvalidInput(problems)
    held: dict[str, _Held] = {}
    held_row: dict[str, int] = {}
    revoked: dict[str, str] = {}
    rows = zip(*(plaques[c].tolist() for c in PLAQUE_COLUMNS), strict=True)
    for row, (code, serial, level, state, _issued, revoked_period) in enumerate(rows, start=1):
        code, serial, level, state = _text(code), _text(serial), _text(level), _text(state)
        if level not in LEVELS:
            problems.append(Problem(file, row, "level", level, "牌匾等级须为cleanest或clean"))
        if state == "valid":
            if code in held:
                problems.append(
                    Problem(file, row, "household_code", code, f"同一户有两块有效牌匾（与第{held_row[code]}行）")
                )
            held[code] = _Held(serial, level)
            held_row[code] = row
        elif state == "revoked":
            when = _text(revoked_period)
            if not is_period(when):
                problems.append(Problem(file, row, "revoked_period", when, "摘牌期须为YYYYQn或YYYY-MM"))
            elif code not in revoked or periods_between(revoked[code], when) > 0:
                revoked[code] = when
        else:
            problems.append(Problem(file, row, "state", state, "状态须为valid或revoked"))
    if problems:
        raise InvalidInput(problems)
    return held, revoked


def plaque_changes(
    plaques: pd.DataFrame,
    household_results: pd.DataFrame,
    period: str,
    spot_checks: pd.DataFrame | None = None,
    *,
    wait_periods: int = 1,
    county_code: str | None = None,
    next_sequence: int | None = None,
) -> pd.DataFrame:
    """The plaque changes of a period that has become final.

    Inputs: `plaques` (household_code, serial, level, state valid|revoked, issued_period,
    revoked_period), the period's `household_results` (household_code, grade, award; as
    score_period returns them), and optionally the period's `spot_checks` (household_code,
    spot_grade). Returns one row per household that holds a valid plaque or was awarded, sorted
    by household code, columns household_code, action, serial, level, previous_level, reason:

    - a holder whose spot check grades it below clean, or whose final grade is fairly_clean or
      not_clean, is **revoke**d (the reason names the grade; the spot check wins when both apply);
    - an awarded holder gets **upgrade**, **downgrade** or **keep** to the level of its award;
    - a holder not rated, or graded clean or better but left unawarded by the quota, **keep**s it;
    - an awarded household without a valid plaque gets **issue** (level = award), unless its last
      revocation was at most `wait_periods` periods before (`periods_between(revoked, period) <=
      wait_periods`; default 1: revoked in 2026Q1, an award in 2026Q2 is inside the waiting time,
      2026Q3 is not) or a spot check this period graded it below clean: then **commend** (no plaque).

    Serials of new plaques: when `county_code` and `next_sequence` are given, the function numbers
    them `<county>-<year of period>-<sequence>` from `next_sequence` upwards in household code
    order; otherwise `serial` is left empty for the caller to assign.
    """
    if not is_period(period):
        raise InvalidInput([Problem("plaques", 0, "period", period, "期别须为YYYYQn或YYYY-MM")])
    if wait_periods < 0:
        raise InvalidInput([Problem("settings", 0, "plaque_wait_periods", str(wait_periods), "须为非负整数")])
    held, revoked = _read_plaques(plaques)
    grades = dict(
        zip(household_results["household_code"].map(_text), household_results["grade"].map(_text), strict=True)
    )
    awards = dict(
        zip(household_results["household_code"].map(_text), household_results["award"].map(_text), strict=True)
    )
    failed: dict[str, str] = {}
    if spot_checks is not None:
        for code, spot_grade in zip(
            spot_checks["household_code"].map(_text), spot_checks["spot_grade"].map(_text), strict=True
        ):
            if spot_grade in _BELOW_CLEAN:
                failed[code] = spot_grade
    year = period_year(period)
    sequence = next_sequence
    rows: list[tuple[str, str, str | None, str | None, str | None, str]] = []
    for code in sorted(set(held) | {c for c, a in awards.items() if a in LEVELS}):
        award = awards.get(code, "")
        grade = grades.get(code, "")
        plaque = held.get(code)
        if plaque is not None:
            if code in failed:
                reason = f"督查抽查评定为{GRADE_LABELS[failed[code]]}"
                rows.append((code, "revoke", plaque.serial, plaque.level, plaque.level, reason))
            elif grade in _BELOW_CLEAN:
                reason = f"{period}评定为{GRADE_LABELS[grade]}"
                rows.append((code, "revoke", plaque.serial, plaque.level, plaque.level, reason))
            elif award in LEVELS and award != plaque.level:
                action = "upgrade" if award == "cleanest" else "downgrade"
                rows.append((code, action, plaque.serial, award, plaque.level, f"{period}评为{GRADE_LABELS[award]}"))
            else:
                reason = (
                    f"{period}评为{GRADE_LABELS[award]}" if award else ("本期未评定" if not grade else "未获表彰名额")
                )
                rows.append((code, "keep", plaque.serial, plaque.level, plaque.level, reason))
            continue
        last = revoked.get(code)
        if code in failed:
            reason = f"督查抽查评定为{GRADE_LABELS[failed[code]]}，不挂牌"
            rows.append((code, "commend", None, award, None, reason))
        elif last is not None and periods_between(last, period) <= wait_periods:
            reason = f"{last}摘牌，等待期{wait_periods}期内，表彰不挂牌"
            rows.append((code, "commend", None, award, None, reason))
        else:
            serial = None
            if county_code is not None and sequence is not None:
                serial = plaque_serial(county_code, year, sequence)
                sequence += 1
            rows.append((code, "issue", serial, award, None, f"{period}评为{GRADE_LABELS[award]}"))
    frame = pd.DataFrame(rows, columns=list(CHANGE_COLUMNS), dtype=object)
    return frame.astype({c: "str" for c in CHANGE_COLUMNS})
