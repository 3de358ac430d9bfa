"""The township ranking of a period (RULES.md §9): each township's score from its villages'
assessments, the inspections' agreement and its coverage against the rollout plan, with red and
yellow warnings, each component traceable to the numbers behind it.

The arithmetic is the engine's (`scoring.township_scores`, exact fractions, half-up to two places);
this module only gathers its inputs from the database. A component without data (no village
assessed, no rated household spot-checked, no plan year or no household for the period's year) is
left out and the other weights are scaled up (docs/decisions.md); a township with none is unranked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

import scoring
from hygiene.enums import Level
from hygiene.models import (
    County,
    Group,
    Household,
    InspectionAssignment,
    Period,
    SpotCheck,
    Township,
    UnannouncedVisit,
    Village,
    VillageAssessment,
    VillagePeriod,
    VisitCheck,
)
from hygiene.services.errors import ServiceError
from hygiene.services.rating import rating, records
from hygiene.services.setup import counties, rollout, units

Weights = scoring.TownshipWeights  # the engine's type, named for the pages that show the formula
ASSESSMENT_POINTS = 100  # a village assessment is read on 100 points (four areas of 25 by default)
WARNING_LABELS = {"red": "红色预警", "yellow": "黄色预警"}


@dataclass(frozen=True)
class AssessedVillage:
    code: str
    name: str
    total: Decimal  # points out of 100 (rescaled when the areas are not 25 points each), two places


@dataclass(frozen=True)
class CheckedHousehold:
    code: str
    village_name: str
    spot_total: Decimal
    spot_grade: str
    final_grade: str | None  # None: not rated in the period's posted record, so not counted
    agrees: bool | None
    on_visit: bool = False  # re-scored on an unannounced visit (暗访) rather than a spot check


@dataclass(frozen=True)
class TownshipScore:
    """One township's line of the ranking, with the numbers behind each component."""

    code: str
    name: str
    villages: tuple[AssessedVillage, ...]
    mean_assessment: Decimal | None  # None: no village assessed in the period
    checks: tuple[CheckedHousehold, ...]
    checked: int  # rated households spot-checked
    agreeing: int
    agreement: Decimal | None  # share 0…1, four places; None: no rated household checked
    plan_year: int
    households: int
    rated: int  # households rated at least once by the end of the plan year
    planned_percent: int | None  # cumulative plan; None: the plan has no such year
    coverage_points: Decimal | None  # min(100, 100 × coverage / plan); None: no coverage data
    score: Decimal | None  # None: unranked (no component with data)
    rank: int | None
    warning: str  # "red", "yellow" or ""
    bonus_cut_percent: int | None = None  # the warning's consequence (the period's setting); None: no warning

    @property
    def coverage(self) -> Decimal | None:
        """Households rated at least once over all households, a share with four places."""
        if self.planned_percent is None or not self.households:
            return None
        return _share(Fraction(self.rated, self.households))

    @property
    def planned_coverage(self) -> Decimal | None:
        return (
            None if self.planned_percent is None or not self.households else _share(Fraction(self.planned_percent, 100))
        )

    @property
    def warning_label(self) -> str:
        return WARNING_LABELS.get(self.warning, "")

    @property
    def consequence(self) -> str:
        """The warning's consequence in words (RULES.md §9), empty without a warning."""
        if self.bonus_cut_percent is None:
            return ""
        return f"扣减本期奖补 {self.bonus_cut_percent}%" if self.bonus_cut_percent else "不扣减奖补"


@dataclass(frozen=True)
class Ranking:
    period: Period
    weights: scoring.TownshipWeights
    townships: tuple[TownshipScore, ...]  # by rank (the highest score first), then code; unranked last


