"""The award ledger against the county's yearly budget (RULES.md §8).

Award goods go with a commendation; industry support only to ten-star households, at least 2000
yuan a grant. An entry that would take the year's spending above its budget is refused, as is every
entry of a batch when one is refused: nothing is written. The county's budget row of the year is
locked (``FOR UPDATE``) while an entry is checked and written, so two offices entering at once
cannot both spend the last of it. 缺什么奖什么: the goods suggested for a household awarded in a
final period come from the criteria it lost points on, through the county's editable mapping.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import naming
from hygiene.enums import CRITERIA, LedgerKind, Role, WorkflowState
from hygiene.io.scores import format_yuan
from hygiene.models import (
    AwardGoodsMapping,
    AwardLedgerEntry,
    County,
    CountyBudget,
    Group,
    Household,
    Period,
    ResultRecord,
    RubricCriterion,
    Township,
    User,
    Village,
    VillagePeriod,
)
from hygiene.models._types import beijing_today
from hygiene.services import audit
from hygiene.services.awards import stars
from hygiene.services.errors import FieldErrors, PermissionDenied, ServiceError
from hygiene.services.rating import records

INDUSTRY_SUPPORT_MIN_FEN = 2000 * 100
ITEM_MAX = 60
MAX_VALUE_FEN = 10_000_000 * 100


def can_enter(user: User, township: Township) -> bool:
    """The ledger is entered by the county administrator or the township's reviewer."""
    if user.role is Role.COUNTY_ADMIN:
        return user.county_id == township.county_id
    return user.role is Role.TOWNSHIP_REVIEWER and user.township_id == township.id


def budget_fen(session: Session, county: County, year: int) -> int:
    """The year's budget: the one recorded for it, else the county's setting."""
    found = session.scalar(
        sa.select(CountyBudget).where(CountyBudget.county_id == county.id, CountyBudget.year == year)
    )
    return found.amount_fen if found is not None else county.yearly_budget_fen


def spent_fen(session: Session, county: County, year: int) -> int:
    return session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(AwardLedgerEntry.value_fen), 0)).where(
            AwardLedgerEntry.county_id == county.id,
            AwardLedgerEntry.given_on >= dt.date(year, 1, 1),
            AwardLedgerEntry.given_on <= dt.date(year, 12, 31),
        )
    ).scalar_one()


def _lock_budget(session: Session, county: County, year: int) -> int:
    """Lock the year's budget row (made from the setting if the year has none) and return it."""
    found = session.scalar(
        sa.select(CountyBudget).where(CountyBudget.county_id == county.id, CountyBudget.year == year).with_for_update()
    )
    if found is None:
        found = CountyBudget(county_id=county.id, year=year, amount_fen=county.yearly_budget_fen)
        session.add(found)
        session.flush()
    return found.amount_fen


@dataclass(frozen=True)
class NewEntry:
    household: Household
    kind: LedgerKind
    item: str
    value_fen: int
    given_on: dt.date
    period: Period | None = None
    note: str = ""


def add(session: Session, actor: User | None, county: County, entry: NewEntry) -> AwardLedgerEntry:
    return add_many(session, actor, county, [entry])[0]


def add_many(
    session: Session, actor: User | None, county: County, entries: Sequence[NewEntry]
) -> list[AwardLedgerEntry]:
    """Write the entries, all or none: each is checked (item, value, date, industry support's floor
    and ten-star rule) and together against each year's remaining budget."""
    errors: dict[str, str] = {}
    townships: list[Township] = []
    for n, entry in enumerate(entries, 1):
        key = f"{n}" if len(entries) > 1 else "entry"
        household = entry.household
        township = session.get_one(Group, household.group_id).village.township
        townships.append(township)
        if household.county_id != county.id:
            errors[key] = f"户 {household.code} 不属于本县"
            continue
        if actor is not None and not can_enter(actor, township):
            raise PermissionDenied("只有县管理员或本乡镇审核员可以登记奖励")
        item = naming.clean(entry.item)
        if not item or len(item) > ITEM_MAX:
            errors[key] = f"户 {household.code}：物品或项目名称须为1–{ITEM_MAX}字"
        elif not 0 < entry.value_fen <= MAX_VALUE_FEN:
            errors[key] = f"户 {household.code}：金额须大于0元"
        elif entry.given_on > beijing_today():
            errors[key] = f"户 {household.code}：日期 {entry.given_on.isoformat()} 不能晚于今天"
        elif entry.kind is LedgerKind.INDUSTRY_SUPPORT:
            if entry.value_fen < INDUSTRY_SUPPORT_MIN_FEN:
                errors[key] = f"户 {household.code}：产业扶持每次不少于2000元（填写 {format_yuan(entry.value_fen)} 元）"
            elif not stars.holding_of(session, household).ten_star:
                errors[key] = f"户 {household.code} 不是十星级文明户，不能给予产业扶持"
    if errors:
        raise FieldErrors(errors)
    by_year: dict[int, int] = defaultdict(int)
    for entry in entries:
        by_year[entry.given_on.year] += entry.value_fen
    for year, total in sorted(by_year.items()):
        budget = _lock_budget(session, county, year)
        remaining = budget - spent_fen(session, county, year)
        if total > remaining:
            raise ServiceError(
                f"{year}年奖励预算剩余 {format_yuan(max(remaining, 0))} 元，"
                f"本次登记 {format_yuan(total)} 元超出预算，未登记"
            )
    written = []
    for entry, township in zip(entries, townships, strict=True):
        row = AwardLedgerEntry(
            county_id=county.id,
            township_id=township.id,
            household_id=entry.household.id,
            period_id=entry.period.id if entry.period is not None else None,
            kind=entry.kind,
            item=naming.clean(entry.item),
            value_fen=entry.value_fen,
            given_on=entry.given_on,
            note=entry.note.strip() or None,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor,
            entry.household,
            action="ledger_add",
            after=audit.snapshot(row, ("id", "kind", "item", "value_fen", "given_on", "period_id")),
            reason=row.note,
        )
        written.append(row)
    return written


