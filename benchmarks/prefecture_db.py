"""Benchmark: the database path of issue 20 on PostgreSQL, a county (200,000 households) and a
prefecture (2,000,000 households in 10 counties) loaded from gen.py.

1. The loader (shared with ``public_load.py``): gen.py's counties one by one, each county and its
   period through the services (``counties.create_county``, ``counties.open_period``), the units,
   households, reviews (scores as integer tenths) and award quotas by COPY; every village period
   approved, ready to publish. An existing complete database is reused (``--rebuild`` reloads it).
2. ``hygiene results --period P`` for the county (the command itself, a subprocess) and, on the
   prefecture, the same read county after county (``results.period_results`` with the county given:
   the command refuses a period code that several counties share), each in its own transaction.
3. The floor to compare with: ``COPY (SELECT …) TO STDOUT`` of the same household and review rows,
   plus the engine's own time on them (``scoring.score_tables`` on the tables already in memory).
   Target: ``hygiene results`` within 2× of that sum.
4. Publishing every village of one township through ``workflow.publish``, one transaction each, as
   the township page does (each transaction rolled back instead of committed: records and the audit
   log are append-only, and the database stays reusable).
5. Table sizes (``pg_total_relation_size``) and rows.

    scripts/with-postgres.sh .venv/bin/python benchmarks/prefecture_db.py
    .venv/bin/python benchmarks/prefecture_db.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/x

Without ``--database-url`` it uses the server of ``HYGIENE_TEST_POSTGRES_URL`` with databases of
its own, ``bench_county`` and ``bench_prefecture``, created if missing. gen.py's data stays under
``--data`` (default /tmp/bench_prefecture), never the repository. It waits while
``--wait-for`` (a file another benchmark holds while it runs) exists: figures taken on a busy
machine are not figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import URL

from hygiene import migrate
from hygiene.db import make_engine, make_sessionmaker, parse_database_url, redact_url
from hygiene.enums import CRITERIA, Role, WorkflowState
from hygiene.models import (
    County,
    Household,
    Period,
    Review,
    Township,
    User,
    Village,
    VillagePeriod,
)
from hygiene.models._types import utcnow
from hygiene.services import bulk
from hygiene.services.rating import rating, results, workflow
from hygiene.services.setup import accounts, counties
from scoring import score_tables
from scoring.bench import ensure_data

PERIOD = "2026Q4"
PROGRAMME_YEAR = 2026
REVIEWER = "bench_township"
REVIEWER_PASSWORD = "bench-township-2026"  # noqa: S105 - a throwaway benchmark account
LARGE_TABLES = (
    "reviews", "households", "result_record_households", "audit_log", "groups", "village_periods",
    "award_quotas", "result_records", "villages",
)  # fmt: skip


# --- the loader (also used by public_load.py) ----------------------------------------------------------


def conninfo(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def database_on_test_server(name: str) -> URL:
    """The server of HYGIENE_TEST_POSTGRES_URL (scripts/with-postgres.sh), database ``name``, created
    if missing; never the test database."""
    test_url = os.environ.get("HYGIENE_TEST_POSTGRES_URL")
    if not test_url:
        sys.exit("no database: pass --database-url, or run under scripts/with-postgres.sh")
    server = parse_database_url(test_url)
    if name == server.database:
        sys.exit(f"refusing the test database {name}")
    with psycopg.connect(conninfo(server.set(database="postgres")), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    return server.set(database=name)


def copy_frame(conn: psycopg.Connection[Any], table: str, frame: pd.DataFrame) -> None:
    """COPY a DataFrame into ``table`` (its columns by name); missing values are NULL."""
    data = frame.to_csv(index=False, header=False, na_rep="\\N")
    columns = ", ".join(frame.columns)
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
        copy.write(data)


def copy_arrow(conn: psycopg.Connection[Any], table: str, data: pa.Table) -> None:
    """COPY an Arrow table into ``table`` through Arrow's CSV writer (fast for millions of rows):
    every value quoted, so that only a missing value is NULL."""
    out = io.BytesIO()
    pacsv.write_csv(data, out, pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
    columns = ", ".join(data.column_names)
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(out.getbuffer())


@dataclass
class Ids:
    township: int = 1
    village: int = 1
    group: int = 1
    household: int = 1
    record: int = 1
    row: int = 1

    def take(self, name: str, count: int) -> np.ndarray:
        start = getattr(self, name)
        setattr(self, name, start + count)
        return np.arange(start, start + count)


@dataclass
class Units:
    """One county's units as loaded: ids by code, and the household rows (in gen.py's order)."""

    county_id: int
    village_id: dict[str, int]
    group_name: dict[str, str]
    households: pd.DataFrame  # the households table's rows: id, code, head_name, …


def load_units(engine: sa.Engine, raw: psycopg.Connection[Any], ids: Ids, households: pd.DataFrame, seed: int) -> Units:
    """One of gen.py's counties: the county through the service, its townships, villages, groups
    and households by COPY (committed)."""
    rng = np.random.default_rng(seed)
    code = str(households["township_code"].iloc[0])[:2]
    with make_sessionmaker(engine, write=True).begin() as session:
        county_id = counties.create_county(session, None, code, f"模拟县{code}").id
    townships = pd.DataFrame({"code": households["township_code"].unique()})
    townships["id"] = ids.take("township", len(townships))
    townships["county_id"] = county_id
    townships["name"] = townships["code"] + "镇"
    township_id = dict(zip(townships["code"], townships["id"], strict=True))
    villages = households[["village_code", "township_code"]].drop_duplicates("village_code")
    villages = pd.DataFrame(
        {
            "id": ids.take("village", len(villages)),
            "county_id": county_id,
            "township_id": villages["township_code"].map(township_id).to_numpy(),
            "code": villages["village_code"].to_numpy(),
            "name": villages["village_code"].to_numpy() + "村",
            "programme_year": PROGRAMME_YEAR,
        }
    )
    village_id = dict(zip(villages["code"], villages["id"], strict=True))
    groups = households[["group_code", "village_code"]].drop_duplicates("group_code")
    groups = pd.DataFrame(
        {
            "id": ids.take("group", len(groups)),
            "county_id": county_id,
            "village_id": groups["village_code"].map(village_id).to_numpy(),
            "code": groups["group_code"].to_numpy(),
            "name": "第" + (groups["group_code"].str[-2:].astype(int) + 1).astype(str).to_numpy() + "组",
        }
    )
    group_id = dict(zip(groups["code"], groups["id"], strict=True))
    n = len(households)
    phones = np.char.add("13", np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9)).astype(object)
    rows = pd.DataFrame(
        {
            "id": ids.take("household", n),
            "county_id": county_id,
            "group_id": households["group_code"].map(group_id).to_numpy(),
            "code": households["household_code"].to_numpy(),
            "head_name": households["head_name"].to_numpy(),
            "members": rng.integers(1, 8, n),
            "phone": np.where(rng.random(n) < 0.7, phones, None),
            "is_poor": rng.random(n) < 0.08,
            "created_at": utcnow().isoformat(),
            "version": 1,
        }
    )
    copy_frame(raw, "townships", townships[["id", "county_id", "code", "name"]])
    copy_frame(raw, "villages", villages)
    copy_frame(raw, "groups", groups)
    copy_frame(raw, "households", rows)
    raw.commit()
    return Units(county_id, village_id, dict(zip(groups["code"], groups["name"], strict=True)), rows)


def open_period(engine: sa.Engine, county_id: int) -> tuple[int, dict[int, int]]:
    """The county's period, opened for every village by the service: (period id, village period
    id by village id)."""
    with make_sessionmaker(engine, write=True).begin() as session:
        period = counties.open_period(session, None, session.get_one(County, county_id), PERIOD).period
        village_period = dict(
            session.execute(
                sa.select(VillagePeriod.village_id, VillagePeriod.id).where(VillagePeriod.period_id == period.id)
            ).all()
        )
        return period.id, village_period


def load_reviews(
    raw: psycopg.Connection[Any],
    units: Units,
    period_id: int,
    village_period: dict[int, int],
    reviews: pd.DataFrame,
    quotas: pd.DataFrame,
) -> int:
    """gen.py's reviews of the county (scores as integer tenths) and its award quotas, by COPY;
    every village period approved (submitted and approved a day ago), ready to publish."""
    household_id = pd.Series(units.households["id"].to_numpy(), index=units.households["code"].to_numpy())
    kind = reviews["kind"].to_numpy()
    peer = kind == "peer"
    reviewer_id = np.zeros(len(reviews), dtype=np.int64)
    reviewer_id[peer] = household_id.reindex(reviews["reviewer"].to_numpy()[peer]).to_numpy()
    columns: dict[str, pa.Array] = {
        "county_id": pa.array(np.full(len(reviews), units.county_id)),
        "period_id": pa.array(np.full(len(reviews), period_id)),
        "household_id": pa.array(household_id.reindex(reviews["household_code"].to_numpy()).to_numpy()),
        "kind": pa.array(kind, pa.string()),
        "reviewer_household_id": pa.array(reviewer_id, mask=~peer),
        "team_members": pa.array(reviews["reviewer"].to_numpy(), pa.string(), mask=kind != "group"),
        "updated_at": pa.array(np.full(len(reviews), utcnow().isoformat()), pa.string()),
        "version": pa.array(np.ones(len(reviews), dtype=np.int64)),
        **{c: pa.array((reviews[c].to_numpy(dtype=np.float64) * 10).round().astype(np.int16)) for c in CRITERIA},
    }
    copy_arrow(raw, "reviews", pa.table(columns))
    given = quotas.dropna(subset=["cleanest_quota", "clean_quota"])
    copy_frame(
        raw,
        "award_quotas",
        pd.DataFrame(
            {
                "county_id": units.county_id,
                "village_period_id": given["village_code"].map(units.village_id).map(village_period).to_numpy(),
                "cleanest_quota": given["cleanest_quota"].astype(int).to_numpy(),
                "clean_quota": given["clean_quota"].astype(int).to_numpy(),
                "set_at": utcnow().isoformat(),
                "version": 1,
            }
        ),
    )
    approved = utcnow() - dt.timedelta(days=1)
    raw.execute(
        "UPDATE village_periods SET state = %s, submitted_at = %s, approved_at = %s WHERE period_id = %s",
        (WorkflowState.APPROVED.value, approved - dt.timedelta(days=1), approved, period_id),
    )
    raw.commit()
    return len(reviews)


def reset_sequences(raw: psycopg.Connection[Any], tables: tuple[str, ...]) -> None:
    for table in tables:
        raw.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608 - our table names
    raw.commit()


def rebuild_schema(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    migrate.upgrade(engine)


def county_row_groups(folder: Path) -> tuple[dict[str, pq.ParquetFile], int]:
    """gen.py's Parquet files (one row group a county) and the number of counties."""
    files = {name: pq.ParquetFile(folder / f"{name}.parquet") for name in ("households", "reviews", "quotas")}
    return files, files["households"].metadata.num_row_groups


