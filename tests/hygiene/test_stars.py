"""Stars, titles, benefits, the award ledger and the bulletin's figures (RULES.md §8, issue 29), on
SQLite and PostgreSQL: the hygiene star follows the plaque on every path in the same transaction,
disqualification, the village committee's grants, the ledger's refusals and the budget."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA, LedgerKind, PlaqueState
from hygiene.models import (
    AuditEntry,
    AwardLedgerEntry,
    County,
    CountyBudget,
    Household,
    HouseholdStar,
    Plaque,
    Star,
    User,
    Village,
)
from hygiene.models._types import beijing_today
from hygiene.services.awards import award_stats, benefits, ledger, plaques, stars
from hygiene.services.awards.catalogue import CatalogueLine, save_catalogue, save_star_settings
from hygiene.services.errors import FieldErrors, PermissionDenied, ServiceError
from hygiene.services.setup import counties
from tests.hygiene import test_inspections as spot
from tests.hygiene.test_plaques import run_period, tiny_county

TODAY = beijing_today()


def user(db: Session, name: str) -> User:
    return db.scalars(sa.select(User).where(User.username == name)).one()


def demo_county(db: Session) -> County:
    return db.scalars(sa.select(County).where(County.code == "520999")).one()


def codes(db: Session, household: Household) -> list[str]:
    return [s.code for s in stars.holding_of(db, household).stars]


def bare(db: Session, household: Household) -> Household:
    """The household holding its hygiene star only (the demo's village committees granted others)."""
    for star in stars.holding_of(db, household).stars + stars.holding_of(db, household).titles:
        if not star.is_hygiene:
            stars.withdraw(db, None, household, star, reason="测试前清空", on=TODAY)
    return household


def holder(db: Session, township: str = "52099901") -> Household:
    return bare(db, spot.plaque_holder(db, township))


def grant_all_but_hygiene(db: Session, household: Household, *, leave_out: tuple[str, ...] = ()) -> None:
    for star in stars.catalogue(db, household.county_id):
        if not star.is_hygiene and not star.is_title and star.code not in leave_out:
            stars.grant(db, None, household, star, reason="村民代表会议评定", on=TODAY)


def withdrawal_count(db: Session, household: Household) -> int:
    return db.scalar(
        sa.select(sa.func.count(HouseholdStar.id)).where(
            HouseholdStar.household_id == household.id, HouseholdStar.withdrawn_on.is_not(None)
        )
    )


# --- the catalogue -------------------------------------------------------------------------------


def test_a_new_county_gets_the_default_catalogue_settings_and_goods(db: Session) -> None:
    county = counties.create_county(db, None, "520990", "新县")
    catalogue = stars.catalogue(db, county.id)
    assert [s.name for s in catalogue][:2] == ["卫生星", "守法星"] and len(catalogue) == 10
    assert sum(s.is_base for s in catalogue) == 5 and [s.code for s in catalogue if s.is_hygiene] == ["hygiene"]
    settings = stars.settings_of(db, county.id)
    assert (settings.bronze_stars, settings.silver_stars, settings.gold_stars) == (5, 8, 10)
    assert stars.disqualifying_events(db, county.id) == list(stars.DISQUALIFYING_EVENTS)
    assert set(ledger.goods_mapping(db, county)) == set(CRITERIA)


def test_the_administrator_edits_the_catalogue_and_adds_titles(db: Session) -> None:
    county = demo_county(db)
    lines = [
        CatalogueLine(
            s.code,
            s.name + ("（新）" if s.code == "law" else ""),
            s.position,
            s.is_base,
            s.is_title,
            s.certificate or "",
        )
        for s in stars.catalogue(db, county.id)
    ]
    title = CatalogueLine("goodwife", "好媳妇", 30, title=True, certificate="好媳妇荣誉证书")
    audited = sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "star_catalogue")
    before = db.scalar(audited)
    assert save_catalogue(db, user(db, "county"), county, [*lines, title]) == 2
    catalogue = stars.catalogue(db, county.id)
    assert catalogue[-1].is_title and catalogue[-1].certificate == "好媳妇荣誉证书"
    assert [s.name for s in catalogue if s.code == "law"] == ["守法星（新）"]
    assert db.scalar(audited) == before + 2
    # the hygiene star stays a base star; five base stars; nothing removed; only the administrator
    unflagged = [line if line.code != "hygiene" else CatalogueLine("hygiene", "卫生星", 0) for line in lines]
    with pytest.raises(FieldErrors) as refused:
        save_catalogue(db, None, county, unflagged)
    assert "卫生星必须是基础星" in str(refused.value.errors) and "基础星须为5颗" in str(refused.value.errors)
    with pytest.raises(FieldErrors, match="不能删除"):
        save_catalogue(db, None, county, lines[1:])
    with pytest.raises(PermissionDenied):
        save_catalogue(db, user(db, "township"), county, lines)


