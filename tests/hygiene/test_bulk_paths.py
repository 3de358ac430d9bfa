"""The database path in bulk (issue 20): the engine's inputs read as whole columns and a record's
household rows written in one bulk insert give exactly what reading and writing row by row gave.
The expected values are built here from ORM objects, one by one, as the code did before."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import scoring
from hygiene.enums import CRITERIA, ReviewKind, WorkflowState
from hygiene.models import (
    AuditEntry,
    County,
    Group,
    Household,
    Period,
    ResultRecord,
    Review,
    Township,
    Village,
)
from hygiene.services import bulk
from hygiene.services.rating import rating, records
from hygiene.services.setup import counties, periods
from tests.hygiene import factories

GENERATED = "529901"


def generated_county(db: Session, *, keep_leavers_reviews: bool = False) -> tuple[Period, list[int]]:
    """A small county of its own: 3 villages of 4 groups of 9-12 households, random reviews (some
    households without a self or group review, peers from the group), one household moved away
    before the period and one registered from the next period (their peer reviews of others kept
    only when asked: the engine then refuses an unknown reviewer); the period and its village ids."""
    rng = random.Random(20)
    county = County(code=GENERATED, name="生成县")
    db.add(county)
    db.flush()
    periods.create_default_rubric(db, county)
    township = Township(county_id=county.id, code=GENERATED + "01", name="生成镇")
    db.add(township)
    db.flush()
    households: list[Household] = []
    for v in range(3):
        village = Village(
            county_id=county.id,
            township_id=township.id,
            code=f"{GENERATED}01{v:02d}",
            name=f"生成{v}村",
            programme_year=2026,
        )
        db.add(village)
        db.flush()
        for g in range(4):
            code, name = f"{village.code}{g:02d}", f"第{g + 1}组"
            group = Group(county_id=county.id, village_id=village.id, code=code, name=name)
            db.add(group)
            db.flush()
            for h in range(rng.randint(9, 12)):
                household = Household(
                    county_id=county.id,
                    group_id=group.id,
                    code=f"{group.code}{h:03d}",
                    head_name=rng.choice("王李张刘陈") + "某",
                )
                db.add(household)
                households.append(household)
    db.flush()
    period = counties.open_period(db, None, county, "2026Q4").period
    maxima = rating.rubric_of(period).max_tenths
    by_group: dict[int, list[Household]] = {}
    for household in households:
        by_group.setdefault(household.group_id, []).append(household)
    for household in households:
        quality = rng.random()

        def scores(q: float = quality) -> dict[str, int]:
            return {
                c: min(m, max(0, round(m * q + rng.randint(-10, 10)))) for c, m in zip(CRITERIA, maxima, strict=True)
            }

        if rng.random() < 0.9:
            db.add(
                Review(
                    county_id=county.id,
                    period_id=period.id,
                    household_id=household.id,
                    kind=ReviewKind.SELF,
                    **scores(),
                )
            )
        peers = [p for p in by_group[household.group_id] if p.id != household.id]
        for reviewer in rng.sample(peers, rng.randint(1, 3)):
            db.add(
                Review(
                    county_id=county.id,
                    period_id=period.id,
                    household_id=household.id,
                    kind=ReviewKind.PEER,
                    reviewer_household_id=reviewer.id,
                    **scores(),
                )
            )
        if rng.random() < 0.95:
            team = rng.choice(["王组长、李委员", "陈组长"])
            db.add(
                Review(
                    county_id=county.id,
                    period_id=period.id,
                    household_id=household.id,
                    kind=ReviewKind.GROUP,
                    team_members=team,
                    **scores(),
                )
            )
    db.flush()
    # registered() drops these two, and their reviews with them
    households[0].moved_away_on = period.starts_on - dt.timedelta(days=3)
    households[5].registered_from = "2027Q1"
    if not keep_leavers_reviews:
        gone = [households[0].id, households[5].id]
        db.execute(sa.delete(Review).where(Review.reviewer_household_id.in_(gone)))
    db.flush()
    village_ids = list(db.scalars(sa.select(Village.id).where(Village.township_id == township.id).order_by(Village.id)))
    return period, village_ids


def row_by_row_inputs(db: Session, period: Period, village_ids: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The engine's households and reviews built from ORM objects, one by one (as before issue 20)."""
    households = list(
        db.scalars(sa.select(Household).join(Group).where(Group.village_id.in_(village_ids), rating.registered(period)))
    )
    household_rows = [
        {
            "household_code": h.code,
            "township_code": h.group.village.township.code,
            "village_code": h.group.village.code,
            "group_code": h.group.code,
            "head_name": h.head_name,
        }
        for h in households
    ]
    registered_ids = {h.id for h in households}
    review_rows = [
        {
            "household_code": r.household.code,
            "kind": r.kind.value,
            "reviewer": r.reviewer.code if r.reviewer else (r.team_members or ""),
            **{c: getattr(r, c) for c in CRITERIA},
        }
        for r in db.scalars(sa.select(Review).where(Review.period_id == period.id))
        if r.household_id in registered_ids
    ]
    columns = ["household_code", "kind", "reviewer", *CRITERIA]
    return pd.DataFrame(household_rows, dtype=object), pd.DataFrame(review_rows, columns=columns)


