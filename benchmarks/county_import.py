"""Benchmark: a whole county from nothing, as its administrator would start it (issue 16). Hezhang
has 30 townships, 467 villages and about 198,500 households.

It creates the county, imports its unit sheet (one row per villager group) and then its county-wide
household roster, each through the same services as ``hygiene import units`` / ``hygiene import
roster`` (read the bytes, check every row, write in one transaction), then opens a period for every
village. It prints the time of each step, rows per second and peak memory.

    .venv/bin/python benchmarks/county_import.py [--households 198500] [--database-url URL]

Without ``--database-url`` a temporary SQLite file is used. A PostgreSQL URL must name an empty
database that may be overwritten (its schema is dropped first).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa

from hygiene import migrate
from hygiene.db import make_engine, make_sessionmaker, redact_url
from hygiene.services.setup import counties, roster_imports, unit_sheet

T = TypeVar("T")
TOWNSHIPS, VILLAGES = 30, 467
COUNTY = "520527"


def timed(label: str, rows: int, step: Callable[[], T]) -> T:
    print(f"{label} …", end="", flush=True, file=sys.stderr)
    start, cpu = time.perf_counter(), time.process_time()
    result = step()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    # This process's CPU time beside the wall time: on a shared machine the wall time includes
    # waiting for a core (and, on PostgreSQL, the server's own work).
    print(
        f"\r{label}: {seconds:.1f} s, {rows / seconds:,.0f} rows/s (CPU {cpu:.1f} s in this process, "
        f"load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return result


def sheets(households: int) -> tuple[bytes, bytes, int]:
    """The unit sheet and the roster of a county of this size, as CSV (the format is not what is timed)."""
    rng = random.Random(2017)
    units, roster = io.StringIO(), io.StringIO()
    unit_writer, roster_writer = csv.writer(units), csv.writer(roster)
    unit_writer.writerow(["乡镇代码", "乡镇", "村代码", "村", "村民组代码", "村民组", "纳入年度"])
    roster_writer.writerow(["乡镇", "村", "村民组", "户编号", "户主姓名", "人口"])
    per_village = households // VILLAGES
    groups = 0
    for v in range(VILLAGES):
        township = f"{COUNTY}{v % TOWNSHIPS + 1:02d}"
        village = f"{township}{v // TOWNSHIPS + 1:02d}"
        n_groups = rng.randint(6, 10)
        for g in range(1, n_groups + 1):
            unit_writer.writerow(
                [township, f"第{v % TOWNSHIPS + 1}镇", village, f"村{v}", f"{village}{g:02d}", f"第{g}组", 2027]
            )
        groups += n_groups
        count = per_village + (1 if v < households % VILLAGES else 0)
        for h in range(count):
            roster_writer.writerow(
                [township, village, f"第{h % n_groups + 1}组", f"{village}{h:05d}", "张三", rng.randint(1, 7)]
            )
    return units.getvalue().encode(), roster.getvalue().encode(), groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=198_500)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'county.sqlite3'}"
        engine = make_engine(url)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        migrate.upgrade(engine)
        units_csv, roster_csv, groups = sheets(args.households)
        size = f"{TOWNSHIPS} townships, {VILLAGES} villages, {groups} groups, {args.households:,} households"
        print(f"{redact_url(url)}: {size}")
        maker = make_sessionmaker(engine, write=True)

        def create_and_import_units() -> int:
            with maker.begin() as session:
                county = counties.create_county(session, None, COUNTY, "赫章县")
                plan = unit_sheet.plan(session, None, county, unit_sheet.read(units_csv, "单位表.csv"))
                return unit_sheet.apply(session, None, plan, file_name="单位表.csv")

        def import_roster() -> int:
            with maker.begin() as session:
                villages = roster_imports.every_village(session)
                plan = roster_imports.plan_roster_upload(session, None, villages, roster_csv, "花名册.csv")
                return roster_imports.apply_roster_import(session, None, plan, file_name="花名册.csv")

        def open_period() -> int:
            with maker.begin() as session:
                county = session.scalars(sa.select(counties.County).where(counties.County.code == COUNTY)).one()
                return counties.open_period(session, None, county, "2027Q1").village_periods

        timed("unit sheet (create county, check, write)", groups, create_and_import_units)
        timed("county-wide roster (check, write)", args.households, import_roster)
        timed("the same roster again (0 changes)", args.households, import_roster)
        timed("open 2027Q1 for every village", VILLAGES, open_period)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory: {peak:,.0f} MiB")
        engine.dispose()


if __name__ == "__main__":
    main()