# --- the hygiene star follows the plaque ---------------------------------------------------------


def test_the_hygiene_star_follows_issue_and_revocation_in_the_cycle(db: Session) -> None:
    county, village, (a, b, c, d, _e) = tiny_county(db)
    run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85, d: 70})
    assert codes(db, a) == ["hygiene"] and codes(db, b) == ["hygiene"] and codes(db, d) == []
    grant_all_but_hygiene(db, b, leave_out=("study", "thrift", "kindness", "ecology"))
    held = stars.holding_of(db, b)
    assert held.five_plus and held.count == 6 and held.tier == "bronze" and not held.ten_star
    # 2027Q2: B relapses, its plaque is revoked in the cycle: the hygiene star and five-plus go with it
    run_period(db, county, village, "2027Q2", {a: 88, b: 55, c: 96, d: 70})
    held = stars.holding_of(db, b)
    assert "hygiene" not in codes(db, b) and not held.five_plus and held.count == 5
    assert [s.code for s in held.missing][:1] == ["hygiene"]
    withdrawn = db.scalars(
        sa.select(HouseholdStar).where(HouseholdStar.household_id == b.id, HouseholdStar.withdrawn_on.is_not(None))
    ).one()
    assert withdrawn.withdraw_reason == "2027Q2评定为不清洁户" and withdrawn.plaque_id is not None
    assert codes(db, c) == ["hygiene"]  # issued in 2027Q2
    actions = db.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.entity == "household", AuditEntry.entity_id == str(b.id))
    ).all()
    assert actions.count("star_grant") == 6 and actions.count("star_withdraw") == 1


def test_revocation_by_an_inspector_withdraws_the_hygiene_star_and_ten_star_status(db: Session) -> None:
    county = demo_county(db)
    household = holder(db)
    grant_all_but_hygiene(db, household)
    assert stars.holding_of(db, household).ten_star and stars.holding_of(db, household).tier == "gold"
    plaque = db.scalars(sa.select(Plaque).where(Plaque.household_id == household.id)).one()
    plaques.revoke(db, user(db, "inspector"), plaque, reason="督查发现院内堆放杂物", expected_version=plaque.version)
    held = stars.holding_of(db, household)
    assert not held.hygiene and not held.ten_star and not held.five_plus and held.tier == "silver"
    assert household.id not in {
        p.holding.household.id for p in benefits.priority_list(db, county) if p.holding.five_plus
    }


def test_reinstating_a_revocation_outside_the_cycle_restores_the_star_and_five_plus(db: Session) -> None:
    household = holder(db)
    grant_all_but_hygiene(db, household, leave_out=("study", "thrift", "kindness", "ecology"))
    plaque = db.scalars(sa.select(Plaque).where(Plaque.household_id == household.id)).one()
    spot.save(db, household, spot.ALL_FIVE)
    assert not stars.holding_of(db, household).five_plus
    with pytest.raises(PermissionDenied):
        plaques.reinstate(db, user(db, "village"), plaque, reason="误判", expected_version=plaque.version)
    plaques.reinstate(
        db, user(db, "inspector"), plaque, reason="复查：抽查时厕所正在维修，误判", expected_version=plaque.version
    )
    held = stars.holding_of(db, household)
    assert plaque.state is PlaqueState.VALID and held.hygiene and held.five_plus
    events = [e.kind.value for e in plaque.events]
    assert events[-2:] == ["revoked", "reinstated"]
    with pytest.raises(ServiceError, match="现为有效，不能恢复"):
        plaques.reinstate(db, None, plaque, reason="再次", expected_version=plaque.version)


