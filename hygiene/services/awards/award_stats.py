"""The county's figures in the terms of its own bulletin (RULES.md §8; seed 004 reports Hezhang's
5,519 / 3,007 / 8,962 and 686.5万元 of goods): households as of today, money for the year."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import AwardLevel, LedgerKind, PlaqueState
from hygiene.io.scores import format_yuan
from hygiene.models import County, Plaque
from hygiene.services.awards import holdings, ledger, stars

CSV_HEADER = (
    "county_code",
    "year",
    "five_star_or_more",
    "civilized_hygiene_households",
    "hygiene_stars",
    "ten_star",
    "goods_value_yuan",
    "industry_support_yuan",
    "budget_yuan",
)


@dataclass(frozen=True)
class BulletinFigures:
    county_code: str
    year: int
    five_star_or_more: int  # 5星级及以上"文明户": households holding at least five stars
    civilized_hygiene_households: int  # 文明卫生户: a valid plaque of the cleanest level
    hygiene_stars: int  # 卫生星: households holding the hygiene star
    five_plus: int
    ten_star: int
    goods_fen: int
    industry_support_fen: int
    budget_fen: int

    def csv_row(self) -> tuple[str, ...]:
        return (
            self.county_code,
            str(self.year),
            str(self.five_star_or_more),
            str(self.civilized_hygiene_households),
            str(self.hygiene_stars),
            str(self.ten_star),
            format_yuan(self.goods_fen),
            format_yuan(self.industry_support_fen),
            format_yuan(self.budget_fen),
        )


def star_counts(session: Session, county: County) -> tuple[int, int, int, int]:
    """Households holding at least five stars, the hygiene star, five-plus, ten-star: counted in the
    database over each household's tally (no row per household leaves it)."""
    cat = stars.catalogue_bits(session, county.id)
    tally = holdings.tallies(county.id, cat)
    bases, all_stars = cat.base_bits.bit_count(), cat.star_bits.bit_count()

    def households(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    five, hygiene, five_plus, ten = session.execute(
        sa.select(
            households(tally.c.held >= 5),
            households(tally.c.hygiene > 0),
            households(sa.and_(tally.c.base == bases, tally.c.held > tally.c.base)),
            households(tally.c.held == all_stars),
        ).select_from(tally)
    ).one()
    return int(five), int(hygiene), int(five_plus), int(ten)


def figures(session: Session, county: County, year: int) -> BulletinFigures:
    five, hygiene, five_plus, ten = star_counts(session, county)
    cleanest = session.execute(
        sa.select(sa.func.count(sa.distinct(Plaque.household_id))).where(
            Plaque.county_id == county.id, Plaque.state == PlaqueState.VALID, Plaque.level == AwardLevel.CLEANEST
        )
    ).scalar_one()
    money = {kind: 0 for kind in LedgerKind}
    for row in ledger.entries(session, county, year):
        money[row.entry.kind] += row.entry.value_fen
    return BulletinFigures(
        county_code=county.code,
        year=year,
        five_star_or_more=five,
        civilized_hygiene_households=cleanest,
        hygiene_stars=hygiene,
        five_plus=five_plus,
        ten_star=ten,
        goods_fen=money[LedgerKind.AWARD_GOODS],
        industry_support_fen=money[LedgerKind.INDUSTRY_SUPPORT],
        budget_fen=ledger.budget_fen(session, county, year),
    )
