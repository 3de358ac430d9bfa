"""The township ranking of a period (RULES.md §9) for the county's inspectors and administrator: each
township's score, its three components traced to their numbers, the warnings, the history across
periods (a table and a server-drawn line chart) and the period's ranking as CSV."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from flask import Response, abort, render_template

from hygiene import permissions
from hygiene.enums import Grade
from hygiene.io.exports import csv_bytes
from hygiene.models import County
from hygiene.services.setup import counties, units
from hygiene.services.supervision import ranking as township_ranking
from web.database import get_session
from web.downloads import CSV_MIMETYPE, download
from web.inspection.views import bp
from web.presentation import picked_period
from web.security import current_account, login_required, permitted_county

# The history chart, in the SVG's own units: as wide as a 360 px phone, so 12-unit text stays 12 px.
CHART_WIDTH, CHART_HEIGHT = 360, 200
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 34, 350, 12, 170
POINT_INSET = 24  # the first and last periods' labels ("2026Q3", centred) stay inside the chart
# Distinguishable lines; past ten townships the colours repeat dashed.
PALETTE = (
    "#2e7d32",
    "#1565c0",
    "#c62828",
    "#6a1b9a",
    "#ef6c00",
    "#00838f",
    "#5d4037",
    "#ad1457",
    "#9e9d24",
    "#283593",
)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    period_code: str
    score: Decimal


@dataclass(frozen=True)
class Series:
    code: str
    name: str
    colour: str
    dashed: bool
    points: tuple[Point, ...]
    segments: tuple[str, ...]  # SVG polyline ``points`` of each run of consecutive ranked periods


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_labels: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, int], ...]
    series: tuple[Series, ...]


def history_chart(history: Sequence[township_ranking.Ranking]) -> Chart:
    """Each township's score over the periods, oldest on the left; the score axis runs from a round
    number below the lowest score to 100, so that the gaps between townships can be seen."""
    periods = list(reversed(history))
    scores = [t.score for r in periods for t in r.townships if t.score is not None]
    low = 0 if not scores else max(0, int(min(scores) - 1) // 10 * 10)
    step = 5 if 100 - low <= 30 else 10
    first, span = PLOT_LEFT + POINT_INSET, PLOT_RIGHT - PLOT_LEFT - 2 * POINT_INSET

    def x_of(index: int) -> float:
        return first + span / 2 if len(periods) == 1 else first + span * index / (len(periods) - 1)

    def y_of(score: Decimal | int) -> float:
        return round(PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * (float(score) - low) / (100 - low), 1)

    every = max(1, -(-len(periods) // 8))  # at most eight period labels fit on a phone
    x_labels = tuple((round(x_of(i), 1), r.period.code) for i, r in enumerate(periods) if i % every == 0)
    y_ticks = tuple((y_of(v), v) for v in range(low, 101, step))
    townships = {t.code: t.name for r in history for t in r.townships}
    series = []
    for n, code in enumerate(sorted(townships)):
        points: list[Point] = []
        segments: list[list[Point]] = [[]]
        for i, result in enumerate(periods):
            line = next((t for t in result.townships if t.code == code), None)
            if line is None or line.score is None:
                segments.append([])
                continue
            point = Point(round(x_of(i), 1), y_of(line.score), result.period.code, line.score)
            points.append(point)
            segments[-1].append(point)
        series.append(
            Series(
                code=code,
                name=townships[code],
                colour=PALETTE[n % len(PALETTE)],
                dashed=n >= len(PALETTE),
                points=tuple(points),
                segments=tuple(" ".join(f"{p.x},{p.y}" for p in s) for s in segments if len(s) > 1),
            )
        )
    return Chart(
        CHART_WIDTH, CHART_HEIGHT, PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM, x_labels, y_ticks, tuple(series)
    )


@dataclass(frozen=True)
class Formula:
    """How a township's score was put together: the components it has, their weights, and the sum
    of those weights (less than 1 when a component has no data and the others are scaled up)."""

    terms: tuple[tuple[Decimal, str, Decimal], ...]  # weight, component label, points
    missing: tuple[str, ...]
    weight_sum: Decimal


def formula(line: township_ranking.TownshipScore, weights: township_ranking.Weights) -> Formula:
    components = (
        (weights.assessment, "村考核均分", line.mean_assessment),
        (weights.agreement, "抽查一致", None if line.agreement is None else line.agreement * 100),
        (weights.coverage, "覆盖得分", line.coverage_points),
    )
    terms = tuple((w, label, points) for w, label, points in components if points is not None)
    return Formula(
        terms=terms,
        missing=tuple(label for _, label, points in components if points is None),
        weight_sum=sum((w for w, _, _ in terms), Decimal(0)),
    )


def _county(county_code: str) -> County:
    return permitted_county(county_code, permissions.can_view_supervision)


@bp.get("/ranking")
@login_required
def township_ranking_page(county_code: str) -> str:
    session = get_session()
    county = _county(county_code)
    all_periods = units.county_periods(session, county.id)
    period = picked_period(all_periods)
    history = township_ranking.history(session, county)
    result = next((r for r in history if period is not None and r.period.id == period.id), None)
    ranks = [t.rank for t in result.townships] if result else []
    return render_template(
        "inspection/ranking.html",
        county=county,
        can_inspect=permissions.can_inspect_county(current_account(), county),
        periods=all_periods,
        period=period,
        result=result,
        shared_ranks={r for r in ranks if r is not None and ranks.count(r) > 1},
        formulas={t.code: formula(t, result.weights) for t in result.townships} if result else {},
        history=history,
        chart=history_chart(history),
        grade_labels={g.value: g.label for g in Grade},
        cuts=counties.bonus_cuts_of(result.period.warning_bonus_cut_percent) if result else {},
        weights=result.weights if result else township_ranking.weights_of(period or county),
    )


@bp.get("/ranking.csv")
@login_required
def township_ranking_csv(county_code: str) -> Response:
    """The period's ranking as INTERCHANGE.md §3 `hygiene ranking --format csv` prints it."""
    session = get_session()
    county = _county(county_code)
    period = picked_period(units.county_periods(session, county.id))
    if period is None:
        abort(404)
    result = township_ranking.ranking(session, county, period)
    data = csv_bytes(township_ranking.CSV_HEADER, township_ranking.csv_rows(result))
    return download(data, f"{county.name}{period.code}乡镇排名.csv", CSV_MIMETYPE)
