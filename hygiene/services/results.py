"""A period's results, computed by the engine from the database: the public list of a published
village period (RULES.md §6) and the results tables of ``hygiene results`` (INTERCHANGE.md §3)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import frames
from hygiene.enums import AwardLevel, Grade, WorkflowState
from hygiene.models import County, Group, Household, Period, Township, Village
from hygiene.services import periods
from hygiene.services.errors import NotFound, ServiceError

PUBLIC_STATES = (WorkflowState.PUBLISHED, WorkflowState.FINAL)
RED_BLACK_SIZE = 3


def mask_name(name: str) -> str:
    """The public list shows the surname only (RULES.md §6): 张三丰 → 张**."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


@dataclass(frozen=True)
class PublicRow:
    """One rated household as the public may see it: no phone, no poverty status, no reviewers."""

    rank: int
    household_code: str
    masked_name: str
    grade: Grade
    final_total: str
    award: AwardLevel | None


@dataclass(frozen=True)
class PublicList:
    village: Village
    period: Period
    state: WorkflowState
    rows: list[PublicRow]
    red_list: list[PublicRow]
    black_list: list[PublicRow]


def public_list(session: Session, village: Village, period_code: str) -> PublicList:
    """The posted list of a published or final village period, in ranking order. A period not yet
    published is "not found": the public never sees a list before the township publishes it."""
    period = periods.get_period(session, village.township.county_id, period_code)
    village_period = periods.village_period(session, village, period)
    if village_period is None or village_period.state not in PUBLIC_STATES:
        raise NotFound(f"{village.name} {period_code} 尚未公示")
    household_results, _ = frames.score_villages(session, period, [village.id])
    rated = household_results[household_results["grade"].notna()].sort_values("rank")
    names: dict[str, str] = dict(
        session.execute(
            sa.select(Household.code, Household.head_name).join(Group).where(Group.village_id == village.id)
        ).all()
    )
    rows = [
        PublicRow(
            rank=int(r["rank"]),
            household_code=str(r["household_code"]),
            masked_name=mask_name(names[str(r["household_code"])]),
            grade=Grade(str(r["grade"])),
            final_total=str(r["final_total"]),
            award=AwardLevel(r["award"]) if isinstance(r["award"], str) else None,
        )
        for r in rated.to_dict("records")
    ]
    county = session.get(County, period.county_id)
    show_red_black = village_period.state is WorkflowState.FINAL and county is not None and county.red_black_list
    return PublicList(
        village=village,
        period=period,
        state=village_period.state,
        rows=rows,
        red_list=rows[:RED_BLACK_SIZE] if show_red_black else [],
        black_list=list(reversed(rows[-RED_BLACK_SIZE:])) if show_red_black else [],
    )


def period_results(session: Session, period_code: str, village_code: str | None = None) -> tuple[pa.Table, pa.Table]:
    """The engine's results for a period, for one village or for the whole county."""
    periods.parse_period_code(period_code)
    if village_code is not None:
        village = session.scalar(sa.select(Village).where(Village.code == village_code))
        if village is None:
            raise NotFound(f"找不到编码为 {village_code} 的村")
        period = periods.get_period(session, village.township.county_id, period_code)
        return frames.score_villages_as_tables(session, period, [village.id])
    matching = list(session.scalars(sa.select(Period).where(Period.code == period_code)))
    if not matching:
        raise NotFound(f"季度 {period_code} 不存在")
    if len(matching) > 1:
        raise ServiceError(f"有{len(matching)}个县都有季度 {period_code}：请用 --village 指定村")
    period = matching[0]
    village_ids = list(
        session.scalars(sa.select(Village.id).join(Township).where(Township.county_id == period.county_id))
    )
    return frames.score_villages_as_tables(session, period, village_ids)
