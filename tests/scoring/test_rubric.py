"""Rubric and settings: defaults of RULES.md and their interchange forms."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from scoring import CRITERIA, InvalidInput, Rubric, Settings


def test_default_rubric_has_ten_criteria_of_ten_points() -> None:
    rubric = Rubric.default()
    assert [c.code for c in rubric.criteria] == list(CRITERIA)
    assert rubric.max_tenths == (100,) * 10
    assert rubric.criteria[0].label == "家庭个人卫生"
    assert rubric.criteria[9].label == "生活污水排放"


def test_rubric_round_trips_through_its_table() -> None:
    assert Rubric.from_frame(Rubric.default().to_frame()) == Rubric.default()


def reasons(frame: pd.DataFrame) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        Rubric.from_frame(frame)
    return [str(p) for p in caught.value.problems]


def test_rubric_problems_are_all_listed() -> None:
    frame = Rubric.default().to_frame()
    frame.loc[0, "max_points"] = "abc"
    frame.loc[1, "criterion"] = "c99"
    frame.loc[2, "max_points"] = "0"
    assert reasons(frame) == [
        "rubric:1:max_points: abc: 满分须为最多一位小数的正数",
        "rubric:2:criterion: c99: 评分项须为c01…c10",
        "rubric:3:max_points: 0: 满分须为最多一位小数的正数",
        "rubric:0:criterion: c01: 缺少该评分项",
        "rubric:0:criterion: c02: 缺少该评分项",
        "rubric:0:criterion: c03: 缺少该评分项",
    ]


def test_rubric_maxima_must_sum_to_100() -> None:
    frame = Rubric.default().to_frame()
    frame.loc[0, "max_points"] = "12.5"
    assert reasons(frame) == ["rubric:0:max_points: 102.5: 十项满分合计须为100"]


def test_rubric_repeated_criterion_and_missing_column() -> None:
    frame = pd.concat([Rubric.default().to_frame(), Rubric.default().to_frame().head(1)], ignore_index=True)
    assert reasons(frame) == ["rubric:11:criterion: c01: 评分项重复"]
    assert reasons(frame.drop(columns=["label"])) == ["rubric:0:label: : 缺少必需的列"]


def test_settings_defaults_follow_the_rules() -> None:
    settings = Settings()
    assert settings.thresholds_tenths == (900, 800, 600)
    assert (settings.cleanest_floor_ratio, settings.clean_floor_ratio) == (Decimal("0.10"), Decimal("0.20"))
    assert (settings.gap_tenths, settings.min_peers) == (100, 2)


def test_settings_from_json_mapping_any_key_left_out() -> None:
    settings = Settings.from_dict({"thresholds": {"fairly_clean": 65}, "floor_ratios": {"clean": 0.25}, "gap": 8})
    assert settings.thresholds_tenths == (900, 800, 650)
    assert settings.clean_floor_ratio == Decimal("0.25")
    assert settings.gap_tenths == 80
    assert Settings.from_dict({}) == Settings()


def settings_problems(data: dict[str, object]) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        Settings.from_dict(data)
    return [str(p) for p in caught.value.problems]


def test_bad_settings_are_named() -> None:
    assert settings_problems({"colour": 1, "thresholds": {"best": 1}, "min_peers": 1.5, "gap": "x"}) == [
        "settings:0:colour: : 未知的设置项",
        "settings:0:thresholds.best: : 未知的设置项",
        "settings:0:min_peers: 1.5: 须为非负整数",
        "settings:0:gap: x: 须为数",
    ]
    assert settings_problems({"thresholds": {"clean": 95}}) == [
        "settings:0:thresholds: 90/95/60: 须满足 cleanest > clean > fairly_clean"
    ]
    assert settings_problems({"floor_ratios": {"cleanest": 1.5}, "gap": 10.25}) == [
        "settings:0:gap: 10.25: 须为最多一位小数的数",
        "settings:0:floor_ratios.cleanest: 1.5: 比例须在0–1之间",
    ]
    assert settings_problems({"thresholds": 5}) == ["settings:0:thresholds: 5: 须为对象"]


def test_settings_accept_plain_numbers() -> None:
    assert Settings(cleanest_floor_ratio=0.1).cleanest_floor_ratio == Decimal("0.1")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        Settings(min_peers=-1)