def load(engine: sa.Engine, url: URL, folder: Path) -> list[str]:
    """Drop the schema, migrate to head, load gen.py's counties one by one; lines to print."""
    rebuild_schema(engine)
    files, count = county_row_groups(folder)
    ids = Ids()
    lines = []
    started = time.perf_counter()
    total = 0
    with psycopg.connect(conninfo(url)) as raw:
        for i in range(count):
            begun = time.perf_counter()
            households, reviews, quotas = (
                files[name].read_row_group(i).to_pandas() for name in ("households", "reviews", "quotas")
            )
            units = load_units(engine, raw, ids, households, seed=i)
            period_id, village_period = open_period(engine, units.county_id)
            review_rows = load_reviews(raw, units, period_id, village_period, reviews, quotas)
            total += len(households)
            lines.append(
                f"  county {i + 1}/{count}: {len(households):,} households, {review_rows:,} reviews in "
                f"{time.perf_counter() - begun:.1f} s ({total / (time.perf_counter() - started):,.0f} households/s)"
            )
            print(lines[-1], flush=True)
        reset_sequences(raw, ("townships", "villages", "groups", "households"))
    vacuum = time.perf_counter()
    with psycopg.connect(conninfo(url), autocommit=True) as raw:
        raw.execute("VACUUM ANALYZE")
    lines.append(f"  loaded {total:,} households in {vacuum - started:.0f} s")
    lines.append(f"  VACUUM ANALYZE {time.perf_counter() - vacuum:.0f} s")
    print(lines[-1])
    return lines