def test_a_revocation_at_finalisation_is_not_reinstated_by_hand(db: Session) -> None:
    county, village, (a, b, c, d, _e) = tiny_county(db)
    run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85, d: 70})
    run_period(db, county, village, "2027Q2", {a: 88, b: 55, c: 96, d: 70})
    revoked = db.scalars(sa.select(Plaque).where(Plaque.household_id == b.id)).one()
    with pytest.raises(ServiceError, match="退回更正"):
        plaques.reinstate(db, None, revoked, reason="误判", expected_version=revoked.version)
    assert not stars.holding_of(db, b).hygiene


def test_a_failed_spot_check_withdraws_the_hygiene_star_with_the_plaque(db: Session) -> None:
    household = holder(db)
    grant_all_but_hygiene(db, household, leave_out=("study", "thrift", "kindness", "ecology"))
    assert stars.holding_of(db, household).five_plus
    withdrawn = withdrawal_count(db, household)
    outcome = spot.save(db, household, spot.ALL_FIVE)
    assert outcome.revoked is not None and outcome.revoked.state is PlaqueState.REVOKED
    held = stars.holding_of(db, household)
    assert not held.hygiene and not held.five_plus
    assert withdrawal_count(db, household) == withdrawn + 1


def test_a_failure_after_the_revocation_leaves_the_star_too(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """The star is withdrawn in the plaque's transaction: if the revocation fails, the star stays."""
    household = holder(db)
    plaque = db.scalars(sa.select(Plaque).where(Plaque.household_id == household.id)).one()
    real = plaques.audit.record

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("action") == "plaque_revoke":
            raise ServiceError("磁盘已满（测试注入）")
        return real(*args, **kwargs)

    monkeypatch.setattr(plaques.audit, "record", failing)
    savepoint = db.begin_nested()
    with pytest.raises(ServiceError):
        plaques.revoke(db, None, plaque, reason="督查", expected_version=plaque.version)
    savepoint.rollback()
    db.expire_all()
    assert stars.holding_of(db, household).hygiene and plaque.state is PlaqueState.VALID


# --- grants, withdrawals and disqualification ------------------------------------------------------


def test_the_hygiene_star_is_never_granted_or_withdrawn_by_hand(db: Session) -> None:
    household = holder(db)
    hygiene = stars.hygiene_star(db, household.county_id)
    with pytest.raises(ServiceError, match="随牌匾"):
        stars.grant(db, None, spot.without_plaque(db), hygiene, reason="手工")
    with pytest.raises(ServiceError, match="随牌匾"):
        stars.withdraw(db, None, household, hygiene, reason="手工")


def test_a_village_clerk_grants_only_in_their_village_and_the_township_reverses(db: Session) -> None:
    own = db.scalars(
        sa.select(Household).where(Household.code.startswith("5209990101")).order_by(Household.code)
    ).first()
    other = db.scalars(sa.select(Household).where(Household.code.startswith("5209990102"))).first()
    law = stars.get_star(db, own.county_id, "law")
    held = stars.grant(db, user(db, "village"), own, law, reason="遵纪守法", on=TODAY)
    assert held.granted_on == TODAY and "law" in codes(db, own)
    with pytest.raises(PermissionDenied):
        stars.grant(db, user(db, "village"), other, law, reason="遵纪守法")
    with pytest.raises(PermissionDenied):
        stars.grant(db, user(db, "township2"), own, law, reason="遵纪守法")
    with pytest.raises(ServiceError, match="已持有"):
        stars.grant(db, None, own, law, reason="再次")
    with pytest.raises(FieldErrors):
        stars.grant(db, None, own, stars.get_star(db, own.county_id, "study"), reason=" ")
    with pytest.raises(FieldErrors):
        stars.grant(db, None, own, stars.get_star(db, own.county_id, "study"), reason="x", on=TODAY + dt.timedelta(1))
    stars.withdraw(db, user(db, "township"), own, law, reason="乡镇复核：不符合条件", on=TODAY)
    assert "law" not in codes(db, own)
    entry = db.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "star_withdraw").order_by(AuditEntry.id.desc())
    ).first()
    assert entry.actor == "township" and entry.before["withdrawn_on"] is None and entry.after["withdrawn_on"]


