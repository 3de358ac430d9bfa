"""A period's results as people read them: the public list of a published village period
(RULES.md §6), read from its record, and the results tables of ``hygiene results``
(INTERCHANGE.md §3): the record for published and final village periods, computed now otherwise."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import WorkflowState
from hygiene.models import Period, ResultRecord, Township, Village
from hygiene.services import periods, rating, records
from hygiene.services.errors import NotFound, ServiceError
from hygiene.services.records import PUBLIC_STATES, PostedRow

RED_BLACK_SIZE = 3


@dataclass(frozen=True)
class PublicList:
    village: Village
    period: Period
    state: WorkflowState
    record: ResultRecord
    rows: list[PostedRow]
    red_list: list[PostedRow]
    black_list: list[PostedRow]


def public_list(session: Session, village: Village, period_code: str) -> PublicList:
    """The posted list of a published or final village period, in ranking order, exactly as it was
    posted. A period not yet published is "not found": the public never sees a list before the
    township publishes it."""
    period = periods.get_period(session, village.township.county_id, period_code)
    village_period = periods.village_period(session, village, period)
    record = records.current_record(session, village_period) if village_period else None
    if village_period is None or village_period.state not in PUBLIC_STATES or record is None:
        raise NotFound(f"{village.name} {period_code} 尚未公示")
    rows = records.posted_rows(record)
    # RULES.md §6: the red and black list of a final period, if the period's settings show it.
    show_red_black = village_period.state is WorkflowState.FINAL and record.settings["red_black_list"]
    return PublicList(
        village=village,
        period=period,
        state=village_period.state,
        record=record,
        rows=rows,
        red_list=rows[:RED_BLACK_SIZE] if show_red_black else [],
        black_list=list(reversed(rows[-RED_BLACK_SIZE:])) if show_red_black else [],
    )


def period_results(session: Session, period_code: str, village_code: str | None = None) -> tuple[pa.Table, pa.Table]:
    """A period's results for one village or for the whole county (``hygiene results``)."""
    periods.parse_period_code(period_code)
    if village_code is not None:
        village = session.scalar(sa.select(Village).where(Village.code == village_code))
        if village is None:
            raise NotFound(f"找不到编码为 {village_code} 的村")
        period = periods.get_period(session, village.township.county_id, period_code)
        return rating.results(session, period, [village.id])
    matching = list(session.scalars(sa.select(Period).where(Period.code == period_code)))
    if not matching:
        raise NotFound(f"季度 {period_code} 不存在")
    if len(matching) > 1:
        raise ServiceError(f"有{len(matching)}个县都有季度 {period_code}：请用 --village 指定村")
    period = matching[0]
    village_ids = list(
        session.scalars(sa.select(Village.id).join(Township).where(Township.county_id == period.county_id))
    )
    return rating.results(session, period, village_ids)
