"""The "5+X" benefits priority list (RULES.md §8) and the star lists by tier, for the offices that
grant loans, schooling, jobs, medical care, TV, broadband, electricity and project aid.

Five-plus households first, then by star count, then by household code. It names households and
marks the poor ones, so it is for county and township staff only: never on a public page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import Role
from hygiene.io.exports import SheetSpec, xlsx_bytes
from hygiene.models import County, Group, Household, Township, User
from hygiene.services import audit
from hygiene.services.awards import holdings, stars
from hygiene.services.awards.holdings import TIERS, Holding
from hygiene.services.errors import FieldErrors, PermissionDenied, ServiceError

CSV_HEADER = (
    "priority",
    "household_code",
    "village_code",
    "head_name",
    "stars",
    "five_plus",
    "ten_star",
    "tier",
    "poor",
)
SHEET_HEADER = (
    "优先序号", "户编号", "乡镇", "村", "户主", "星数", "5+X户", "十星级户", "星级档次", "脱贫户/低收入户",
    "有产业发展意愿",
)  # fmt: skip
REASON_MAX = 200
STARS_HEADER = (
    "household_code",
    "village_code",
    "stars",
    "star_codes",
    "hygiene_star",
    "five_plus",
    "ten_star",
    "tier",
)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def can_view(user: User, county: County, township: Township | None = None) -> bool:
    """The county's administrator sees the county's list; a township's reviewer its township's."""
    if user.role is Role.COUNTY_ADMIN:
        return user.county_id == county.id and (township is None or township.county_id == county.id)
    return user.role is Role.TOWNSHIP_REVIEWER and township is not None and user.township_id == township.id


@dataclass(frozen=True)
class Priority:
    priority: int
    holding: Holding


@dataclass(frozen=True)
class PriorityPage:
    """One page of the list (``PER_PAGE`` rows), numbered as in the whole list."""

    rows: list[Priority]
    total: int
    page: int
    pages: int


PER_PAGE = 100


def _ordered(session: Session, county: County, township: Township | None) -> tuple[sa.Select[Any], holdings.Catalogue]:
    """The list's query, ordered in the database: five-plus first, then star count (most first),
    then household code (codepoint order, as Python sorts: the C collation on PostgreSQL). A
    household holding only titles holds no star and is not on it."""
    cat = stars.catalogue_bits(session, county.id)
    within = None if township is None else holdings.scoped(sa.select(Household.id).join(Group), township=township)
    tally = holdings.tallies(county.id, cat, within)
    held, base = tally.c.held, tally.c.base
    five_plus = sa.and_(base == cat.base_bits.bit_count(), held > base)
    code = _code(session)
    query = holdings.household_columns(tally).where(Household.county_id == county.id, held > 0)
    query = holdings.scoped(query, township=township)
    return query.order_by(sa.case((five_plus, 0), else_=1), held.desc(), code), cat


def _code(session: Session) -> Any:
    """The household code to order by as Python sorts it (codepoints: the C collation on PostgreSQL)."""
    return Household.code.collate("C") if session.get_bind().dialect.name == "postgresql" else Household.code


def priority_list(session: Session, county: County, *, township: Township | None = None) -> list[Priority]:
    """The whole list (the workbook and the command): column reads, one row per household."""
    query, cat = _ordered(session, county, township)
    rows = holdings.holding_rows(session, query, cat)
    return [Priority(n, holding) for n, holding in enumerate(rows, 1)]


def priority_page(session: Session, county: County, page: int, *, township: Township | None = None) -> PriorityPage:
    """One page of the list; a page past the last is the last."""
    query, cat = _ordered(session, county, township)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), pages)
    offset = (page - 1) * PER_PAGE
    rows = holdings.holding_rows(session, query.offset(offset).limit(PER_PAGE), cat)
    return PriorityPage([Priority(offset + n, h) for n, h in enumerate(rows, 1)], total, page, pages)


# --- industry support: the households that wish to develop (RULES.md §8) ----------------------------


def can_mark(user: User, household: Household) -> bool:
    """The county administrator marks any household of the county; a township reviewer its own."""
    if user.role is Role.COUNTY_ADMIN:
        return user.county_id == household.county_id
    if user.role is not Role.TOWNSHIP_REVIEWER:
        return False
    return user.township_id == household.group.village.township_id


def mark_industry_wish(session: Session, actor: User | None, household: Household, *, wish: bool, reason: str) -> None:
    """Mark (or unmark) a household as having the ability and wish to develop industry, with the
    reason; audited on the household."""
    if actor is not None and not can_mark(actor, household):
        raise PermissionDenied("只有县里或所属乡镇可以标记产业发展意愿")
    reason = reason.strip()
    if not reason:
        raise FieldErrors({"reason": "必须填写原因"})
    if len(reason) > REASON_MAX:
        raise FieldErrors({"reason": f"原因最长{REASON_MAX}字"})
    if household.industry_wish == wish:
        raise ServiceError(f"户 {household.code} {'已' if wish else '未'}标记为有产业发展意愿")
    before = audit.snapshot(household, ("industry_wish", "industry_wish_reason"))
    household.industry_wish, household.industry_wish_reason = wish, reason
    session.flush()
    after = audit.snapshot(household, ("industry_wish", "industry_wish_reason"))
    audit.record(session, actor, household, action="industry_wish", before=before, after=after, reason=reason)


def industry_candidates(session: Session, county: County, *, township: Township | None = None) -> list[Holding]:
    """The ten-star households (industry support goes only to them): those marked with the wish to
    develop first, poor households first among them, then by household code."""
    cat = stars.catalogue_bits(session, county.id)
    within = None if township is None else holdings.scoped(sa.select(Household.id).join(Group), township=township)
    tally = holdings.tallies(county.id, cat, within)
    query = holdings.household_columns(tally).where(
        Household.county_id == county.id, tally.c.held == cat.star_bits.bit_count()
    )
    query = holdings.scoped(query, township=township).order_by(
        Household.industry_wish.desc(), Household.is_poor.desc(), _code(session)
    )
    return holdings.holding_rows(session, query, cat)


def csv_rows(rows: Sequence[Priority]) -> list[tuple[str, ...]]:
    return [
        (
            str(p.priority),
            p.holding.household.code,
            p.holding.village.code,
            p.holding.household.head_name,
            str(p.holding.count),
            _yes(p.holding.five_plus),
            _yes(p.holding.ten_star),
            p.holding.tier,
            _yes(p.holding.household.is_poor),
        )
        for p in rows
    ]


def priority_xlsx(rows: Sequence[Priority], title: str) -> bytes:
    """The list as a workbook (poor households marked), one row per household in priority order."""
    body = [
        (
            p.priority,
            p.holding.household.code,
            p.holding.township.name,
            p.holding.village.name,
            p.holding.household.head_name,
            p.holding.count,
            "是" if p.holding.five_plus else "",
            "是" if p.holding.ten_star else "",
            p.holding.tier_label,
            "是" if p.holding.household.is_poor else "",
            "是" if p.holding.household.industry_wish else "",
        )
        for p in rows
    ]
    return xlsx_bytes([("惠民政策优先名单", SHEET_HEADER, body)], title=title)


def stars_csv_rows(holdings: Sequence[Holding]) -> list[tuple[str, ...]]:
    return [
        (
            h.household.code,
            h.village.code,
            str(h.count),
            h.codes(),
            _yes(h.hygiene),
            _yes(h.five_plus),
            _yes(h.ten_star),
            h.tier,
        )
        for h in holdings
    ]


def tier_lists_xlsx(holdings: Sequence[Holding], title: str) -> bytes:
    """Five-plus and ten-star households and each tier, one sheet each."""
    header = ("户编号", "乡镇", "村", "户主", "星数", "所持星级", "星级档次")

    def body(selected: Sequence[Holding]) -> list[tuple[object, ...]]:
        return [
            (
                h.household.code,
                h.township.name,
                h.village.name,
                h.household.head_name,
                h.count,
                "、".join(s.name for s in h.stars),
                h.tier_label,
            )
            for h in selected
        ]

    sheets: list[SheetSpec] = [
        ("5+X户", header, body([h for h in holdings if h.five_plus])),
        ("十星级文明户", header, body([h for h in holdings if h.ten_star])),
        *[(f"{label}星户", header, body([h for h in holdings if h.tier == tier])) for tier, label in TIERS],
    ]
    return xlsx_bytes(sheets, title=title)
