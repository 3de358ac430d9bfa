"""The server-drawn SVG charts (web/charts.py): escaped text, proportional lengths, an empty chart
as a message, and markup a browser parses (each chart is well-formed XML)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from markupsafe import Markup

from web import charts

GRADES = [charts.Series("最清洁", "bar-cleanest"), charts.Series("清洁", "bar-clean")]


def parsed(svg: Markup) -> ET.Element:
    return ET.fromstring(str(svg))  # noqa: S314 (our own markup, parsed to check it is well-formed)


def bars(svg: Markup, css_class: str) -> list[ET.Element]:
    """The drawn bars of a class (the legend's swatches have no tooltip)."""
    return [r for r in parsed(svg).iter("rect") if r.get("class") == css_class and r.find("title") is not None]


def rect_widths(svg: Markup, css_class: str) -> list[float]:
    return [float(r.get("width", "0")) for r in bars(svg, css_class)]


def test_stacked_bars_are_in_proportion_to_the_values() -> None:
    svg = charts.stacked_bars(
        "grades",
        "各乡镇等级分布",
        "说明",
        GRADES,
        [charts.BarRow("甲镇", [6, 2]), charts.BarRow("乙乡", [1, 3]), charts.BarRow("丙镇", [0, 2])],
    )
    cleanest, clean = rect_widths(svg, "bar-cleanest"), rect_widths(svg, "bar-clean")
    # the longest row (8) fills the bar area; every other length is in proportion
    assert cleanest == [pytest.approx(charts.BAR_AREA * 6 / 8), pytest.approx(charts.BAR_AREA * 1 / 8)]
    assert clean == [pytest.approx(charts.BAR_AREA * n / 8) for n in (2, 3, 2)]
    # a zero draws nothing; segments follow each other
    xs = [float(r.get("x", "0")) for r in bars(svg, "bar-clean")]
    assert xs == [pytest.approx(charts.LABEL_WIDTH + charts.BAR_AREA * n / 8) for n in (6, 1, 0)]
    texts = [t.text for t in parsed(svg).iter("text")]
    assert [t for t in texts if t not in {"最清洁", "清洁"}] == ["甲镇", "8", "乙乡", "4", "丙镇", "2"]


def test_title_and_desc_name_the_chart_for_screen_readers() -> None:
    svg = parsed(charts.stacked_bars("grades", "标题", "描述", GRADES, [charts.BarRow("甲镇", [1, 1])]))
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "grades-title grades-desc"
    assert [(e.tag, e.get("id"), e.text) for e in list(svg)[:2]] == [
        ("title", "grades-title", "标题"),
        ("desc", "grades-desc", "描述"),
    ]


def test_names_are_escaped_everywhere() -> None:
    evil = '<script>alert("x")</script>&'
    rendered = [
        charts.stacked_bars("a", evil, evil, [charts.Series(evil, "bar-clean")], [charts.BarRow(evil, [3])]),
        charts.target_bars("b", evil, evil, [charts.TargetRow(evil, Decimal("50.5"), 60)]),
        charts.line_chart("c", evil, evil, [evil, "2026Q4"], [charts.Line(charts.Series(evil, "line-a"), [1, 2])]),
    ]
    for svg in rendered:
        assert "<script" not in str(svg)
        assert "&lt;script&gt;" in str(svg)
        element = parsed(svg)  # still well-formed
        assert element.find("title").text == evil  # type: ignore[union-attr]


def test_a_long_name_is_shortened_on_the_chart_and_whole_in_the_tooltip() -> None:
    svg = parsed(charts.stacked_bars("a", "t", "d", GRADES, [charts.BarRow("一二三四五六七八九", [1, 0])]))
    labels = [t.text for t in svg.iter("text")]
    assert "一二三四五六…" in labels
    assert any("一二三四五六七八九" in (t.text or "") for t in svg.iter("title"))


@pytest.mark.parametrize(
    "svg",
    [
        charts.stacked_bars("a", "t", "d", GRADES, []),
        charts.stacked_bars("a", "t", "d", GRADES, [charts.BarRow("甲镇", [0, 0])]),
        charts.target_bars("b", "t", "d", []),
        charts.target_bars("b", "t", "d", [charts.TargetRow("甲镇", None, None)]),
        charts.line_chart("c", "t", "d", [], []),
        charts.line_chart("c", "t", "d", ["2026Q3"], [charts.Line(GRADES[0], [None])]),
    ],
)
def test_no_data_is_a_message_not_a_broken_chart(svg: Markup) -> None:
    assert str(svg) == '<p class="chart-empty">暂无数据</p>'


def test_the_empty_message_may_be_given() -> None:
    assert "没有未达比例的村" in charts.stacked_bars("a", "t", "d", GRADES, [], empty="没有未达比例的村")


def test_target_bars_on_a_fixed_scale_with_the_target_marked() -> None:
    svg = charts.target_bars(
        "cover",
        "覆盖率",
        "d",
        [
            charts.TargetRow("甲镇", Decimal("100.0"), 50),
            charts.TargetRow("乙乡", Decimal("25.0"), 50),
            charts.TargetRow("丙镇", None, 50),
        ],
    )
    scale = charts.TARGET_AREA / 100
    met, short = rect_widths(svg, "bar-met"), rect_widths(svg, "bar-short")
    assert met == [pytest.approx(100 * scale)]
    assert short == [pytest.approx(25 * scale)]  # below its target: drawn as short
    marks = [float(line.get("x1", "0")) for line in parsed(svg).iter("line") if line.get("class") == "chart-target"]
    assert marks[1:] == [pytest.approx(charts.LABEL_WIDTH + 50 * scale)] * 3  # the first is the legend's
    texts = [t.text for t in parsed(svg).iter("text")]
    assert {"100.0%/50%", "25.0%/50%", "无/50%"} <= set(texts)


def test_a_value_beyond_the_maximum_is_drawn_at_the_end() -> None:
    svg = charts.target_bars("cover", "t", "d", [charts.TargetRow("甲镇", 150, 100)])
    assert rect_widths(svg, "bar-met") == [pytest.approx(charts.TARGET_AREA)]


def test_line_chart_points_in_proportion_and_gaps_break_the_line() -> None:
    svg = charts.line_chart(
        "trend",
        "趋势",
        "d",
        ["2026Q1", "2026Q2", "2026Q3", "2026Q4"],
        [charts.Line(charts.Series("最清洁", "line-a"), [Decimal("0"), Decimal("50"), None, Decimal("100")])],
    )
    root = parsed(svg)
    circles = [(float(c.get("cx", "0")), float(c.get("cy", "0"))) for c in root.iter("circle")]
    assert len(circles) == 3
    (x0, y0), (x1, y1), (x3, y3) = circles
    assert (x0, x3) == (charts.PLOT_LEFT, charts.PLOT_RIGHT)
    assert x1 == pytest.approx(charts.PLOT_LEFT + (charts.PLOT_RIGHT - charts.PLOT_LEFT) / 3)
    assert y0 - y1 == pytest.approx(charts.PLOT_HEIGHT / 2) and y0 - y3 == pytest.approx(charts.PLOT_HEIGHT)
    # 2026Q3 has no value: one segment joins the first two points, the last stands alone
    polylines = [p.get("points") for p in root.iter("polyline")]
    assert len(polylines) == 1 and len(polylines[0].split()) == 2  # type: ignore[union-attr]
    tooltips = [t.text for c in root.iter("circle") for t in c.iter("title")]
    assert tooltips == ["2026Q1 最清洁：0%", "2026Q2 最清洁：50%", "2026Q4 最清洁：100%"]


def test_one_period_is_drawn_in_the_middle() -> None:
    svg = charts.line_chart("t", "t", "d", ["2026Q3"], [charts.Line(GRADES[0], [10])])
    (circle,) = parsed(svg).iter("circle")
    assert float(circle.get("cx", "0")) == (charts.PLOT_LEFT + charts.PLOT_RIGHT) / 2


def test_a_chart_is_svg_only_without_scripts_or_outside_references() -> None:
    svg = str(charts.stacked_bars("a", "t", "d", GRADES, [charts.BarRow("甲镇", [1, 2])]))
    assert not re.search(r"<script|https?:|href=|on[a-z]+=", svg)


@pytest.mark.parametrize("chart_id", ["", "1abc", "a b", 'a"', "A"])
def test_a_bad_chart_id_is_refused(chart_id: str) -> None:
    with pytest.raises(ValueError, match="chart id"):
        charts.stacked_bars(chart_id, "t", "d", GRADES, [charts.BarRow("甲镇", [1, 2])])


def test_rows_must_match_the_series() -> None:
    with pytest.raises(ValueError, match="2 values"):
        charts.stacked_bars("a", "t", "d", GRADES, [charts.BarRow("甲镇", [1])])
    with pytest.raises(ValueError, match="none negative"):
        charts.stacked_bars("a", "t", "d", GRADES, [charts.BarRow("甲镇", [1, -1])])
