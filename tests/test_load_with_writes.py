"""The lost-update check of the load with writes (issue 32, benchmarks/load_with_writes.py): each
clerk's last acknowledged 小组复评 values against what the database holds, on both databases."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA, ReviewKind, WorkflowState
from hygiene.models import Group, Household, Period, Review, Village, VillagePeriod


def load_benchmark() -> ModuleType:
    path = Path(__file__).parents[1] / "benchmarks" / "load_with_writes.py"
    spec = importlib.util.spec_from_file_location("load_with_writes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def stored_group_reviews(db: Session, limit: int) -> tuple[str, dict[str, dict[str, dict[str, int]]]]:
    """A period's code and some of its stored 小组复评 values, by village and household."""
    rows = db.execute(
        sa.select(Period.code, Village.code, Household.code, *(getattr(Review, c) for c in CRITERIA))
        .select_from(Review)
        .join(Household, Review.household_id == Household.id)
        .join(Group, Household.group_id == Group.id)
        .join(Village, Group.village_id == Village.id)
        .join(Period, Review.period_id == Period.id)
        .where(Review.kind == ReviewKind.GROUP)
        .order_by(Period.code, Village.code, Household.code)
        .limit(limit)
    ).all()
    period = rows[0][0]
    cells: dict[str, dict[str, dict[str, int]]] = {}
    for code, village, household, *scores in rows:
        if code == period:
            cells.setdefault(village, {})[household] = dict(zip(CRITERIA, scores, strict=True))
    return period, cells


def test_values_as_stored_are_not_lost_and_a_differing_value_is_named(db: Session) -> None:
    check = load_benchmark().lost_updates
    period, acknowledged = stored_group_reviews(db, 5)
    households = sum(len(h) for h in acknowledged.values())
    assert households >= 2

    found = check(db, period, acknowledged)
    assert found.lost == []
    assert found.cells == households * len(CRITERIA)

    village = next(iter(acknowledged))
    household = next(iter(acknowledged[village]))
    first = CRITERIA[0]
    stored = acknowledged[village][household][first]
    acknowledged[village][household] = {**acknowledged[village][household], first: stored + 1}
    assert check(db, period, acknowledged).lost == [
        f"{village} {household} {first}: acknowledged {stored + 1}, stored {stored}"
    ]


def test_a_save_unanswered_at_the_stop_may_hold_instead_but_nothing_else(db: Session) -> None:
    check = load_benchmark().lost_updates
    period, stored = stored_group_reviews(db, 5)
    village = next(iter(stored))
    household = next(iter(stored[village]))
    values = stored[village][household]
    earlier = {c: (t + 1) % 50 for c, t in values.items()}  # acknowledged, then overwritten by the unanswered save
    acknowledged = {village: {household: earlier}}

    found = check(db, period, acknowledged, {village: {household: values}})
    assert (found.lost, found.in_flight_stored) == ([], 1)

    other = {c: (t + 2) % 50 for c, t in values.items()}  # the unanswered save did not land either
    assert len(check(db, period, acknowledged, {village: {household: other}}).lost) == len(CRITERIA)


def test_an_acknowledged_household_without_a_stored_review_is_lost(db: Session) -> None:
    check = load_benchmark().lost_updates
    period, stored = stored_group_reviews(db, 1)
    village = next(iter(stored))
    found = check(db, period, {village: {"no-such-household": {CRITERIA[0]: 80}}})
    assert found.lost == [f"{village} no-such-household {CRITERIA[0]}: acknowledged 80, stored None"]


def test_a_reviewers_acknowledged_move_must_be_the_villages_state(db: Session) -> None:
    check = load_benchmark().moves_not_stored
    period, village, state = db.execute(
        sa.select(Period.code, Village.code, VillagePeriod.state)
        .join(VillagePeriod, VillagePeriod.village_id == Village.id)
        .join(Period, VillagePeriod.period_id == Period.id)
        .where(VillagePeriod.state.in_([WorkflowState.APPROVED, WorkflowState.PUBLISHED]))
        .order_by(Period.code, Village.code)
        .limit(1)
    ).one()
    published = state is WorkflowState.PUBLISHED
    # an approval followed by a publication whose answer was lost at the stop: the village may be either
    assert check(db, period, {"approve": [village], "publish": []}) == []
    if published:
        assert check(db, period, {"approve": [village], "publish": [village]}) == []
    else:
        assert check(db, period, {"approve": [village], "publish": [village]}) == [
            f"{village}: published acknowledged, approved stored"
        ]
    assert check(db, period, {"approve": [], "publish": ["no-such-village"]}) == [
        "no-such-village: published acknowledged, None stored"
    ]
