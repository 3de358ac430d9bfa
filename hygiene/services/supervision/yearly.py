"""The yearly roll-up per township (年度综合考核, RULES.md §9): each period's score, rank, warning and
the consequence it carried, the year's notices and accountability, for the county's page and its
Excel workbook."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import CaseState, NoticeKind, NoticeState
from hygiene.models import AccountabilityCase, Cadre, County, Notice
from hygiene.services.rating import rating
from hygiene.services.setup import rollout, units
from hygiene.services.supervision import accountability, ranking


@dataclass(frozen=True)
class PeriodLine:
    period_code: str
    score: Decimal | None
    rank: int | None
    warning: str  # "red", "yellow" or ""
    warning_label: str
    consequence: str


@dataclass
class TownshipYear:
    code: str
    name: str
    periods: list[PeriodLine] = field(default_factory=list)
    # Rectification notices of the year's periods: "issued" and by state ("open", "rectified",
    # "escalated", "closed"); "accountability": the accountability notices they escalated to.
    notices: Counter[str] = field(default_factory=Counter)
    # The accountability decided for the failures of the year's periods: "青山村 约谈（张包保）".
    accountability: list[str] = field(default_factory=list)

    @property
    def mean_score(self) -> Decimal | None:
        """The mean of the year's ranked periods' scores, half-up to two places."""
        scores = [p.score for p in self.periods if p.score is not None]
        if not scores:
            return None
        return (sum(scores, Decimal(0)) / len(scores)).quantize(Decimal("0.01"), ROUND_HALF_UP)

    @property
    def red(self) -> int:
        return sum(1 for p in self.periods if p.warning == "red")

    @property
    def yellow(self) -> int:
        return sum(1 for p in self.periods if p.warning == "yellow")

    @property
    def consequences(self) -> list[str]:
        return [f"{p.period_code} {p.warning_label}：{p.consequence}" for p in self.periods if p.warning]


@dataclass(frozen=True)
class YearlyReview:
    county: County
    year: int
    period_codes: tuple[str, ...]  # the year's periods, oldest first
    townships: tuple[TownshipYear, ...]  # by code


def years(session: Session, county: County) -> list[int]:
    """The years with at least one of the county's periods, the newest first."""
    return sorted({rating.period_year(p.code) for p in units.county_periods(session, county.id)}, reverse=True)


def yearly(session: Session, county: County, year: int) -> YearlyReview:
    """The county's townships over the periods of ``year``."""
    periods = [p for p in reversed(units.county_periods(session, county.id)) if rating.period_year(p.code) == year]
    lines: dict[int, TownshipYear] = {}
    by_code: dict[str, TownshipYear] = {}
    townships = ranking.townships_of(session, county)
    coverage = {t.id: rollout.coverage(session, county, t) for t in townships}
    for township in townships:
        line = TownshipYear(township.code, township.name)
        lines[township.id] = line
        by_code[township.code] = line
    for period in periods:
        result = ranking.ranking(session, county, period, coverage=coverage)
        for t in result.townships:
            by_code[t.code].periods.append(
                PeriodLine(period.code, t.score, t.rank, t.warning, t.warning_label, t.consequence)
            )
    for township_id, kind, state, n in session.execute(
        sa.select(Notice.township_id, Notice.kind, Notice.state, sa.func.count(Notice.id))
        .where(Notice.county_id == county.id, Notice.period_id.in_([p.id for p in periods]))
        .group_by(Notice.township_id, Notice.kind, Notice.state)
    ):
        counts = lines[township_id].notices
        if kind is NoticeKind.ACCOUNTABILITY:
            counts["accountability"] += n
            continue
        counts["issued"] += n
        counts[NoticeState(state).value] += n
    for case, cadre_name in session.execute(
        sa.select(AccountabilityCase, Cadre.name)
        .join(Notice, AccountabilityCase.notice_id == Notice.id)
        .join(Cadre, AccountabilityCase.cadre_id == Cadre.id)
        .where(
            AccountabilityCase.county_id == county.id,
            AccountabilityCase.state == CaseState.DECIDED,
            Notice.period_id.in_([p.id for p in periods]),
        )
        .order_by(AccountabilityCase.decided_at, AccountabilityCase.id)
    ):
        rung = case.rung.label if case.rung else ""
        lines[case.township_id].accountability.append(f"{accountability.unit_name(case)} {rung}（{cadre_name}）")
    return YearlyReview(county, year, tuple(p.code for p in periods), tuple(by_code[c] for c in sorted(by_code)))


HEADER = (
    "乡镇编码",
    "乡镇",
    "年度平均得分",
    "红色预警（次）",
    "黄色预警（次）",
    "预警后果",
    "督办通知单（份）",
    "已整改",
    "已销号",
    "逾期升级问责",
    "待整改",
    "问责通知单（份）",
    "问责决定",
)


def summary_rows(review: YearlyReview) -> list[tuple[object, ...]]:
    """One line per township: the year at a glance (the page's first table and the workbook's first sheet)."""
    return [
        (
            t.code,
            t.name,
            t.mean_score,
            t.red,
            t.yellow,
            "；".join(t.consequences),
            t.notices["issued"],
            t.notices["rectified"],
            t.notices["closed"],
            t.notices["escalated"],
            t.notices["open"],
            t.notices["accountability"],
            "；".join(t.accountability),
        )
        for t in review.townships
    ]


PERIOD_HEADER = ("乡镇编码", "乡镇", "期", "得分", "名次", "预警", "后果")


def period_rows(review: YearlyReview) -> list[tuple[object, ...]]:
    """One line per township and period (the workbook's second sheet)."""
    return [
        (t.code, t.name, p.period_code, p.score, p.rank, p.warning_label, p.consequence)
        for t in review.townships
        for p in t.periods
    ]