@dataclass(frozen=True)
class LedgerRow:
    entry: AwardLedgerEntry
    township: Township
    village: Village | None
    household: Household | None


def entries(session: Session, county: County, year: int, *, township: Township | None = None) -> list[LedgerRow]:
    """The year's entries, by date then household code."""
    query = (
        sa.select(AwardLedgerEntry, Township, Village, Household)
        .join(Township, AwardLedgerEntry.township_id == Township.id)
        .outerjoin(Household, AwardLedgerEntry.household_id == Household.id)
        .outerjoin(Group, Household.group_id == Group.id)
        .outerjoin(Village, Group.village_id == Village.id)
        .where(
            AwardLedgerEntry.county_id == county.id,
            AwardLedgerEntry.given_on >= dt.date(year, 1, 1),
            AwardLedgerEntry.given_on <= dt.date(year, 12, 31),
        )
        .order_by(AwardLedgerEntry.given_on, Household.code, AwardLedgerEntry.id)
    )
    if township is not None:
        query = query.where(Township.id == township.id)
    return [LedgerRow(*row) for row in session.execute(query)]


CSV_HEADER = ("date", "township_code", "village_code", "household_code", "kind", "item", "value_yuan")


def csv_rows(rows: Sequence[LedgerRow]) -> list[tuple[str, ...]]:
    return [
        (
            r.entry.given_on.isoformat(),
            r.township.code,
            r.village.code if r.village else "",
            r.household.code if r.household else "",
            r.entry.kind.value,
            r.entry.item,
            format_yuan(r.entry.value_fen),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Spending:
    year: int
    budget_fen: int
    spent_fen: int
    by_township: list[tuple[Township, int]]
    by_item: list[tuple[str, int]]

    @property
    def remaining_fen(self) -> int:
        return self.budget_fen - self.spent_fen


def spending(session: Session, county: County, year: int) -> Spending:
    """The year's spending against its budget, by township (every township, in code order) and by
    item (largest first)."""
    rows = entries(session, county, year)
    by_township: dict[int, int] = defaultdict(int)
    by_item: dict[str, int] = defaultdict(int)
    for r in rows:
        by_township[r.township.id] += r.entry.value_fen
        by_item[r.entry.item] += r.entry.value_fen
    townships = session.scalars(sa.select(Township).where(Township.county_id == county.id).order_by(Township.code))
    return Spending(
        year=year,
        budget_fen=budget_fen(session, county, year),
        spent_fen=spent_fen(session, county, year),
        by_township=[(t, by_township.get(t.id, 0)) for t in townships],
        by_item=sorted(by_item.items(), key=lambda kv: (-kv[1], kv[0])),
    )


# --- 缺什么奖什么 ------------------------------------------------------------------------------------


def goods_mapping(session: Session, county: County) -> dict[str, AwardGoodsMapping]:
    stars.create_default_catalogue(session, county)
    return {
        m.criterion_code: m
        for m in session.scalars(sa.select(AwardGoodsMapping).where(AwardGoodsMapping.county_id == county.id))
    }


def save_goods_mapping(session: Session, actor: User | None, county: County, typed: dict[str, tuple[str, int]]) -> int:
    """Change the goods (item, value in fen) for the criteria named; audited; all or nothing."""
    if actor is not None and not (actor.role is Role.COUNTY_ADMIN and actor.county_id == county.id):
        raise PermissionDenied("只有县管理员可以修改奖励物资对照表")
    errors = {}
    for code, (item, fen) in typed.items():
        if code not in CRITERIA:
            errors[code] = f"没有评比项 {code}"
        elif not naming.clean(item) or len(naming.clean(item)) > ITEM_MAX:
            errors[code] = f"{code}：物品名称须为1–{ITEM_MAX}字"
        elif not 0 < fen <= MAX_VALUE_FEN:
            errors[code] = f"{code}：价值须大于0元"
    if errors:
        raise FieldErrors(errors)
    current = goods_mapping(session, county)
    changed = 0
    for code, (item, fen) in typed.items():
        mapping = current.get(code)
        if mapping is None:
            mapping = AwardGoodsMapping(county_id=county.id, criterion_code=code, item="", value_fen=fen)
            session.add(mapping)
        before: dict[str, object] = {"item": mapping.item, "value_fen": mapping.value_fen}
        after: dict[str, object] = {"item": naming.clean(item), "value_fen": fen}
        if before == after:
            continue
        mapping.item, mapping.value_fen = naming.clean(item), fen
        changed += 1
        audit.record(
            session,
            actor,
            county,
            action="goods_mapping",
            before={"criterion": code} | before,
            after={"criterion": code} | after,
        )
    session.flush()
    return changed


@dataclass(frozen=True)
class Suggestion:
    household_id: int
    household_code: str
    head_name: str
    award_label: str
    lost: list[str]  # the labels of the criteria it lost points on
    goods: list[AwardGoodsMapping]
    accepted: bool

    @property
    def value_fen(self) -> int:
        return sum(g.value_fen for g in self.goods)


def suggestions(session: Session, county: County, village: Village, period: Period) -> list[Suggestion]:
    """For each household awarded in the village's final period, the goods for the criteria it lost
    points on (group review scores below the criterion's maximum), and whether the ledger has them."""
    vp = session.scalar(
        sa.select(VillagePeriod).where(VillagePeriod.village_id == village.id, VillagePeriod.period_id == period.id)
    )
    if vp is None or vp.state is not WorkflowState.FINAL:
        return []
    record: ResultRecord | None = records.current_record(session, vp)
    if record is None:
        return []
    criteria = {
        c.code: c
        for c in session.scalars(
            sa.select(RubricCriterion).where(RubricCriterion.rubric_version_id == record.rubric_version_id)
        )
    }
    mapping = goods_mapping(session, county)
    given = {
        (household_id, item)
        for household_id, item in session.execute(
            sa.select(AwardLedgerEntry.household_id, AwardLedgerEntry.item).where(
                AwardLedgerEntry.county_id == county.id, AwardLedgerEntry.period_id == period.id
            )
        )
    }
    out = []
    for row in sorted(record.rows, key=lambda r: r.household_code):
        if row.award is None or row.group_scores is None:
            continue
        lost = [
            code for code, score in zip(CRITERIA, row.group_scores, strict=True) if score < criteria[code].max_tenths
        ]
        goods = [mapping[c] for c in lost if c in mapping]
        out.append(
            Suggestion(
                household_id=row.household_id,
                household_code=row.household_code,
                head_name=row.head_name,
                award_label=row.award.label,
                lost=[criteria[c].label for c in lost],
                goods=goods,
                accepted=bool(goods) and all((row.household_id, g.item) in given for g in goods),
            )
        )
    return out


def accept_suggestions(
    session: Session, actor: User | None, county: County, village: Village, period: Period, *, on: dt.date | None = None
) -> list[AwardLedgerEntry]:
    """The township accepts the village's suggestions into the ledger in one step (goods already in
    the ledger for the period are not entered twice); refused whole above the remaining budget."""
    if actor is not None and not can_enter(actor, village.township):
        raise PermissionDenied("只有县管理员或本乡镇审核员可以登记奖励")
    day = on or beijing_today()
    given = {
        (household_id, item)
        for household_id, item in session.execute(
            sa.select(AwardLedgerEntry.household_id, AwardLedgerEntry.item).where(
                AwardLedgerEntry.county_id == county.id, AwardLedgerEntry.period_id == period.id
            )
        )
    }
    new = [
        NewEntry(
            household=session.get_one(Household, s.household_id),
            kind=LedgerKind.AWARD_GOODS,
            item=goods.item,
            value_fen=goods.value_fen,
            given_on=day,
            period=period,
            note=f"{period.code}{s.award_label}，缺什么奖什么：{'、'.join(s.lost)}"[:200],
        )
        for s in suggestions(session, county, village, period)
        for goods in s.goods
        if (s.household_id, goods.item) not in given
    ]
    if not new:
        raise ServiceError(f"{village.name}{period.code}没有待登记的奖励物资")
    return add_many(session, actor, county, new)
