"""Inspection teams, their townships and spot checks (RULES.md §9, §7; issue 19): who may write
where, the adopted sample, spot-check entry with its checks and audit, and the plaque revoked and
notice issued when a plaque holder fails."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import permissions
from hygiene.enums import CRITERIA, Grade, NoticeSource, NoticeState, PlaqueState, Role
from hygiene.models import (
    AuditEntry,
    County,
    Group,
    Household,
    InspectionAssignment,
    InspectionTeam,
    Notice,
    Plaque,
    SpotCheck,
    Township,
    User,
    Village,
)
from hygiene.services.errors import Conflict, FieldErrors, NotFound, PermissionDenied
from hygiene.services.setup import accounts
from hygiene.services.supervision import inspection_teams, inspections, sampling
from tests.hygiene import factories

NOW = dt.datetime(2026, 12, 8, 2, tzinfo=dt.UTC)
ALL_NINE = dict.fromkeys(CRITERIA, "9")  # 90: 最清洁
ALL_FIVE = dict.fromkeys(CRITERIA, "5")  # 50: 不清洁


def user(db: Session, name: str) -> User:
    return db.scalars(sa.select(User).where(User.username == name)).one()


def county(db: Session, code: str = "520999") -> County:
    return db.scalars(sa.select(County).where(County.code == code)).one()


def township(db: Session, code: str = "52099901") -> Township:
    return db.scalars(sa.select(Township).where(Township.code == code)).one()


def assignment(db: Session, township_code: str = "52099901", period_code: str = "2026Q3") -> InspectionAssignment:
    found = inspections.held_assignment(db, township(db, township_code), factories.period(db, period_code))
    assert found is not None
    return found


def in_township(township_code: str) -> sa.ColumnElement[bool]:
    return Household.group_id.in_(
        sa.select(Group.id)
        .join(Village, Group.village_id == Village.id)
        .join(Township)
        .where(Township.code == township_code)
    )


def plaque_holder(db: Session, township_code: str = "52099901") -> Household:
    return db.scalars(
        sa.select(Household)
        .join(Plaque, Plaque.household_id == Household.id)
        .where(Plaque.state == PlaqueState.VALID, in_township(township_code))
        .order_by(Household.code)
    ).first()


def without_plaque(db: Session, township_code: str = "52099901") -> Household:
    holders = sa.select(Plaque.household_id)
    return db.scalars(
        sa.select(Household).where(in_township(township_code), Household.id.not_in(holders)).order_by(Household.code)
    ).first()


def save(db: Session, household: Household, scores: dict[str, str], **kwargs: object) -> inspections.SpotCheckOutcome:
    arguments: dict[str, object] = {
        "scores": scores,
        "members": "王组长、李委员",
        "notes": "厕所有异味",
        "now": NOW,
    } | kwargs
    actor = arguments.pop("actor", None) or user(db, "inspector")
    where = arguments.pop("assignment", None) or assignment(db)
    return inspections.save_spot_check(db, actor, where, household, **arguments)  # type: ignore[arg-type]


def audit_rows(db: Session, entity: str, entity_id: object) -> list[AuditEntry]:
    return list(
        db.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.id)
        )
    )


# --- the demo's teams and who may write where --------------------------------------------------------


def test_the_demo_inspector_is_on_the_team_holding_the_first_township(db: Session) -> None:
    inspector = user(db, "inspector")
    team = inspection_teams.team_of(db, inspector)
    assert team is not None and team.name == "第一督查组"
    assert len(inspection_teams.teams(db, county(db))) == 4
    for period_code in ("2026Q3", "2026Q4"):
        held = inspections.assignments(db, county(db), factories.period(db, period_code))
        teams = {township.code: held[township.id].team.name for township in county(db).townships}
        assert teams == {"52099901": "第一督查组", "52099902": "第二督查组", "52099903": "第三督查组"}
        assert [t.code for t in inspections.held_townships(db, inspector, factories.period(db, period_code))] == [
            "52099901"
        ]


def test_only_an_inspector_of_the_holding_team_writes(db: Session) -> None:
    own, other = assignment(db, "52099901"), assignment(db, "52099902")
    assert permissions.can_spot_check(user(db, "inspector"), own)
    assert not permissions.can_spot_check(user(db, "inspector"), other)
    for name in ("county", "township", "village", "inspector2"):
        assert not permissions.can_spot_check(user(db, name), own), name
    # an inspector of the county on no team reads everything and writes nothing
    loose = accounts.create_user(
        db, username="inspector3", password="inspector3-pass-2026", role=Role.INSPECTOR, unit_code="520999"
    )
    assert permissions.can_inspect_county(loose, county(db)) and not permissions.can_spot_check(loose, own)
    household = without_plaque(db, "52099902")
    with pytest.raises(PermissionDenied):
        save(db, household, ALL_NINE, assignment=other)
    with pytest.raises(PermissionDenied):
        save(db, without_plaque(db), ALL_NINE, actor=loose)
    with pytest.raises(PermissionDenied):
        save(db, without_plaque(db), ALL_NINE, actor=user(db, "inspector2"))
    assert db.scalar(sa.select(sa.func.count(SpotCheck.id))) == 0


def test_a_household_of_another_township_is_not_found(db: Session) -> None:
    with pytest.raises(NotFound):
        save(db, without_plaque(db, "52099902"), ALL_NINE)
    with pytest.raises(NotFound, match="没有户编号"):
        inspections.household_in_township(db, township(db), "520999020101001")
    assert inspections.household_in_township(db, township(db), " 520999010101001 ").code == "520999010101001"


# --- spot checks ------------------------------------------------------------------------------------


def test_a_failed_check_of_a_plaque_holder_revokes_the_plaque_and_issues_a_notice(db: Session) -> None:
    household = plaque_holder(db)
    plaque = db.scalars(sa.select(Plaque).where(Plaque.household_id == household.id)).one()
    outcome = save(db, household, ALL_FIVE)
    assert outcome.created and outcome.grade is Grade.NOT_CLEAN
    assert outcome.revoked is plaque and plaque.state is PlaqueState.REVOKED
    assert plaque.revoke_reason == "督查抽查：2026Q3抽查得分 50.0 分，评为不清洁户（低于清洁户）"
    notice = outcome.notice
    assert notice is not None and notice.state is NoticeState.OPEN
    assert (notice.source, notice.source_ref, notice.spot_check_id) == (
        NoticeSource.SPOT_CHECK,
        f"spot_check:{outcome.check.id}",
        outcome.check.id,
    )
    assert notice.village_id == household.group.village_id and notice.responsible_person == household.head_name
    assert household.code in notice.problem and plaque.serial in notice.problem and "厕所有异味" in notice.problem
    assert notice.deadline == NOW + dt.timedelta(hours=24)
    assert plaque.serial in outcome.text() and "督办通知单" in outcome.text()
    # entering it again (still failing) revokes nothing more and issues no second notice
    again = save(db, household, ALL_FIVE | {"c01": "4"}, expected_version=outcome.check.version)
    assert again.revoked is None and again.notice is None and not again.created
    assert db.scalar(sa.select(sa.func.count(Notice.id)).where(Notice.spot_check_id == outcome.check.id)) == 1


def test_a_fairly_clean_grade_counts_as_below_clean(db: Session) -> None:
    outcome = save(db, plaque_holder(db), dict.fromkeys(CRITERIA, "7"))  # 70: 较清洁
    assert outcome.grade is Grade.FAIRLY_CLEAN and outcome.revoked is not None and outcome.notice is not None


def test_a_passing_check_or_one_without_plaque_changes_nothing_else(db: Session) -> None:
    holder = plaque_holder(db)
    passed = save(db, holder, dict.fromkeys(CRITERIA, "8"))  # 80: 清洁
    assert passed.grade is Grade.CLEAN and passed.revoked is None and passed.notice is None
    assert db.scalars(sa.select(Plaque.state).where(Plaque.household_id == holder.id)).one() is PlaqueState.VALID
    failed = save(db, without_plaque(db), ALL_FIVE)
    assert failed.grade is Grade.NOT_CLEAN and failed.revoked is None and failed.notice is None
    assert db.scalar(sa.select(sa.func.count(Notice.id))) == 0


def test_entering_a_check_again_updates_it_audited(db: Session) -> None:
    household = without_plaque(db)
    first = save(db, household, ALL_NINE)
    [created] = audit_rows(db, "spot_check", first.check.id)
    assert (created.action, created.actor, created.before) == ("create", "inspector", None)
    assert created.after["c01"] == 90 and created.after["household"] == household.code
    second = save(db, household, ALL_NINE | {"c03": "９.５"}, members="张组长", expected_version=first.check.version)
    assert second.check is first.check and second.changed and not second.created
    assert second.check.c03 == 95 and second.check.members == "张组长" and second.check.version == 2
    update = audit_rows(db, "spot_check", first.check.id)[-1]
    assert update.action == "update"
    assert (update.before["c03"], update.after["c03"]) == (90, 95)
    assert (update.before["members"], update.after["members"]) == ("王组长、李委员", "张组长")
    # the same values again: nothing written
    same = save(db, household, ALL_NINE | {"c03": "9.5"}, members="张组长", expected_version=2)
    assert not same.changed and len(audit_rows(db, "spot_check", first.check.id)) == 2
    with pytest.raises(Conflict):
        save(db, household, ALL_FIVE, expected_version=1)  # filled from the first version
    with pytest.raises(Conflict):
        save(db, without_plaque(db, "52099901"), ALL_FIVE, expected_version=0)  # someone entered it since


def test_bad_scores_are_refused_naming_the_criterion_and_the_value(db: Session) -> None:
    period = factories.period(db, "2026Q3")
    label = {c.code: c.label for c in period.rubric_version.criteria}
    with pytest.raises(FieldErrors) as refused:
        save(db, without_plaque(db), ALL_NINE | {"c01": "abc", "c02": "11", "c03": "", "c04": "9.55"}, members=" ")
    errors = refused.value.errors
    assert set(errors) == {"c01", "c02", "c03", "c04", "members"}
    assert errors["c01"].startswith(f"{label['c01']}“abc”") and "0–10" in errors["c01"]
    assert errors["c02"].startswith(f"{label['c02']}“11”")
    assert errors["c03"] == f"{label['c03']}：分数未填（空白不按0分计）"
    assert "最多一位小数" in errors["c04"]
    assert errors["members"] == "请填写抽查人员"
    assert db.scalar(sa.select(sa.func.count(SpotCheck.id))) == 0
    assert inspections.parse_scores(period, dict.fromkeys(CRITERIA, "１０")) == dict.fromkeys(CRITERIA, 100)


# --- teams and assignments ------------------------------------------------------------------------------


def test_the_county_administrator_manages_teams_audited(db: Session) -> None:
    admin, c = user(db, "county"), county(db)
    team = inspection_teams.create_team(db, admin, c, name="第五督查组", members="甲、乙、丙、丁")
    assert [e.action for e in audit_rows(db, "inspection_team", team.id)] == ["create"]
    with pytest.raises(FieldErrors, match="已有名为"):
        inspection_teams.create_team(db, admin, c, name="第一督查组", members="x")
    with pytest.raises(FieldErrors) as refused:
        inspection_teams.create_team(db, admin, c, name="", members="x" * 201)
    assert set(refused.value.errors) == {"name", "members"}
    for name in ("inspector", "county2", "township"):
        with pytest.raises(PermissionDenied):
            inspection_teams.create_team(db, user(db, name), c, name="第六督查组", members="x")
    inspector = user(db, "inspector")
    state = inspection_teams.team_state(db, team)
    assert inspection_teams.update_team(
        db, admin, team, name="第五组", members="甲、乙", inspector_ids=[inspector.id], shown_state=state
    )
    assert inspection_teams.team_of(db, inspector) is team  # moved from 第一督查组
    moved = audit_rows(db, "user", inspector.id)[-1]
    assert (moved.action, moved.before, moved.after) == (
        "inspection_team",
        {"inspection_team": "第一督查组"},
        {"inspection_team": "第五组"},
    )
    update = audit_rows(db, "inspection_team", team.id)[-1]
    assert update.before["inspectors"] == [] and update.after["inspectors"] == ["inspector"]
    with pytest.raises(Conflict):  # the page showed the team as it was before
        inspection_teams.update_team(db, admin, team, name="x", members="y", inspector_ids=[], shown_state=state)
    with pytest.raises(FieldErrors, match="不是本县督查员"):
        inspection_teams.update_team(
            db, admin, team, name="第五组", members="甲", inspector_ids=[user(db, "inspector2").id]
        )


def test_the_administrator_assigns_townships_per_period(db: Session) -> None:
    admin, c, q4 = user(db, "county"), county(db), factories.period(db, "2026Q4")
    teams = inspection_teams.teams(db, c)
    state = inspections.assignments_state(db, c, q4)
    changed = inspections.assign(db, admin, c, q4, {"52099901": teams[3].id, "52099902": None}, state)
    assert changed == 2
    held = inspections.assignments(db, c, q4)
    assert held[township(db, "52099901").id].team_id == teams[3].id and township(db, "52099902").id not in held
    actions = [e.action for e in audit_rows(db, "inspection_assignment", "2026Q4:52099901")]
    assert actions == ["assign", "reassign"]
    assert not permissions.can_spot_check(user(db, "inspector"), held[township(db, "52099901").id])
    with pytest.raises(Conflict):
        inspections.assign(db, admin, c, q4, {"52099902": teams[1].id}, state)
    with pytest.raises(FieldErrors) as refused:
        inspections.assign(db, admin, c, q4, {"52099903": 999999, "52099801": teams[0].id})
    assert set(refused.value.errors) == {"52099903", "52099801"}
    with pytest.raises(PermissionDenied):
        inspections.assign(db, user(db, "inspector"), c, q4, {"52099902": teams[1].id})


def test_a_township_with_spot_checks_keeps_a_team(db: Session) -> None:
    save(db, without_plaque(db), ALL_NINE)
    c, q3 = county(db), factories.period(db, "2026Q3")
    with pytest.raises(FieldErrors, match="已有1户抽查记录"):
        inspections.assign(db, user(db, "county"), c, q3, {"52099901": None})
    other = db.scalars(sa.select(InspectionTeam).where(InspectionTeam.name == "第四督查组")).one()
    assert inspections.assign(db, user(db, "county"), c, q3, {"52099901": other.id}) == 1


# --- the adopted sample -------------------------------------------------------------------------------------


def test_the_holding_team_adopts_a_sample_that_is_redrawn_the_same(db: Session) -> None:
    held = assignment(db)
    assert inspections.adopted_sample(db, held) is None
    shown = inspections.sample_state(held)
    inspector = user(db, "inspector")
    sample = inspections.adopt_sample(db, inspector, held, size="１２", seed="4242", shown_state=shown, now=NOW)
    assert (held.sample_seed, held.sample_size, held.sample_adopted_by_id) == (4242, 12, user(db, "inspector").id)
    again = inspections.adopted_sample(db, held)
    assert again is not None and [c.household_code for c in again.drawn] == [c.household_code for c in sample.drawn]
    [entry] = audit_rows(db, "inspection_assignment", "2026Q3:52099901")[-1:]
    assert entry.action == "adopt_sample" and entry.after["sample_seed"] == 4242 and len(entry.after["drawn"]) == 12
    with pytest.raises(Conflict):
        inspections.adopt_sample(db, user(db, "inspector"), held, size="5", seed="", shown_state=shown)
    default = inspections.adopt_sample(db, user(db, "inspector"), held, size="5", seed="")
    assert held.sample_seed == default.seed == sampling.default_seed("52099901", "2026Q3")
    with pytest.raises(FieldErrors) as refused:
        inspections.adopt_sample(db, user(db, "inspector"), held, size="0", seed="x")
    assert set(refused.value.errors) == {"size", "seed"} and "“0”" in refused.value.errors["size"]
    with pytest.raises(PermissionDenied):
        inspections.adopt_sample(db, user(db, "inspector"), assignment(db, "52099902"), size="5", seed="")