def plain_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return sorted(tuple(str(v) if isinstance(v, str) else int(v) for v in row) for row in frame.itertuples(index=False))


def cases(db: Session, *, keep_leavers_reviews: bool = False) -> list[tuple[Period, list[int]]]:
    demo_villages = list(
        db.scalars(
            sa.select(Village.id).join(Township).join(County).where(County.code == "520999").order_by(Village.id)
        )
    )
    return [
        (factories.period(db, "2026Q3"), demo_villages),
        (factories.period(db, "2026Q4"), demo_villages),
        (factories.period(db, "2026Q4"), demo_villages[:1]),
        generated_county(db, keep_leavers_reviews=keep_leavers_reviews),
    ]


def test_bulk_read_gives_the_engine_the_rows_read_one_by_one(db: Session) -> None:
    for period, village_ids in cases(db, keep_leavers_reviews=True):
        households, reviews = row_by_row_inputs(db, period, village_ids)
        inputs = rating.engine_inputs(db, period, village_ids)
        assert len(inputs.reviews) == len(reviews) > 0
        assert plain_rows(inputs.households) == plain_rows(households)
        assert plain_rows(inputs.reviews) == plain_rows(reviews)
        assert all(inputs.reviews[c].dtype == "int64" for c in CRITERIA)  # integer tenths, no text


def test_bulk_read_gives_the_results_of_the_rows_read_one_by_one(db: Session) -> None:
    for period, village_ids in cases(db):
        households, reviews = row_by_row_inputs(db, period, village_ids)
        quotas = rating.engine_inputs(db, period, village_ids).quotas
        expected = scoring.score_tables(
            households, reviews, quotas, rating.rubric_of(period), rating.settings_of(period), scores_in_tenths=True
        )
        got = rating.score_live(db, period, village_ids)
        assert got[0].equals(expected[0]) and got[1].equals(expected[1])
        means = scoring.peer_criterion_means(households, reviews, rating.rubric_of(period), scores_in_tenths=True)
        pd.testing.assert_frame_equal(rating.peer_means_live(db, period, village_ids), means)
        both = rating.score_and_peer_means_live(db, period, village_ids)
        assert both[0].equals(expected[0]) and both[1].equals(expected[1])
        pd.testing.assert_frame_equal(both[2], means)


def test_a_village_with_no_review_reads_as_empty_columns(db: Session) -> None:
    period = factories.period(db, "2026Q4")
    village = factories.village(db)
    db.execute(sa.delete(Review).where(Review.period_id == period.id))
    inputs = rating.engine_inputs(db, period, [village.id])
    assert len(inputs.reviews) == 0 and len(inputs.households) > 0
    assert list(inputs.reviews.columns) == ["household_code", "kind", "reviewer", *CRITERIA]


def expected_record_rows(db: Session, period: Period, village: Village) -> list[dict[str, Any]]:
    """What a record of the village must hold, row by row, from ORM objects and the engine."""
    households, reviews = row_by_row_inputs(db, period, [village.id])
    quotas = rating.engine_inputs(db, period, [village.id]).quotas
    table, _ = scoring.score_tables(
        households, reviews, quotas, rating.rubric_of(period), rating.settings_of(period), scores_in_tenths=True
    )
    means = scoring.peer_criterion_means(households, reviews, rating.rubric_of(period), scores_in_tenths=True)
    mean_of = {r["household_code"]: r for r in means.to_dict("records")}
    by_code = {h.code: h for h in db.scalars(sa.select(Household).join(Group).where(Group.village_id == village.id))}
    group_review = {
        r.household_id: [getattr(r, c) for c in CRITERIA]
        for r in db.scalars(sa.select(Review).where(Review.period_id == period.id, Review.kind == ReviewKind.GROUP))
    }

    def tenths(value: Any) -> int | None:
        return None if value is None else round(float(value) * 10)

    rows = []
    for row in table.to_pylist():
        household = by_code[row["household_code"]]
        mean = mean_of[row["household_code"]]
        rows.append(
            {
                "household_id": household.id,
                "household_code": household.code,
                "head_name": household.head_name,
                "group_code": household.group.code,
                "group_name": household.group.name,
                "self_total": tenths(row["self_total"]),
                "peer_total": tenths(row["peer_total"]),
                "peer_count": row["peer_count"],
                "final_total": tenths(row["final_total"]),
                "grade": row["grade"],
                "rank": row["rank"],
                "award": row["award"],
                "flags": row["flags"] or "",
                "group_scores": group_review.get(household.id),
                "peer_means": [tenths(mean[c]) for c in CRITERIA] if mean["peer_count"] else None,
            }
        )
    return sorted(rows, key=lambda r: r["household_code"])


def stored_rows(db: Session, record_id: int) -> list[dict[str, Any]]:
    """The record's household rows as the database holds them (a plain query, JSON parsed)."""
    found = db.execute(
        sa.text(
            "SELECT household_id, household_code, head_name, group_code, group_name, self_total, peer_total, "
            "peer_count, final_total, grade, rank, award, flags, group_scores, peer_means "
            "FROM result_record_households WHERE record_id = :id ORDER BY household_code"
        ),
        {"id": record_id},
    ).mappings()
    rows = []
    for row in found:
        row = dict(row)
        for name in ("group_scores", "peer_means"):
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
        rows.append(row)
    return rows


