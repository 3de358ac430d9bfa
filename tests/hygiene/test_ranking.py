"""The township ranking (RULES.md §9) gathered from the database: components, ties, empty components."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA, AssessmentArea
from hygiene.models import (
    County,
    Group,
    Household,
    InspectionAssignment,
    InspectionTeam,
    ResultRecord,
    ResultRecordHousehold,
    SpotCheck,
    Township,
    Village,
    VillageAssessment,
    VillagePeriod,
)
from hygiene.services.setup import rollout, units
from hygiene.services.supervision import ranking
from tests.hygiene.factories import period as period_of

# A spot-check total (tenths) inside each grade's band under the default thresholds 90 / 80 / 60.
TOTAL_OF_GRADE = {"cleanest": 950, "clean": 850, "fairly_clean": 700, "not_clean": 300}


def county(db: Session) -> County:
    return units.get_county(db, "520999")


def township(db: Session, code: str) -> Township:
    return db.scalars(sa.select(Township).where(Township.code == code)).one()


def half_up(value: Fraction, places: str = "0.01") -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(places), ROUND_HALF_UP)


def assessed_points(db: Session, period_code: str, township_code: str) -> list[Fraction]:
    period = period_of(db, period_code)
    found = db.scalars(
        sa.select(VillageAssessment)
        .join(VillagePeriod, VillageAssessment.village_period_id == VillagePeriod.id)
        .join(Village, VillagePeriod.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .where(VillagePeriod.period_id == period.id, Township.code == township_code)
    )
    return [Fraction(a.total_tenths(), 10) for a in found]


def coverage_points(db: Session, township_code: str, year: int) -> Fraction:
    line = next(y for y in rollout.coverage(db, county(db), township(db, township_code)) if y.year == year)
    return min(Fraction(100), Fraction(100 * line.rated * 100, line.households * line.planned_percent))


def spot_check(db: Session, period_code: str, household: Household, total_tenths: int) -> SpotCheck:
    """A spot check of the household, by the first team, scoring ``total_tenths`` over the ten criteria."""
    period = period_of(db, period_code)
    village = db.get(Village, db.get(Group, household.group_id).village_id)  # type: ignore[union-attr]
    assignment = db.scalar(
        sa.select(InspectionAssignment).where(
            InspectionAssignment.period_id == period.id, InspectionAssignment.township_id == village.township_id
        )
    )
    if assignment is None:
        team = db.scalars(sa.select(InspectionTeam).where(InspectionTeam.county_id == period.county_id)).first()
        assignment = InspectionAssignment(
            county_id=period.county_id, team_id=team.id, period_id=period.id, township_id=village.township_id
        )
        db.add(assignment)
        db.flush()
    scores = {c: total_tenths // 10 + (1 if i < total_tenths % 10 else 0) for i, c in enumerate(CRITERIA)}
    check = SpotCheck(county_id=household.county_id, assignment_id=assignment.id, household_id=household.id, **scores)
    db.add(check)
    db.flush()
    return check


def posted_lines(db: Session, period_code: str, village_code: str) -> list[ResultRecordHousehold]:
    period = period_of(db, period_code)
    return list(
        db.scalars(
            sa.select(ResultRecordHousehold)
            .join(ResultRecord, ResultRecordHousehold.record_id == ResultRecord.id)
            .join(VillagePeriod, ResultRecord.village_period_id == VillagePeriod.id)
            .join(Village, VillagePeriod.village_id == Village.id)
            .where(
                VillagePeriod.period_id == period.id,
                Village.code == village_code,
                ResultRecord.superseded_at.is_(None),
            )
            .order_by(ResultRecordHousehold.household_code)
        )
    )


def test_demo_components_and_reweighting_without_spot_checks(db: Session) -> None:
    """No spot check in the demo: agreement is empty and assessment and coverage share the weight
    0.4 : 0.3, scaled to 1; warnings on the two lowest scores."""
    result = ranking.ranking(db, county(db), period_of(db, "2026Q3"))
    assert result.weights.assessment == Decimal("0.4")
    lines = {t.code: t for t in result.townships}
    assert set(lines) == {"52099901", "52099902", "52099903"}
    for code, line in lines.items():
        points = assessed_points(db, "2026Q3", code)
        mean = sum(points, Fraction(0)) / len(points)
        cover = coverage_points(db, code, 2026)
        assert len(line.villages) == len(points) == 4
        assert line.mean_assessment == half_up(mean)
        assert line.agreement is None and line.checked == 0 and line.checks == ()
        assert line.coverage_points == half_up(cover)
        assert line.plan_year == 2026 and line.planned_percent == 50
        assert line.coverage == half_up(Fraction(line.rated, line.households), "0.0001")
        assert line.score == half_up((Fraction(4, 10) * mean + Fraction(3, 10) * cover) / Fraction(7, 10))
    ordered = list(result.townships)
    assert [t.rank for t in ordered] == [1, 2, 3]
    assert [t.score for t in ordered] == sorted((t.score for t in ordered), reverse=True)
    assert [t.warning for t in ordered] == ["", "yellow", "red"]
    assert [t.warning_label for t in ordered] == ["", "黄色预警", "红色预警"]


def test_agreement_from_spot_checks_against_the_posted_grades(db: Session) -> None:
    """Two rated households of 青山村 checked, one agreeing; an unrated one is not counted."""
    rated = [line for line in posted_lines(db, "2026Q3", "5209990101") if line.grade is not None]
    same, other = rated[0], rated[1]
    spot_check(db, "2026Q3", db.get(Household, same.household_id), TOTAL_OF_GRADE[same.grade.value])  # type: ignore[arg-type, union-attr]
    wrong = "not_clean" if other.grade.value != "not_clean" else "cleanest"  # type: ignore[union-attr]
    spot_check(db, "2026Q3", db.get(Household, other.household_id), TOTAL_OF_GRADE[wrong])  # type: ignore[arg-type]
    unrated = Household(
        county_id=county(db).id,
        group_id=db.get(Household, same.household_id).group_id,  # type: ignore[union-attr]
        code="520999010199",
        head_name="新户",
    )
    db.add(unrated)
    db.flush()
    spot_check(db, "2026Q3", unrated, 950)
    result = ranking.ranking(db, county(db), period_of(db, "2026Q3"))
    line = next(t for t in result.townships if t.code == "52099901")
    assert (line.checked, line.agreeing, line.agreement) == (2, 1, Decimal("0.5000"))
    assert [c.agrees for c in line.checks if c.code != unrated.code] == [True, False] or [
        c.agrees for c in line.checks if c.code != unrated.code
    ] == [False, True]
    assert next(c for c in line.checks if c.code == unrated.code).agrees is None
    points = assessed_points(db, "2026Q3", "52099901")
    mean = sum(points, Fraction(0)) / len(points)
    exact = Fraction(4, 10) * mean + Fraction(3, 10) * 50 + Fraction(3, 10) * coverage_points(db, "52099901", 2026)
    assert line.score == half_up(exact)  # every component: the plain §9 formula
    others = [t for t in result.townships if t.code != "52099901"]
    assert all(t.agreement is None for t in others)
    csv = {row[0]: row for row in ranking.csv_rows(result)}
    assert csv["52099901"][4] == "0.5000" and csv["52099902"][4] == ""


def test_ties_share_rank_and_warning(db: Session) -> None:
    """松林镇 and 河坝乡 assessed alike tie for the lowest score: both red, sharing rank 2; 白果街道
    above them gets the next distinct score's yellow."""
    period = period_of(db, "2026Q3")
    for assessment, code in db.execute(
        sa.select(VillageAssessment, Township.code)
        .join(VillagePeriod, VillageAssessment.village_period_id == VillagePeriod.id)
        .join(Village, VillagePeriod.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .where(VillagePeriod.period_id == period.id)
    ):
        for area in AssessmentArea:
            setattr(assessment, area.value, 250 if code == "52099903" else 200)
    db.flush()
    result = ranking.ranking(db, county(db), period)
    assert [(t.code, t.rank, t.warning) for t in result.townships] == [
        ("52099903", 1, "yellow"),
        ("52099901", 2, "red"),
        ("52099902", 2, "red"),
    ]


def test_a_township_without_any_data_is_unranked_and_history_is_newest_first(db: Session) -> None:
    db.add(Township(county_id=county(db).id, code="52099909", name="新设镇"))
    db.flush()
    history = ranking.history(db, county(db))
    assert [r.period.code for r in history] == ["2026Q4", "2026Q3"]
    for result in history:
        last = result.townships[-1]
        assert (last.code, last.score, last.rank, last.warning) == ("52099909", None, None, "")
        assert last.mean_assessment is None and last.agreement is None and last.coverage_points is None
        assert ranking.csv_rows(result)[-1] == ("52099909", "", "", "", "", "", "", "")
    q4 = {t.code: t for t in history[0].townships}
    assert len(q4["52099902"].villages) < 4  # only the villages assessed in 2026Q4


def test_no_plan_year_leaves_coverage_empty(db: Session) -> None:
    """A period whose year the plan does not cover has no coverage component."""
    rollout.set_plan(db, None, county(db), [("2027", "50"), ("2028", "50")])
    result = ranking.ranking(db, county(db), period_of(db, "2026Q3"))
    for line in result.townships:
        assert line.coverage_points is None and line.planned_percent is None and line.coverage is None
        assert line.score == line.mean_assessment  # only the assessment left: its weight scaled to 1