def _share(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _decimal(value: object, places: str) -> Decimal | None:
    if _missing(value):
        return None
    return Decimal(str(value)).quantize(Decimal(places), ROUND_HALF_UP)


def weights_of(settings: County | Period) -> Weights:
    """The ranking's weights a period keeps (or the county's in force now, for a period not opened)."""
    return Weights(*counties.ranking_weights_of(settings.ranking_weights))


def townships_of(session: Session, county: County) -> list[Township]:
    return list(session.scalars(sa.select(Township).where(Township.county_id == county.id).order_by(Township.code)))


def _assessments(session: Session, period: Period) -> dict[int, list[tuple[AssessedVillage, Fraction]]]:
    """The villages assessed in the period, by township id, by village code, with their exact points."""
    scale = Fraction(ASSESSMENT_POINTS, 4 * period.assessment_area_max_tenths)
    rows = session.execute(
        sa.select(Village, VillageAssessment)
        .join(VillagePeriod, VillagePeriod.village_id == Village.id)
        .join(VillageAssessment, VillageAssessment.village_period_id == VillagePeriod.id)
        .where(VillagePeriod.period_id == period.id)
        .order_by(Village.code)
    )
    found: dict[int, list[tuple[AssessedVillage, Fraction]]] = {}
    for village, assessment in rows:
        points = assessment.total_tenths() * scale
        shown = Decimal(points.numerator) / Decimal(points.denominator)
        found.setdefault(village.township_id, []).append(
            (AssessedVillage(village.code, village.name, shown.quantize(Decimal("0.01"), ROUND_HALF_UP)), points)
        )
    return found


def _spot_checks(session: Session, period: Period) -> dict[int, list[CheckedHousehold]]:
    """The period's spot checks by township id, graded on the period's rubric and thresholds and
    compared with the household's grade in the village's current posted record."""
    rows: list[tuple[int, SpotCheck | VisitCheck, str, int, str]] = []
    rows += session.execute(
        sa.select(InspectionAssignment.township_id, SpotCheck, Household.code, Village.id, Village.name)
        .join(SpotCheck, SpotCheck.assignment_id == InspectionAssignment.id)
        .join(Household, SpotCheck.household_id == Household.id)
        .join(Group, Household.group_id == Group.id)
        .join(Village, Group.village_id == Village.id)
        # The county's own checks only: a city's checks the county, a township's own checks itself
        # (docs/decisions.md, issue 33, three levels).
        .where(InspectionAssignment.period_id == period.id, InspectionAssignment.level == Level.COUNTY.value)
        .order_by(Household.code)
    )
    if period.unannounced_in_agreement:  # the households re-scored on unannounced visits (暗访) count too
        rows += session.execute(
            sa.select(UnannouncedVisit.township_id, VisitCheck, Household.code, Village.id, Village.name)
            .join(VisitCheck, VisitCheck.visit_id == UnannouncedVisit.id)
            .join(Household, VisitCheck.household_id == Household.id)
            .join(Village, UnannouncedVisit.village_id == Village.id)
            .where(UnannouncedVisit.period_id == period.id, UnannouncedVisit.level == Level.COUNTY.value)
            .order_by(Household.code)
        )
    if not rows:
        return {}
    posted = records.current_records(session, period, sorted({row[3] for row in rows}))
    grades = {
        line.household_id: (None if line.grade is None else str(line.grade.value))
        for record in posted.values()
        for line in record.rows
    }
    frame = pd.DataFrame(
        [
            {
                "household_code": code,
                "township_code": str(township_id),
                **{c: rating.total_text(v) for c, v in check.scores().items()},
            }
            for township_id, check, code, _, _ in rows
        ]
    )
    results = pd.DataFrame(
        {
            "household_code": [code for _, _, code, _, _ in rows],
            "grade": [grades.get(check.household_id) for _, check, _, _, _ in rows],
        }
    ).drop_duplicates("household_code")
    try:
        graded, _ = scoring.spot_check_agreement(frame, results, rating.rubric_of(period), rating.settings_of(period))
    except scoring.InvalidInput as exc:
        raise ServiceError("抽查评分不符合本期评分标准：" + "；".join(str(p) for p in exc.problems[:5])) from None
    found: dict[int, list[CheckedHousehold]] = {}
    for (township_id, check, code, _, village_name), line in zip(rows, graded.itertuples(index=False), strict=True):
        final = None if _missing(line.final_grade) else str(line.final_grade)
        found.setdefault(township_id, []).append(
            CheckedHousehold(
                code=code,
                village_name=village_name,
                spot_total=Decimal(str(line.spot_total)),
                spot_grade=str(line.spot_grade),
                final_grade=final,
                agrees=None if _missing(line.agrees) else bool(line.agrees),
                on_visit=isinstance(check, VisitCheck),
            )
        )
    return found


def _coverage(session: Session, county: County, townships: Sequence[Township]) -> dict[int, list[rollout.CoverageYear]]:
    return {t.id: rollout.coverage(session, county, t) for t in townships}


def ranking(
    session: Session,
    county: County,
    period: Period,
    *,
    coverage: dict[int, list[rollout.CoverageYear]] | None = None,
) -> Ranking:
    """The county's township ranking for the period (RULES.md §9)."""
    townships = townships_of(session, county)
    weights = weights_of(period)
    cuts = counties.bonus_cuts_of(period.warning_bonus_cut_percent)
    by_year = coverage if coverage is not None else _coverage(session, county, townships)
    year = rating.period_year(period.code)
    assessed = _assessments(session, period)
    checks = _spot_checks(session, period)
    plan_lines: dict[int, rollout.CoverageYear | None] = {
        t.id: next((y for y in by_year.get(t.id, []) if y.year == year), None) for t in townships
    }
    # Codes as keys for the engine; a township's numbers as the rows behind each component.
    assessment_rows = [(t.code, v.code, points) for t in townships for v, points in assessed.get(t.id, [])]
    agreement_rows = []
    coverage_rows = []
    for t in townships:
        counted = [c for c in checks.get(t.id, []) if c.agrees is not None]
        if counted:
            agreement_rows.append((t.code, len(counted), sum(1 for c in counted if c.agrees)))
        line = plan_lines[t.id]
        if line is not None and line.households:
            coverage_rows.append((t.code, Fraction(line.rated, line.households), Fraction(line.planned_percent, 100)))
    scores = scoring.township_scores(
        pd.DataFrame(assessment_rows, columns=["township_code", "village_code", "total"]),
        pd.DataFrame(agreement_rows, columns=["township_code", "checked", "agreeing"]),
        pd.DataFrame(coverage_rows, columns=["township_code", "coverage", "planned_coverage"]),
        weights,
        townships=[t.code for t in townships],
    )
    by_code = {row["township_code"]: row for row in scores.to_dict("records")}
    lines = []
    for t in townships:
        s = by_code[t.code]
        counted = [c for c in checks.get(t.id, []) if c.agrees is not None]
        line = plan_lines[t.id]
        lines.append(
            TownshipScore(
                code=t.code,
                name=t.name,
                villages=tuple(v for v, _ in assessed.get(t.id, [])),
                mean_assessment=_decimal(s["mean_assessment"], "0.01"),
                checks=tuple(checks.get(t.id, [])),
                checked=len(counted),
                agreeing=sum(1 for c in counted if c.agrees),
                agreement=_decimal(s["agreement"], "0.0001"),
                plan_year=year,
                households=line.households if line else 0,
                rated=line.rated if line else 0,
                planned_percent=line.planned_percent if line else None,
                coverage_points=_decimal(s["coverage_points"], "0.01"),
                score=_decimal(s["score"], "0.01"),
                rank=None if _missing(s["rank"]) else int(s["rank"]),
                warning=str(s["warning"]),
                bonus_cut_percent=cuts.get(str(s["warning"])),
            )
        )
    lines.sort(key=lambda x: (x.rank is None, x.rank or 0, x.code))
    return Ranking(period=period, weights=weights, townships=tuple(lines))


def history(session: Session, county: County) -> list[Ranking]:
    """The ranking of each of the county's periods, the newest first."""
    townships = townships_of(session, county)
    by_year = _coverage(session, county, townships)
    return [ranking(session, county, p, coverage=by_year) for p in units.county_periods(session, county.id)]


def csv_rows(result: Ranking) -> list[tuple[str, ...]]:
    """INTERCHANGE.md §3 `hygiene ranking`: township_code, rank, score, assessment, agreement,
    coverage, planned_coverage, warning; a component without data is empty."""

    def text(value: Decimal | int | None, places: str | None = None) -> str:
        if value is None:
            return ""
        if places is not None:
            return str(Decimal(value).quantize(Decimal(places), ROUND_HALF_UP))
        return str(value)

    return [
        (
            t.code,
            text(t.rank),
            text(t.score, "0.01"),
            text(t.mean_assessment, "0.01"),
            text(t.agreement, "0.0001"),
            text(t.coverage, "0.0001"),
            text(t.planned_coverage, "0.0001"),
            t.warning,
        )
        for t in result.townships
    ]


CSV_HEADER = (
    "township_code",
    "rank",
    "score",
    "assessment",
    "agreement",
    "coverage",
    "planned_coverage",
    "warning",
)
