"""Looking up the administrative tree and summarising it for the dashboards."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, selectinload

from hygiene import naming
from hygiene.enums import EDITABLE_STATES, WorkflowState
from hygiene.models import (
    AuditEntry,
    County,
    Group,
    Household,
    HouseholdFormerCode,
    Period,
    Review,
    Township,
    User,
    Village,
    VillagePeriod,
)
from hygiene.services import audit
from hygiene.services.errors import Conflict, FieldErrors, NotFound, ServiceError
from hygiene.services.rating import rating
from hygiene.services.setup import periods

HEAD_NAME_LENGTH: int = Household.head_name.property.columns[0].type.length
HOUSEHOLD_FIELDS = ("code", "head_name", "members", "phone", "is_poor", "group_id", "moved_away_on")


def household_snapshot(household: Household, group: Group) -> dict[str, object]:
    """A household for the audit log, with its group's name beside the id so that the history
    reads "第一组 → 第三组"."""
    return audit.snapshot(household, HOUSEHOLD_FIELDS) | {"group": group.name}


def household_row_snapshot(row: Mapping[str, object], group_name: str) -> dict[str, object]:
    """``household_snapshot`` of a household written as a row (a bulk insert, no ORM object)."""
    return {f: row.get(f) for f in HOUSEHOLD_FIELDS} | {"group": group_name}


def get_county(session: Session, code: str) -> County:
    county = session.scalar(sa.select(County).where(County.code == code))
    if county is None:
        raise NotFound(f"找不到编码为 {code} 的县")
    return county


def get_township(session: Session, code: str) -> Township:
    township = session.scalar(sa.select(Township).where(Township.code == code))
    if township is None:
        raise NotFound(f"找不到编码为 {code} 的乡镇")
    return township


def get_village(session: Session, code: str) -> Village:
    village = session.scalar(sa.select(Village).where(Village.code == code))
    if village is None:
        raise NotFound(f"找不到编码为 {code} 的村")
    return village


def get_household(session: Session, village: Village, code: str) -> Household:
    """A household of this village; one of another village is "not found" (no probing)."""
    household = session.scalar(
        sa.select(Household).join(Group).where(Household.code == code, Group.village_id == village.id)
    )
    if household is None:
        raise NotFound(f"本村无此户号: {code}")
    return household


def counties(session: Session) -> list[County]:
    return list(
        session.scalars(
            sa.select(County)
            .options(selectinload(County.townships).selectinload(Township.villages))
            .order_by(County.code)
        )
    )


def county_villages(session: Session, county: County) -> list[Village]:
    """Every village of the county, by code, with its township loaded."""
    return list(
        session.scalars(
            sa.select(Village)
            .join(Township)
            .options(contains_eager(Village.township))
            .where(Township.county_id == county.id)
            .order_by(Village.code)
        )
    )


def county_periods(session: Session, county_id: int) -> list[Period]:
    return list(session.scalars(sa.select(Period).where(Period.county_id == county_id).order_by(Period.code.desc())))


def village_groups(session: Session, village: Village) -> list[Group]:
    return list(
        session.scalars(
            sa.select(Group)
            .where(Group.village_id == village.id)
            .options(selectinload(Group.households))
            .order_by(Group.code)
        )
    )


def get_group(session: Session, village: Village, code: str) -> Group:
    """A villager group of the village by its code; another village's is "not found"."""
    group = session.scalar(sa.select(Group).where(Group.village_id == village.id, Group.code == code))
    if group is None:
        raise NotFound(f"本村没有编码为 {code} 的村民组")
    return group


def village_periods(session: Session, village: Village) -> list[VillagePeriod]:
    return list(
        session.scalars(
            sa.select(VillagePeriod)
            .join(Period)
            .where(VillagePeriod.village_id == village.id)
            .options(selectinload(VillagePeriod.period))
            .order_by(Period.code.desc())
        )
    )


def county_state_matrix(session: Session, county: County, period: Period) -> dict[int, Counter[WorkflowState]]:
    """Per township id, how many of its villages are in each workflow state this period."""
    rows = session.execute(
        sa.select(Village.township_id, VillagePeriod.state)
        .join(VillagePeriod.village)
        .join(Township)
        .where(Township.county_id == county.id, VillagePeriod.period_id == period.id)
    )
    matrix: dict[int, Counter[WorkflowState]] = {}
    for township_id, state in rows:
        matrix.setdefault(township_id, Counter())[state] += 1
    return matrix


def _group_of_village(session: Session, village: Village, group_id: int) -> Group:
    group = session.get(Group, group_id)
    if group is None or group.village_id != village.id:
        raise ServiceError("所选村民组不属于本村")
    return group


def _check_not_reviewed_after(session: Session, household: Household, moved_away_on: dt.date) -> None:
    """A household that reviewed or was reviewed in a quarter was living there during it: it cannot
    have moved away before that quarter began (its reviews would be orphaned, RULES.md §4)."""
    reviewed_in = session.scalar(
        sa.select(Period.code)
        .join(Review, Review.period_id == Period.id)
        .where(
            Review.county_id == household.county_id,
            sa.or_(Review.household_id == household.id, Review.reviewer_household_id == household.id),
            Period.starts_on > moved_away_on,
        )
        .order_by(Period.starts_on.desc())
        .limit(1)
    )
    if reviewed_in is not None:
        raise ServiceError(f"该户在 {reviewed_in} 已有评议记录，迁出日期不能早于该季度开始")


