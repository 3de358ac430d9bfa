"""The "5+X" benefits priority list (RULES.md §8) and the star lists by tier, for the offices that
grant loans, schooling, jobs, medical care, TV, broadband, electricity and project aid.

Five-plus households first, then by star count, then by household code. It names households and
marks the poor ones, so it is for county and township staff only: never on a public page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hygiene.enums import Role
from hygiene.io.exports import SheetSpec, xlsx_bytes
from hygiene.models import County, Township, User
from hygiene.services.awards import stars
from hygiene.services.awards.stars import Holding

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
SHEET_HEADER = ("优先序号", "户编号", "乡镇", "村", "户主", "星数", "5+X户", "十星级户", "星级档次", "脱贫户/低收入户")
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


def priority_list(session: Session, county: County, *, township: Township | None = None) -> list[Priority]:
    ordered = sorted(
        (h for h in stars.holdings(session, county, township=township) if h.count),  # a title alone is no star
        key=lambda h: (not h.five_plus, -h.count, h.household.code),
    )
    return [Priority(n, holding) for n, holding in enumerate(ordered, 1)]


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
        *[(f"{label}星户", header, body([h for h in holdings if h.tier == tier])) for tier, label in stars.TIERS],
    ]
    return xlsx_bytes(sheets, title=title)