def test_a_disqualified_household_holds_no_star_until_the_county_lifts_it(db: Session) -> None:
    household = holder(db)
    grant_all_but_hygiene(db, household, leave_out=("study",))
    with pytest.raises(FieldErrors, match="不在本县"):
        stars.disqualify(db, None, household, event="打麻将", occurred_on=TODAY)
    with pytest.raises(PermissionDenied):
        stars.disqualify(db, user(db, "village"), household, event="家庭暴力", occurred_on=TODAY)
    found = stars.disqualify(db, user(db, "county"), household, event="家庭暴力", occurred_on=TODAY)
    held = stars.holding_of(db, household)
    assert held.count == 0 and held.titles == [] and not held.hygiene
    with pytest.raises(ServiceError, match="取消评星资格"):
        stars.grant(db, None, household, stars.get_star(db, household.county_id, "study"), reason="好学")
    # a plaque event meanwhile gives no hygiene star
    stars.sync_hygiene_star(db, None, household.id, household.county_id, on=TODAY, reason="复核")
    assert not stars.holding_of(db, household).hygiene
    stars.lift(db, user(db, "county"), found, on=TODAY)
    assert codes(db, household) == ["hygiene"]  # the plaque is still valid; the others are granted again


# --- benefits and tiers --------------------------------------------------------------------------


def test_the_benefits_list_puts_five_plus_first_then_star_count(db: Session) -> None:
    county = demo_county(db)
    five_plus, many = holder(db, "52099902"), holder(db, "52099903")
    grant_all_but_hygiene(db, five_plus, leave_out=("study", "thrift", "kindness", "ecology"))  # 6 stars
    grant_all_but_hygiene(db, many, leave_out=("law", "kindness"))  # 8 stars, a base star missing
    rows = benefits.priority_list(db, county)
    keys = [(not r.holding.five_plus, -r.holding.count, r.holding.household.code) for r in rows]
    assert keys == sorted(keys) and [r.priority for r in rows] == list(range(1, len(rows) + 1))
    by_household = {r.holding.household.id: r for r in rows}
    assert by_household[five_plus.id].holding.five_plus and not by_household[many.id].holding.five_plus
    last_five_plus = max(r.priority for r in rows if r.holding.five_plus)
    assert by_household[five_plus.id].priority <= last_five_plus < by_household[many.id].priority
    assert by_household[many.id].holding.tier == "silver"
    township_rows = benefits.priority_list(db, county, township=many_township(db, many))
    assert {r.holding.township.id for r in township_rows} == {many_township(db, many).id}
    csv = benefits.csv_rows([by_household[five_plus.id]])
    assert csv[0][1] == five_plus.code and csv[0][4:8] == ("6", "yes", "no", "bronze")


def many_township(db: Session, household: Household):  # type: ignore[no-untyped-def]
    return stars.holding_of(db, household).township


def test_tiers_are_configurable(db: Session) -> None:
    county = demo_county(db)
    household = holder(db)
    grant_all_but_hygiene(db, household, leave_out=("study", "thrift", "kindness"))  # 7
    assert stars.holding_of(db, household).tier == "bronze"
    save_star_settings(db, user(db, "county"), county, bronze=3, silver=6, gold=9, events=["家庭暴力"])
    assert stars.holding_of(db, household).tier == "silver"
    with pytest.raises(FieldErrors):
        save_star_settings(db, None, county, bronze=6, silver=6, gold=10, events=["家庭暴力"])