@pytest.mark.parametrize("generated", [False, True])
def test_a_record_written_in_bulk_holds_every_household_as_computed_row_by_row(db: Session, generated: bool) -> None:
    if generated:
        period, village_ids = generated_county(db)
        village = db.get_one(Village, village_ids[1])
    else:
        period, village = factories.period(db, "2026Q4"), factories.village(db)
    village_period = periods.village_period(db, village, period)
    assert village_period is not None
    expected = expected_record_rows(db, period, village)
    audits_before = db.scalar(sa.select(sa.func.count(AuditEntry.id)))
    record = records.post(db, None, village_period)
    assert stored_rows(db, record.id) == expected
    assert record.households == len(expected) and len(record.rows) == len(expected)
    # one audit entry for the record, as before: what was posted, not one per row
    added = list(db.scalars(sa.select(AuditEntry).order_by(AuditEntry.id).offset(audits_before)))
    assert [(a.action, a.entity_id) for a in added] == [("record_post", str(village_period.id))]
    # the record reads back as the engine's results (``hygiene results`` for a published period)
    village_period.state = WorkflowState.PUBLISHED
    village_period.published_at = village_period.posting_ends_at = dt.datetime(2027, 1, 5, tzinfo=dt.UTC)
    db.flush()
    recorded, _ = rating.results(db, period, [village.id])
    live, _ = rating.score_live(db, period, [village.id])
    assert recorded.equals(live)


def test_a_second_version_is_written_beside_the_superseded_first(db: Session) -> None:
    period, village = factories.period(db, "2026Q4"), factories.village(db)
    village_period = periods.village_period(db, village, period)
    assert village_period is not None
    first = records.post(db, None, village_period)
    records.supersede(db, None, village_period, "撤回公示")
    second = records.post(db, None, village_period)
    assert (first.number, second.number) == (1, 2)
    assert stored_rows(db, first.id) == stored_rows(db, second.id)
    assert (
        db.scalar(sa.select(sa.func.count(ResultRecord.id)).where(ResultRecord.village_period_id == village_period.id))
        == 2
    )


def test_bulk_integer_read_refuses_a_null_rather_than_misreading_it(db: Session) -> None:
    period = factories.period(db, "2026Q3")
    with pytest.raises(ValueError, match="unexpected"):
        bulk.read_ints(db, sa.select(Review.reviewer_household_id).where(Review.period_id == period.id))


def test_insert_many_stores_what_sqlalchemys_insert_stores(db: Session) -> None:
    """Issue 34: ``bulk.insert_many`` (the driver's executemany on SQLite) stores each value as
    ``session.execute(insert(table), rows)`` does: timestamps in UTC, JSON (and JSON null), booleans."""
    county = db.scalars(sa.select(County)).first()
    assert county is not None
    table = AuditEntry.__table__
    beijing = dt.timezone(dt.timedelta(hours=8))
    rows = [
        {
            "county_id": county.id, "at": dt.datetime(2026, 12, 7, 9, 30, 1, 5, tzinfo=beijing), "user_id": None,
            "actor": "system", "entity": "household", "entity_id": str(n), "action": "create",
            "before": None if n else {"a": [1, "二"]}, "after": {"head_name": "张三", "is_poor": bool(n), "n": n},
            "reason": None if n else "导入", "prev_hash": None, "hash": f"{n:064d}",
        }
        for n in range(3)
    ]  # fmt: skip
    db.execute(sa.insert(table), [dict(row, entity="expected") for row in rows])
    bulk.insert_many(db, table, [dict(row, entity="bulk") for row in rows])
    columns = [c for c in table.columns if c.key not in ("id", "entity")]
    raw = sa.select(*[sa.cast(c, sa.Text) if not isinstance(c.type, sa.Integer) else c for c in columns])
    expected = db.execute(raw.where(table.c.entity == "expected").order_by(table.c.id)).all()
    written = db.execute(raw.where(table.c.entity == "bulk").order_by(table.c.id)).all()
    assert written == expected and len(written) == 3
    # a column whose rows hold one object (a batch's time, its None) is processed once: the same values
    at = dt.datetime(2026, 12, 7, 9, 30, 2, tzinfo=beijing)
    shared = [dict(row, at=at, before=None, reason=None) for row in rows]
    db.execute(sa.insert(table), [dict(row, entity="expected shared") for row in shared])
    bulk.insert_many(db, table, [dict(row, entity="bulk shared") for row in shared])
    expected = db.execute(raw.where(table.c.entity == "expected shared").order_by(table.c.id)).all()
    written = db.execute(raw.where(table.c.entity == "bulk shared").order_by(table.c.id)).all()
    assert written == expected and len(written) == 3
    with pytest.raises(sa.exc.IntegrityError), db.begin_nested():
        bulk.insert_many(db, table, [dict(rows[0], county_id=10**9)])
