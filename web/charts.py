"""Charts drawn on the server as inline SVG (the county dashboard, issue 19): no script, no outside
file, readable on a 360 px phone and on paper.

Each function takes the figures and returns the ``<svg>`` markup, safe to put in a page: every
name and number is escaped here. The drawing is 360 units wide, as wide as a phone, so 12-unit text
stays 12 px there; it scales down to the page's width elsewhere. Colours are CSS classes the caller
names (web/static/app.css), so the page's style sheet, and its print section, decide them. Each
chart has a ``<title>`` and a ``<desc>`` for screen readers; the page puts the table of its
numbers beneath. With nothing to draw, a chart is a short message instead ("暂无数据").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from markupsafe import Markup

Number = int | Decimal

EMPTY = "暂无数据"
WIDTH = 360
LABEL_WIDTH = 92  # the row names on the left: seven characters of 13 units, then "…"
VALUE_WIDTH = 48  # the number after a bar
BAR_AREA = WIDTH - LABEL_WIDTH - VALUE_WIDTH
TARGET_AREA = WIDTH - LABEL_WIDTH - 84  # a target chart writes "100.0%/50%" after its bars
ROW_HEIGHT = 22
BAR_HEIGHT = 14
LEGEND_HEIGHT = 22
LABEL_CHARACTERS = 7
_CHART_ID = re.compile(r"[a-z][a-z0-9-]{0,39}")


@dataclass(frozen=True)
class Series:
    """One kind of thing drawn: its name in the legend and the CSS class that colours it."""

    label: str
    css_class: str


@dataclass(frozen=True)
class BarRow:
    """One bar of a stacked bar chart: a name and one value per series (in series order)."""

    label: str
    values: Sequence[Number]


@dataclass(frozen=True)
class TargetRow:
    """One bar against its target; None draws no bar (or no target mark) and says "无"."""

    label: str
    value: Number | None
    target: Number | None


@dataclass(frozen=True)
class Line:
    """One line of a line chart: a value per period, None where there is none."""

    series: Series
    values: Sequence[Number | None]


def number_text(value: Number | None, unit: str = "") -> str:
    """A figure as the charts and tables write it: 12, 81.3 (Decimals as they are), "无" for None."""
    return "无" if value is None else f"{value}{unit}"


def _coordinate(value: Fraction | int) -> str:
    """A coordinate with at most two decimals, without trailing zeros."""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARACTERS else label[: LABEL_CHARACTERS - 1] + "…"


def _check_id(chart_id: str) -> None:
    if not _CHART_ID.fullmatch(chart_id):
        raise ValueError(f"chart id {chart_id!r}: lower-case letters, digits and '-', a letter first")


def empty_message(text: str = EMPTY) -> Markup:
    return Markup('<p class="chart-empty">{}</p>').format(text)


def _open(chart_id: str, height: int, title: str, desc: str) -> list[Markup]:
    return [
        Markup(
            '<svg class="chart-svg" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc">'
            '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>'
        ).format(WIDTH, height, chart_id, chart_id, chart_id, title, chart_id, desc)
    ]


def _close(parts: list[Markup]) -> Markup:
    return Markup("").join([*parts, Markup("</svg>")])


def _text(
    x: Fraction | int, y: Fraction | int, text: str, css_class: str = "chart-label", anchor: str = "start"
) -> Markup:
    return Markup('<text x="{}" y="{}" text-anchor="{}" class="{}">{}</text>').format(
        _coordinate(x), _coordinate(y), anchor, css_class, text
    )


_LEGEND_SHAPES = {
    "line": Markup('<line x1="{x}" x2="{x12}" y1="{y6}" y2="{y6}" class="chart-line {c}"/>'),
    "mark": Markup('<line x1="{x6}" x2="{x6}" y1="{y}" y2="{y12}" class="{c}"/>'),
    "bar": Markup('<rect x="{x}" y="{y}" width="12" height="12" class="{c}"/>'),
}


_BAR = Markup('<rect x="{}" y="{}" width="{}" height="{}" class="{}"><title>{} {}：{}</title></rect>')


def _legend(items: Sequence[tuple[str, str, str]]) -> tuple[list[Markup], int]:
    """Legend items (label, CSS class, "bar", "line" or "mark"), wrapped to the width, at the top;
    returns the parts and the height used."""
    parts: list[Markup] = []
    x, line = 0, 0
    for label, css_class, kind in items:
        width = 16 + 13 * len(label) + 10
        if x and x + width > WIDTH:
            x, line = 0, line + 1
        top = line * 18
        parts.append(
            _LEGEND_SHAPES[kind].format(x=x, x6=x + 6, x12=x + 12, y=top, y6=top + 6, y12=top + 12, c=css_class)
        )
        parts.append(_text(x + 16, top + 11, label))
        x += width
    return parts, (line + 1) * 18 + 4


def stacked_bars(
    chart_id: str,
    title: str,
    desc: str,
    series: Sequence[Series],
    rows: Sequence[BarRow],
    *,
    unit: str = "",
    empty: str = EMPTY,
) -> Markup:
    """Horizontal bars, one per row, each split into its series' values, left to right; lengths in
    proportion to the values, the longest row's total filling the bar area; the total after it."""
    _check_id(chart_id)
    for row in rows:
        if len(row.values) != len(series) or any(v < 0 for v in row.values):
            raise ValueError(f"row {row.label!r}: {len(series)} values, none negative")
    largest = max((sum(row.values) for row in rows), default=0)
    if not largest:
        return empty_message(empty)
    legend, legend_height = _legend([(s.label, s.css_class, "bar") for s in series])
    parts = _open(chart_id, legend_height + len(rows) * ROW_HEIGHT + 4, title, desc) + legend
    scale = Fraction(BAR_AREA) / Fraction(largest)
    for i, row in enumerate(rows):
        top = legend_height + i * ROW_HEIGHT
        parts.append(_text(0, top + 12, _short(row.label)))
        x = Fraction(LABEL_WIDTH)
        for s, value in zip(series, row.values, strict=True):
            width = Fraction(value) * scale
            if value:
                parts.append(
                    Markup(
                        '<rect x="{}" y="{}" width="{}" height="{}" class="{}"><title>{} {}：{}</title></rect>'
                    ).format(
                        _coordinate(x),
                        top,
                        _coordinate(width),
                        BAR_HEIGHT,
                        s.css_class,
                        row.label,
                        s.label,
                        number_text(value, unit),
                    )
                )
            x += width
        parts.append(_text(x + 4, top + 12, number_text(sum(row.values), unit), "chart-number"))
    return _close(parts)