# --- the award ledger ----------------------------------------------------------------------------


def entry(household: Household, kind: LedgerKind, fen: int, on: dt.date = TODAY) -> ledger.NewEntry:
    return ledger.NewEntry(household=household, kind=kind, item="垃圾桶", value_fen=fen, given_on=on)


def ledger_count(db: Session) -> int:
    return db.scalar(sa.select(sa.func.count(AwardLedgerEntry.id)))


def test_the_ledgers_refusals_write_nothing(db: Session) -> None:
    county = demo_county(db)
    household = holder(db)
    before = ledger_count(db)
    with pytest.raises(FieldErrors, match="不是十星级"):
        ledger.add(db, None, county, entry(household, LedgerKind.INDUSTRY_SUPPORT, 300000))
    grant_all_but_hygiene(db, household)
    with pytest.raises(FieldErrors, match="不少于2000元"):
        ledger.add(db, None, county, entry(household, LedgerKind.INDUSTRY_SUPPORT, 199999))
    year = TODAY.year
    db.execute(
        sa.update(CountyBudget)
        .where(CountyBudget.county_id == county.id, CountyBudget.year == year)
        .values(amount_fen=ledger.spent_fen(db, county, year) + 500000)
    )
    with pytest.raises(ServiceError, match="超出预算"):
        ledger.add(db, None, county, entry(household, LedgerKind.INDUSTRY_SUPPORT, 500001))
    with pytest.raises(PermissionDenied):
        ledger.add(db, user(db, "township2"), county, entry(household, LedgerKind.AWARD_GOODS, 100))
    assert ledger_count(db) == before
    written = ledger.add(db, user(db, "township"), county, entry(household, LedgerKind.INDUSTRY_SUPPORT, 300000))
    assert written.township_id == stars.holding_of(db, household).township.id
    # a batch that would go over is refused whole
    with pytest.raises(ServiceError, match="剩余 2000 元"):
        ledger.add_many(db, None, county, [entry(household, LedgerKind.AWARD_GOODS, 150000)] * 2)
    assert ledger_count(db) == before + 1
    assert ledger.spending(db, county, year).remaining_fen == 200000


def test_spending_by_township_adds_up_to_the_county(db: Session) -> None:
    county = demo_county(db)
    first = holder(db, "52099901")
    second = holder(db, "52099902")
    before = ledger.spending(db, county, TODAY.year)
    ledger.add_many(
        db,
        None,
        county,
        [entry(first, LedgerKind.AWARD_GOODS, 6000), entry(second, LedgerKind.AWARD_GOODS, 6000),
         ledger.NewEntry(second, LedgerKind.AWARD_GOODS, "厕刷", 2000, TODAY)],
    )  # fmt: skip
    report = ledger.spending(db, county, TODAY.year)
    assert sum(fen for _, fen in report.by_township) == report.spent_fen == sum(fen for _, fen in report.by_item)
    assert [t.code for t, _ in report.by_township] == ["52099901", "52099902", "52099903"]
    assert report.spent_fen == before.spent_fen + 14000 and report.budget_fen == county.yearly_budget_fen
    assert dict(report.by_item)["垃圾桶"] == dict(before.by_item).get("垃圾桶", 0) + 12000
    rows = ledger.csv_rows(ledger.entries(db, county, TODAY.year))
    assert [(r[0], r[3]) for r in rows] == sorted((r[0], r[3]) for r in rows)


