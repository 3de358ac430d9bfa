"""The rubric (RULES.md §2) and the per-county settings of §3-4, as frozen dataclasses.

`Rubric.default()` and `Settings()` carry the defaults of RULES.md; `Rubric.from_frame` and
`Settings.from_dict` read the interchange forms (the rubric table and `settings.json`) and raise
`InvalidInput` listing every problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from scoring.arith import format_points, tenths_of
from scoring.problems import InvalidInput, Problem

# The vocabulary is defined in scoring.vocabulary (no pandas) and still read from here.
from scoring.vocabulary import CRITERIA as CRITERIA
from scoring.vocabulary import DEFAULT_LABELS as DEFAULT_LABELS
from scoring.vocabulary import DEFAULT_MAX_POINTS
from scoring.vocabulary import GRADE_LABELS as GRADE_LABELS
from scoring.vocabulary import GRADES as GRADES

TOTAL_POINTS = 100


@dataclass(frozen=True)
class Criterion:
    """One rubric line: code `c01`…`c10`, label, maximum points (at most one decimal)."""

    code: str
    label: str
    max_points: Decimal

    @property
    def max_tenths(self) -> int:
        return tenths_of(self.max_points)


@dataclass(frozen=True)
class Rubric:
    """Ten criteria whose maxima sum to 100 points."""

    criteria: tuple[Criterion, ...]

    @classmethod
    def default(cls) -> Rubric:
        """The default rubric of RULES.md §2: ten criteria of 10 points."""
        return cls(
            tuple(
                Criterion(c, label, Decimal(DEFAULT_MAX_POINTS))
                for c, label in zip(CRITERIA, DEFAULT_LABELS, strict=False)
            )
        )

    @property
    def max_tenths(self) -> tuple[int, ...]:
        return tuple(c.max_tenths for c in self.criteria)

    def to_frame(self) -> pd.DataFrame:
        """The interchange rubric table: criterion, label, max_points."""
        return pd.DataFrame(
            {
                "criterion": [c.code for c in self.criteria],
                "label": [c.label for c in self.criteria],
                "max_points": [format_points(c.max_tenths) for c in self.criteria],
            }
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, file: str = "rubric") -> Rubric:
        """Read a rubric table (criterion, label, max_points): exactly the ten rows c01…c10, each
        maximum positive with at most one decimal, the maxima summing to 100."""
        problems: list[Problem] = []
        missing = [c for c in ("criterion", "label", "max_points") if c not in frame.columns]
        problems += [Problem(file, 0, c, "", "缺少必需的列") for c in missing]
        if missing:
            raise InvalidInput(problems)
        found: dict[str, Criterion] = {}
        for row, (code, label, points) in enumerate(
            zip(frame["criterion"], frame["label"], frame["max_points"], strict=True), start=1
        ):
            code_text = "" if pd.isna(code) else str(code).strip()
            if code_text not in CRITERIA:
                problems.append(Problem(file, row, "criterion", code_text, "评分项须为c01…c10"))
                continue
            if code_text in found:
                problems.append(Problem(file, row, "criterion", code_text, "评分项重复"))
                continue
            shown = "" if pd.isna(points) else str(points).strip()
            try:
                max_points = Decimal(shown)
                tenths = tenths_of(max_points)
            except (InvalidOperation, ValueError):
                problems.append(Problem(file, row, "max_points", shown, "满分须为最多一位小数的正数"))
                continue
            if tenths <= 0:
                problems.append(Problem(file, row, "max_points", shown, "满分须为最多一位小数的正数"))
                continue
            label_text = "" if pd.isna(label) else str(label).strip()
            found[code_text] = Criterion(code_text, label_text, Decimal(tenths) / 10)
        problems += [Problem(file, 0, "criterion", c, "缺少该评分项") for c in CRITERIA if c not in found]
        if not problems:
            total = sum(c.max_tenths for c in found.values())
            if total != TOTAL_POINTS * 10:
                problems.append(Problem(file, 0, "max_points", format_points(total), f"十项满分合计须为{TOTAL_POINTS}"))
        if problems:
            raise InvalidInput(problems)
        return cls(tuple(found[c] for c in CRITERIA))


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("boolean")
    return Decimal(str(value))


@dataclass(frozen=True)
class Settings:
    """Per-county settings of the rating (RULES.md §2-4), defaults as in RULES.md.

    Thresholds and the gap are in points with at most one decimal (totals are tenths); floor ratios
    are exact decimals in [0, 1]; `min_peers` is the expected minimum number of peer reviews.
    """

    cleanest_min: Decimal = Decimal(90)
    clean_min: Decimal = Decimal(80)
    fairly_clean_min: Decimal = Decimal(60)
    cleanest_floor_ratio: Decimal = Decimal("0.10")
    clean_floor_ratio: Decimal = Decimal("0.20")
    gap: Decimal = Decimal(10)
    min_peers: int = 2

    def __post_init__(self) -> None:
        for name in _DECIMAL_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, Decimal):
                try:
                    object.__setattr__(self, name, _decimal(value))
                except (InvalidOperation, ValueError):
                    raise InvalidInput([Problem("settings", 0, _dotted(name), str(value), "须为数")]) from None
        problems = self.problems()
        if problems:
            raise InvalidInput(problems)

    def problems(self) -> list[Problem]:
        """Every inconsistency: thresholds not tenths or not descending, ratios outside [0, 1]..."""
        file = "settings"
        problems: list[Problem] = []
        named = {
            "thresholds.cleanest": self.cleanest_min,
            "thresholds.clean": self.clean_min,
            "thresholds.fairly_clean": self.fairly_clean_min,
            "gap": self.gap,
        }
        for key, value in named.items():
            try:
                tenths = tenths_of(value)
            except (ValueError, InvalidOperation):
                problems.append(Problem(file, 0, key, str(value), "须为最多一位小数的数"))
                continue
            if tenths < 0 or tenths > TOTAL_POINTS * 10:
                problems.append(Problem(file, 0, key, str(value), f"须在0–{TOTAL_POINTS}之间"))
        if not problems and not self.cleanest_min > self.clean_min > self.fairly_clean_min:
            problems.append(
                Problem(
                    file,
                    0,
                    "thresholds",
                    f"{self.cleanest_min}/{self.clean_min}/{self.fairly_clean_min}",
                    "须满足 cleanest > clean > fairly_clean",
                )
            )
        for key, ratio in (
            ("floor_ratios.cleanest", self.cleanest_floor_ratio),
            ("floor_ratios.clean", self.clean_floor_ratio),
        ):
            if not ratio.is_finite() or not Decimal(0) <= ratio <= Decimal(1):
                problems.append(Problem(file, 0, key, str(ratio), "比例须在0–1之间"))
        if isinstance(self.min_peers, bool) or not isinstance(self.min_peers, int) or self.min_peers < 0:
            problems.append(Problem(file, 0, "min_peers", str(self.min_peers), "须为非负整数"))
        return problems

    @property
    def thresholds_tenths(self) -> tuple[int, int, int]:
        """(cleanest, clean, fairly_clean) minimum totals in tenths."""
        return tenths_of(self.cleanest_min), tenths_of(self.clean_min), tenths_of(self.fairly_clean_min)

    @property
    def gap_tenths(self) -> int:
        return tenths_of(self.gap)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Settings:
        """Read `settings.json` (INTERCHANGE.md §1); any key may be left out; unknown keys are errors."""
        file = "settings"
        problems: list[Problem] = []
        values: dict[str, Any] = {}
        layout: dict[str, tuple[str, dict[str, str]] | str] = {
            "thresholds": (
                "thresholds",
                {"cleanest": "cleanest_min", "clean": "clean_min", "fairly_clean": "fairly_clean_min"},
            ),
            "floor_ratios": ("floor_ratios", {"cleanest": "cleanest_floor_ratio", "clean": "clean_floor_ratio"}),
            "gap": "gap",
            "min_peers": "min_peers",
        }
        for key, value in data.items():
            target = layout.get(key)
            if target is None:
                problems.append(Problem(file, 0, key, "", "未知的设置项"))
            elif isinstance(target, str):
                values[target] = value
            elif not isinstance(value, Mapping):
                problems.append(Problem(file, 0, key, str(value), "须为对象"))
            else:
                for sub, sub_value in value.items():
                    if sub not in target[1]:
                        problems.append(Problem(file, 0, f"{key}.{sub}", "", "未知的设置项"))
                    else:
                        values[target[1][sub]] = sub_value
        converted: dict[str, Any] = {}
        for name, value in values.items():
            dotted = _dotted(name)
            if name == "min_peers":
                if isinstance(value, bool) or not isinstance(value, int):
                    problems.append(Problem(file, 0, dotted, str(value), "须为非负整数"))
                else:
                    converted[name] = value
                continue
            try:
                converted[name] = _decimal(value)
            except (InvalidOperation, ValueError):
                problems.append(Problem(file, 0, dotted, str(value), "须为数"))
        if problems:
            raise InvalidInput(problems)
        return cls(**converted)


_DECIMAL_FIELDS = ("cleanest_min", "clean_min", "fairly_clean_min", "cleanest_floor_ratio", "clean_floor_ratio", "gap")


def _dotted(name: str) -> str:
    return {
        "cleanest_min": "thresholds.cleanest",
        "clean_min": "thresholds.clean",
        "fairly_clean_min": "thresholds.fairly_clean",
        "cleanest_floor_ratio": "floor_ratios.cleanest",
        "clean_floor_ratio": "floor_ratios.clean",
    }.get(name, name)