def is_loaded(engine: sa.Engine, households: int) -> bool:
    """Schema at head, every household, reviews, and every village period approved (none published)."""
    if migrate.current_revision(engine) != migrate.head_revision():
        return False
    with engine.connect() as conn:
        have = conn.scalar(sa.select(sa.func.count()).select_from(Household))
        reviews = conn.scalar(sa.select(sa.func.count()).select_from(Review))
        states = set(conn.scalars(sa.select(VillagePeriod.state).distinct()))
    return have == households and bool(reviews) and states == {WorkflowState.APPROVED}


# --- the measurements ---------------------------------------------------------------------------------


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def county_period(session: Any, county_id: int) -> tuple[Period, list[int]]:
    period = session.scalar(sa.select(Period).where(Period.county_id == county_id, Period.code == PERIOD))
    village_ids = list(session.scalars(sa.select(Village.id).join(Township).where(Township.county_id == county_id)))
    return period, village_ids


def copy_out_seconds(url: URL, county_id: int) -> tuple[float, int]:
    """COPY of the rows ``hygiene results`` reads for a county (its households with their unit
    codes, its reviews), text format, to nowhere: the database's own floor."""
    households = (
        "SELECT h.id, h.code, t.code, v.code, g.code, h.head_name FROM households h "  # noqa: S608 - an int id
        "JOIN groups g ON h.group_id = g.id JOIN villages v ON g.village_id = v.id "
        f"JOIN townships t ON v.township_id = t.id WHERE t.county_id = {county_id}"
    )
    reviews = (
        f"SELECT r.household_id, r.kind, r.reviewer_household_id, r.team_members, {', '.join(CRITERIA)} "  # noqa: S608 - an int id and a constant
        f"FROM reviews r WHERE r.county_id = {county_id} AND r.period_id = (SELECT id FROM periods "
        f"WHERE county_id = {county_id} AND code = '{PERIOD}')"
    )
    size = 0
    start = time.perf_counter()
    with psycopg.connect(conninfo(url)) as raw, raw.cursor() as cur:
        for select in (households, reviews):
            with cur.copy(f"COPY ({select}) TO STDOUT") as copy:
                for block in copy:
                    size += len(block)
    return time.perf_counter() - start, size