def test_suggestions_come_from_the_criteria_lost_and_are_accepted_per_village(db: Session) -> None:
    county, village, (a, b, c, d, _e) = tiny_county(db)
    vp = run_period(db, county, village, "2027Q1", {a: 100, b: 95, c: 85, d: 70})
    mapping = ledger.goods_mapping(db, county)
    suggested = {s.household_code: s for s in ledger.suggestions(db, county, village, vp.period)}
    assert set(suggested) == {a.code, b.code}  # the awarded only
    assert suggested[a.code].goods == [] and suggested[a.code].lost == []  # full marks: nothing missing
    assert [g.item for g in suggested[b.code].goods] == [mapping[c].item for c in CRITERIA]
    before = ledger_count(db)
    written = ledger.accept_suggestions(db, None, county, village, vp.period, on=TODAY)
    assert len(written) == len(CRITERIA) == ledger_count(db) - before
    assert {w.household_id for w in written} == {b.id} and all(w.period_id == vp.period.id for w in written)
    assert ledger.suggestions(db, county, village, vp.period)[1].accepted
    with pytest.raises(ServiceError, match="没有待登记"):
        ledger.accept_suggestions(db, None, county, village, vp.period)


def test_the_demo_township_accepted_its_suggestions_and_others_may_not(db: Session) -> None:
    county = demo_county(db)
    village = db.scalars(sa.select(Village).where(Village.code == "5209990101")).one()
    period = spot.factories.period(db, "2026Q3")
    suggested = ledger.suggestions(db, county, village, period)
    assert suggested and all(s.accepted for s in suggested if s.goods)
    with pytest.raises(PermissionDenied):
        ledger.accept_suggestions(db, user(db, "township2"), county, village, period)


# --- the bulletin's figures ----------------------------------------------------------------------


def test_the_figures_count_in_the_bulletins_terms(db: Session) -> None:
    county = demo_county(db)
    household = holder(db)
    before = award_stats.figures(db, county, TODAY.year)
    grant_all_but_hygiene(db, household)
    ledger.add(db, None, county, entry(household, LedgerKind.INDUSTRY_SUPPORT, 250000))
    after = award_stats.figures(db, county, TODAY.year)
    assert after.five_star_or_more == before.five_star_or_more + 1 and after.ten_star == before.ten_star + 1
    assert after.industry_support_fen == before.industry_support_fen + 250000
    valid = db.scalars(sa.select(Plaque).where(Plaque.county_id == county.id, Plaque.state == PlaqueState.VALID)).all()
    assert after.hygiene_stars == len({p.household_id for p in valid})
    assert after.civilized_hygiene_households == len({p.household_id for p in valid if p.level.value == "cleanest"})
    assert after.csv_row()[0:2] == ("520999", str(TODAY.year))


def test_every_star_row_is_in_its_households_county(db: Session) -> None:
    rows = db.execute(
        sa.select(HouseholdStar.county_id, Household.county_id, Star.county_id)
        .join(Household, HouseholdStar.household_id == Household.id)
        .join(Star, HouseholdStar.star_id == Star.id)
    ).all()
    assert rows and all(a == b == c for a, b, c in rows)


def test_two_offices_spending_the_last_of_the_budget_at_once_one_is_refused(committing_engine: sa.Engine) -> None:
    """The year's budget row is locked while an entry is checked: of two entries that each fit the
    remaining budget but not together, one is written and the other refused."""
    from hygiene.db import make_sessionmaker
    from tests.hygiene.test_concurrency import race

    maker = make_sessionmaker(committing_engine, write=True)
    with maker.begin() as session:
        county = demo_county(session)
        code = holder(session).code
        year = TODAY.year
        spent = ledger.spent_fen(session, county, year)
        session.execute(
            sa.update(CountyBudget)
            .where(CountyBudget.county_id == county.id, CountyBudget.year == year)
            .values(amount_fen=spent + 500000)
        )

    def spend(session: Session, runner: int) -> None:
        county = demo_county(session)
        household = stars.household_by_code(session, code, county)
        ledger.add(session, None, county, entry(household, LedgerKind.AWARD_GOODS, 300000))

    outcomes = race(committing_engine, spend)
    assert outcomes.count("ok") == 1 and "超出预算" in next(o for o in outcomes if o != "ok"), outcomes
    with maker() as session:
        assert ledger.spending(session, demo_county(session), TODAY.year).remaining_fen == 200000


