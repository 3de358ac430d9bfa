"""A county's rollout plan (RULES.md §1, §9) and budget (§8), on SQLite and PostgreSQL: the plan's
shares, the villages' programme years, and planned against actual coverage; and every row of a
county-carrying table of its parents' county (issue 20)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.io.sheets import UploadRejected
from hygiene.models import (
    AuditEntry,
    County,
    CountyBudget,
    Household,
    Review,
    RolloutPlanYear,
    Township,
    Village,
)
from hygiene.services import audit
from hygiene.services.errors import FieldErrors
from hygiene.services.setup import counties, rollout, unit_sheet
from tests.hygiene.test_inspections import ALL_FIVE, plaque_holder, save
from tests.hygiene.test_objections import PUBLISHED_Q4, file, rated_code, vp
from tests.hygiene.test_plaques import run_period, tiny_county
from tests.sheets import csv_file


def test_coverage_is_cumulative_and_on_target_when_it_reaches_the_cumulative_plan(db: Session) -> None:
    county = db.scalars(sa.select(County).where(County.code == "520999")).one()
    years = {y.year: y for y in rollout.coverage(db, county)}
    # the demo: plan 20/30/30/20 from 2025; its 2026Q3 lists rated every household
    assert [(y, years[y].planned_percent) for y in sorted(years)] == [(2025, 20), (2026, 50), (2027, 80), (2028, 100)]
    assert (years[2025].rated, years[2026].rated) == (0, years[2026].households)
    assert not years[2025].on_target and years[2026].on_target and years[2026].coverage_permille == 1000


def test_on_target_compares_exactly_at_the_boundary(db: Session) -> None:
    county = db.scalars(sa.select(County).where(County.code == "520999")).one()
    db.execute(sa.update(RolloutPlanYear).where(RolloutPlanYear.county_id == county.id).values(share_percent=100))
    db.flush()
    households = db.scalar(sa.select(sa.func.count(Household.id)).where(Household.county_id == county.id))
    year_2026 = next(y for y in rollout.coverage(db, county) if y.year == 2026)
    assert year_2026.planned_percent == 100 and year_2026.rated == households and year_2026.on_target
    db.add(Household(county_id=county.id, group_id=1, code="UNRATED-1", head_name="新户"))
    db.flush()
    year_2026 = next(y for y in rollout.coverage(db, county) if y.year == 2026)
    assert year_2026.households == households + 1 and not year_2026.on_target  # one short of 100%


def demo_county(db: Session) -> County:
    return db.scalars(sa.select(County).where(County.code == "520999")).one()


def test_a_new_county_gets_the_2332_plan_from_this_year(db: Session) -> None:
    county = counties.create_county(db, None, "520527", "赫章县")
    year = counties.current_year()
    assert rollout.plan_of(db, county) == [(year, 20), (year + 1, 30), (year + 2, 30), (year + 3, 20)]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("2027", "50"), ("2029", "50")], "年度须逐年连续、不重复：2027、2029"),
        ([("2027", "50"), ("2028", "40")], "各年比例合计须为100%，现为90%"),
        ([("2027", "五十"), ("２０２８", "100")], "第1行 '2027' 年 '五十'%：不是0–100之间的整数"),
        ([("", "")], "推进计划至少要有一年"),
        ([("1999", "100")], "不是2000–2100之间的整数"),
    ],
)
def test_a_bad_plan_is_refused_and_nothing_changes(db: Session, rows: list[tuple[str, str]], message: str) -> None:
    county = demo_county(db)
    before = rollout.plan_of(db, county)
    with pytest.raises(FieldErrors) as refused:
        rollout.set_plan(db, None, county, rows)
    assert message in str(refused.value)
    assert rollout.plan_of(db, county) == before


def test_a_new_plan_replaces_the_old_one_audited_and_the_same_plan_again_changes_nothing(db: Session) -> None:
    county = demo_county(db)
    rows = [("2025", "10"), ("２０２６", "40"), ("2027", "50"), ("", "")]
    assert rollout.set_plan(db, None, county, rows) is True
    assert rollout.plan_of(db, county) == [(2025, 10), (2026, 40), (2027, 50)]
    assert [y.planned_percent for y in rollout.coverage(db, county)] == [10, 50, 100]
    assert rollout.set_plan(db, None, county, rows) is False
    [entry] = [e for e in audit.history(db, "county", county.id, county_id=county.id) if e.action == "rollout_plan"]
    assert entry.before == {"2025": 20, "2026": 30, "2027": 30, "2028": 20}
    assert entry.after == {"2025": 10, "2026": 40, "2027": 50}


def test_a_village_already_rated_keeps_its_place_in_the_programme(db: Session) -> None:
    county = demo_county(db)
    township = db.scalars(sa.select(Township).where(Township.county_id == county.id)).first()
    assert township is not None
    new = Village(county_id=county.id, township_id=township.id, code="5209990199", name="新村")
    db.add(new)
    db.flush()
    # 5209990101 joined in 2025 and was first opened in 2026Q3
    with pytest.raises(FieldErrors) as refused:
        rollout.set_programme_years(db, None, county, {"5209990101": "2027", "5209990102": "", "5209990199": "2028"})
    assert refused.value.errors == {
        "5209990101": "青山村：该村自2026年起已参加评比，纳入年度不能晚于2026",
        "5209990102": f"{village_name(db, '5209990102')}：该村自2026年起已参加评比，不能移出推进计划",
    }
    assert new.programme_year is None  # all or nothing
    changed = rollout.set_programme_years(db, None, county, {"5209990101": "2026", "5209990199": "２０２８"})
    assert changed == 2 and new.programme_year == 2028
    [entry] = [e for e in audit.history(db, "village", new.id, county_id=county.id) if e.action == "programme_year"]
    assert (entry.before, entry.after) == ({"programme_year": None}, {"programme_year": 2028})
    assert rollout.set_programme_years(db, None, county, {"5209990199": "2028"}) == 0
    with pytest.raises(FieldErrors, match="本县没有村代码 5209990999"):
        rollout.set_programme_years(db, None, county, {"5209990999": "2028"})


def village_name(db: Session, code: str) -> str:
    return db.scalars(sa.select(Village.name).where(Village.code == code)).one()


def test_a_unit_sheet_may_not_move_a_rated_village_to_a_later_year(db: Session) -> None:
    county = demo_county(db)
    village = db.scalars(sa.select(Village).where(Village.code == "5209990101")).one()
    group = village.groups[0]
    header = ["乡镇代码", "乡镇", "村代码", "村", "村民组代码", "村民组", "纳入年度"]
    row = [village.township.code, village.township.name, village.code, village.name, group.code, group.name]
    table = unit_sheet.read(csv_file(header, [[*row, "2027"]]), "单位表.csv")
    with pytest.raises(UploadRejected) as refused:
        unit_sheet.plan(db, None, county, table)
    [problem] = refused.value.problems
    assert (
        problem.cli_line("单位表.csv")
        == "单位表.csv:2:G(纳入年度): 2027: 该村自2026年起已参加评比，纳入年度不能晚于2026"
    )
    table = unit_sheet.read(csv_file(header, [[*row, "2026"]]), "单位表.csv")
    assert [c.programme_year for c in unit_sheet.plan(db, None, county, table).years] == [2026]


def test_the_budget_is_a_setting_and_a_past_year_keeps_its_own(db: Session) -> None:
    county = demo_county(db)
    year = counties.current_year()
    assert counties.budget_for(db, county, year + 1) == 27_000_000_00
    with pytest.raises(FieldErrors, match="不是0–10000000000元之间的金额"):
        counties.change_settings(db, None, county, {"yearly_budget_fen": "三千万"})
    changed = counties.change_settings(db, None, county, {"yearly_budget_fen": "30,000,000.5"})
    assert changed == {"yearly_budget_fen": "27000000 → 30000000.50"}
    assert counties.budget_for(db, county, year) == counties.budget_for(db, county, year + 1) == 30_000_000_50
    db.add(CountyBudget(county_id=county.id, year=year - 5, amount_fen=100))
    db.flush()
    assert counties.budget_for(db, county, year - 5) == 100


# The tables that reached their county only through a parent before issue 20.
GIVEN_THEIR_COUNTY = (
    "villages", "groups", "reviews", "village_periods", "award_quotas", "village_assessments", "result_records",
    "result_record_households", "plaques", "plaque_events", "household_stars", "disqualifications", "spot_checks",
    "inspection_assignments", "objections",
)  # fmt: skip


# The entity types the services record in the audit log, but for a household, a quota and an
# assessment, which these counties get none of (tests/test_migrations.py covers them).
AUDITED = {
    "county", "group", "inspection_assignment", "inspection_team", "notice", "objection", "plaque", "spot_check",
    "township", "user", "village", "village_period",
}  # fmt: skip


def test_every_row_is_of_the_county_of_the_rows_it_references(db: Session) -> None:
    """Issue 20: the demo county, a second county through two quarters of its own (published, final,
    plaques issued and changed), and what the demo does not make (an objection, a failed spot check,
    a unit sheet; the demo holds stars and a disqualification): every table that carries its county has rows, and none
    of them names another county than a row it references; nor does an audit entry its entity."""
    county, village, (a, b, c, d, _e) = tiny_county(db)
    run_period(db, county, village, "2027Q1", {a: 95, b: 85, c: 85, d: 50})
    run_period(db, county, village, "2027Q2", {a: 85, b: 95, c: 50, d: 50})
    posted = vp(db, PUBLISHED_Q4)
    assert posted.posting_ends_at is not None
    assert file(db, posted, rated_code(db, posted), now=posted.posting_ends_at - dt.timedelta(hours=1))
    assert save(db, plaque_holder(db), ALL_FIVE).revoked is not None
    header = ["乡镇代码", "乡镇", "村代码", "村", "村民组代码", "村民组", "纳入年度"]
    new_units = [f"{county.code}02", "新镇", f"{county.code}0201", "新村", f"{county.code}020101", "一组", ""]
    sheet = unit_sheet.plan(db, None, county, unit_sheet.read(csv_file(header, [new_units]), "单位表.csv"))
    assert unit_sheet.apply(db, None, sheet, file_name="单位表.csv") == 3
    empty = [t for t in GIVEN_THEIR_COUNTY if not db.scalar(sa.text(f"SELECT count(*) FROM {t}"))]  # noqa: S608
    assert empty == []

    # The audit log names its entity by type and id, not by a foreign key: every entity type the
    # services record is here, and each entry is of its entity's county.
    assert set(db.scalars(sa.select(AuditEntry.entity).distinct())) >= AUDITED

    mismatches = counties.county_mismatches(db)
    assert {*GIVEN_THEIR_COUNTY, "audit_log"} <= set(mismatches)
    assert mismatches == dict.fromkeys(mismatches, 0)

    other = db.scalars(sa.select(County.id).where(County.id != county.id)).first()
    review = db.scalars(sa.select(Review).where(Review.household_id == a.id)).first()
    assert review is not None
    db.execute(sa.update(Review).where(Review.id == review.id).values(county_id=other))
    assert counties.county_mismatches(db)["reviews"] == 1

    assert other is not None
    audit.record(db, None, kind="household", entity_id=a.id, county_id=other, action="test")
    audit.record(db, None, kind="household", entity_id=10**9, county_id=county.id, action="test")  # no such row
    audit.record(db, None, kind="mystery", entity_id=a.id, county_id=county.id, action="test")  # unknown type
    db.flush()
    assert counties.county_mismatches(db)["audit_log"] == 3
