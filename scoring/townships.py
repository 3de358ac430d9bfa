"""Inspection agreement and township scores with red and yellow warnings (RULES.md §9).

All arithmetic is exact (fractions); the score is rounded half-up to two decimals and the warnings
are decided on that rounded score, the one the township sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from scoring.arith import as_fraction, decimal_array, score_column
from scoring.engine import coerce_rubric, coerce_settings, grade_codes, to_frame
from scoring.problems import InvalidInput, Problem
from scoring.rubric import CRITERIA, GRADES, Rubric, Settings

WARNINGS: tuple[str, ...] = ("red", "yellow")


@dataclass(frozen=True)
class TownshipWeights:
    """Weights of the township score: assessment, agreement, coverage (default 0.4 / 0.3 / 0.3)."""

    assessment: Decimal = Decimal("0.4")
    agreement: Decimal = Decimal("0.3")
    coverage: Decimal = Decimal("0.3")


def _text(value: object) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value)


def spot_check_agreement(
    spot_checks: pd.DataFrame,
    household_results: pd.DataFrame,
    rubric: Rubric | pd.DataFrame | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grade the inspections' re-scores and compare them with the final grades.

    `spot_checks`: household_code, township_code, c01…c10 (scores as in reviews). Returns
    (checks, agreement): checks has household_code, township_code, spot_total (exact decimal),
    spot_grade, final_grade, agrees (NA when the household was not rated: no final grade to
    compare); agreement has, per township sorted by code, checked (rated households checked),
    agreeing, and agreement = agreeing / checked (a float for display; township_scores recomputes
    it exactly from the counts).
    """
    rub = coerce_rubric(rubric)
    sett = coerce_settings(settings)
    file = "spot_checks"
    required = ("household_code", "township_code", *CRITERIA)
    problems = [Problem(file, 0, c, "", "缺少必需的列") for c in required if c not in spot_checks.columns]
    if problems:
        raise InvalidInput(problems)
    total = np.zeros(len(spot_checks), dtype=np.int64)
    for column, max_tenths in zip(CRITERIA, rub.max_tenths, strict=True):
        scores = score_column(spot_checks[column], max_tenths)
        total += scores.tenths
        problems += [
            Problem(file, int(r) + 1, column, v, reason)
            for r, v, reason in zip(scores.bad.tolist(), scores.values, scores.reasons, strict=True)
        ]
    final = dict(
        zip(household_results["household_code"].map(_text), household_results["grade"].map(_text), strict=True)
    )
    codes = spot_checks["household_code"].map(_text).tolist()
    for row, code in enumerate(codes, start=1):
        if code not in final:
            problems.append(Problem(file, row, "household_code", code, "本期结果中无此户号"))
    if problems:
        raise InvalidInput(problems)
    spot_grade = [GRADES[g] for g in grade_codes(total, sett).tolist()]
    final_grade = [final[c] or None for c in codes]
    agrees = [None if f is None else f == s for f, s in zip(final_grade, spot_grade, strict=True)]
    checks = to_frame(
        pa.table(
            {
                "household_code": pa.array(codes, pa.large_string()),
                "township_code": pa.array(spot_checks["township_code"].map(_text).tolist(), pa.large_string()),
                "spot_total": decimal_array(total),
                "spot_grade": pa.array(spot_grade, pa.large_string()),
                "final_grade": pa.array(final_grade, pa.large_string()),
            }
        )
    )
    checks["agrees"] = pd.array(agrees, dtype="boolean")
    rated = checks[checks["agrees"].notna()]
    summary = (
        rated.groupby("township_code", sort=True)["agrees"]
        .agg(checked="count", agreeing="sum")
        .reset_index()
        .astype({"checked": "int64", "agreeing": "int64"})
    )
    summary["agreement"] = summary["agreeing"] / summary["checked"]
    return checks, summary


def _exact(value: object) -> Fraction:
    """A number as an exact fraction: a Fraction as it is, anything else as the decimal it prints as."""
    return value if isinstance(value, Fraction) else as_fraction(_text(value))


def _round2(value: Fraction) -> Decimal:
    hundredths = (value * 200 + 1) // 2  # half-up (scores are non-negative)
    return Decimal(int(hundredths)) / 100