def test_a_title_alone_is_no_star(db: Session) -> None:
    county = demo_county(db)
    household = bare(db, spot.without_plaque(db))
    title = next(s for s in stars.catalogue(db, county.id) if s.is_title)
    stars.grant(db, None, household, title, reason="群众推选", on=TODAY)
    held = stars.holding_of(db, household)
    assert held.titles == [title] and held.count == 0 and held.tier == ""
    assert household.id not in {p.holding.household.id for p in benefits.priority_list(db, county)}


def expected_priority(db: Session, county: County) -> list[tuple[str, int, bool]]:
    """The benefits list worked out from the rows, apart from the service: (code, stars, five-plus)
    for each household holding a star, five-plus first, then star count, then code as Python sorts."""
    held = db.execute(
        sa.select(Household.code, Star.is_base, Star.is_title)
        .join(HouseholdStar, HouseholdStar.household_id == Household.id)
        .join(Star, HouseholdStar.star_id == Star.id)
        .where(Household.county_id == county.id, HouseholdStar.withdrawn_on.is_(None))
    ).all()
    bases = db.scalar(sa.select(sa.func.count(Star.id)).where(Star.county_id == county.id, Star.is_base))
    counts: dict[str, list[int]] = {}
    for code, is_base, is_title in held:
        tally = counts.setdefault(code, [0, 0])
        tally[0] += not is_title
        tally[1] += is_base
    rows = [(code, n, base == bases and n > base) for code, (n, base) in counts.items() if n]
    return sorted(rows, key=lambda r: (not r[2], -r[1], r[0]))


