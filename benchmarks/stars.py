"""Benchmark: the star reads of a whole county (issue 29): ``stars.holdings`` (every household
holding a star, with its tier, five-plus and ten-star), ``benefits.priority_list`` and
``award_stats.figures``, which the county's statistics page, the benefits page and ``hygiene
stats`` run; and one grant with the household's holding read back (the village clerk's tap).

It makes a county of ``--households`` households (Hezhang: about 150,000) in a fresh SQLite file
(or on ``DATABASE_URL``'s empty database), 70 % of them holding 1-10 stars, and prints the median
of ``--runs`` runs of each read.

    .venv/bin/python benchmarks/stars.py --households 150000
    scripts/with-postgres.sh sh -c 'DATABASE_URL=$HYGIENE_TEST_POSTGRES_URL .venv/bin/python benchmarks/stars.py'
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from hygiene import migrate
from hygiene.db import make_engine, make_sessionmaker
from hygiene.models import Group, Household, HouseholdStar, Star, Township, Village
from hygiene.services.awards import award_stats, benefits, stars
from hygiene.services.setup import counties, units

GROUP_SIZE = 40
GROUPS_PER_VILLAGE = 8
VILLAGES_PER_TOWNSHIP = 12


def load(engine: sa.Engine, households: int, seed: int) -> None:
    rng = random.Random(seed)
    with make_sessionmaker(engine, write=True).begin() as session:
        county = counties.create_county(session, None, "529999", "测速县")
        catalogue = [s for s in stars.catalogue(session, county.id) if not s.is_hygiene]
        groups = -(-households // GROUP_SIZE)
        villages = -(-groups // GROUPS_PER_VILLAGE)
        townships = -(-villages // VILLAGES_PER_TOWNSHIP)
        session.execute(
            sa.insert(Township),
            [{"county_id": county.id, "code": f"529999{t:03d}", "name": f"镇{t}"} for t in range(townships)],
        )
        t_ids = list(
            session.scalars(sa.select(Township.id).where(Township.county_id == county.id).order_by(Township.id))
        )
        session.execute(
            sa.insert(Village),
            [
                {"county_id": county.id, "township_id": t_ids[v // VILLAGES_PER_TOWNSHIP], "code": f"V{v:07d}",
                 "name": f"村{v}", "programme_year": 2026}
                for v in range(villages)
            ],
        )  # fmt: skip
        v_ids = list(session.scalars(sa.select(Village.id).where(Village.county_id == county.id).order_by(Village.id)))
        session.execute(
            sa.insert(Group),
            [
                {
                    "county_id": county.id,
                    "village_id": v_ids[g // GROUPS_PER_VILLAGE],
                    "code": f"G{g:08d}",
                    "name": "组",
                }
                for g in range(groups)
            ],
        )
        g_ids = list(session.scalars(sa.select(Group.id).where(Group.county_id == county.id).order_by(Group.id)))
        session.execute(
            sa.insert(Household),
            [
                {"county_id": county.id, "group_id": g_ids[h // GROUP_SIZE], "code": f"H{h:09d}", "head_name": "张三",
                 "members": 3, "is_poor": rng.random() < 0.15}
                for h in range(households)
            ],
        )  # fmt: skip
        h_ids = list(session.scalars(sa.select(Household.id).where(Household.county_id == county.id)))
        rows = []
        for household_id in h_ids:
            if rng.random() < 0.7:
                for star in rng.sample(catalogue, rng.randint(1, len(catalogue))):
                    rows.append(
                        {"county_id": county.id, "household_id": household_id, "star_id": star.id,
                         "granted_on": dt.date(2026, 11, 1), "grant_reason": "评定"}
                    )  # fmt: skip
        for start in range(0, len(rows), 50_000):
            session.execute(sa.insert(HouseholdStar), rows[start : start + 50_000])
    print(f"loaded {households} households, {len(rows)} stars held")


def median(runs: int, action: Callable[[], object]) -> tuple[float, float]:
    """Median wall-clock and median CPU time of this process (the machine may be shared)."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=150_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=29)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(tempfile.mkdtemp()) / 'stars.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    start = time.perf_counter()
    load(engine, args.households, args.seed)
    print(f"load: {time.perf_counter() - start:.1f} s ({engine.dialect.name})")
    with make_sessionmaker(engine)() as session:
        county = units.get_county(session, "529999")
        held = stars.holdings(session, county)
        print(f"households holding a star: {len(held)}, five-plus: {sum(h.five_plus for h in held)}")
        for label, action in (
            ("stars.holdings (county)", lambda: stars.holdings(session, county)),
            ("benefits.priority_list (county)", lambda: benefits.priority_list(session, county)),
            ("benefits.priority_page (county, page 500)", lambda: benefits.priority_page(session, county, 500)),
            ("award_stats.figures (county, year)", lambda: award_stats.figures(session, county, 2026)),
        ):
            wall, cpu = median(args.runs, action)
            print(f"{label}: median {wall:.2f} s wall, {cpu:.2f} s CPU, of {args.runs}")
    maker = make_sessionmaker(engine, write=True)
    household_id = held[len(held) // 2].household.id

    def tap() -> None:
        with maker.begin() as session:
            household = session.get_one(Household, household_id)
            star = session.scalars(
                sa.select(Star).where(Star.code == "service", Star.county_id == household.county_id)
            ).one()
            if star in stars.holding_of(session, household).stars:
                stars.withdraw(session, None, household, star, reason="测速")
            else:
                stars.grant(session, None, household, star, reason="测速")
            stars.holding_of(session, household)

    wall, cpu = median(max(args.runs, 5), tap)
    print(
        f"one grant or withdrawal and the holding read back: median {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
