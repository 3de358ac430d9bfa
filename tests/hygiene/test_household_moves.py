"""Correcting a household's code and moving a household to another village (issue 30), on SQLite
and PostgreSQL: the household keeps its id and all that hangs on it, posted records keep the code
as posted, the old code still finds the household and is never given to another, and the state,
code and permission rules hold."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA, PlaqueState, ReviewKind, Role, WorkflowState
from hygiene.io.sheets import UploadRejected
from hygiene.models import (
    AuditEntry,
    County,
    Group,
    Household,
    HouseholdFormerCode,
    Plaque,
    ResultRecordHousehold,
    Review,
    Township,
    User,
    Village,
    VillagePeriod,
)
from hygiene.services.awards import certificates, stars
from hygiene.services.errors import Conflict, FieldErrors, PermissionDenied, ServiceError
from hygiene.services.setup import household_moves, periods, roster_imports, units
from tests.hygiene.test_plaques import COUNTY, register, run_period, tiny_county
from tests.sheets import ROSTER_HEADER, csv_file, roster_row

Places = tuple[County, Village, Village, Village, list[Household]]


@pytest.fixture
def places(db: Session) -> Places:
    """The tiny county (小镇 小村, households A…E) with a second village in 小镇 (大村) and a
    village in another township (远乡 远村), one group each."""
    county, village, households = tiny_county(db)
    far = Township(county_id=county.id, code=f"{COUNTY}02", name="远乡")
    db.add(far)
    db.flush()
    big = Village(county_id=county.id, township_id=village.township_id, code=f"{COUNTY}0102", name="大村")
    remote = Village(county_id=county.id, township_id=far.id, code=f"{COUNTY}0201", name="远村")
    db.add_all([big, remote])
    db.flush()
    for v in (big, remote):
        db.add(Group(county_id=county.id, village_id=v.id, code=f"{v.code}01", name="第一组"))
    db.flush()
    return county, village, big, remote, households


def account(db: Session, name: str, role: Role, *, county: County | None = None, unit: object = None) -> User:
    user = User(
        username=name,
        display_name=name,
        password_hash="x",
        role=role,
        county_id=county.id if county is not None else None,
        township_id=unit.id if isinstance(unit, Township) else None,
        village_id=unit.id if isinstance(unit, Village) else None,
    )
    db.add(user)
    db.flush()
    return user


def group_of(village: Village) -> Group:
    return village.groups[0]


def entries(db: Session, household: Household, action: str) -> list[AuditEntry]:
    return list(
        db.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.entity == "household", AuditEntry.entity_id == str(household.id))
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
    )


def test_a_corrected_code_keeps_the_household_its_plaque_and_the_posted_record(db: Session, places: Places) -> None:
    county, village, _big, _remote, (a, b, c, d, _e) = places
    reviewer = account(db, "xiang", Role.TOWNSHIP_REVIEWER, unit=village.township)
    run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85, d: 70})
    [(serial, _, level, state, _, _), *_] = register(db, county)
    old, household_id = a.code, a.id

    household_moves.correct_code(db, reviewer, a, "520997010101901", "录入时把 9 打成了 0", expected_version=a.version)

    assert (a.id, a.code) == (household_id, "520997010101901")
    assert register(db, county)[0] == (serial, "520997010101901", level, state, "2027Q1", None)
    posted = db.scalars(
        sa.select(ResultRecordHousehold.household_code).where(ResultRecordHousehold.household_id == a.id)
    )
    assert list(posted) == [old]  # the record shows the code as it was posted
    [former] = household_moves.former_codes(db, a)
    assert (former.code, former.village_id, former.kind, former.reason) == (
        old,
        village.id,
        "correct",
        "录入时把 9 打成了 0",
    )
    assert former.replaced_by_id == reviewer.id
    [entry] = entries(db, a, "recode")
    assert (entry.before["code"], entry.after["code"]) == (old, "520997010101901")
    assert entry.reason == "录入时把 9 打成了 0" and entry.actor == "xiang"

    # The old code still finds it, in the county; it is never given to another household.
    assert household_moves.by_former_code(db, county.id, old) is a
    assert stars.household_by_code(db, old, county) is a
    with pytest.raises(ServiceError, match="原户编号"):
        units.add_household(
            db,
            village,
            actor=None,
            code=old,
            head_name="新户",
            members=1,
            group_id=a.group_id,
            phone=None,
            is_poor=False,
        )
    with pytest.raises(FieldErrors) as refused:
        household_moves.correct_code(db, reviewer, b, old, "想用空出来的编号")
    assert "原户编号" in refused.value.errors["new_code"]
    # Putting the mistake back is the household's own former code: allowed, and both are kept.
    household_moves.correct_code(db, reviewer, a, old, "改错了，改回原编号")
    assert a.code == old and [f.code for f in household_moves.former_codes(db, a)] == [old, "520997010101901"]


def test_a_new_code_must_be_valid_unused_and_explained(db: Session, places: Places) -> None:
    county, village, _big, _remote, (a, b, *_rest) = places
    admin = account(db, "xian", Role.COUNTY_ADMIN, county=county)
    cases = [
        ("52/../07", "原因", "new_code", "只能包含"),
        (" ", "原因", "new_code", "请填写新户编号"),
        (a.code, "原因", "new_code", "相同"),
        (b.code, "原因", "new_code", f"已被 {village.name} {b.head_name} 使用"),
        ("520997010101999", "  ", "reason", "请填写原因"),
    ]
    for code, reason, field, message in cases:
        with pytest.raises(FieldErrors) as refused:
            household_moves.correct_code(db, admin, a, code, reason)
        assert message in refused.value.errors[field], code
    with pytest.raises(Conflict):
        household_moves.correct_code(db, admin, a, "520997010101999", "原因", expected_version=a.version + 1)
    assert db.scalar(sa.select(sa.func.count()).select_from(HouseholdFormerCode)) == 0
    assert a.code == f"{COUNTY}010101001"


def test_a_move_keeps_the_household_its_plaque_and_counts_it_in_the_new_village(db: Session, places: Places) -> None:
    county, village, _big, remote, (a, b, c, d, _e) = places
    admin = account(db, "xian", Role.COUNTY_ADMIN, county=county)
    run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85, d: 70})
    plaque = db.scalars(sa.select(Plaque).where(Plaque.household_id == a.id)).one()
    stars_before = [s.code for s in stars.holding_of(db, a).stars]
    assert "hygiene" in stars_before  # the hygiene star follows the plaque
    change = household_moves.check_move(db, admin, a, group_of(remote), "520997020101001", "户主随子女迁居远村")
    lines = household_moves.preview(db, change)
    assert any("从 小镇小村第一组 迁至 远乡远村第一组" in line for line in lines)
    assert any(plaque.serial in line and "随户保留" in line and "远村" in line for line in lines)
    assert any(f"户编号 {a.code} 改为 520997020101001" in line for line in lines)
    assert any("自 2027Q1 起在 远村 评比" in line for line in lines)
    old = a.code

    household_moves.move(db, admin, a, group_of(remote), "520997020101001", "户主随子女迁居远村")

    assert a.group.village is remote and a.code == "520997020101001"
    assert a.registered_from == "2027Q1"  # 远村 has not started 2027Q1: the household counts in it
    db.refresh(plaque)
    assert (plaque.household_id, plaque.state) == (a.id, PlaqueState.VALID)
    token = certificates.sign(plaque.serial, "secret")
    assert certificates.verify(db, token, "secret").village_name == "远村"
    holding = stars.holding_of(db, a)
    assert [s.code for s in holding.stars] == stars_before and holding.village.code == remote.code
    [former] = household_moves.former_codes(db, a)
    assert (former.code, former.village_id, former.kind) == (old, village.id, "move")
    [entry] = entries(db, a, "move")
    assert (entry.before["village"], entry.after["village"]) == ("小村", "远村")
    assert entry.before["code"] == old and entry.after["code"] == "520997020101001"
    # 小村's next period no longer counts it; its posted 2027Q1 record still lists it under its old code.
    assert old in {r.household_code for r in db.scalars(sa.select(ResultRecordHousehold))}


def test_a_move_may_keep_the_code(db: Session, places: Places) -> None:
    _county, village, big, _remote, (a, *_rest) = places
    reviewer = account(db, "xiang", Role.TOWNSHIP_REVIEWER, unit=village.township)
    household_moves.move(db, reviewer, a, group_of(big), a.code, "分户后迁入大村")
    assert a.group.village is big and a.code == f"{COUNTY}010101001"
    assert [f.code for f in household_moves.former_codes(db, a)] == [a.code]  # the village it had it in


def test_who_may_correct_and_move(db: Session, places: Places) -> None:
    county, village, big, remote, (a, *_rest) = places
    clerk = account(db, "cun", Role.VILLAGE_CLERK, unit=village)
    reviewer = account(db, "xiang", Role.TOWNSHIP_REVIEWER, unit=village.township)
    far_reviewer = account(db, "yuan", Role.TOWNSHIP_REVIEWER, unit=remote.township)
    inspector = account(db, "du", Role.INSPECTOR, county=county)
    for user in (clerk, far_reviewer, inspector):
        with pytest.raises(PermissionDenied):
            household_moves.correct_code(db, user, a, "520997010101900", "原因")
        with pytest.raises(PermissionDenied):
            household_moves.move(db, user, a, group_of(big), a.code, "原因")
    with pytest.raises(PermissionDenied, match="县管理员"):
        household_moves.move(db, reviewer, a, group_of(remote), a.code, "原因")
    assert [g.village.code for g in household_moves.destinations(db, reviewer, a)] == [big.code]
    admin = account(db, "xian", Role.COUNTY_ADMIN, county=county)
    assert [g.village.code for g in household_moves.destinations(db, admin, a)] == [big.code, remote.code]
    household_moves.move(db, admin, a, group_of(remote), a.code, "县里办理")
    assert a.group.village is remote
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "move")) == 1


@pytest.mark.parametrize("state", [WorkflowState.SUBMITTED, WorkflowState.APPROVED, WorkflowState.PUBLISHED])
def test_nothing_changes_while_a_village_concerned_is_past_draft(
    db: Session, places: Places, state: WorkflowState
) -> None:
    county, _village, big, _remote, (a, *_rest) = places
    period = periods.open_period(db, county, "2027Q1")
    posting_ends_at = dt.datetime(2027, 4, 8, tzinfo=dt.UTC) if state is WorkflowState.PUBLISHED else None
    held = VillagePeriod(
        county_id=county.id, village_id=big.id, period_id=period.id, state=state, posting_ends_at=posting_ends_at
    )
    db.add(held)
    db.flush()
    with pytest.raises(ServiceError, match=f"大村 2027Q1 {state.label}"):
        household_moves.move(db, None, a, group_of(big), a.code, "原因")
    big_household = Household(county_id=county.id, group_id=group_of(big).id, code="520997010201001", head_name="吴某")
    db.add(big_household)
    db.flush()
    with pytest.raises(ServiceError, match="更正户编号要等该季度退回或定档"):
        household_moves.correct_code(db, None, big_household, "520997010201002", "原因")
    held.state, held.return_reason = WorkflowState.RETURNED, "退回"
    db.flush()
    household_moves.correct_code(db, None, big_household, "520997010201002", "原因")
    household_moves.move(db, None, a, group_of(big), a.code, "原因")
    assert a.group.village is big


def test_a_household_with_reviews_in_an_open_period_stays_until_it_is_final(db: Session, places: Places) -> None:
    county, village, big, _remote, (a, b, *_rest) = places
    period = periods.open_period(db, county, "2027Q1")
    db.add(VillagePeriod(county_id=county.id, village_id=village.id, period_id=period.id, state=WorkflowState.DRAFT))
    scores = dict.fromkeys(CRITERIA, 90)
    db.add(
        Review(
            county_id=county.id,
            period_id=period.id,
            household_id=b.id,
            kind=ReviewKind.PEER,
            reviewer_household_id=a.id,
            **scores,
        )
    )
    db.flush()
    with pytest.raises(ServiceError, match="小村 2027Q1 已有评议"):
        household_moves.move(db, None, a, group_of(big), a.code, "原因")
    household_moves.correct_code(db, None, a, "520997010101900", "原因")  # a code is no review's business
    assert a.code == "520997010101900"


def test_a_roster_with_a_former_code_is_refused_naming_the_new_one(db: Session, places: Places) -> None:
    _county, village, big, _remote, (a, *_rest) = places
    clerk = account(db, "cun", Role.VILLAGE_CLERK, unit=village)
    old = a.code
    household_moves.correct_code(db, None, a, "520997010101900", "打错了")
    row = roster_row(old, head=a.head_name, township="小镇", village="小村")
    with pytest.raises(UploadRejected) as rejected:
        roster_imports.plan_roster_upload(db, clerk, [village], csv_file(ROSTER_HEADER, [row]), "r.csv")
    [problem] = rejected.value.problems
    assert problem.row == 2 and "520997010101900" in problem.reason
    # Moved to another village: the clerk of 小村 learns only that the code is retired.
    household_moves.move(db, None, a, group_of(big), "520997010201900", "迁居")
    with pytest.raises(UploadRejected) as rejected:
        roster_imports.plan_roster_upload(db, clerk, [village], csv_file(ROSTER_HEADER, [row]), "r.csv")
    [problem] = rejected.value.problems
    assert "已停用" in problem.reason and "520997010201900" not in problem.reason and "大村" not in problem.reason
    assert db.scalar(sa.select(sa.func.count()).select_from(Household).where(Household.code == old)) == 0


def test_a_moved_away_household_and_another_county_are_refused(db: Session, places: Places) -> None:
    county, _village, big, _remote, (a, *_rest) = places
    a.moved_away_on = dt.date(2027, 1, 5)
    db.flush()
    with pytest.raises(ServiceError, match="已于 2027-01-05 迁出"):
        household_moves.move(db, None, a, group_of(big), a.code, "原因")
    other = db.scalar(sa.select(Group).where(Group.county_id != county.id).limit(1))
    assert other is not None
    with pytest.raises(ServiceError, match="本县"):
        household_moves.move(db, None, a, other, a.code, "原因")