def test_the_benefits_order_matches_the_rows_and_pages_split_it(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """The order (five-plus, star count, code in codepoint order: upper case before lower, '-'
    before letters) worked out apart from the service; pages of the list concatenate to it."""
    county = demo_county(db)
    same = [holder(db, "52099901"), holder(db, "52099902"), holder(db, "52099903")]
    for household, code in zip(same, ("a0", "Z-9", "Zz-1"), strict=True):
        grant_all_but_hygiene(db, household, leave_out=("study", "thrift", "kindness", "ecology"))
        household.code = code
    db.flush()
    expected = expected_priority(db, county)
    rows = benefits.priority_list(db, county)
    got = [(r.holding.household.code, r.holding.count, r.holding.five_plus) for r in rows]
    assert got == expected and [r.priority for r in rows] == list(range(1, len(rows) + 1))
    mine = [code for code, *_ in got if code in ("a0", "Z-9", "Zz-1")]
    assert mine == ["Z-9", "Zz-1", "a0"]
    monkeypatch.setattr(benefits, "PER_PAGE", 3)
    first = benefits.priority_page(db, county, 1)
    assert first.total == len(rows) and first.pages == -(-len(rows) // 3) and first.page == 1
    paged = [p for n in range(1, first.pages + 1) for p in benefits.priority_page(db, county, n).rows]
    assert [(p.priority, p.holding.household.code) for p in paged] == [
        (p.priority, p.holding.household.code) for p in rows
    ]
    assert benefits.priority_page(db, county, first.pages + 5).page == first.pages  # past the end: the last
    township = stars.holding_of(db, same[0]).township
    in_township = benefits.priority_list(db, county, township=township)
    assert [p.holding.household.code for p in in_township] == [
        code for code, *_ in expected if code in {p.holding.household.code for p in in_township}
    ]


def test_holdings_read_every_households_stars_titles_and_tier(db: Session) -> None:
    county = demo_county(db)
    household = holder(db)
    grant_all_but_hygiene(db, household, leave_out=("ecology",))
    title = next(s for s in stars.catalogue(db, county.id) if s.is_title)
    stars.grant(db, None, household, title, reason="群众推选", on=TODAY)
    held = {h.household.id: h for h in stars.holdings(db, county)}
    rows = db.execute(
        sa.select(HouseholdStar.household_id, HouseholdStar.star_id).where(
            HouseholdStar.county_id == county.id, HouseholdStar.withdrawn_on.is_(None)
        )
    ).all()
    by_household: dict[int, set[int]] = {}
    for household_id, star_id in rows:
        by_household.setdefault(household_id, set()).add(star_id)
    assert set(held) == set(by_household)
    for household_id, ids in by_household.items():
        h = held[household_id]
        assert {s.id for s in h.stars + h.titles} == ids and not {s.id for s in h.missing} & ids
    mine = held[household.id]
    assert mine.count == 9 and mine.titles == [title] and [s.code for s in mine.missing] == ["ecology"]
    assert mine.five_plus and not mine.ten_star and mine.tier == "silver" and mine.hygiene
    assert mine.codes().startswith("hygiene;law;") and mine.village.name and mine.township.code == "52099901"


def test_industry_support_lists_ten_star_households_wishing_to_develop_poor_first(db: Session) -> None:
    county = demo_county(db)
    a, b, c = holder(db, "52099901"), holder(db, "52099902"), holder(db, "52099903")
    for household in (a, b, c):
        grant_all_but_hygiene(db, household)
    a.is_poor, b.is_poor, c.is_poor = False, True, True
    with pytest.raises(PermissionDenied):
        benefits.mark_industry_wish(db, user(db, "village"), a, wish=True, reason="有技术")
    with pytest.raises(PermissionDenied):
        benefits.mark_industry_wish(db, user(db, "township2"), a, wish=True, reason="有技术")
    with pytest.raises(FieldErrors):
        benefits.mark_industry_wish(db, user(db, "county"), a, wish=True, reason=" ")
    benefits.mark_industry_wish(db, user(db, "county"), a, wish=True, reason="有种植技术")
    benefits.mark_industry_wish(db, user(db, "county"), b, wish=True, reason="愿办农家乐")
    with pytest.raises(ServiceError, match="已标记"):
        benefits.mark_industry_wish(db, None, b, wish=True, reason="再次")
    listed = [h.household.code for h in benefits.industry_candidates(db, county)]
    assert listed[:2] == [b.code, a.code] and c.code in listed[2:]  # wishing first, the poor first among them
    assert all(h.ten_star for h in benefits.industry_candidates(db, county))
    benefits.mark_industry_wish(db, user(db, "township"), a, wish=False, reason="已外出务工")
    assert [h.household.code for h in benefits.industry_candidates(db, county)][:1] == [b.code]
    actions = db.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "industry_wish", AuditEntry.entity_id == str(a.id))
    ).all()
    assert [e.after["industry_wish"] for e in actions] == [True, False] and actions[-1].actor == "township"
    row = next(p for p in benefits.priority_list(db, county) if p.holding.household.code == b.code)
    assert row.holding.household.industry_wish


def test_the_bulletins_star_counts_match_the_rows(db: Session) -> None:
    county = demo_county(db)
    household = holder(db)
    grant_all_but_hygiene(db, household)  # a ten-star household, so that every count is tested
    flags = {s.id: s for s in stars.catalogue(db, county.id)}
    held: dict[int, list[Star]] = {}
    for household_id, star_id in db.execute(
        sa.select(HouseholdStar.household_id, HouseholdStar.star_id).where(
            HouseholdStar.county_id == county.id, HouseholdStar.withdrawn_on.is_(None)
        )
    ):
        held.setdefault(household_id, []).append(flags[star_id])
    bases = sum(s.is_base for s in flags.values())
    stars_in_catalogue = sum(not s.is_title for s in flags.values())

    def tally(mine: list[Star]) -> tuple[int, int]:
        return sum(not s.is_title for s in mine), sum(s.is_base for s in mine)

    expected = (
        sum(tally(m)[0] >= 5 for m in held.values()),
        sum(any(s.is_hygiene for s in m) for m in held.values()),
        sum(tally(m)[1] == bases and tally(m)[0] > bases for m in held.values()),
        sum(tally(m)[0] == stars_in_catalogue for m in held.values()),
    )
    assert award_stats.star_counts(db, county) == expected and expected[3] >= 1 and expected[2] >= 1
