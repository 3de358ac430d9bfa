"""Spot-check agreement and township scores with red and yellow warnings (RULES.md §9)."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from scoring_builders import scores_for

from scoring import CRITERIA, InvalidInput, TownshipWeights, spot_check_agreement, township_scores


def spot(code: str, township: str, total: int) -> dict[str, str]:
    return {"household_code": code, "township_code": township, **dict(zip(CRITERIA, scores_for(total), strict=False))}


RESULTS = pd.DataFrame({"household_code": ["H1", "H2", "H3", "H4"], "grade": ["cleanest", "clean", "not_clean", None]})


def test_agreement_is_the_share_of_spot_grades_equal_to_final_grades() -> None:
    checks = pd.DataFrame([spot("H1", "T1", 905), spot("H2", "T1", 905), spot("H3", "T2", 500), spot("H4", "T2", 900)])
    graded, agreement = spot_check_agreement(checks, RESULTS)
    assert graded["spot_grade"].tolist() == ["cleanest", "cleanest", "not_clean", "cleanest"]
    assert graded["spot_total"].tolist() == [Decimal("90.5"), Decimal("90.5"), Decimal("50.0"), Decimal("90.0")]
    assert graded["agrees"].tolist() == [True, False, True, pd.NA]  # H4 not rated: nothing to compare
    assert agreement.to_dict("list") == {
        "township_code": ["T1", "T2"], "checked": [2, 1], "agreeing": [1, 1], "agreement": [0.5, 1.0],
    }  # fmt: skip


def test_spot_checks_are_validated() -> None:
    bad = pd.DataFrame([spot("H9", "T1", 900) | {"c01": "11"}])
    with pytest.raises(InvalidInput) as caught:
        spot_check_agreement(bad, RESULTS)
    assert [str(p) for p in caught.value.problems] == [
        "spot_checks:1:c01: 11: 分数超出0–10范围",
        "spot_checks:1:household_code: H9: 本期结果中无此户号",
    ]


def frames(rows: dict[str, tuple[list[str], int, int, str, str]]) -> tuple[pd.DataFrame, ...]:
    assessments = pd.DataFrame(
        [(t, f"{t}-{i}", total) for t, row in rows.items() for i, total in enumerate(row[0])],
        columns=["township_code", "village_code", "total"],
    )
    agreement = pd.DataFrame(
        [(t, row[1], row[2]) for t, row in rows.items()], columns=["township_code", "checked", "agreeing"]
    )
    coverage = pd.DataFrame(
        [(t, row[3], row[4]) for t, row in rows.items()], columns=["township_code", "coverage", "planned_coverage"]
    )
    return assessments, agreement, coverage


def test_township_score_formula() -> None:
    # 0.4 × 85 + 0.3 × 100 × 0.75 + 0.3 × min(100, 100 × 0.45 / 0.5) = 34 + 22.5 + 27 = 83.5
    scores = township_scores(*frames({"T1": (["80", "90"], 4, 3, "0.45", "0.5")}))
    row = scores.iloc[0]
    assert (row["mean_assessment"], row["agreement"], row["coverage_points"], row["score"]) == (
        Decimal("85"), Decimal("0.75"), Decimal("90"), Decimal("83.5"),
    )  # fmt: skip


def test_coverage_points_are_capped_at_100_and_a_zero_plan_is_met() -> None:
    scores = township_scores(*frames({"T1": (["100"], 1, 1, "0.9", "0.5"), "T2": (["100"], 1, 1, "0", "0")}))
    assert scores["coverage_points"].tolist() == [Decimal(100), Decimal(100)]
    assert scores["score"].tolist() == [Decimal(100), Decimal(100)]


def test_lowest_gets_red_next_lowest_distinct_yellow_ties_share() -> None:
    """Ordered by score ascending, then township code; ties share a warning."""
    rows = {
        "T1": (["60"], 1, 1, "0.5", "0.5"),
        "T2": (["60"], 1, 1, "0.5", "0.5"),
        "T3": (["70"], 1, 1, "0.5", "0.5"),
        "T4": (["70"], 1, 1, "0.5", "0.5"),
        "T5": (["90"], 1, 1, "0.5", "0.5"),
    }
    scores = township_scores(*frames(rows))
    assert scores["township_code"].tolist() == ["T1", "T2", "T3", "T4", "T5"]
    assert scores["warning"].tolist() == ["red", "red", "yellow", "yellow", ""]
    reordered = township_scores(*(f.iloc[::-1] for f in frames(rows)))
    assert reordered["township_code"].tolist() == ["T1", "T2", "T3", "T4", "T5"]


def test_weights_are_configurable_and_arithmetic_exact() -> None:
    weights = TownshipWeights(Decimal("1"), Decimal("0"), Decimal("0"))
    scores = township_scores(*frames({"T1": (["80", "80", "81"], 3, 1, "0.1", "0.3")}), weights)
    assert scores.iloc[0]["score"] == Decimal("80.33")  # 241 / 3 = 80.333… half-up to two places
    weights = TownshipWeights(Decimal("0"), Decimal("1"), Decimal("0"))
    scores = township_scores(*frames({"T1": (["80"], 3, 2, "0.1", "0.3")}), weights)
    assert scores.iloc[0]["score"] == Decimal("66.67")


def test_a_component_without_data_is_left_out_and_the_others_reweighted() -> None:
    """T1 has no spot check: 0.4 × 80 + 0.3 × 100 (coverage met) over 0.7 = 62 / 0.7 = 88.571…;
    T2 has only spot checks: 100 × 1/4; T3 is named but has no data at all: listed unranked."""
    assessments, agreement, coverage = frames({"T1": (["80"], 1, 1, "0.5", "0.5")})
    agreement = agreement.assign(township_code="T2", checked=4, agreeing=1)
    scores = township_scores(assessments, agreement, coverage, townships=["T3", "T1"])
    assert scores["township_code"].tolist() == ["T2", "T1", "T3"]
    assert scores["score"].tolist()[:2] == [Decimal("25"), Decimal("88.57")]
    assert pd.isna(scores["score"].iloc[2])
    assert scores["rank"].tolist()[:2] == [2, 1] and pd.isna(scores["rank"].iloc[2])
    assert scores["warning"].tolist() == ["red", "yellow", ""]
    t1 = scores.iloc[1]
    assert t1["mean_assessment"] == Decimal(80) and pd.isna(t1["agreement"]) and t1["coverage_points"] == 100
    t2 = scores.iloc[0]
    assert pd.isna(t2["mean_assessment"]) and t2["agreement"] == Decimal("0.25") and pd.isna(t2["coverage_points"])


def test_a_township_whose_remaining_weights_are_zero_is_unranked() -> None:
    assessments, agreement, coverage = frames({"T1": (["80"], 1, 1, "0.5", "0.5")})
    weights = TownshipWeights(Decimal("0"), Decimal("1"), Decimal("0"))
    scores = township_scores(assessments, agreement.iloc[0:0], coverage, weights)
    assert scores["township_code"].tolist() == ["T1"]
    assert pd.isna(scores["score"].iloc[0]) and scores["warning"].tolist() == [""]


def test_bad_township_inputs_are_named() -> None:
    assessments, agreement, coverage = frames({"T1": (["120"], 0, 0, "0.5", "0.5")})
    with pytest.raises(InvalidInput) as caught:
        township_scores(assessments, agreement, coverage)
    assert [str(p) for p in caught.value.problems][:2] == [
        "assessments:1:total: 120: 考核分须为0–100之间的数",
        "agreement:1:checked: 0: 抽查户数须为正数且不少于一致户数",
    ]
