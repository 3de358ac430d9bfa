"""The county dashboard (issue 19): the county's figures for a period as charts drawn on the server,
each with the table of its numbers, for the county's administrator and inspectors."""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from hygiene import permissions
from hygiene.enums import Grade
from hygiene.models import County
from hygiene.services.setup import units
from hygiene.services.supervision import dashboard
from web import charts
from web.county.views import bp
from web.database import get_session
from web.presentation import picked_period
from web.security import login_required, permitted_county

# The grade words of the one definition (hygiene.enums.Grade, the engine's labels), as a chart's
# short column heading: "最清洁户" counts under "最清洁".
GRADE_SERIES = (
    *(charts.Series(grade.label.removesuffix("户"), f"bar-{grade.value.replace('_', '-')}") for grade in Grade),
    charts.Series("未评", "bar-missing"),
)
SHORT_SERIES = (
    charts.Series(f"{Grade.CLEANEST.label}缺", "bar-cleanest"),
    charts.Series(f"{Grade.CLEAN.label}缺", "bar-clean"),
)
WARNING_SERIES = (
    charts.Series("红色预警", "bar-red"),
    charts.Series("黄色预警", "bar-yellow"),
    charts.Series("无预警", "bar-clean"),
)
NOTICE_SERIES = (
    charts.Series("逾期未整改", "bar-red"),
    charts.Series("待整改（未逾期）", "bar-yellow"),
    charts.Series("已整改待验收", "bar-missing"),
)


def _charts(board: dashboard.Dashboard) -> dict[str, Markup]:
    """Each chart's SVG; the template puts the same figures in the table beneath it."""
    code = board.period.code
    trend_periods = [t.period_code for t in board.trend]
    health_periods = [h.period_code for h in board.health]
    return {
        "grades": charts.stacked_bars(
            "chart-grades",
            f"{code} 各乡镇农户等级分布",
            "各乡镇已公示名单中最清洁、清洁、较清洁、不清洁和未评定的户数",
            GRADE_SERIES,
            [
                charts.BarRow(t.name, [t.cleanest, t.clean, t.fairly_clean, t.not_clean, t.unrated])
                for t in board.grades
            ],
            unit="户",
            empty="本季度尚无公示结果",
        ),
        "trend": charts.line_chart(
            "chart-trend",
            "各季度全县最清洁户、清洁户占比与评定率",
            "最清洁户、清洁户占已评定户的百分比，已评定户占公示名单户数的百分比",
            trend_periods,
            [
                charts.Line(charts.Series("最清洁户占比", "line-cleanest"), [t.cleanest_percent for t in board.trend]),
                charts.Line(charts.Series("清洁户占比", "line-clean"), [t.clean_percent for t in board.trend]),
                charts.Line(charts.Series("评定率", "line-rated"), [t.rated_percent for t in board.trend]),
            ],
        ),
        "coverage": charts.target_bars(
            "chart-coverage",
            f"{board.period.code[:4]}年各乡镇覆盖率与累计计划",
            "柱为至少评定过一次的农户占全部农户的百分比，竖线为推进计划的累计目标",
            [charts.TargetRow(t.name, t.coverage_percent, t.planned_percent) for t in board.coverage],
            value_series=charts.Series("覆盖率（达到计划）", "bar-met"),
            target_series=charts.Series("累计计划", "chart-target"),
        ),
        "shortfalls": charts.stacked_bars(
            "chart-shortfalls",
            f"{code} 未达比例下限的村",
            "每村最清洁户、清洁户比比例下限少评出的户数",
            SHORT_SERIES,
            [charts.BarRow(v.name, [v.cleanest_short, v.clean_short]) for v in board.shortfalls.short],
            unit="户",
            empty="没有未达比例下限的村",
        ),
        "warnings": charts.stacked_bars(
            "chart-warnings",
            f"{code} 乡镇考核得分与预警",
            "各乡镇本季度考核得分，红色、黄色预警分色显示",
            WARNING_SERIES,
            [
                charts.BarRow(w.name, [w.score if w.warning == kind else 0 for kind in ("red", "yellow", "")])
                for w in board.warnings
                if w.score is not None
            ],
            empty="本季度尚无乡镇考核得分",
        ),
        "notices": charts.stacked_bars(
            "chart-notices",
            f"{code} 各乡镇未销号督办通知",
            "各乡镇（含所辖村）待整改通知中逾期与未逾期的件数，以及已报整改待验收的件数",
            NOTICE_SERIES,
            [charts.BarRow(n.name, [n.overdue, n.open_in_time, n.reported]) for n in board.notices],
            unit="件",
            empty="本季度没有未销号的通知",
        ),
        "lag": charts.line_chart(
            "chart-lag",
            "各季度审核用时（中位数，小时）",
            "从村最后一次提交到乡镇审核通过的小时数的中位数",
            health_periods,
            [charts.Line(charts.Series("审核用时", "line-rated"), [h.approval_lag_hours for h in board.health])],
            maximum=max([24, *(h.approval_lag_hours or 0 for h in board.health)]),
            unit="",
        ),
        "health": charts.line_chart(
            "chart-health",
            "各季度一次通过率与摘牌率",
            "一次通过率：审核通过的村中本季度未被退回过的比例；摘牌率：本季度摘牌数占季度初有效牌匾数的比例",
            health_periods,
            [
                charts.Line(charts.Series("一次通过率", "line-clean"), [h.first_pass_percent for h in board.health]),
                charts.Line(charts.Series("摘牌率", "line-red"), [h.relapse_percent for h in board.health]),
            ],
        ),
    }


def _county(county_code: str) -> County:
    return permitted_county(county_code, permissions.can_view_supervision)


@bp.get("/dashboard")
@login_required
def county_dashboard(county_code: str) -> str:
    county = _county(county_code)
    session = get_session()
    all_periods = units.county_periods(session, county.id)
    period = picked_period(all_periods)
    board = dashboard.county_dashboard(session, county, period) if period else None
    return render_template(
        "county/dashboard.html",
        county=county,
        period=period,
        periods=all_periods,
        board=board,
        charts=_charts(board) if board else {},
    )
