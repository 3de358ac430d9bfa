"""The read side of stars (RULES.md §8, issue 29): what each household holds, as column reads for
whole-county lists. The stars a household holds are summed per household in the database into a
bit mask over the county's catalogue (bit i: the catalogue's i-th entry); a ``Holding`` is that
mask with the household's few columns and its shared village and township, never ORM objects per
household (150,000 households a county: the lists read them all)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.models import Group, Household, HouseholdStar, Star, StarSettings, Township, Village

TIERS = (("gold", "金"), ("silver", "银"), ("bronze", "铜"))
TIER_LABELS = dict(TIERS)
__all__ = ["TIERS", "TIER_LABELS", "Catalogue", "Holding", "HouseholdRow", "Unit"]


@dataclass(frozen=True, slots=True)
class Unit:
    """A village or township as the star lists show it (read once per list, shared by its rows)."""

    id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class HouseholdRow:
    """The columns of a household the star lists need: no ORM object per household."""

    id: int
    code: str
    head_name: str
    is_poor: bool
    industry_wish: bool


@dataclass(frozen=True)
class Catalogue:
    """A county's catalogue and tiers, read once per list: each entry has a bit of a holding's mask."""

    entries: tuple[Star, ...]
    settings: StarSettings
    star_bits: int = 0
    base_bits: int = 0
    title_bits: int = 0
    hygiene_bits: int = 0

    def pick(self, mask: int) -> list[Star]:
        return [star for i, star in enumerate(self.entries) if mask >> i & 1]


@dataclass(frozen=True, slots=True)
class Holding:
    """What one household holds: its stars (in catalogue order), titles, and what follows. The
    stars are the bits of ``mask`` (bit i: the catalogue's i-th entry)."""

    household: HouseholdRow
    village: Unit
    township: Unit
    mask: int
    catalogue: Catalogue

    @property
    def stars(self) -> list[Star]:
        return self.catalogue.pick(self.mask & self.catalogue.star_bits)

    @property
    def titles(self) -> list[Star]:
        return self.catalogue.pick(self.mask & self.catalogue.title_bits)

    @property
    def missing(self) -> list[Star]:
        return self.catalogue.pick(~self.mask & self.catalogue.star_bits)

    @property
    def count(self) -> int:
        return (self.mask & self.catalogue.star_bits).bit_count()

    @property
    def hygiene(self) -> bool:
        return bool(self.mask & self.catalogue.hygiene_bits)

    @property
    def five_plus(self) -> bool:
        base = self.catalogue.base_bits
        return self.mask & base == base and bool(self.mask & self.catalogue.star_bits & ~base)

    @property
    def ten_star(self) -> bool:
        return self.mask & self.catalogue.star_bits == self.catalogue.star_bits

    @property
    def tier(self) -> str:
        return tier_of(self.count, self.catalogue.settings)

    @property
    def tier_label(self) -> str:
        return TIER_LABELS.get(self.tier, "")

    def codes(self) -> str:
        return ";".join(star.code for star in self.stars)


def tier_of(count: int, settings: StarSettings) -> str:
    for tier, minimum in (("gold", settings.gold_stars), ("silver", settings.silver_stars)):
        if count >= minimum:
            return tier
    return "bronze" if count >= settings.bronze_stars else ""


HOUSEHOLD_COLUMNS = (Household.id, Household.code, Household.head_name, Household.is_poor, Household.industry_wish)
MASK_BITS = 62  # bits of one summed mask column: a sum of distinct powers below 2**62 fits a BIGINT


def tallies(county_id: int, cat: Catalogue, within: sa.Select[Any] | None = None) -> sa.Subquery:
    """Per household holding anything: its catalogue bits (``mask0``, ``mask1``, ... of 62 bits
    each), how many stars (``held``) and base stars (``base``) it holds and whether the hygiene
    star (``hygiene``), summed in the database
    (a household holds a star at most once: ``uq_household_stars_active``). ``within`` (a select of
    household ids) sums only those households: one household's tap reads its own rows."""
    star = HouseholdStar.star_id
    ids = [s.id for s in cat.entries]
    columns: list[sa.ColumnElement[int]] = []
    for k in range(0, len(ids), MASK_BITS):
        bits = {s: 1 << (i - k) for i, s in enumerate(ids[k : k + MASK_BITS], k)}
        summed = sa.func.sum(sa.case(bits, value=star, else_=0))
        columns.append(sa.cast(summed, sa.BigInteger).label(f"mask{k // MASK_BITS}"))
    counted: tuple[tuple[str, Callable[[Star], bool]], ...] = (
        ("held", lambda s: not s.is_title),
        ("base", lambda s: s.is_base),
        ("hygiene", lambda s: s.is_hygiene),
    )
    for label, keep in counted:
        chosen = [s.id for s in cat.entries if keep(s)]
        columns.append(sa.func.sum(sa.case((star.in_(chosen), 1), else_=0)).label(label))
    query = sa.select(HouseholdStar.household_id, *columns).where(
        HouseholdStar.county_id == county_id, HouseholdStar.withdrawn_on.is_(None)
    )
    if within is not None:
        query = query.where(HouseholdStar.household_id.in_(within))
    return query.group_by(HouseholdStar.household_id).subquery("tallies")


def _units(session: Session, village_ids: set[int]) -> tuple[dict[int, Unit], dict[int, Unit]]:
    """The villages of the rows and their townships, one read: each village's ``Unit`` and its
    township's, shared by the village's rows."""
    query = (
        sa.select(Village.id, Village.code, Village.name, Township.id, Township.code, Township.name)
        .join(Township, Village.township_id == Township.id)
        .where(Village.id.in_(village_ids))
    )
    villages: dict[int, Unit] = {}
    township_of: dict[int, Unit] = {}
    townships: dict[int, Unit] = {}
    for v_id, v_code, v_name, t_id, t_code, t_name in session.execute(query):
        villages[v_id] = Unit(v_id, v_code, v_name)
        township_of[v_id] = townships.setdefault(t_id, Unit(t_id, t_code, t_name))
    return villages, township_of


def holding_rows(session: Session, query: sa.Select[Any], cat: Catalogue) -> list[Holding]:
    """The holdings of ``query``'s rows (``household_columns``: household id, code, head name, poor,
    industry wish, village id, then the tally's mask columns), in its order."""
    rows = session.execute(query).all()
    villages, township_of = _units(session, {row[5] for row in rows})
    out = []
    for row in rows:
        mask = sum(int(part or 0) << (k * MASK_BITS) for k, part in enumerate(row[6:]))
        household = HouseholdRow(row[0], row[1], row[2], row[3], row[4])
        out.append(Holding(household, villages[row[5]], township_of[row[5]], mask, cat))
    return out


def household_columns(tally: sa.Subquery) -> sa.Select[Any]:
    """The columns ``holding_rows`` reads, households joined to their tally (outer: none held)."""
    masks = [c for c in tally.c if c.name.startswith("mask")]
    return (
        sa.select(*HOUSEHOLD_COLUMNS, Group.village_id, *masks)
        .join(Group, Household.group_id == Group.id)
        .outerjoin(tally, tally.c.household_id == Household.id)
    )


def scoped(
    query: sa.Select[Any],
    *,
    township: Township | None = None,
    village: Village | None = None,
    households: Sequence[Household] | None = None,
) -> sa.Select[Any]:
    if township is not None:
        query = query.where(Group.village_id.in_(sa.select(Village.id).where(Village.township_id == township.id)))
    if village is not None:
        query = query.where(Group.village_id == village.id)
    if households is not None:
        query = query.where(Household.id.in_([h.id for h in households]))
    return query