def engine_seconds(engine: sa.Engine, county_id: int) -> tuple[float, float]:
    """(reading the county's inputs through ``rating.engine_inputs``, the engine alone on them)."""
    with make_sessionmaker(engine)() as session:
        period, village_ids = county_period(session, county_id)
        read, inputs = timed(lambda: rating.engine_inputs(session, period, village_ids))
        scored, _ = timed(
            lambda: score_tables(
                inputs.households, inputs.reviews, inputs.quotas, inputs.rubric, inputs.settings, scores_in_tenths=True
            )
        )
    return read, scored


def read_alternatives(engine: sa.Engine, county_id: int) -> str:
    """The county's review columns (ids, kind, reviewer, scores) read three ways: rows through
    SQLAlchemy (what ``engine_inputs`` did before issue 20), ``pd.read_sql`` on the same Core select,
    and ``bulk.read_ints`` (binary COPY into NumPy, what it does now)."""
    with make_sessionmaker(engine)() as session:
        period, _ = county_period(session, county_id)
        select = sa.select(
            Review.household_id,
            Review.kind,
            Review.reviewer_household_id,
            *(getattr(Review, c) for c in CRITERIA),
        ).where(Review.county_id == county_id, Review.period_id == period.id)
        ints = sa.select(
            Review.household_id,
            sa.func.coalesce(Review.reviewer_household_id, 0).label("reviewer_household_id"),
            *(getattr(Review, c) for c in CRITERIA),
        ).where(Review.county_id == county_id, Review.period_id == period.id)
        rows, found = timed(lambda: session.execute(select).all())
        frame, _ = timed(lambda: pd.read_sql(select, session.connection()))
        copied, _ = timed(lambda: bulk.read_ints(session, ints))
    return (
        f"reading the county's {len(found):,} reviews: SQLAlchemy rows {rows:.2f} s, pd.read_sql {frame:.2f} s, "
        f"binary COPY into NumPy (bulk.read_ints, without the kind) {copied:.2f} s"
    )


