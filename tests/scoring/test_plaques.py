"""Plaque changes of a final period (RULES.md §7)."""

from __future__ import annotations

import pandas as pd
import pytest

from scoring import InvalidInput, plaque_changes, plaque_serial


def plaques(*rows: tuple[str, str, str, str, str, str]) -> pd.DataFrame:
    columns = ["household_code", "serial", "level", "state", "issued_period", "revoked_period"]
    return pd.DataFrame(list(rows), columns=columns, dtype="str")


def results(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["household_code", "grade", "award"], dtype="str")


def changes(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    return [tuple("" if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False)]


NONE = plaques()


def test_an_awarded_household_without_a_plaque_gets_one_numbered_in_code_order() -> None:
    frame = plaque_changes(
        NONE, results(("H2", "clean", "clean"), ("H1", "cleanest", "cleanest")), "2026Q2",
        county_code="52", next_sequence=7,
    )  # fmt: skip
    assert changes(frame) == [
        ("H1", "issue", "52-2026-000007", "cleanest", "", "2026Q2评为最清洁户"),
        ("H2", "issue", "52-2026-000008", "clean", "", "2026Q2评为清洁户"),
    ]
    assert list(frame.columns) == ["household_code", "action", "serial", "level", "previous_level", "reason"]


def test_serial_left_to_the_caller_without_a_sequence() -> None:
    frame = plaque_changes(NONE, results(("H1", "clean", "clean")), "2026Q2")
    assert changes(frame) == [("H1", "issue", "", "clean", "", "2026Q2评为清洁户")]
    assert plaque_serial("5201", 2026, 12) == "5201-2026-000012"


HELD = plaques(("H1", "52-2026-000001", "clean", "valid", "2026Q1", ""))


def test_upgrade_downgrade_and_keep_follow_the_award() -> None:
    up = plaque_changes(HELD, results(("H1", "cleanest", "cleanest")), "2026Q2")
    assert changes(up) == [("H1", "upgrade", "52-2026-000001", "cleanest", "clean", "2026Q2评为最清洁户")]
    held = plaques(("H1", "S1", "cleanest", "valid", "2026Q1", ""))
    down = plaque_changes(held, results(("H1", "cleanest", "clean")), "2026Q2")
    assert changes(down) == [("H1", "downgrade", "S1", "clean", "cleanest", "2026Q2评为清洁户")]
    same = plaque_changes(HELD, results(("H1", "clean", "clean")), "2026Q2")
    assert changes(same)[0][:4] == ("H1", "keep", "52-2026-000001", "clean")


@pytest.mark.parametrize(("grade", "label"), [("fairly_clean", "较清洁户"), ("not_clean", "不清洁户")])
def test_a_relapse_revokes_the_plaque_with_the_reason(grade: str, label: str) -> None:
    frame = plaque_changes(HELD, results(("H1", grade, "")), "2026Q2")
    assert changes(frame) == [("H1", "revoke", "52-2026-000001", "clean", "clean", f"2026Q2评定为{label}")]


def test_a_failed_spot_check_revokes_even_an_awarded_holder() -> None:
    spot = pd.DataFrame({"household_code": ["H1"], "spot_grade": ["not_clean"]})
    frame = plaque_changes(HELD, results(("H1", "clean", "clean")), "2026Q2", spot)
    assert changes(frame) == [("H1", "revoke", "52-2026-000001", "clean", "clean", "督查抽查评定为不清洁户")]
    passed = pd.DataFrame({"household_code": ["H1"], "spot_grade": ["clean"]})
    assert changes(plaque_changes(HELD, results(("H1", "clean", "clean")), "2026Q2", passed))[0][1] == "keep"


def test_unawarded_clean_and_unrated_holders_keep_their_plaques() -> None:
    frame = plaque_changes(HELD, results(("H1", "clean", "")), "2026Q2")
    assert changes(frame) == [("H1", "keep", "52-2026-000001", "clean", "clean", "未获表彰名额")]
    frame = plaque_changes(HELD, results(("H1", "", "")), "2026Q2")
    assert changes(frame) == [("H1", "keep", "52-2026-000001", "clean", "clean", "本期未评定")]


REVOKED = plaques(("H1", "52-2026-000001", "clean", "revoked", "2026Q1", "2026Q2"))


def test_an_award_inside_the_waiting_time_is_a_commendation_without_a_plaque() -> None:
    frame = plaque_changes(REVOKED, results(("H1", "clean", "clean")), "2026Q3")
    assert changes(frame) == [("H1", "commend", "", "clean", "", "2026Q2摘牌，等待期1期内，表彰不挂牌")]


def test_after_the_waiting_time_a_new_plaque_is_issued_never_the_old_serial() -> None:
    frame = plaque_changes(REVOKED, results(("H1", "clean", "clean")), "2026Q4", county_code="52", next_sequence=9)
    assert changes(frame) == [("H1", "issue", "52-2026-000009", "clean", "", "2026Q4评为清洁户")]


def test_the_waiting_time_is_configurable() -> None:
    frame = plaque_changes(REVOKED, results(("H1", "clean", "clean")), "2027Q4", wait_periods=8)
    assert changes(frame)[0][1] == "commend"
    frame = plaque_changes(REVOKED, results(("H1", "clean", "clean")), "2028Q3", wait_periods=8)
    assert changes(frame)[0][1] == "issue"


def test_the_latest_revocation_counts() -> None:
    history = plaques(
        ("H1", "S1", "clean", "revoked", "2024Q1", "2024Q2"), ("H1", "S2", "clean", "revoked", "2026Q1", "2026Q2")
    )
    assert changes(plaque_changes(history, results(("H1", "clean", "clean")), "2026Q3"))[0][1] == "commend"


def test_an_awarded_household_failing_a_spot_check_is_commended_without_a_plaque() -> None:
    spot = pd.DataFrame({"household_code": ["H1"], "spot_grade": ["fairly_clean"]})
    frame = plaque_changes(NONE, results(("H1", "clean", "clean")), "2026Q2", spot)
    assert changes(frame) == [("H1", "commend", "", "clean", "", "督查抽查评定为较清洁户，不挂牌")]


def test_unawarded_households_without_plaques_are_not_listed() -> None:
    assert changes(plaque_changes(NONE, results(("H1", "clean", ""), ("H2", "", "")), "2026Q2")) == []


def test_bad_plaque_tables_are_refused() -> None:
    two = plaques(("H1", "S1", "clean", "valid", "2026Q1", ""), ("H1", "S2", "gold", "lost", "2026Q1", ""))
    with pytest.raises(InvalidInput) as caught:
        plaque_changes(two, results(), "2026Q2")
    assert [str(p) for p in caught.value.problems] == [
        "plaques:2:level: gold: 牌匾等级须为cleanest或clean",
        "plaques:2:state: lost: 状态须为valid或revoked",
    ]
    double = plaques(("H1", "S1", "clean", "valid", "2026Q1", ""), ("H1", "S2", "clean", "valid", "2026Q1", ""))
    with pytest.raises(InvalidInput, match="两块有效牌匾"):
        plaque_changes(double, results(), "2026Q2")
    with pytest.raises(InvalidInput, match="摘牌期"):
        plaque_changes(plaques(("H1", "S1", "clean", "revoked", "2026Q1", "")), results(), "2026Q2")
    with pytest.raises(InvalidInput, match="期别"):
        plaque_changes(NONE, results(), "2026-2")
    with pytest.raises(InvalidInput, match="缺少必需的列"):
        plaque_changes(NONE.drop(columns=["state"]), results(), "2026Q2")