def township_scores(
    assessments: pd.DataFrame,
    agreement: pd.DataFrame,
    coverage: pd.DataFrame,
    weights: TownshipWeights | None = None,
    townships: Iterable[str] = (),
) -> pd.DataFrame:
    """Township scores of a period and their warnings (RULES.md §9).

    score = w_a × mean village assessment + w_g × 100 × agreement
            + w_c × min(100, 100 × coverage / planned coverage)
    with weights 0.4 / 0.3 / 0.3 by default; a planned coverage of 0 counts as met (100).

    Inputs: `assessments` (township_code, village_code, total: the village assessment, 0…100),
    `agreement` (township_code, checked, agreeing: as spot_check_agreement returns, checked ≥ 1),
    `coverage` (township_code, coverage, planned_coverage: shares 0…1). Numbers may be given as
    text, decimals or exact fractions. A township missing from a
    table has no data for that component: the component is left out and the remaining weights are
    scaled up to the sum of all three (so a township with every component gets the formula above
    exactly). A township with no component at all (named only in `townships`), or whose remaining
    weights are all zero, is listed unranked: no score, no rank, no warning.

    Returns township_code, mean_assessment, agreement, coverage_points, score (exact decimals
    rounded half-up to two places; agreement a share rounded to four; NA for a component without
    data), rank (1 for the highest score, ties share a rank; NA when unranked) and warning, ordered
    by score ascending, then township code ascending, the unranked last by code. The townships with
    the lowest score get `red`, those with the next-lowest distinct score `yellow` (ties share the
    warning); the others none (empty).
    """
    w = weights or TownshipWeights()
    problems: list[Problem] = []
    needed = {
        "assessments": (assessments, ("township_code", "village_code", "total")),
        "agreement": (agreement, ("township_code", "checked", "agreeing")),
        "coverage": (coverage, ("township_code", "coverage", "planned_coverage")),
    }
    for file, (frame, columns) in needed.items():
        problems += [Problem(file, 0, c, "", "缺少必需的列") for c in columns if c not in frame.columns]
    if problems:
        raise InvalidInput(problems)
    totals: dict[str, list[Fraction]] = {}
    for row, (code, total) in enumerate(
        zip(assessments["township_code"].map(_text), assessments["total"], strict=True), start=1
    ):
        try:
            value = _exact(total)
        except ArithmeticError:
            problems.append(Problem("assessments", row, "total", _text(total), "考核分须为0–100之间的数"))
            continue
        if not 0 <= value <= 100:
            problems.append(Problem("assessments", row, "total", _text(total), "考核分须为0–100之间的数"))
        totals.setdefault(code, []).append(value)
    shares: dict[str, Fraction] = {}
    for row, (code, checked, agreeing) in enumerate(
        zip(agreement["township_code"].map(_text), agreement["checked"], agreement["agreeing"], strict=True), start=1
    ):
        if int(checked) <= 0 or not 0 <= int(agreeing) <= int(checked):
            problems.append(Problem("agreement", row, "checked", _text(checked), "抽查户数须为正数且不少于一致户数"))
            continue
        shares[code] = Fraction(int(agreeing), int(checked))
    covered: dict[str, Fraction] = {}
    for row, (code, cov, plan) in enumerate(
        zip(coverage["township_code"].map(_text), coverage["coverage"], coverage["planned_coverage"], strict=True),
        start=1,
    ):
        try:
            have, want = _exact(cov), _exact(plan)
        except ArithmeticError:
            problems.append(Problem("coverage", row, "coverage", _text(cov), "覆盖率须为0–1之间的数"))
            continue
        covered[code] = Fraction(100) if want == 0 else min(Fraction(100), 100 * have / want)
    if problems:
        raise InvalidInput(problems)
    weight = {
        "assessment": as_fraction(w.assessment),
        "agreement": as_fraction(w.agreement),
        "coverage": as_fraction(w.coverage),
    }
    all_weights = sum(weight.values(), Fraction(0))
    ranked: list[tuple[str, Decimal | None, Decimal | None, Decimal | None, Decimal]] = []
    unranked: list[tuple[str, Decimal | None, Decimal | None, Decimal | None, None]] = []
    for code in sorted(set(totals) | set(shares) | set(covered) | {_text(t) for t in townships}):
        points: dict[str, Fraction] = {}
        if code in totals:
            points["assessment"] = sum(totals[code], Fraction(0)) / len(totals[code])
        if code in shares:
            points["agreement"] = 100 * shares[code]
        if code in covered:
            points["coverage"] = covered[code]
        present = sum((weight[k] for k in points), Fraction(0))
        shown = (
            _round2(points["assessment"]) if "assessment" in points else None,
            _round2(points["agreement"]) / 100 if "agreement" in points else None,
            _round2(points["coverage"]) if "coverage" in points else None,
        )
        if present == 0:
            unranked.append((code, *shown, None))
            continue
        exact = sum((weight[k] * p for k, p in points.items()), Fraction(0)) * all_weights / present
        ranked.append((code, *shown, _round2(exact)))
    ranked.sort(key=lambda r: (r[4], r[0]))
    distinct = sorted({r[4] for r in ranked})
    warning = {score: name for score, name in zip(distinct, WARNINGS, strict=False)}
    rank = {score: 1 + sum(1 for r in ranked if r[4] > score) for score in distinct}
    rows = [*ranked, *unranked]
    decimal = pa.decimal128(9, 4)
    frame = to_frame(
        pa.table(
            {
                "township_code": pa.array([r[0] for r in rows], pa.large_string()),
                "mean_assessment": pa.array([r[1] for r in rows], decimal),
                "agreement": pa.array([r[2] for r in rows], decimal),
                "coverage_points": pa.array([r[3] for r in rows], decimal),
                "score": pa.array([r[4] for r in rows], decimal),
                "rank": pa.array([None if r[4] is None else rank[r[4]] for r in rows], pa.int64()),
                "warning": pa.array(["" if r[4] is None else warning.get(r[4], "") for r in rows], pa.large_string()),
            }
        )
    )
    return frame