def results_command_seconds(url: URL) -> tuple[float, str]:
    """``hygiene results --period P --output DIR`` as a user runs it (a new process)."""
    out = Path(tempfile.mkdtemp(prefix="bench_results_"))
    env = os.environ | {"DATABASE_URL": url.render_as_string(hide_password=False)}
    command = [str(Path(sys.executable).with_name("hygiene")), "results", "--period", PERIOD, "--output", str(out)]
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)  # noqa: S603
    seconds = time.perf_counter() - start
    rows = sum(1 for _ in (out / "household_results.csv").open()) - 1
    return seconds, f"{rows:,} household rows"


def command_startup_seconds() -> float:
    """``hygiene --help``: starting Python and importing the command, the part of ``hygiene results``
    that is not reading or scoring."""
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("hygiene")), "--help"], check=True, capture_output=True)  # noqa: S603
    return time.perf_counter() - start


def results_service_seconds(engine: sa.Engine, county_id: int) -> float:
    """``period_results`` for a county in its own read-only transaction, as the command does."""
    with make_sessionmaker(engine)() as session:
        code = session.scalar(sa.select(County.code).where(County.id == county_id))
        seconds, _ = timed(lambda: results.period_results(session, PERIOD, county_code=code))
    return seconds


def reviewer_of(engine: sa.Engine, township_code: str) -> None:
    with make_sessionmaker(engine, write=True).begin() as session:
        if session.scalar(sa.select(User.id).where(User.username == REVIEWER)) is None:
            accounts.create_user(
                session, username=REVIEWER, password=REVIEWER_PASSWORD, role=Role.TOWNSHIP_REVIEWER,
                unit_code=township_code,
            )  # fmt: skip


def publish_township(engine: sa.Engine, township_code: str) -> list[float]:
    """Every village of the township published through the workflow, one transaction each, as the
    township page does; each transaction rolled back at the end instead of committed (records and
    the audit log are append-only, so this keeps the database reusable; everything but the COMMIT
    is measured)."""
    reviewer_of(engine, township_code)
    maker = make_sessionmaker(engine, write=True)
    with maker() as session:
        ids = list(
            session.scalars(
                sa.select(VillagePeriod.id)
                .join(Village)
                .join(Township)
                .join(Period, VillagePeriod.period_id == Period.id)
                .where(Township.code == township_code, Period.code == PERIOD)
                .order_by(Village.code)
            )
        )
    seconds = []
    for village_period_id in ids:
        with maker() as session:
            start = time.perf_counter()
            actor = session.scalars(sa.select(User).where(User.username == REVIEWER)).one()
            village_period = session.get_one(VillagePeriod, village_period_id)
            workflow.publish(
                session, actor, village_period, village_period.version, override_reason="基准测试：有缺项仍公示"
            )
            session.flush()
            seconds.append(time.perf_counter() - start)
            session.rollback()
    return seconds


