"""Three levels of supervision (RULES.md §9, issue 33): a city's inspectors use the county's tools on
the townships and villages of the city's counties and nowhere else; a township's own inspectors on
its villages only; each inspection, visit and notice records its level; a planned visit stays
hidden from every level below; the county's ranking counts its own checks only."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hygiene import permissions
from hygiene.enums import CRITERIA, Grade, Level, NoticeState, PlaqueState, Role
from hygiene.models import AuditEntry, County, Plaque, Township, User, Village
from hygiene.services.errors import FieldErrors, NotFound, PermissionDenied, ServiceError
from hygiene.services.setup import accounts, cities
from hygiene.services.supervision import inspection_teams, inspections, notices, ranking, visits
from tests.hygiene import factories
from tests.hygiene.levels import PASSWORD, Levels, three_levels
from tests.hygiene.test_inspections import plaque_holder, without_plaque

NOW = dt.datetime(2026, 12, 8, 2, tzinfo=dt.UTC)
ALL_FIVE = dict.fromkeys(CRITERIA, "5")  # 50: 不清洁


@pytest.fixture
def levels(db: Session) -> Levels:
    return three_levels(db)


def county(db: Session, code: str = "520999") -> County:
    return db.scalars(sa.select(County).where(County.code == code)).one()


def township(db: Session, code: str = "52099901") -> Township:
    return db.scalars(sa.select(Township).where(Township.code == code)).one()


def user(db: Session, name: str) -> User:
    return db.scalars(sa.select(User).where(User.username == name)).one()


def village(db: Session, code: str = "5209990101") -> Village:
    return db.scalars(sa.select(Village).where(Village.code == code)).one()


def test_each_inspector_is_scoped_to_its_supervising_unit(db: Session, levels: Levels) -> None:
    mine, theirs = county(db), county(db, "520998")
    songlin, second, neighbour = township(db), township(db, "52099902"), township(db, "52099801")
    city, own = levels.city_inspector, levels.township_inspector
    assert permissions.inspector_level(city) is Level.CITY and permissions.inspector_level(own) is Level.TOWNSHIP
    assert permissions.inspector_level(user(db, "inspector")) is Level.COUNTY
    assert permissions.can_inspect_county(city, mine) and not permissions.can_inspect_county(city, theirs)
    assert permissions.can_inspect_township(city, songlin) and not permissions.can_inspect_township(city, neighbour)
    assert permissions.can_inspect_county(levels.other_city_inspector, theirs)
    assert not permissions.can_inspect_county(levels.other_city_inspector, mine)
    assert permissions.can_inspect_township(own, songlin) and not permissions.can_inspect_township(own, second)
    assert not permissions.can_inspect_county(own, mine) and permissions.can_inspect_in(own, mine)
    assert not permissions.can_inspect_in(own, theirs)
    assert permissions.can_view_supervision(city, mine) and not permissions.can_view_supervision(own, mine)
    assert not permissions.can_manage_inspection_teams(city, mine)
    # the county's own inspector does not lead the city's team, nor the city's inspector the county's
    assert not permissions.can_lead_team(user(db, "inspector"), levels.city_team)
    assert not permissions.can_lead_team(city, inspection_teams.teams(db, mine)[0])
    assert inspection_teams.unit_teams(db, city) == [levels.city_team]
    assert inspection_teams.unit_teams(db, own) == [levels.own_team]
    assert levels.city_team not in inspection_teams.teams(db, mine)
    assert levels.own_team not in inspection_teams.teams(db, mine)  # the county's page lists its own teams


def test_a_city_team_spot_checks_a_township_of_its_city_at_the_city_level(db: Session, levels: Levels) -> None:
    q3 = factories.period(db, "2026Q3")
    songlin = township(db)
    before = next(t for t in ranking.ranking(db, county(db), q3).townships if t.code == "52099901")
    held = inspections.hold(db, None, levels.city_team, q3, songlin)
    assert held.level == "city" and held.team_id == levels.city_team.id
    county_held = inspections.held_assignment(db, songlin, q3)
    assert county_held is not None and county_held.id != held.id  # the county's team keeps its own
    assert inspections.held_assignment(db, songlin, q3, Level.CITY) is held
    assert inspections.held_townships(db, levels.city_inspector, q3) == [songlin]
    assert not permissions.can_spot_check(levels.city_inspector, county_held)
    assert not permissions.can_spot_check(user(db, "inspector"), held)
    assert not permissions.can_spot_check(levels.other_city_inspector, held)
    inspections.adopt_sample(db, levels.city_inspector, held, size="5", seed="7", now=NOW)
    holder = plaque_holder(db)
    outcome = inspections.save_spot_check(
        db, levels.city_inspector, held, holder, scores=ALL_FIVE, members="赵市", notes="院落脏乱", now=NOW
    )
    assert outcome.grade is Grade.NOT_CLEAN and outcome.revoked is not None
    assert outcome.revoked.state is PlaqueState.REVOKED
    assert outcome.notice is not None and outcome.notice.level == "city"
    assert outcome.notice.state is NoticeState.OPEN and outcome.notice.township_id == songlin.id
    # the problem ledger's file names the level that issued each notice
    header, lines = notices.ledger_table(notices.ledger(db, county(db), township=songlin, now=NOW))
    [line] = [line for line in lines if line[0] == outcome.notice.id]
    assert line[header.index("督查层级")] == "市级"
    # the county's pages list every level's assignments; its ranking counts its own checks only
    assert {a.level for a in inspections.all_levels(db, county(db), q3) if a.township_id == songlin.id} == {
        "city",
        "county",
    }
    after = next(t for t in ranking.ranking(db, county(db), q3).townships if t.code == "52099901")
    assert (after.checked, after.agreeing) == (before.checked, before.agreeing)
    # the city's inspector follows the notice up; the other city's may not
    with pytest.raises(PermissionDenied):
        notices.accept(db, levels.other_city_inspector, outcome.notice, outcome.notice.version, "好")


def test_a_city_team_holds_nothing_outside_its_city(db: Session, levels: Levels) -> None:
    neighbour = township(db, "52099801")
    with pytest.raises(NotFound):
        inspections.hold(db, None, levels.city_team, factories.period(db, "2026Q4", "520998"), neighbour)
    with pytest.raises(PermissionDenied):  # an inspector not on the team
        inspections.hold(db, levels.other_city_inspector, levels.city_team, factories.period(db), township(db))
    with pytest.raises(ServiceError):  # the county's teams are assigned by the county administrator
        inspections.hold(db, None, inspection_teams.teams(db, county(db))[0], factories.period(db), township(db))
    with pytest.raises(PermissionDenied):
        notices.issue(
            db, levels.city_inspector, county(db, "520998"), period=factories.period(db, "2026Q4", "520998"),
            township=neighbour, responsible_person="邻长", problem="不该下发", now=NOW,
        )  # fmt: skip


def test_a_township_team_inspects_its_own_villages_only(db: Session, levels: Levels) -> None:
    q3, songlin, second = factories.period(db, "2026Q3"), township(db), township(db, "52099902")
    own = levels.township_inspector
    with pytest.raises(NotFound):
        inspections.hold(db, own, levels.own_team, q3, second)
    with pytest.raises(PermissionDenied):  # another township's inspector
        inspections.hold(db, levels.other_township_inspector, levels.own_team, q3, songlin)
    held = inspections.hold(db, own, levels.own_team, q3, songlin)  # the township's own team takes itself
    assert held.level == "township" and inspections.hold(db, own, levels.own_team, q3, songlin) is held
    entries = db.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity == "inspection_assignment", AuditEntry.action == "assign")
    ).all()
    assert any(e.entity_id == "2026Q3:52099901:township" and e.user_id == own.id for e in entries)
    outcome = inspections.save_spot_check(db, own, held, without_plaque(db), scores=ALL_FIVE, members="周镇", now=NOW)
    assert outcome.check.id is not None and outcome.notice is None
    with pytest.raises(NotFound):  # a household of another township
        inspections.save_spot_check(db, own, held, without_plaque(db, "52099902"), scores=ALL_FIVE, members="周镇")
    notice = notices.issue(
        db, own, county(db), period=q3, township=songlin, village=village(db), responsible_person="村长",
        problem="垃圾未清运", now=NOW,
    )  # fmt: skip
    assert notice.level == "township"
    with pytest.raises(PermissionDenied):
        notices.issue(
            db, own, county(db), period=q3, township=second, responsible_person="镇长", problem="越权", now=NOW
        )
    # a plaque holder failing the township's own check loses the plaque, as at any level
    holder = plaque_holder(db)
    failed = inspections.save_spot_check(db, own, held, holder, scores=ALL_FIVE, members="周镇", now=NOW)
    assert failed.revoked is not None and failed.notice is not None and failed.notice.level == "township"
    assert db.scalars(sa.select(Plaque).where(Plaque.household_id == holder.id)).one().state is PlaqueState.REVOKED


def test_a_planned_visit_is_hidden_from_every_level_below_it(db: Session, levels: Levels) -> None:
    q4, mine, songlin = factories.period(db, "2026Q4"), county(db), township(db)
    city_visit = visits.plan(
        db, levels.city_inspector, mine, period=q4, village=village(db), team=levels.city_team,
        planned_on=dt.date(2026, 11, 20),
    )  # fmt: skip
    own_visit = visits.plan(
        db, levels.township_inspector, mine, period=q4, village=village(db), team=levels.own_team,
        planned_on=dt.date(2026, 11, 21),
    )  # fmt: skip
    assert (city_visit.level, own_visit.level) == ("city", "township")

    def seen(who: User) -> list[int]:
        return [v.id for v in visits.visits(db, mine, q4, seen_by=who)]

    assert seen(levels.city_inspector) == [city_visit.id, own_visit.id]
    assert seen(user(db, "inspector")) == [own_visit.id]  # the county does not see the city's plan
    assert seen(levels.township_inspector) == [own_visit.id]
    assert seen(levels.other_township_inspector) == []
    assert seen(levels.other_city_inspector) == []
    assert visits.done_for_township(db, songlin) == []  # nor the township's reviewer
    with pytest.raises(PermissionDenied):  # the county's inspector is not on the city's team
        visits.enter_findings(db, user(db, "inspector"), city_visit, city_visit.version, "看过")
    visits.enter_findings(db, levels.city_inspector, city_visit, city_visit.version, "公厕无人保洁", now=NOW)
    assert seen(user(db, "inspector")) == [city_visit.id, own_visit.id]
    assert seen(levels.township_inspector) == [city_visit.id, own_visit.id]
    assert visits.done_for_township(db, songlin) == [city_visit]
    with pytest.raises(NotFound):  # a team of another unit, or a village outside the inspector's area
        visits.plan(
            db, levels.township_inspector, mine, period=q4, village=village(db), team=levels.city_team,
            planned_on=dt.date(2026, 11, 22),
        )  # fmt: skip
    with pytest.raises(PermissionDenied):
        visits.plan(
            db, levels.township_inspector, mine, period=q4, village=village(db, "5209990201"),
            team=levels.own_team, planned_on=dt.date(2026, 11, 22),
        )  # fmt: skip


def test_cities_and_their_accounts(db: Session, levels: Levels) -> None:
    assert cities.city_counties(db, levels.city) == [county(db)]
    with pytest.raises(FieldErrors, match="已有编码为 5209 的市"):
        cities.create_city(db, None, "5209", "重名市", ["520999"])
    with pytest.raises(FieldErrors, match="至少指定一个所辖县"):
        cities.create_city(db, None, "5207", "空市", [])
    with pytest.raises(ServiceError, match="已属于测试市"):
        cities.add_county(db, None, levels.other_city, county(db))
    with pytest.raises(PermissionDenied):
        cities.add_county(db, user(db, "county"), levels.other_city, county(db))
    joined = db.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "join_city", AuditEntry.county_id == county(db).id)
    ).one()
    assert joined.after == {"city": "5209", "city_name": "测试市"}
    team_entries = db.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.entity == "inspection_team", AuditEntry.entity_id == str(levels.city_team.id)
        )
    ).all()
    assert [e.county_id for e in team_entries] == [county(db).id]  # a city's team: audited in its counties
    assert levels.city_inspector.city_id == levels.city.id and levels.city_inspector.county_id is None
    assert accounts.account_county_id(db, levels.city_inspector) == county(db).id
    with pytest.raises(NotFound, match="县、市或乡镇"):
        accounts.create_user(db, username="nowhere", password=PASSWORD, role=Role.INSPECTOR, unit_code="9999")
    with pytest.raises(FieldErrors, match="不是测试市的督查员账号"):
        inspection_teams.create_level_team(
            db, None, levels.city, name="市督查二组", members="某人", inspectors=[levels.township_inspector]
        )
    with pytest.raises(PermissionDenied):
        inspection_teams.create_level_team(db, user(db, "county"), levels.city, name="市督查三组", members="某人")


def test_the_database_refuses_an_inspector_of_two_units(db: Session, levels: Levels) -> None:
    levels.city_inspector.county_id = county(db).id
    with pytest.raises(IntegrityError), db.begin_nested():
        db.flush()
