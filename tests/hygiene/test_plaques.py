"""Plaques at finalisation (RULES.md §7), from the record, on SQLite and PostgreSQL: issue, level
changes, revocation, the waiting time after a revocation, idempotence, a failure half-way, serials,
and revocation outside the cycle."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA, AwardLevel, PlaqueEventKind, PlaqueState, ReviewKind, WorkflowState
from hygiene.models import (
    AuditEntry,
    County,
    Group,
    Household,
    Plaque,
    PlaqueEvent,
    Review,
    Township,
    User,
    Village,
    VillagePeriod,
)
from hygiene.services.awards import plaques
from hygiene.services.errors import PermissionDenied, ServiceError
from hygiene.services.rating import records, workflow
from hygiene.services.setup import periods
from tests.hygiene import factories

COUNTY = "520997"


@pytest.fixture
def tiny(db: Session) -> tuple[County, Village, list[Household]]:
    return tiny_county(db)


def tiny_county(db: Session) -> tuple[County, Village, list[Household]]:
    """A county of one village, one group and five households (A…E), no period yet."""
    county = County(code=COUNTY, name="小县", plaque_wait_periods=1)
    db.add(county)
    db.flush()
    periods.create_default_rubric(db, county)
    township = Township(county_id=county.id, code=f"{COUNTY}01", name="小镇")
    db.add(township)
    db.flush()
    village = Village(
        county_id=county.id, township_id=township.id, code=f"{COUNTY}0101", name="小村", programme_year=2027
    )
    db.add(village)
    db.flush()
    group = Group(county_id=county.id, village_id=village.id, code=f"{COUNTY}010101", name="第一组")
    db.add(group)
    db.flush()
    households = [
        Household(county_id=county.id, group_id=group.id, code=f"{COUNTY}010101{n:03d}", head_name=f"{s}某")
        for n, s in enumerate("赵钱孙李周", 1)
    ]
    db.add_all(households)
    db.flush()
    return county, village, households


def run_period(
    db: Session, county: County, village: Village, code: str, totals: dict[Household, int], *, finalize: bool = True
) -> VillagePeriod:
    """Open the period, give each household a group review with this total (points), publish it
    (storing the record) and, unless told otherwise, finalize it (applying plaques)."""
    period = periods.open_period(db, county, code)
    for household, total in totals.items():
        per = [total] * 10  # ten equal criteria: a criterion in tenths is the total in points
        db.add(
            Review(
                county_id=county.id,
                period_id=period.id,
                household_id=household.id,
                kind=ReviewKind.GROUP,
                team_members="王组长",
                **dict(zip(CRITERIA, per, strict=True)),
            )
        )
    published_at = dt.datetime.combine(period.ends_on, dt.time(9), tzinfo=dt.UTC)
    village_period = VillagePeriod(
        county_id=county.id,
        village_id=village.id,
        period_id=period.id,
        state=WorkflowState.PUBLISHED,
        published_at=published_at,
        posting_ends_at=published_at + dt.timedelta(days=7),
    )
    db.add(village_period)
    db.flush()
    records.post(db, None, village_period)
    if finalize:
        workflow.finalize(db, village_period, now=published_at + dt.timedelta(days=8))
    return village_period


def register(db: Session, county: County) -> list[tuple[str, str, str, str, str | None, str | None]]:
    return [
        (
            r.plaque.serial,
            r.household.code,
            r.plaque.level.value,
            r.plaque.state.value,
            r.issued_period,
            r.revoked_period,
        )
        for r in plaques.register(db, county)
    ]


def test_a_final_period_issues_plaques_to_the_awarded_with_county_serials(db: Session, tiny) -> None:  # type: ignore[no-untyped-def]
    county, village, (a, b, c, d, _e) = tiny
    # H = 5: floors 1 cleanest, 1 clean; A and B cleanest, C clean, D fairly clean, E not rated
    run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85, d: 70})
    assert register(db, county) == [
        (f"{COUNTY}-2027-000001", a.code, "cleanest", "valid", "2027Q1", None),
        (f"{COUNTY}-2027-000002", b.code, "clean", "valid", "2027Q1", None),  # awarded clean: the quota
    ]
    events = db.scalars(sa.select(PlaqueEvent).order_by(PlaqueEvent.id)).all()
    assert [e.kind for e in events[-2:]] == [PlaqueEventKind.ISSUED, PlaqueEventKind.ISSUED]


def test_levels_revocation_and_the_waiting_time_across_three_periods(db: Session, tiny) -> None:  # type: ignore[no-untyped-def]
    county, village, (a, b, c, d, _e) = tiny
    run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85, d: 70})
    # Q2: A falls to clean but stays awarded (downgrade); B relapses (revoked); C rises (issued)
    run_period(db, county, village, "2027Q2", {a: 88, b: 55, c: 96, d: 70})
    assert register(db, county) == [
        (f"{COUNTY}-2027-000001", a.code, "clean", "valid", "2027Q1", None),
        (f"{COUNTY}-2027-000002", b.code, "clean", "revoked", "2027Q1", "2027Q2"),
        (f"{COUNTY}-2027-000003", c.code, "cleanest", "valid", "2027Q2", None),
    ]
    revoked = db.scalars(sa.select(Plaque).where(Plaque.household_id == b.id)).one()
    assert revoked.revoke_reason == "2027Q2评定为不清洁户"
    # Q3: B is cleanest again but inside the one-period wait: commended, no plaque; A back to cleanest
    run_period(db, county, village, "2027Q3", {a: 97, b: 99, c: 70})
    rows = register(db, county)
    assert rows[0] == (f"{COUNTY}-2027-000001", a.code, "clean", "valid", "2027Q1", None)  # clean award keeps clean
    assert [r for r in rows if r[1] == b.code] == [
        (f"{COUNTY}-2027-000002", b.code, "clean", "revoked", "2027Q1", "2027Q2")
    ]
    assert rows[2][3] == "revoked"  # C relapsed to fairly clean
    commended = db.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity == "household", AuditEntry.entity_id == str(b.id))
    ).all()
    # the household's other entries are its hygiene star following the plaque (issue 29)
    assert [e.action for e in commended] == ["star_grant", "star_withdraw", "plaque_commend"]
    commended = commended[2:]
    assert "等待期1期内，表彰不挂牌" in (commended[0].reason or "")
    # Q4: the wait is over: B gets a new plaque, never the revoked serial
    run_period(db, county, village, "2027Q4", {a: 97, b: 99})
    new = [r for r in register(db, county) if r[1] == b.code and r[3] == "valid"]
    assert new == [(f"{COUNTY}-2027-000004", b.code, "cleanest", "valid", "2027Q4", None)]


def test_a_holder_not_rated_or_left_unawarded_keeps_its_plaque(db: Session, tiny) -> None:  # type: ignore[no-untyped-def]
    county, village, (a, b, c, d, _e) = tiny
    run_period(db, county, village, "2027Q1", {a: 95, b: 92})
    # Q2: A not rated at all, B clean but the quota goes to C and D first
    run_period(db, county, village, "2027Q2", {b: 81, c: 99, d: 90})
    states = {code: (level, state) for _, code, level, state, _, _ in register(db, county)}
    assert states[a.code] == ("cleanest", "valid") and states[b.code] == ("clean", "valid")


def test_finalizing_twice_gives_the_same_register(db: Session, tiny) -> None:  # type: ignore[no-untyped-def]
    county, village, (a, b, c, _d, _e) = tiny
    village_period = run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85})
    first = register(db, county)
    events = db.scalar(sa.select(sa.func.count(PlaqueEvent.id)))
    assert plaques.apply_final(db, village_period).counts == {}
    assert register(db, county) == first
    assert db.scalar(sa.select(sa.func.count(PlaqueEvent.id))) == events
    done, failed = workflow.finalize_due(db, now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert failed == []
    assert village_period not in [f.village_period for f in done] and register(db, county) == first


def test_a_failure_half_way_leaves_no_plaque_and_the_period_published(
    db: Session, tiny, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    county, village, (a, b, c, _d, _e) = tiny
    village_period = run_period(db, county, village, "2027Q1", {a: 95, b: 92, c: 85}, finalize=False)
    real_record = plaques.audit.record
    calls = {"n": 0}

    def failing_record(*args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("action", "").startswith("plaque_") and (kwargs.get("after") or {}).get("period") == "2027Q1":
            calls["n"] += 1
            if calls["n"] == 2:  # after the first plaque is written, before the second
                raise ServiceError("磁盘已满（测试注入）")
        return real_record(*args, **kwargs)

    monkeypatch.setattr(plaques.audit, "record", failing_record)
    done, failed = workflow.finalize_due(db, now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert [f.name for f in failed] == ["小村 2027Q1"] and "磁盘已满" in failed[0].reason
    assert {f.village_period.village.name for f in done} == {"大坪村", "白果社区"}  # the others went on
    assert village_period not in [f.village_period for f in done]
    db.refresh(village_period)
    assert village_period.state is WorkflowState.PUBLISHED
    assert register(db, county) == []
    assert records.current_record(db, village_period).plaques_applied_at is None
    monkeypatch.setattr(plaques.audit, "record", real_record)
    done, failed = workflow.finalize_due(db, now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert failed == [] and village_period in [f.village_period for f in done]
    assert len(register(db, county)) == 2


def test_the_database_refuses_a_second_plaque_with_the_same_serial(db: Session, tiny) -> None:  # type: ignore[no-untyped-def]
    county, village, (a, b, _c, _d, _e) = tiny
    run_period(db, county, village, "2027Q1", {a: 95})
    period = factories.period(db, "2027Q1", COUNTY)
    db.add(
        Plaque(
            county_id=county.id,
            serial=f"{COUNTY}-2027-000001",
            household_id=b.id,
            level=AwardLevel.CLEAN,
            issued_period_id=period.id,
        )
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.flush()
    db.rollback()


def test_an_inspector_revokes_a_plaque_outside_the_cycle_audited(db: Session) -> None:
    county = db.scalars(sa.select(County).where(County.code == "520999")).one()
    plaque = db.scalars(sa.select(Plaque).where(Plaque.state == PlaqueState.VALID).order_by(Plaque.serial)).first()
    assert plaque is not None
    reviewer = db.scalars(sa.select(User).where(User.username == "township")).one()
    with pytest.raises(PermissionDenied):
        plaques.revoke(db, reviewer, plaque, reason="抽查不合格", expected_version=plaque.version)
    inspector = db.scalars(sa.select(User).where(User.username == "inspector")).one()
    with pytest.raises(ServiceError, match="摘牌必须填写原因"):
        plaques.revoke(db, inspector, plaque, reason="  ", expected_version=plaque.version)
    plaques.revoke(db, inspector, plaque, reason="督查抽查：厕所不洁", expected_version=plaque.version)
    assert plaque.state is PlaqueState.REVOKED and plaque.revoke_reason == "督查抽查：厕所不洁"
    latest = periods.county_latest_period(db, county)
    assert plaque.revoked_period_id == latest.id
    [entry] = db.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity == "plaque", AuditEntry.entity_id == str(plaque.id))
    ).all()[-1:]
    assert entry.action == "plaque_revoke" and entry.actor == "inspector"
    assert entry.before["state"] == "valid" and entry.after["state"] == "revoked"
    assert plaque.events[-1].kind is PlaqueEventKind.REVOKED


def test_the_demo_county_carries_its_plaques(db: Session) -> None:
    county = db.scalars(sa.select(County).where(County.code == "520999")).one()
    rows = plaques.register(db, county)
    assert len(rows) > 100 and all(r.issued_period in ("2026Q3", "2026Q4") for r in rows)
    final = db.scalars(
        sa.select(VillagePeriod)
        .where(VillagePeriod.state == WorkflowState.FINAL)
        .join(Village)
        .join(Township)
        .where(Township.county_id == county.id)
    ).all()
    assert all(records.current_record(db, vp).plaques_applied_at is not None for vp in final)
    awarded = {
        row.household_code
        for vp in final
        if vp.period.code == "2026Q3"
        for row in records.current_record(db, vp).rows
        if row.award is not None
    }
    holders = {r.household.code for r in rows if r.issued_period == "2026Q3"}
    assert holders == awarded  # every 2026Q3 award got its plaque, and no one else
