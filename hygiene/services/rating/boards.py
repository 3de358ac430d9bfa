"""What the reviewer sees: the township board of village periods and one village's review page
(read models over the workflow, the quotas and the engine's results).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import WorkflowState
from hygiene.models import (
    AwardQuota,
    Group,
    Household,
    Period,
    ResultRecord,
    Township,
    Village,
    VillageAssessment,
    VillagePeriod,
)
from hygiene.services.rating import rating, records
from hygiene.services.rating.quotas import ASSESSMENT_PASS_TENTHS
from hygiene.services.setup import counties

# --- what the reviewer sees ----------------------------------------------------------------------


@dataclass(frozen=True)
class TownshipRow:
    """One village of the township in a period, with the engine's village result."""

    village: Village
    village_period: VillagePeriod | None
    result: dict[str, Any]
    quota_set: bool
    assessment: VillageAssessment | None
    refused: str | None = None  # why the engine could not score the village's data as it stands

    @property
    def state(self) -> WorkflowState:
        return self.village_period.state if self.village_period else WorkflowState.DRAFT

    @property
    def assessment_passed(self) -> bool | None:
        return None if self.assessment is None else self.assessment.total_tenths() >= ASSESSMENT_PASS_TENTHS


def township_board(session: Session, township: Township, period: Period) -> list[TownshipRow]:
    """Every village of the township in the period: state, households, awards against quotas and
    floors, shortfalls, assessment — one engine call for the whole township."""
    villages = list(
        session.scalars(sa.select(Village).where(Village.township_id == township.id).order_by(Village.code))
    )
    village_periods = {
        vp.village_id: vp
        for vp in session.scalars(
            sa.select(VillagePeriod).where(
                VillagePeriod.period_id == period.id, VillagePeriod.village_id.in_([v.id for v in villages])
            )
        )
    }
    vp_ids = [vp.id for vp in village_periods.values()]
    quotas = set(
        session.scalars(
            sa.select(AwardQuota.village_period_id).where(
                AwardQuota.county_id == period.county_id, AwardQuota.village_period_id.in_(vp_ids)
            )
        )
    )
    assessments = {
        a.village_period_id: a
        for a in session.scalars(
            sa.select(VillageAssessment).where(
                VillageAssessment.county_id == period.county_id, VillageAssessment.village_period_id.in_(vp_ids)
            )
        )
    }
    results: dict[str, dict[str, Any]] = {}
    refusals: dict[str, str] = {}
    try:
        _, village_results = rating.result_frames(session, period, [v.id for v in villages])
        results = {str(r["village_code"]): rating.plain(r) for r in village_results.to_dict("records")}
    except rating.RatingRefused:
        # one village's data should not blank the whole board: score them one by one
        for village in villages:
            try:
                _, one = rating.result_frames(session, period, [village.id])
                results |= {str(r["village_code"]): rating.plain(r) for r in one.to_dict("records")}
            except rating.RatingRefused as refused:
                refusals[village.code] = str(refused)
    rows = []
    for village in villages:
        vp = village_periods.get(village.id)
        rows.append(
            TownshipRow(
                village=village,
                village_period=vp,
                result=results.get(village.code, {}),
                quota_set=vp is not None and vp.id in quotas,
                assessment=assessments.get(vp.id) if vp else None,
                refused=refusals.get(village.code),
            )
        )
    return rows


@dataclass(frozen=True)
class VillageReview:
    """A village period as the reviewer checks it: the engine's ranked households (those with
    flags or not rated first when asked) and the village result."""

    village_period: VillagePeriod
    households: list[dict[str, Any]]
    village: dict[str, Any]
    quota: AwardQuota | None
    assessment: VillageAssessment | None
    floors: tuple[int, int]
    record: ResultRecord | None
    settings: list[tuple[str, str]]  # the rules the period keeps, in words
    shortfalls: rating.Shortfalls  # what approving or publishing would go ahead without
    refused: str | None = None  # why the engine could not score the village's data as it stands


def village_review(session: Session, village_period: VillagePeriod, *, problems_first: bool = False) -> VillageReview:
    village, period = village_period.village, village_period.period
    refused = None
    try:
        household_results, village_results = rating.result_frames(session, period, [village.id])
    except rating.RatingRefused as exc:
        refused = str(exc)
        household_results, village_results = rating.empty_frames()
    record = records.current_record(session, village_period) if village_period.state in records.PUBLIC_STATES else None
    if record is not None:
        names = {row.household_code: row.head_name for row in record.rows}
    else:
        names = dict(
            session.execute(
                sa.select(Household.code, Household.head_name)
                .join(Group, Household.group_id == Group.id)
                .where(Group.village_id == village.id)
            ).all()
        )
    rows = [
        rating.plain(r) | {"head_name": names.get(str(r["household_code"]), "")}
        for r in household_results.to_dict("records")
    ]

    def rank_key(row: dict[str, Any]) -> tuple[int, int, str]:
        # Ranked households in rank order, then the not-rated ones by code.
        rank = row["rank"]
        return (0 if rank is not None else 1, int(rank) if rank is not None else 0, str(row["household_code"]))

    def problems_key(row: dict[str, Any]) -> tuple[int, tuple[int, int, str]]:
        needs_look = row["rank"] is None or bool(row["flags"])
        return (0 if needs_look else 1, rank_key(row))

    rows.sort(key=problems_key if problems_first else rank_key)
    quota = session.scalar(
        sa.select(AwardQuota).where(
            AwardQuota.county_id == village_period.county_id, AwardQuota.village_period_id == village_period.id
        )
    )
    assessment = session.scalar(
        sa.select(VillageAssessment).where(
            VillageAssessment.county_id == village_period.county_id,
            VillageAssessment.village_period_id == village_period.id,
        )
    )
    village_rows = village_results.to_dict("records")
    return VillageReview(
        village_period=village_period,
        households=rows,
        village=rating.plain(village_rows[0]) if village_rows else {},
        quota=quota,
        assessment=assessment,
        floors=(int(village_rows[0]["cleanest_floor"]), int(village_rows[0]["clean_floor"]))
        if village_rows
        else rating.floors(session, village, period),
        record=record,
        settings=counties.describe_period_settings(record.settings if record else rating.settings_snapshot(period)),
        shortfalls=rating.Shortfalls.refused_by(refused)
        if refused
        else rating.Shortfalls.from_results(household_results, village_results),
        refused=refused,
    )