def table_sizes(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        lines = []
        for name in LARGE_TABLES:
            rows = int(conn.scalar(sa.text(f"SELECT count(*) FROM {name}")) or 0)  # noqa: S608 - our table names
            size = int(conn.scalar(sa.text("SELECT pg_total_relation_size(:t)"), {"t": name}) or 0)
            per_row = f"{size / rows:,.0f} B/row" if rows else ""
            lines.append(f"  {name:<26} {rows:>12,} rows {size / 2**20:>9,.0f} MiB  {per_row}")
        return lines


def wait_while(path: Path | None) -> None:
    while path is not None and path.exists():
        print(f"waiting: {path} exists (another benchmark is running)", flush=True)
        time.sleep(30)


def measure(label: str, url: URL, folder: Path, households: int, rebuild: bool, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    print(f"\n== {label}: database {redact_url(url)}, data {folder} ({households:,} households)")
    if rebuild or not is_loaded(engine, households):
        wait_while(args.wait_for)
        print("loading (schema dropped, migrated, bulk-loaded):", flush=True)
        seconds, _ = timed(lambda: load(engine, url, folder))
        print(f"load: {seconds:.0f} s in all")
    else:
        print("reusing the loaded database")
    for line in table_sizes(engine):
        print(line)
    with engine.connect() as conn:
        county_ids = list(conn.scalars(sa.select(County.id).order_by(County.code)))
        township_code = conn.scalar(sa.select(sa.func.min(Township.code)))
    first = county_ids[0]
    for run in range(args.runs):
        wait_while(args.wait_for)
        print(f"-- run {run + 1}/{args.runs} (load average {os.getloadavg()[0]:.2f})", flush=True)
        copy_seconds, size = copy_out_seconds(url, first)
        read, scored = engine_seconds(engine, first)
        service = results_service_seconds(engine, first)
        floor = copy_seconds + scored
        print(
            f"one county ({first}): COPY out {copy_seconds:.2f} s ({size / 2**20:,.0f} MiB of text) + engine "
            f"{scored:.2f} s = {floor:.2f} s; rating.engine_inputs {read:.2f} s; results.period_results "
            f"{service:.2f} s = {service / floor:.2f}× the floor"
        )
        print(read_alternatives(engine, first))
        if len(county_ids) == 1:
            command, what = results_command_seconds(url)
            startup = command_startup_seconds()
            print(f"`hygiene results --period {PERIOD} --output DIR` (new process): {command:.2f} s, {what}, "
                  f"{command / floor:.2f}× the floor; `hygiene --help` alone {startup:.2f} s")  # fmt: skip
        else:
            each = [results_service_seconds(engine, c) for c in county_ids]
            print(f"the whole prefecture, county after county: {sum(each):.1f} s "
                  f"(per county {min(each):.2f}–{max(each):.2f} s)")  # fmt: skip
    if args.publish:
        wait_while(args.wait_for)
        seconds = publish_township(engine, township_code)
        print(
            f"publishing every village of township {township_code} through workflow.publish: {len(seconds)} "
            f"villages in {sum(seconds):.1f} s (per village median {sorted(seconds)[len(seconds) // 2]:.2f} s, "
            f"max {max(seconds):.2f} s)"
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="one database (the size given by --households)")
    parser.add_argument("--households", type=int, nargs="*", default=[200_000, 2_000_000])
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench_prefecture"))  # noqa: S108 - not the repo
    parser.add_argument("--rebuild", action="store_true", help="reload even if the database is complete")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-publish", dest="publish", action="store_false")
    parser.add_argument(
        "--wait-for", type=Path, default=None, help="wait while this file exists (a lock of another benchmark)"
    )
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    for households in args.households:
        folder = args.data / str(households)
        wait_while(args.wait_for)
        ensure_data(households, folder, "parquet")
        name = "bench_county" if households <= 200_000 else "bench_prefecture"
        url = parse_database_url(args.database_url) if args.database_url else database_on_test_server(name)
        if url.get_backend_name() != "postgresql":
            sys.exit("this benchmark needs PostgreSQL")
        measure(name, url, folder, households, args.rebuild, args)


if __name__ == "__main__":
    main()
