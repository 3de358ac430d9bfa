"""SQL ↔ DataFrame adapters: what the scoring engine needs for one period, read from the database
in a few set-based queries, and the engine's results back. No rule is computed here: the engine
(``scoring``) is the one place the rules live."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

import scoring
from hygiene.enums import CRITERIA
from hygiene.models import AwardQuota, County, Group, Household, Period, Review, Township, Village, VillagePeriod
from scoring.arith import format_tenths
from scoring.rubric import Criterion, Rubric, Settings


@dataclass(frozen=True)
class EngineInputs:
    households: pd.DataFrame
    reviews: pd.DataFrame
    quotas: pd.DataFrame
    rubric: Rubric
    settings: Settings


def rubric_of(period: Period) -> Rubric:
    version = period.rubric_version
    return Rubric(tuple(Criterion(c.code, c.label, Decimal(c.max_tenths) / 10) for c in version.criteria))


def settings_of(county: County, period: Period) -> Settings:
    version = period.rubric_version
    return Settings(
        cleanest_min=Decimal(version.cleanest_tenths) / 10,
        clean_min=Decimal(version.clean_tenths) / 10,
        fairly_clean_min=Decimal(version.fairly_clean_tenths) / 10,
        cleanest_floor_ratio=Decimal(county.cleanest_floor_percent) / 100,
        clean_floor_ratio=Decimal(county.clean_floor_percent) / 100,
        gap=Decimal(county.gap_tenths) / 10,
        min_peers=county.min_peers,
    )


def registered(period: Period) -> sa.ColumnElement[bool]:
    """Households counted in a period: not moved away before it began (RULES.md §4)."""
    return sa.or_(Household.moved_away_on.is_(None), Household.moved_away_on >= period.starts_on)


def engine_inputs(session: Session, period: Period, village_ids: Sequence[int]) -> EngineInputs:
    """The engine's input tables (INTERCHANGE.md §1) for these villages in this period."""
    households = pd.DataFrame(
        session.execute(
            sa.select(
                Household.code.label("household_code"),
                Township.code.label("township_code"),
                Village.code.label("village_code"),
                Group.code.label("group_code"),
                Household.head_name,
            )
            .join(Group, Household.group_id == Group.id)
            .join(Village, Group.village_id == Village.id)
            .join(Township, Village.township_id == Township.id)
            .where(Village.id.in_(village_ids), registered(period))
        ).all(),
        columns=["household_code", "township_code", "village_code", "group_code", "head_name"],
    )
    reviewer = aliased(Household)
    rows = session.execute(
        sa.select(
            Household.code,
            Review.kind,
            reviewer.code,
            Review.team_members,
            *(getattr(Review, c) for c in CRITERIA),
        )
        .join(Household, Review.household_id == Household.id)
        .join(Group, Household.group_id == Group.id)
        .outerjoin(reviewer, Review.reviewer_household_id == reviewer.id)
        .where(Review.period_id == period.id, Group.village_id.in_(village_ids), registered(period))
    ).all()
    reviews = pd.DataFrame(
        [
            [code, kind.value, reviewer_code or team or "", *(format_tenths(s) for s in scores)]
            for code, kind, reviewer_code, team, *scores in rows
        ],
        columns=["household_code", "kind", "reviewer", *CRITERIA],
    )
    quota_rows = session.execute(
        sa.select(Village.code, AwardQuota.cleanest_quota, AwardQuota.clean_quota)
        .join(VillagePeriod, VillagePeriod.village_id == Village.id)
        .join(AwardQuota, AwardQuota.village_period_id == VillagePeriod.id)
        .where(VillagePeriod.period_id == period.id, Village.id.in_(village_ids))
    ).all()
    quotas = pd.DataFrame(
        [[code, str(cleanest), str(clean)] for code, cleanest, clean in quota_rows],
        columns=["village_code", "cleanest_quota", "clean_quota"],
    )
    county = session.get(County, period.county_id)
    assert county is not None
    return EngineInputs(households, reviews, quotas, rubric_of(period), settings_of(county, period))


def score_villages(session: Session, period: Period, village_ids: Sequence[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The engine's (household_results, village_results) for these villages in this period."""
    inputs = engine_inputs(session, period, village_ids)
    return scoring.score_period(inputs.households, inputs.reviews, inputs.quotas, inputs.rubric, inputs.settings)


def score_villages_as_tables(session: Session, period: Period, village_ids: Sequence[int]) -> tuple[pa.Table, pa.Table]:
    """The same results as Arrow tables, for writing them exactly as ``python -m scoring`` does."""
    inputs = engine_inputs(session, period, village_ids)
    return scoring.score_tables(inputs.households, inputs.reviews, inputs.quotas, inputs.rubric, inputs.settings)


def plain(record: Mapping[Hashable, Any]) -> dict[str, Any]:
    """An engine result row with pandas' missing values as None, for services and templates."""
    return {str(k): (None if pd.isna(v) else v) for k, v in record.items()}