def target_bars(
    chart_id: str,
    title: str,
    desc: str,
    rows: Sequence[TargetRow],
    *,
    maximum: Number = 100,
    unit: str = "%",
    value_series: Series = Series("实际", "bar-met"),
    short_class: str = "bar-short",
    target_series: Series = Series("目标", "chart-target"),
    empty: str = EMPTY,
) -> Markup:
    """Horizontal bars against a target mark each, on a fixed scale 0…``maximum`` (values beyond it
    are drawn at the end); a bar below its target takes ``short_class``. The figures "value/target"
    follow the bar."""
    _check_id(chart_id)
    if not rows or all(row.value is None and row.target is None for row in rows):
        return empty_message(empty)
    legend, legend_height = _legend(
        [(value_series.label, value_series.css_class, "bar"), (target_series.label, target_series.css_class, "mark")]
    )
    parts = _open(chart_id, legend_height + len(rows) * ROW_HEIGHT + 4, title, desc) + legend
    scale = Fraction(TARGET_AREA) / Fraction(maximum)

    def x_of(value: Number) -> Fraction:
        return LABEL_WIDTH + min(Fraction(value), Fraction(maximum)) * scale

    for i, row in enumerate(rows):
        top = legend_height + i * ROW_HEIGHT
        parts.append(_text(0, top + 12, _short(row.label)))
        end = Fraction(LABEL_WIDTH)
        if row.value is not None:
            end = x_of(row.value)
            below = row.target is not None and row.value < row.target
            parts.append(
                _BAR.format(
                    LABEL_WIDTH,
                    top,
                    _coordinate(end - LABEL_WIDTH),
                    BAR_HEIGHT,
                    short_class if below else value_series.css_class,
                    row.label,
                    value_series.label,
                    number_text(row.value, unit),
                )
            )
        if row.target is not None:
            mark = x_of(row.target)
            end = max(end, mark)
            parts.append(
                Markup('<line x1="{x}" x2="{x}" y1="{y1}" y2="{y2}" class="{c}"><title>{t}</title></line>').format(
                    x=_coordinate(mark),
                    y1=top - 2,
                    y2=top + BAR_HEIGHT + 2,
                    c=target_series.css_class,
                    t=f"{row.label} {target_series.label}：{number_text(row.target, unit)}",
                )
            )
        figures = f"{number_text(row.value, unit)}/{number_text(row.target, unit)}"
        parts.append(_text(end + 4, top + 12, figures, "chart-number"))
    return _close(parts)


