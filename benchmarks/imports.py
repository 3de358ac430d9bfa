"""Benchmark of the sheet imports a village clerk runs (issue 4: "importing 5,000 review rows takes a
few seconds").

It builds a fresh database with the demo county, adds one large village roster by importing it, then
imports 5,000 review rows (self, group and three peers for each of 1,000 households) as the clerk
would: as two sheets, because one upload is capped at 3,000 data rows (INTERCHANGE.md §2.1). Every
import goes through the same functions as the web page and ``hygiene import``: read the bytes, plan
(check every row), apply and commit in one transaction. Then it imports the same sheets again,
which must change nothing. It prints the time of each step, rows per second and peak memory.

    .venv/bin/python benchmarks/imports.py [--households 1000] [--database-url URL] [--format xlsx|csv]

Without ``--database-url`` a temporary SQLite file is used. A PostgreSQL URL must name an empty
database that may be overwritten (its schema is dropped first).
"""

from __future__ import annotations

import argparse
import csv
import io
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import openpyxl
import sqlalchemy as sa

from hygiene import migrate
from hygiene.db import make_engine, make_sessionmaker, parse_database_url, redact_url
from hygiene.enums import WorkflowState
from hygiene.io.sheets import MAX_DATA_ROWS
from hygiene.models import Period, Village, VillagePeriod
from hygiene.services import demo
from hygiene.services.rating import review_imports
from hygiene.services.setup import roster_imports

T = TypeVar("T")
PEERS_PER_HOUSEHOLD = 3
GROUPS = 10
ROSTER_HEADER = ["乡镇", "村", "村民组", "户编号", "户主姓名", "人口", "联系电话", "是否脱贫户/低收入户"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "德明华国英秀兰建平志军永福贵芳光荣富强"


def sheet_bytes(header: list[str], rows: list[list[str]], file_format: str) -> bytes:
    if file_format == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(rows)
        return text.getvalue().encode("utf-8-sig")
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Sheet1")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def timed(label: str, rows: int, action: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    rate = f"{rows / seconds:>10,.0f} rows/s" if seconds else ""
    print(f"  {label:<34} {seconds:7.3f} s {rate}", flush=True)
    return result


@contextmanager
def database(url: str | None) -> Iterator[sa.Engine]:
    with tempfile.TemporaryDirectory() as folder:
        raw = url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        engine = make_engine(parse_database_url(raw))
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        migrate.upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def import_sheet(engine: sa.Engine, kind: str, village_code: str, data: bytes, name: str, rows: int) -> int:
    """One import as the page's confirm step runs it: plan, apply, commit; each step timed."""
    sessionmaker = make_sessionmaker(engine)
    with sessionmaker() as session:
        village = session.scalars(sa.select(Village).where(Village.code == village_code)).one()
        if kind == "roster":
            plan = timed(
                f"{name}: read + check",
                rows,
                lambda: roster_imports.plan_roster_upload(session, None, [village], data, name),
            )
            changed = timed(
                f"{name}: write", rows, lambda: roster_imports.apply_roster_import(session, None, plan, file_name=name)
            )
        else:
            period = session.scalars(sa.select(Period).where(Period.code == "2026Q4")).one()
            plan_r = timed(
                f"{name}: read + check",
                rows,
                lambda: review_imports.plan_review_upload(session, None, village, period, data, name),
            )
            changed = timed(
                f"{name}: write",
                rows,
                lambda: review_imports.apply_review_import(session, None, plan_r, file_name=name),
            )
        timed(f"{name}: commit", rows, session.commit)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1000, help="households in the benchmark village")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--format", dest="file_format", choices=["xlsx", "csv"], default="xlsx")
    args = parser.parse_args(argv)
    if args.households > MAX_DATA_ROWS:
        parser.error(f"--households at most {MAX_DATA_ROWS} (one roster upload)")

    with database(args.database_url) as engine:
        print(f"database: {redact_url(engine.url)}; sheets: .{args.file_format}", flush=True)
        with make_sessionmaker(engine).begin() as session:
            timed("demo county", 0, lambda: demo.load_demo(session))
            village_period = session.scalars(
                sa.select(VillagePeriod)
                .join(Period)
                .where(Period.code == "2026Q4", VillagePeriod.state == WorkflowState.DRAFT)
                .order_by(VillagePeriod.id)
            ).first()
            assert village_period is not None, "the demo has a village in draft for 2026Q4"
            village = village_period.village
            village_code, township_name, village_name = village.code, village.township.name, village.name

        households = [
            (
                f"第{i % GROUPS + 1}组(新)",
                f"{village_code}9{i:04d}",
                SURNAMES[i % 20] + GIVEN[i % 19] + GIVEN[(i * 7) % 19],
            )
            for i in range(args.households)
        ]
        roster_rows = [[township_name, village_name, g, code, name, "4", "", "否"] for g, code, name in households]
        roster = sheet_bytes(ROSTER_HEADER, roster_rows, args.file_format)
        print(f"roster: {len(roster_rows)} households, {len(roster) / 1024:.0f} KiB", flush=True)
        import_sheet(engine, "roster", village_code, roster, f"roster.{args.file_format}", len(roster_rows))

        by_group: dict[str, list[str]] = {}
        for group, code, _ in households:
            by_group.setdefault(group, []).append(code)
        review_rows: list[list[str]] = []
        for group, code, _ in households:
            scores = [str(8 + (int(code[-1]) + c) % 3) for c in range(10)]
            review_rows.append([code, "自评", "", *scores])
            review_rows.append([code, "复评", "村评议小组", *scores])
            members = by_group[group]
            at = members.index(code)
            for step in range(1, PEERS_PER_HOUSEHOLD + 1):
                reviewer = members[(at + step) % len(members)]
                review_rows.append([code, "互评", reviewer, *scores])
        header = ["户编号", "评议类型", "评议人", *[f"c{n:02d}" for n in range(1, 11)]]
        sheets = [review_rows[i : i + MAX_DATA_ROWS] for i in range(0, len(review_rows), MAX_DATA_ROWS)]
        files = [sheet_bytes(header, rows, args.file_format) for rows in sheets]
        print(f"reviews: {len(review_rows)} rows in {len(files)} sheets", flush=True)

        for attempt in ("first import", "same sheets again"):
            started = time.perf_counter()
            changed = sum(
                import_sheet(engine, "reviews", village_code, data, f"reviews{n}.{args.file_format}", len(rows))
                for n, (data, rows) in enumerate(zip(files, sheets, strict=True), start=1)
            )
            seconds = time.perf_counter() - started
            print(
                f"{attempt}: {len(review_rows)} rows, {changed} changes in {seconds:.2f} s "
                f"({len(review_rows) / seconds:,.0f} rows/s)",
                flush=True,
            )

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
