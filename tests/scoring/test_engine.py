"""The rules of RULES.md §2-4 as score_period applies them."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from scoring_builders import households_frame, review, reviews_frame

from scoring import (
    CRITERIA,
    HOUSEHOLD_RESULT_COLUMNS,
    VILLAGE_RESULT_COLUMNS,
    Criterion,
    Rubric,
    Settings,
    grade_of,
    peer_criterion_means,
    ratio_floors,
    score_period,
)
from scoring.engine import ranking_order


def by_code(results: pd.DataFrame) -> dict[str, dict[str, object]]:
    return {row["household_code"]: row for row in results.to_dict("records")}


def one_village(codes: list[str], reviews: list[dict[str, str]], **kwargs: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    return score_period(households_frame(codes), reviews_frame(reviews), **kwargs)  # type: ignore[arg-type]


def test_totals_are_the_sum_the_peer_mean_and_the_group_total() -> None:
    rows = [
        review("H1", "self", 915),
        review("H1", "peer", 852, "H2"),
        review("H1", "peer", 853, "H3"),
        review("H1", "group", 875),
    ]
    results, _ = one_village(["H1", "H2", "H3"], rows)
    h1 = by_code(results)["H1"]
    assert h1["self_total"] == Decimal("91.5")
    assert h1["peer_total"] == Decimal("85.3")  # mean 85.25 rounded half-up
    assert h1["peer_count"] == 2
    assert h1["final_total"] == Decimal("87.5")


def test_self_total_is_the_sum_of_the_ten_scores() -> None:
    row = review("H1", "self", 0) | dict(
        zip(CRITERIA, ["10", "9.5", "9", "8.5", "8", "7.5", "7", "6.5", "6", "0.1"], strict=False)
    )
    results, _ = one_village(["H1"], [row])
    assert by_code(results)["H1"]["self_total"] == Decimal("72.1")


def test_a_peer_mean_of_89_95_rounds_to_90_0_and_grades_cleanest() -> None:
    rows = [review("H1", "peer", 899, "H2"), review("H1", "peer", 900, "H3")]
    rows += [review("H1", "group", 900)]
    results, _ = one_village(["H1", "H2", "H3"], rows)
    assert by_code(results)["H1"]["peer_total"] == Decimal("90.0")
    assert grade_of(900) == "cleanest"


@pytest.mark.parametrize(
    ("total", "grade"),
    [(1000, "cleanest"), (900, "cleanest"), (899, "clean"), (800, "clean"), (799, "fairly_clean"),
     (600, "fairly_clean"), (599, "not_clean"), (0, "not_clean")],
)  # fmt: skip
def test_grades_by_final_total(total: int, grade: str) -> None:
    assert grade_of(total) == grade
    results, _ = one_village(["H1"], [review("H1", "group", total)])
    assert by_code(results)["H1"]["grade"] == grade


def test_the_final_total_is_the_group_total_whatever_the_others_say() -> None:
    rows = [review("H1", "self", 1000), review("H1", "peer", 1000, "H2"), review("H1", "group", 500)]
    results, _ = one_village(["H1", "H2"], rows)
    assert by_code(results)["H1"]["grade"] == "not_clean"


def test_configurable_fairly_clean_threshold() -> None:
    settings = Settings(fairly_clean_min=Decimal(65))
    assert grade_of(640, settings) == "not_clean"
    results, _ = one_village(["H1"], [review("H1", "group", 640)], settings=settings)
    assert by_code(results)["H1"]["grade"] == "not_clean"
    results, _ = one_village(["H1"], [review("H1", "group", 640)], settings={"thresholds": {"fairly_clean": 65}})
    assert by_code(results)["H1"]["grade"] == "not_clean"


def test_a_household_without_a_group_review_is_listed_but_not_rated() -> None:
    rows = [review("H1", "self", 950), review("H1", "peer", 950, "H2"), review("H2", "group", 700)]
    results, villages = one_village(["H1", "H2"], rows)
    h1 = by_code(results)["H1"]
    assert h1["self_total"] == Decimal("95.0")
    assert pd.isna(h1["final_total"]) and pd.isna(h1["grade"]) and pd.isna(h1["rank"]) and pd.isna(h1["award"])
    assert h1["flags"] == ""
    assert villages.loc[0, "households"] == 2 and villages.loc[0, "rated"] == 1


def test_missing_totals_are_empty() -> None:
    results, _ = one_village(["H1"], [review("H1", "group", 700)])
    h1 = by_code(results)["H1"]
    assert pd.isna(h1["self_total"]) and pd.isna(h1["peer_total"]) and h1["peer_count"] == 0


def test_ranking_breaks_ties_by_peer_then_self_then_code() -> None:
    """final desc, then peer desc, then self desc (missing lowest), then code asc."""
    rows = [
        review("A5", "group", 900), review("A5", "peer", 800, "A1"),
        review("A4", "group", 900), review("A4", "peer", 850, "A1"),
        review("A3", "group", 900), review("A3", "peer", 850, "A1"), review("A3", "self", 700),
        review("A2", "group", 900), review("A2", "peer", 850, "A1"),
        review("A1", "group", 950),
        review("A6", "group", 900), review("A6", "peer", 800, "A1"), review("A6", "self", 0),
    ]  # fmt: skip
    results, _ = one_village(["A1", "A2", "A3", "A4", "A5", "A6"], rows)
    ranks = {code: row["rank"] for code, row in by_code(results).items()}
    assert ranks == {"A1": 1, "A3": 2, "A2": 3, "A4": 4, "A6": 5, "A5": 6}


def test_missing_peer_total_ranks_below_a_zero_peer_total() -> None:
    rows = [review("B1", "group", 800), review("B2", "group", 800), review("B2", "peer", 0, "B1")]
    results, _ = one_village(["B1", "B2"], rows)
    assert by_code(results)["B2"]["rank"] == 1 and by_code(results)["B1"]["rank"] == 2


def test_ranking_order_function_states_its_order() -> None:
    order = ranking_order(
        village=np.array([0, 0, 0, 1]),
        final_total=np.array([800, 900, 900, 100]),
        peer_total=np.array([0, 0, 500, 0]),
        has_peer=np.array([False, False, True, False]),
        self_total=np.zeros(4, dtype=np.int64),
        has_self=np.zeros(4, dtype=bool),
        code_order=np.array([3, 2, 1, 0]),
    )
    assert order.tolist() == [2, 1, 0, 3]


def test_ranks_restart_in_each_village() -> None:
    households = pd.concat([households_frame(["X1", "X2"], village="V1"), households_frame(["Y1"], village="V2")])
    rows = [review("X1", "group", 500), review("X2", "group", 600), review("Y1", "group", 100)]
    results, villages = score_period(households, reviews_frame(rows))
    assert {c: r["rank"] for c, r in by_code(results).items()} == {"X1": 2, "X2": 1, "Y1": 1}
    assert villages["village_code"].tolist() == ["V1", "V2"]


def village_of_ten(finals: list[int]) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    codes = [f"H{i:02d}" for i in range(len(finals))]
    return households_frame(codes), [review(c, "group", t) for c, t in zip(codes, finals, strict=True)]


def test_cleanest_awards_go_to_the_first_quota_households_graded_cleanest() -> None:
    households, rows = village_of_ten([950, 940, 930, 920, 850, 840, 700, 600, 500, 400])
    quotas = pd.DataFrame({"village_code": ["V1"], "cleanest_quota": ["2"], "clean_quota": ["3"]})
    results, villages = score_period(households, reviews_frame(rows), quotas)
    awards = by_code(results)
    assert [awards[f"H{i:02d}"]["award"] for i in range(4)] == ["cleanest", "cleanest", "clean", "clean"]
    assert awards["H04"]["award"] == "clean"  # third clean award: graded clean
    assert pd.isna(awards["H05"]["award"])  # quota used up
    assert villages.loc[0, "cleanest_awarded"] == 2 and villages.loc[0, "clean_awarded"] == 3


def test_clean_awards_never_go_above_the_grade_nor_below_clean() -> None:
    households, rows = village_of_ten([950, 850, 700, 700, 700, 700, 700, 700, 700, 700])
    quotas = pd.DataFrame({"village_code": ["V1"], "cleanest_quota": ["5"], "clean_quota": ["5"]})
    results, villages = score_period(households, reviews_frame(rows), quotas)
    awards = results["award"].fillna("").tolist()
    assert awards == ["cleanest", "clean"] + [""] * 8
    assert villages.loc[0, "cleanest_shortfall"] == 0  # floor 1, awarded 1
    assert villages.loc[0, "clean_shortfall"] == 1  # floor 2, awarded 1
    assert not villages.loc[0, "meets_ratios"]


def test_shortfalls_never_promote_a_household() -> None:
    households, rows = village_of_ten([850] * 10)
    results, villages = score_period(households, reviews_frame(rows))
    assert results["award"].fillna("").tolist().count("cleanest") == 0
    assert villages.loc[0, "cleanest_shortfall"] == 1 and villages.loc[0, "clean_shortfall"] == 0


def test_blank_quota_means_the_floor() -> None:
    households, rows = village_of_ten([950] * 10)
    quotas = pd.DataFrame({"village_code": ["V1"], "cleanest_quota": [""], "clean_quota": [""]})
    results, villages = score_period(households, reviews_frame(rows), quotas)
    row = villages.iloc[0]
    assert (row["cleanest_floor"], row["clean_floor"], row["cleanest_quota"], row["clean_quota"]) == (1, 2, 1, 2)
    assert results["award"].fillna("").tolist() == ["cleanest", "clean", "clean"] + [""] * 7
    assert row["meets_ratios"]


def test_no_quotas_table_means_the_floors() -> None:
    households, rows = village_of_ten([950] * 10)
    _, villages = score_period(households, reviews_frame(rows))
    assert villages.loc[0, "cleanest_quota"] == 1 and villages.loc[0, "clean_quota"] == 2


def test_floors_count_all_households_of_the_village_rated_or_not() -> None:
    codes = [f"H{i:02d}" for i in range(30)]
    _, villages = score_period(households_frame(codes), reviews_frame([review("H00", "group", 950)]))
    assert villages.loc[0, "households"] == 30
    assert (villages.loc[0, "cleanest_floor"], villages.loc[0, "clean_floor"]) == (3, 6)
    assert ratio_floors(30) == (3, 6)
    assert ratio_floors(31) == (4, 7)


def test_configurable_floor_ratios() -> None:
    settings = {"floor_ratios": {"cleanest": 0.15, "clean": 0.25}}
    _, villages = one_village([f"H{i}" for i in range(10)], [], settings=settings)
    assert (villages.loc[0, "cleanest_floor"], villages.loc[0, "clean_floor"]) == (2, 3)


def test_flags_name_the_reasons_sorted() -> None:
    rows = [
        review("F1", "group", 800),  # no self, no peers
        review("F2", "group", 800), review("F2", "self", 900), review("F2", "peer", 700, "F1"),
        review("F2", "peer", 800, "F3"),
        review("F3", "group", 800), review("F3", "self", 899), review("F3", "peer", 701, "F1"),
        review("F3", "peer", 800, "F2"),
    ]  # fmt: skip
    results, _ = one_village(["F1", "F2", "F3"], rows)
    flags = {code: row["flags"] for code, row in by_code(results).items()}
    assert flags["F1"] == "few_peers;no_self"
    assert flags["F2"] == "self_gap"  # |90 − 80| = 10 ≥ gap; peer mean 75.0: |75 − 80| < 10
    assert flags["F3"] == ""  # self gap 9.9, peer mean 75.05 → 75.1: gap 4.9


def test_peer_gap_flag_and_configurable_gap_and_min_peers() -> None:
    rows = [review("F1", "group", 800), review("F1", "self", 800), review("F1", "peer", 700, "F2"),
            review("F1", "peer", 700, "F3")]  # fmt: skip
    results, _ = one_village(["F1", "F2", "F3"], rows)
    assert by_code(results)["F1"]["flags"] == "peer_gap"
    results, _ = one_village(["F1", "F2", "F3"], rows, settings={"gap": 10.5, "min_peers": 3})
    assert by_code(results)["F1"]["flags"] == "few_peers"


def test_result_columns_order_and_types() -> None:
    results, villages = one_village(["H2", "H1"], [review("H1", "group", 850)])
    assert tuple(results.columns) == HOUSEHOLD_RESULT_COLUMNS
    assert tuple(villages.columns) == VILLAGE_RESULT_COLUMNS
    assert results["household_code"].tolist() == ["H1", "H2"]
    assert str(results["final_total"].dtype) == "decimal128(6, 1)[pyarrow]"
    assert str(results["rank"].dtype) == "Int64"
    assert villages["meets_ratios"].dtype == bool


def test_codes_keep_leading_zeros() -> None:
    results, _ = one_village(["0012", "012"], [review("0012", "group", 850)])
    assert results["household_code"].tolist() == ["0012", "012"]


def test_a_rubric_with_other_maxima() -> None:
    maxima = [Decimal(x) for x in ("15", "15", "10", "10", "10", "10", "10", "10", "5", "5")]
    rubric = Rubric(tuple(Criterion(c, c, m) for c, m in zip(CRITERIA, maxima, strict=True)))
    row = review("H1", "group", 0) | dict(
        zip(CRITERIA, ["15", "15", "10", "10", "10", "10", "10", "10", "5", "5"], strict=False)
    )
    results, _ = one_village(["H1"], [row], rubric=rubric)
    assert by_code(results)["H1"]["final_total"] == Decimal("100.0")
    results, _ = one_village(["H1"], [row], rubric=rubric.to_frame())
    assert by_code(results)["H1"]["final_total"] == Decimal("100.0")


def test_numeric_scores_as_parquet_gives_them() -> None:
    reviews = reviews_frame([review("H1", "group", 853)])
    numeric = reviews.astype(dict.fromkeys(CRITERIA, "float64"))
    assert score_period(households_frame(["H1"]), numeric)[0].equals(score_period(households_frame(["H1"]), reviews)[0])


def test_chinese_review_kinds_are_accepted() -> None:
    rows = [review("H1", "复评", 850), review("H1", "自评", 900), review("H1", "互评", 800, "H2")]
    results, _ = one_village(["H1", "H2"], rows)
    h1 = by_code(results)["H1"]
    assert (h1["final_total"], h1["self_total"], h1["peer_count"]) == (Decimal("85.0"), Decimal("90.0"), 1)


def test_peer_criterion_means_round_half_up_per_criterion() -> None:
    first = review("H1", "peer", 0, "H2") | dict.fromkeys(CRITERIA, "8.5")
    second = review("H1", "peer", 0, "H3") | dict.fromkeys(CRITERIA, "8") | {"c10": "9"}
    means = peer_criterion_means(households_frame(["H1", "H2", "H3"]), reviews_frame([first, second]))
    h1 = means.iloc[0]
    assert h1["peer_count"] == 2
    assert h1["c01"] == Decimal("8.3")  # 8.25 → 8.3
    assert h1["c10"] == Decimal("8.8")  # 8.75 → 8.8
    assert means["c01"].isna().tolist() == [False, True, True]
    assert list(means.columns) == ["household_code", "peer_count", *CRITERIA]