def first_period_of_new_household(session: Session, village: Village) -> str | None:
    """The first period a household added now counts in (RULES.md §4: H is the households
    registered for the period): the county's latest period while the village can still enter it,
    else the one after; None before the county has any period (it then counts in every one).
    So a household added after a village submitted its quarter never changes that quarter's H."""
    return first_periods_of_new_households(session, [village])[village.id]


def first_periods_of_new_households(session: Session, villages: Iterable[Village]) -> dict[int, str | None]:
    """``first_period_of_new_household`` of each village, by id, in a query or two per county
    (a county-wide roster names hundreds of villages)."""
    by_county: dict[int, list[Village]] = {}
    for village in villages:
        by_county.setdefault(village.township.county_id, []).append(village)
    first: dict[int, str | None] = {}
    for county_villages in by_county.values():
        try:
            latest = periods.county_latest_period(session, county_villages[0].township.county)
        except NotFound:
            first.update((v.id, None) for v in county_villages)
            continue
        states = {
            village_id: state
            for village_id, state in session.execute(
                sa.select(VillagePeriod.village_id, VillagePeriod.state).where(
                    VillagePeriod.period_id == latest.id,
                    VillagePeriod.village_id.in_([v.id for v in county_villages]),
                )
            )
        }
        after = rating.next_period_code(latest.code)  # the village has moved past the latest period
        for v in county_villages:
            state = states.get(v.id)
            first[v.id] = latest.code if state is None or state in EDITABLE_STATES else after
    return first


def _check_household(head_name: str, code: str | None = None, phone: str | None = None) -> None:
    """The code, name and phone rules of hygiene.naming, as the form and every import apply them."""
    errors = {}
    if code is not None and (reason := naming.household_code_problem(code)):
        errors["code"] = reason
    if reason := naming.name_problem(head_name, HEAD_NAME_LENGTH, "户主姓名"):
        errors["head_name"] = reason
    if phone and (reason := naming.phone_problem(phone)):
        errors["phone"] = reason
    if errors:
        raise FieldErrors(errors)


def add_household(
    session: Session,
    village: Village,
    *,
    actor: User | None,
    code: str,
    head_name: str,
    members: int,
    group_id: int,
    phone: str | None,
    is_poor: bool,
) -> Household:
    group = _group_of_village(session, village, group_id)
    county_id = village.township.county_id
    code, head_name = code.strip(), naming.clean(head_name)
    _check_household(head_name, code, phone)
    if session.scalar(sa.select(Household.id).where(Household.county_id == county_id, Household.code == code)):
        raise ServiceError(f"户编号 {code} 已存在（户编号在全县唯一）")
    former = sa.select(HouseholdFormerCode.id).where(
        HouseholdFormerCode.county_id == county_id, HouseholdFormerCode.code == code
    )
    if session.scalar(former.limit(1)) is not None:  # issue 30: a former code is never given again
        raise ServiceError(f"户编号 {code} 是一户的原户编号（已更正或迁移），不能再分配")
    household = Household(
        county_id=county_id,
        group_id=group.id,
        code=code,
        head_name=head_name,
        members=members,
        phone=phone or None,
        is_poor=is_poor,
        registered_from=first_period_of_new_household(session, village),
    )
    session.add(household)
    session.flush()
    audit.record(session, actor, household, action="create", after=household_snapshot(household, group))
    return household


def update_household(
    session: Session,
    village: Village,
    household: Household,
    *,
    actor: User | None,
    expected_version: int,
    head_name: str,
    members: int,
    group_id: int,
    phone: str | None,
    is_poor: bool,
    moved_away_on: dt.date | None,
    reason: str,
) -> Household:
    """Edit a household, or move it to another group of the village, or mark it moved away. The
    form carries the version it was read at: a stale one is refused, never silently overwritten."""
    if household.version != expected_version:
        raise Conflict()
    head_name = naming.clean(head_name)
    _check_household(head_name, phone=phone)
    group = _group_of_village(session, village, group_id)
    if moved_away_on is not None:
        _check_not_reviewed_after(session, household, moved_away_on)
    before = household_snapshot(household, household.group)
    household.head_name = head_name
    household.members = members
    household.group_id = group.id
    household.phone = phone or None
    household.is_poor = is_poor
    household.moved_away_on = moved_away_on
    after = household_snapshot(household, group)
    if after == before:
        return household
    session.flush()
    audit.record(session, actor, household, action="update", before=before, after=after, reason=reason)
    return household


def reviewer_names(session: Session, history: Iterable[AuditEntry]) -> dict[int, str]:
    """ "code name" of the reviewer households a household's history mentions, by id, so that the
    history names them (the audit log keeps ids)."""
    ids = {snapshot.get("reviewer_household_id") for e in history for snapshot in (e.before or {}, e.after or {})}
    wanted = {i for i in ids if isinstance(i, int)}
    if not wanted:
        return {}
    rows = session.execute(sa.select(Household.id, Household.code, Household.head_name).where(Household.id.in_(wanted)))
    return {id_: f"{code} {name}" for id_, code, name in rows}
