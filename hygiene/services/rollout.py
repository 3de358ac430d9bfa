"""The rollout plan (定目标, RULES.md §1 and §9): the yearly shares of the county's households to
bring in ("2332"), the year each village joins the programme, and planned against actual coverage.

A village's programme year decides from which period on it is opened for rating
(``counties.open_period``); once a village has been opened, it cannot be taken out of the programme
or moved to a later year than its first period, whichever way the change comes (a unit sheet or
the administrator's page): its history would then contradict its plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.db import lock_county_settings
from hygiene.enums import WorkflowState
from hygiene.io.scores import parse_whole_number
from hygiene.models import (
    County,
    Group,
    Household,
    Period,
    ResultRecord,
    ResultRecordHousehold,
    RolloutPlanYear,
    Township,
    User,
    Village,
    VillagePeriod,
)
from hygiene.services import audit
from hygiene.services.errors import FieldErrors, check_unchanged, state_digest

DEFAULT_SHARES = (20, 30, 30, 20)  # "2332": percent of the county's households per year
MAX_PLAN_YEARS = 10
FIRST_YEAR, LAST_YEAR = 2000, 2100  # the years a plan or a village's programme year may name


def create_default_plan(session: Session, county: County, first_year: int) -> None:
    """The "2332" plan over four years from ``first_year`` (a new county's)."""
    session.add_all(
        RolloutPlanYear(county_id=county.id, year=first_year + i, share_percent=share)
        for i, share in enumerate(DEFAULT_SHARES)
    )
    session.flush()


def plan_of(session: Session, county: County) -> list[tuple[int, int]]:
    """(year, share percent) of the county's plan, by year."""
    return [
        (year, share)
        for year, share in session.execute(
            sa.select(RolloutPlanYear.year, RolloutPlanYear.share_percent)
            .where(RolloutPlanYear.county_id == county.id)
            .order_by(RolloutPlanYear.year)
        )
    ]


def plan_state(session: Session, county: County) -> str:
    """What the plan's page showed (`check_unchanged`)."""
    return state_digest(plan_of(session, county))


def set_plan(
    session: Session,
    actor: User | None,
    county: County,
    rows: Sequence[tuple[str, str]],
    shown_state: str | None = None,
) -> bool:
    """Replace the plan by ``rows`` of (year, share percent) as typed; wholly blank rows are skipped.
    The years follow one another and the shares add up to 100%; every bad row is named (key
    ``row{i}``, or ``plan`` for the whole), and nothing changes. Returns whether anything changed.
    A page passes the `plan_state` it showed: a save over someone else's is refused."""
    lock_county_settings(session, county.id)
    check_unchanged(shown_state, plan_of(session, county), "推进计划")
    errors: dict[str, str] = {}
    plan: list[tuple[int, int]] = []
    for i, (year_text, share_text) in enumerate(rows):
        if not year_text.strip() and not share_text.strip():
            continue
        try:
            year = parse_whole_number(year_text, FIRST_YEAR, LAST_YEAR)
            share = parse_whole_number(share_text, 0, 100)
        except ValueError as exc:
            errors[f"row{i}"] = f"第{i + 1}行 {year_text!r} 年 {share_text!r}%：{exc}"
            continue
        plan.append((year, share))
    if not errors:
        years = [year for year, _ in plan]
        if not plan:
            errors["plan"] = "推进计划至少要有一年"
        elif len(plan) > MAX_PLAN_YEARS:
            errors["plan"] = f"推进计划最多{MAX_PLAN_YEARS}年"
        elif years != list(range(years[0], years[0] + len(years))):
            errors["plan"] = f"年度须逐年连续、不重复：{'、'.join(map(str, years))}"
        elif (total := sum(share for _, share in plan)) != 100:
            errors["plan"] = f"各年比例合计须为100%，现为{total}%"
    if errors:
        raise FieldErrors(errors)
    before = plan_of(session, county)
    if before == plan:
        return False
    session.execute(sa.delete(RolloutPlanYear).where(RolloutPlanYear.county_id == county.id))
    session.add_all(RolloutPlanYear(county_id=county.id, year=y, share_percent=s) for y, s in plan)
    session.flush()
    audit.record(
        session,
        actor,
        entity="county",
        entity_id=county.id,
        county_id=county.id,
        action="rollout_plan",
        before={str(y): s for y, s in before},
        after={str(y): s for y, s in plan},
        reason="修改推进计划：" + "、".join(f"{y}年{s}%" for y, s in plan),
    )
    return True


def first_period_years(session: Session, village_ids: Sequence[int]) -> dict[int, int]:
    """The year of each village's first opened period, for the villages that have one."""
    rows = session.execute(
        sa.select(VillagePeriod.village_id, sa.func.min(Period.code))
        .join(Period, VillagePeriod.period_id == Period.id)
        .where(VillagePeriod.village_id.in_(village_ids))
        .group_by(VillagePeriod.village_id)
    )
    return {village_id: int(code[:4]) for village_id, code in rows}


def programme_year_problem(first_period_year: int | None, year: int | None) -> str | None:
    """Why a village whose first period falls in ``first_period_year`` cannot take ``year``."""
    if first_period_year is None:
        return None
    if year is None:
        return f"该村自{first_period_year}年起已参加评比，不能移出推进计划"
    if year > first_period_year:
        return f"该村自{first_period_year}年起已参加评比，纳入年度不能晚于{first_period_year}"
    return None


def programme_years_state(villages: Sequence[Village]) -> str:
    """What a township's programme-year page showed (`check_unchanged`)."""
    return state_digest({v.code: v.programme_year for v in villages})


def set_programme_years(
    session: Session, actor: User | None, county: County, years: Mapping[str, str], shown_state: str | None = None
) -> int:
    """Set the programme year of the county's villages named by code (year as typed; blank = not in
    the programme). All or nothing, every refused village named by its code; each change audited.
    Returns how many villages changed. A page passes the `programme_years_state` of the villages it
    showed: a save over someone else's is refused."""
    lock_county_settings(session, county.id)
    villages = {
        v.code: v
        for v in session.scalars(
            sa.select(Village).where(Village.county_id == county.id, Village.code.in_(list(years)))
        )
    }
    check_unchanged(shown_state, {v.code: v.programme_year for v in villages.values()}, "纳入年度")
    first = first_period_years(session, [v.id for v in villages.values()])
    errors: dict[str, str] = {}
    wanted: dict[str, int | None] = {}
    for code, text in years.items():
        village = villages.get(code)
        if village is None:
            errors[code] = f"本县没有村代码 {code}"
            continue
        try:
            year = parse_whole_number(text, FIRST_YEAR, LAST_YEAR) if text.strip() else None
        except ValueError as exc:
            errors[code] = f"{village.name}：{text!r} {exc}"
            continue
        if problem := programme_year_problem(first.get(village.id), year):
            errors[code] = f"{village.name}：{problem}"
        wanted[code] = year
    if errors:
        raise FieldErrors(errors)
    changed = 0
    for code, year in wanted.items():
        village = villages[code]
        if village.programme_year == year:
            continue
        audit.record(
            session, actor, entity="village", entity_id=village.id, county_id=village.county_id,
            action="programme_year",
            before={"programme_year": village.programme_year}, after={"programme_year": year},
            reason="县管理员调整纳入年度",
        )  # fmt: skip
        village.programme_year = year
        changed += 1
    session.flush()
    return changed


@dataclass(frozen=True)
class CoverageYear:
    """One year of the rollout plan (定目标, RULES.md §9) against what was rated."""

    year: int
    share_percent: int  # the plan's share of the county's households brought in this year
    planned_percent: int  # cumulative plan
    rated: int  # households rated at least once by the end of the year (published or final lists)
    households: int  # the county's households (not moved away)

    @property
    def coverage_permille(self) -> int:
        return self.rated * 1000 // self.households if self.households else 0

    @property
    def on_target(self) -> bool:
        """Cumulative coverage ≥ cumulative plan (RULES.md §9), compared exactly in integers."""
        return self.rated * 100 >= self.planned_percent * self.households


def coverage(session: Session, county: County, township: Township | None = None) -> list[CoverageYear]:
    """Planned against actual coverage per plan year, cumulative: households rated at least once
    (a grade in a published or final record of a period of that year or before) over all households."""
    plan = plan_of(session, county)
    in_scope = [Township.county_id == county.id] + ([Township.id == township.id] if township else [])
    households = (
        session.scalar(
            sa.select(sa.func.count(Household.id))
            .join(Group, Household.group_id == Group.id)
            .join(Village, Group.village_id == Village.id)
            .join(Township, Village.township_id == Township.id)
            .where(*in_scope, Household.moved_away_on.is_(None))
        )
        or 0
    )
    first_rated = dict(
        session.execute(
            sa.select(ResultRecordHousehold.household_id, sa.func.min(Period.code))
            .join(ResultRecordHousehold.record)
            .join(VillagePeriod, ResultRecord.village_period_id == VillagePeriod.id)
            .join(Period, VillagePeriod.period_id == Period.id)
            .join(Village, VillagePeriod.village_id == Village.id)
            .join(Township, Village.township_id == Township.id)
            .where(
                *in_scope,
                ResultRecordHousehold.grade.is_not(None),
                ResultRecord.superseded_at.is_(None),
                VillagePeriod.state.in_((WorkflowState.PUBLISHED, WorkflowState.FINAL)),
            )
            .group_by(ResultRecordHousehold.household_id)
        ).all()
    )
    years = []
    planned = 0
    for year, share in plan:
        planned = min(100, planned + share)
        rated = sum(1 for code in first_rated.values() if int(code[:4]) <= year)
        years.append(CoverageYear(year, share, planned, rated, households))
    return years
