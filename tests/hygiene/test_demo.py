from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.orm import Session

from hygiene import migrate
from hygiene.db import Base, make_engine, make_sessionmaker
from hygiene.enums import ObjectionState, Role, WorkflowState
from hygiene.models import Group, Household, Period, Review, User, Village, VillagePeriod
from hygiene.models._types import beijing_today, utcnow
from hygiene.services import demo
from hygiene.services.rating import objections, records, workflow


def row_counts(session: Session) -> dict[str, int]:
    return {
        name: session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
        for name, table in Base.metadata.tables.items()
    }


def fingerprint(session: Session) -> str:
    """Households and every score, in a stable order: equal fingerprints mean equal demo data."""
    digest = hashlib.sha256()
    for row in session.execute(
        sa.select(Household.code, Household.head_name, Household.phone, Household.is_poor).order_by(Household.code)
    ):
        digest.update(repr(tuple(row)).encode())
    for row in session.execute(
        sa.select(
            Review.household_id, Review.kind, Review.reviewer_household_id, Review.c01, Review.c05, Review.c10
        ).order_by(Review.id)
    ):
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def fresh(tmp_path: Path, name: str) -> Session:
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    migrate.upgrade(engine)
    return make_sessionmaker(engine)()


def test_demo_is_deterministic_and_loading_it_twice_changes_nothing(tmp_path: Path) -> None:
    first, second = fresh(tmp_path, "a.sqlite3"), fresh(tmp_path, "b.sqlite3")
    assert demo.load_demo(first).created
    first.commit()
    counts = row_counts(first)
    assert not demo.load_demo(first).created
    first.commit()
    assert row_counts(first) == counts
    demo.load_demo(second)
    second.commit()
    assert fingerprint(first) == fingerprint(second)


def test_demo_county_has_the_promised_shape(db: Session) -> None:
    villages = db.scalars(sa.select(Village).join(Village.township).where(Village.code.like("520999%"))).all()
    assert len(villages) == 12
    for village in villages:
        groups = db.scalars(sa.select(Group).where(Group.village_id == village.id)).all()
        assert 3 <= len(groups) <= 4
        for group in groups:
            n = db.scalar(sa.select(sa.func.count(Household.id)).where(Household.group_id == group.id))
            assert 10 <= (n or 0) <= 20
    households = db.scalars(sa.select(Household).where(Household.code.like("520999%"))).all()
    assert any(h.phone for h in households) and any(not h.phone for h in households)
    assert any(h.is_poor for h in households)
    assert all(2 <= len(h.head_name) <= 3 for h in households)


def test_demo_periods_cover_every_workflow_state(db: Session) -> None:
    states = {
        period: set(db.scalars(sa.select(VillagePeriod.state).join(Period).where(Period.code == period)))
        for period in ("2026Q3", "2026Q4")
    }
    assert states["2026Q3"] == {WorkflowState.FINAL}
    assert states["2026Q4"] == set(WorkflowState)


def test_demo_has_one_user_per_role(db: Session) -> None:
    roles = set(db.scalars(sa.select(User.role).where(User.username.in_([u.username for u in demo.DEMO_USERS]))))
    assert roles == set(Role)


@pytest.mark.parametrize(
    "day",
    [
        dt.datetime(2027, 1, 3, 2, tzinfo=dt.UTC),
        dt.datetime(2027, 6, 30, 15, tzinfo=dt.UTC),
        dt.datetime(2031, 11, 12, 8, tzinfo=dt.UTC),
    ],
)
def test_the_demo_loaded_on_any_day_has_a_village_in_posting_with_its_objection_form_open(
    tmp_path: Path, day: dt.datetime
) -> None:
    """Issue 30: the demo's dates follow the day it is loaded (the clock frozen at three dates: a
    new year, the last day of a quarter late in the evening in Beijing, years ahead), so the tick
    finalises nothing at first start and residents can try an objection."""
    with time_machine.travel(day, tick=False):
        session = fresh(tmp_path, "demo.sqlite3")
        assert demo.load_demo(session).created
        session.commit()
        finalized, failed = workflow.finalize_due(session)
        assert finalized == [] and failed == []
        today = beijing_today()
        quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
        posted = session.scalars(
            sa.select(VillagePeriod).where(VillagePeriod.state == WorkflowState.PUBLISHED).order_by(VillagePeriod.id)
        ).all()
        assert len(posted) == 2 and all(vp.period.code == quarter for vp in posted)
        assert all(objections.posting_open(vp) for vp in posted)
        states = {vp.state for vp in session.scalars(sa.select(VillagePeriod)) if vp.period.code == quarter}
        assert states == set(WorkflowState)
        final_before = session.scalars(
            sa.select(VillagePeriod).where(
                VillagePeriod.state == WorkflowState.FINAL, VillagePeriod.period_id != posted[0].period_id
            )
        ).all()
        assert len(final_before) == 12 and all(vp.finalized_at < utcnow() for vp in final_before)
        record = records.current_record(session, posted[0])
        assert record is not None
        rated = next(row.household_code for row in record.rows if row.rank is not None)
        filed = objections.file_objection(
            session, posted[0], rated, reason="该户院内仍有垃圾未清理", client="demo-test"
        )
        assert filed is not None and filed.state is ObjectionState.PENDING
        session.close()