# The line chart's plot area, in the SVG's units.
# The right margin holds half of the last period's name, centred under its point ("2026Q4" at 12 px
# is about 42 units wide): at WIDTH - 12 it was clipped to "2026Q" (issue 30).
PERIOD_NAME_HALF_WIDTH = 24
PLOT_LEFT, PLOT_RIGHT, PLOT_HEIGHT = 36, WIDTH - PERIOD_NAME_HALF_WIDTH, 150


def line_chart(
    chart_id: str,
    title: str,
    desc: str,
    periods: Sequence[str],
    lines: Sequence[Line],
    *,
    maximum: Number = 100,
    unit: str = "%",
    empty: str = EMPTY,
) -> Markup:
    """Values over periods, the oldest on the left, on a scale 0…``maximum`` (ticks at quarters of
    it); a line joins the points of consecutive periods that have a value, and each point carries
    its figure as a tooltip. At most eight period names are written under the axis."""
    _check_id(chart_id)
    for line in lines:
        if len(line.values) != len(periods):
            raise ValueError(f"line {line.series.label!r}: one value per period ({len(periods)})")
    if not periods or all(v is None for line in lines for v in line.values):
        return empty_message(empty)
    legend, legend_height = _legend([(line.series.label, line.series.css_class, "line") for line in lines])
    top = legend_height + 6
    bottom = top + PLOT_HEIGHT
    span = PLOT_RIGHT - PLOT_LEFT

    def x_of(index: int) -> Fraction:
        if len(periods) == 1:
            return Fraction(PLOT_LEFT + PLOT_RIGHT, 2)
        return PLOT_LEFT + Fraction(span * index, len(periods) - 1)

    def y_of(value: Number | Fraction) -> Fraction:
        share = min(max(Fraction(value), Fraction(0)), Fraction(maximum)) / Fraction(maximum)
        return bottom - share * PLOT_HEIGHT

    parts = _open(chart_id, bottom + 22, title, desc) + legend
    for quarter in range(5):
        tick = Fraction(maximum) * quarter / 4
        y = _coordinate(y_of(tick))
        parts.append(
            Markup('<line x1="{}" x2="{}" y1="{}" y2="{}" class="chart-grid"/>').format(PLOT_LEFT, PLOT_RIGHT, y, y)
        )
        parts.append(_text(PLOT_LEFT - 4, y_of(tick) + 4, _coordinate(tick) + unit, "chart-number", "end"))
    every = max(1, -(-len(periods) // 8))
    for i, code in enumerate(periods):
        if i % every == 0:
            parts.append(_text(x_of(i), bottom + 16, code, "chart-number", "middle"))
    for line in lines:
        run: list[str] = []
        runs: list[list[str]] = [run]
        points = []
        for i, (code, value) in enumerate(zip(periods, line.values, strict=True)):
            if value is None:
                run = []
                runs.append(run)
                continue
            x, y = _coordinate(x_of(i)), _coordinate(y_of(value))
            run.append(f"{x},{y}")
            points.append(
                Markup('<circle cx="{}" cy="{}" r="3" class="{}"><title>{} {}：{}</title></circle>').format(
                    x, y, line.series.css_class, code, line.series.label, number_text(value, unit)
                )
            )
        for segment in runs:
            if len(segment) > 1:
                parts.append(
                    Markup('<polyline points="{}" class="chart-line {}"/>').format(
                        " ".join(segment), line.series.css_class
                    )
                )
        parts.extend(points)
    return _close(parts)
