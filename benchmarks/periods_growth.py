"""Benchmark: does reading one quarter's reviews slow down as quarters accumulate? (issue 20,
docs/scaling.md "Partitioning by period")

On the county database of ``prefecture_db.py`` (200,000 households, one quarter, loaded if missing),
it adds quarters one after another, each with a copy of the first quarter's reviews (about 960,000
rows: ``INSERT … SELECT`` on the server, then ``VACUUM ANALYZE``), and after reaching 1, 2, 4 and 8
quarters (``--quarters``) measures, ``--runs`` times, reading the first quarter as ``hygiene
results`` does:

- ``rating.engine_inputs`` for the county's villages (the households, and the reviews by binary
  COPY), and
- ``results.period_results`` (the read and the engine),

and prints the size of ``reviews`` with its indexes. Partitioning ``reviews`` by period pays only if
the read grows with the quarters kept. The added quarters stay (rerun with ``--rebuild`` on
``prefecture_db.py`` for a one-quarter database again).

    scripts/with-postgres.sh .venv/bin/python benchmarks/periods_growth.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import sqlalchemy as sa
from prefecture_db import PERIOD, county_period, database_on_test_server, is_loaded, load, timed

from hygiene.db import make_engine, make_sessionmaker, parse_database_url
from hygiene.enums import CRITERIA
from hygiene.models import County, Period, Review
from hygiene.services.rating import rating, results
from hygiene.services.setup import counties
from scoring.bench import ensure_data

# The quarters added after PERIOD (2026Q4), in order: a county keeps adding them year after year.
LATER = ("2027Q1", "2027Q2", "2027Q3", "2027Q4", "2028Q1", "2028Q2", "2028Q3")
COPIED = ("household_id", "kind", "reviewer_household_id", "team_members", "updated_at", "version", *CRITERIA)


def quarters(engine: sa.Engine, county_id: int) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(Period.code).where(Period.county_id == county_id).order_by(Period.code)))


def add_quarter(engine: sa.Engine, county_id: int, code: str) -> None:
    """Open ``code`` for the county (the service) and copy the first quarter's reviews into it."""
    with make_sessionmaker(engine, write=True).begin() as session:
        county = session.get_one(County, county_id)
        period = counties.open_period(session, None, county, code).period
        first, _ = county_period(session, county_id)
        columns = ", ".join(COPIED)
        session.execute(
            sa.text(
                f"INSERT INTO reviews (county_id, period_id, {columns}) "  # noqa: S608 - our column names
                f"SELECT county_id, :period, {columns} FROM reviews WHERE period_id = :first"
            ),
            {"period": period.id, "first": first.id},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE reviews")


def measure(engine: sa.Engine, county_id: int, runs: int) -> tuple[list[float], list[float]]:
    reads, services = [], []
    for _ in range(runs):
        with make_sessionmaker(engine)() as session:
            period, village_ids = county_period(session, county_id)
            code = session.scalar(sa.select(County.code).where(County.id == county_id))
            read, _ = timed(lambda: rating.engine_inputs(session, period, village_ids))  # noqa: B023
            service, _ = timed(lambda: results.period_results(session, PERIOD, county_code=code))  # noqa: B023
        reads.append(read)
        services.append(service)
    return reads, services


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench_prefecture"))  # noqa: S108 - not the repo
    parser.add_argument("--quarters", type=int, nargs="*", default=[1, 2, 4, 8])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if max(args.quarters) > len(LATER) + 1:
        sys.exit(f"at most {len(LATER) + 1} quarters")
    url = parse_database_url(args.database_url) if args.database_url else database_on_test_server("bench_county")
    engine = make_engine(url)
    folder = args.data / "200000"
    if not is_loaded(engine, 200_000):
        ensure_data(200_000, folder, "parquet")
        print("loading the county (prefecture_db.load)", flush=True)
        load(engine, url, folder)
    with engine.connect() as conn:
        county_id = conn.scalar(sa.select(sa.func.min(County.id)))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; reading {PERIOD}, median of {args.runs}")
    print("quarters  reviews rows  reviews MiB  engine_inputs s (runs)       period_results s (runs)")
    for wanted in sorted(args.quarters):
        have = quarters(engine, county_id)
        if len(have) > wanted:
            print(f"{wanted:>8}  skipped: the database keeps {len(have)} quarters already")
            continue
        for code in LATER[: wanted - 1]:
            if code not in have:
                add_quarter(engine, county_id, code)
        with engine.connect() as conn:
            rows = conn.scalar(sa.select(sa.func.count()).select_from(Review))
            size = conn.scalar(sa.text("SELECT pg_total_relation_size('reviews')"))
        reads, services = measure(engine, county_id, args.runs)
        shown = ", ".join(f"{s:.2f}" for s in reads)
        shown_services = ", ".join(f"{s:.2f}" for s in services)
        print(
            f"{wanted:>8}  {rows:>12,}  {size / 2**20:>11,.0f}  {statistics.median(reads):>6.2f} ({shown})"
            f"  {statistics.median(services):>6.2f} ({shown_services})",
            flush=True,
        )


if __name__ == "__main__":
    main()
