"""Benchmark: the residents' village list (张榜公示) under load, on a prefecture-size database (issue 18).

Target: ``/public/villages/<village>/<period>`` served by gunicorn with 2 workers on loopback,
p99 under 50 ms at 300 requests/s, no errors.

1. The database: gen.py's prefecture (about 2,000,000 households in 10 counties, 4,650 villages)
   on PostgreSQL. An existing database that is complete (schema at head, every household, every
   village's posted record) is reused. Otherwise its schema is dropped and rebuilt: the counties and
   their period through the services (``counties.create_county``, ``counties.open_period``), the
   units, households and posted result records bulk-loaded with COPY (the product's one-by-one
   paths would take hours), every village period published with a posting period running now. The
   grades, ranks, awards and peer means are the scoring engine's (``scoring.score_tables`` and
   ``scoring.peer_criterion_means`` on gen.py's reviews, county by county).
2. The app: ``hygiene serve`` (gunicorn, 2 workers, production settings, a random secret key) on
   127.0.0.1, then ``wrk`` against the list: one village as fast as it goes, random villages as fast
   as they go, random villages paced to about ``--rate`` requests/s (wrk's ``delay()``: plain wrk
   has no open-loop rate control), and, if the page carries an ETag, conditional requests.
   Then (issue 34), on a fresh server, the cold random runs again while another process writes
   through the services: a clerk's 小组复评 import for one village and a reviewer's publication of
   it (withdraw, import, submit and approve, publish, ``--write-pause`` apart), each step's own time
   and errors printed beside the runs. Every record's public rows are stored as posting stores them
   (``records.store_public_rows``); ``--live-rows`` clears them instead (records posted before 0021).
3. A profile of the page (Flask's test client on the same database): CPU and wall time of a first
   render without the profiler (``--profile-only``: only this), then under cProfile the SQL
   statements and SQL time per request and the functions that take the time.

    scripts/with-postgres.sh .venv/bin/python benchmarks/public_load.py
    .venv/bin/python benchmarks/public_load.py --database-url postgresql://postgres@127.0.0.1:5432/bench_public

Without ``--database-url`` it uses the server of ``HYGIENE_TEST_POSTGRES_URL`` (as
``scripts/with-postgres.sh`` exports it) with a database of its own, ``bench_public``, created if
missing. The generated data stays under ``--data`` (default /tmp/bench_public/data), never the
repository. Every process it starts (gunicorn, wrk) is stopped before it returns.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import datetime as dt
import io
import json
import multiprocessing
import os
import pstats
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import URL

from hygiene import migrate
from hygiene.db import make_engine, make_sessionmaker, parse_database_url, redact_url
from hygiene.enums import CRITERIA, Role, WorkflowState
from hygiene.models import (
    County,
    Group,
    Household,
    Period,
    ResultRecord,
    ResultRecordHousehold,
    User,
    Village,
    VillagePeriod,
)
from hygiene.models._types import utcnow
from hygiene.models.records import VILLAGE_COUNTS
from hygiene.services.rating import rating, records, review_imports, workflow
from hygiene.services.setup import accounts, counties
from scoring import peer_criterion_means, score_tables
from scoring.bench import ensure_data

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prefecture_db import (
    Ids,
    conninfo,
    copy_frame,
    county_row_groups,
    database_on_test_server,
    load_units,
    rebuild_schema,
)

PERIOD = "2026Q4"
PROGRAMME_YEAR = 2026
DATABASE = "bench_public"
WRK_LOG: Path | None = None  # where wrk's own output is kept (set by main)
WRK_SCRIPT = """
local paths = {}
local pause = 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  pause = tonumber(args[2] or "0")
  local salt = tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0
  math.randomseed(os.time() + salt % 1000003)
end
function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
function delay()
  return pause
end
"""


# --- the database -----------------------------------------------------------------------------------


def default_url() -> URL:
    """The server of HYGIENE_TEST_POSTGRES_URL, database ``bench_public`` (created if missing)."""
    return database_on_test_server(DATABASE)


def expected_households(folder: Path) -> int:
    return pq.ParquetFile(folder / "households.parquet").metadata.num_rows


def is_complete(engine: sa.Engine, households: int) -> bool:
    """Schema at head, every household on a current record, and a current posted record for every village."""
    if migrate.current_revision(engine) != migrate.head_revision():
        return False
    with engine.connect() as conn:
        # the current records' rows: the publications of the runs while writing add versions of one village
        have = conn.scalar(
            sa.select(sa.func.count())
            .select_from(ResultRecordHousehold)
            .join(ResultRecord, ResultRecordHousehold.record_id == ResultRecord.id)
            .where(ResultRecord.superseded_at.is_(None))
        )
        villages = conn.scalar(sa.select(sa.func.count()).select_from(Village))
        posted = conn.scalar(
            sa.select(sa.func.count())
            .select_from(ResultRecord)
            .where(ResultRecord.superseded_at.is_(None), ResultRecord.period_code == PERIOD)
        )
    return have == households and villages == posted and bool(villages)


def tenths_column(values: pd.Series) -> np.ndarray:
    """Exact one-decimal engine values (or NA) as integer tenths (None when missing)."""
    floats = pd.to_numeric(values.astype("float64"), errors="coerce")
    return whole((floats * 10).round())


def whole(values: pd.Series) -> np.ndarray:
    """Whole numbers (or NA) as Python ints and None, so that the CSV has no "915.0"."""
    return values.astype("Int64").to_numpy(dtype=object, na_value=None)


def json_lists(matrix: np.ndarray) -> list[str]:
    """Rows of integers as JSON arrays, as SQLAlchemy's JSON type writes them."""
    return ["[" + ", ".join(map(str, row)) + "]" for row in matrix.tolist()]


def load_county(
    engine: sa.Engine, raw: psycopg.Connection[Any], ids: Ids, frames: tuple[pd.DataFrame, ...], seed: int
) -> tuple[int, int]:
    """One of gen.py's counties: the county and its units by the shared loader (prefecture_db.py),
    its period through the services, the posted records by COPY."""
    households, reviews, quotas = frames
    units = load_units(engine, raw, ids, households, seed)
    county_id, village_id, group_name, rows = units.county_id, units.village_id, units.group_name, units.households
    maker = make_sessionmaker(engine, write=True)
    n = len(households)

    # The period, opened for every village by the service, then published: posting runs now.
    published_at = utcnow() - dt.timedelta(days=1)
    with maker.begin() as session:
        county = session.get_one(County, county_id)
        period = counties.open_period(session, None, county, PERIOD).period
        settings = rating.settings_snapshot(period)
        posting_ends_at = published_at + dt.timedelta(days=period.posting_days)
        session.execute(
            sa.update(VillagePeriod.__table__)
            .where(VillagePeriod.__table__.c.period_id == period.id)
            .values(
                state=WorkflowState.PUBLISHED.value,
                submitted_at=published_at - dt.timedelta(days=2),
                approved_at=published_at,
                published_at=published_at,
                posting_ends_at=posting_ends_at,
            )
        )
        village_period = dict(
            session.execute(
                sa.select(VillagePeriod.village_id, VillagePeriod.id).where(VillagePeriod.period_id == period.id)
            ).all()
        )
        rubric_version_id = period.rubric_version_id

    # The posted records: the engine's results, one record per village.
    household_results, village_results = score_tables(households, reviews, quotas)
    means = peer_criterion_means(households, reviews).set_index("household_code")
    results = household_results.to_pandas().set_index("household_code")
    vres = village_results.to_pandas()
    records = pd.DataFrame(
        {
            "id": ids.take("record", len(vres)),
            "county_id": county_id,
            "village_period_id": vres["village_code"].map(village_id).map(village_period).to_numpy(),
            "number": 1,
            "posted_at": published_at.isoformat(),
            "period_code": PERIOD,
            "township_code": vres["township_code"].to_numpy(),
            "township_name": vres["township_code"].to_numpy() + "镇",
            "village_code": vres["village_code"].to_numpy(),
            "village_name": vres["village_code"].to_numpy() + "村",
            "rubric_version_id": rubric_version_id,
            "settings": json.dumps(settings, ensure_ascii=False),
            **{name: whole(vres[name]) for name in VILLAGE_COUNTS},
            "meets_ratios": vres["meets_ratios"].to_numpy(),
        }
    )
    record_id = dict(zip(records["village_code"], records["id"], strict=True))
    group_reviews = reviews[reviews["kind"] == "group"].drop_duplicates("household_code").set_index("household_code")
    group_scores = pd.Series(
        json_lists((group_reviews[list(CRITERIA)].to_numpy() * 10).round().astype(int)), index=group_reviews.index
    )
    has_peer = means["peer_count"].fillna(0).to_numpy() > 0
    mean_tenths = np.column_stack(
        [np.nan_to_num(pd.to_numeric(means[c].astype("float64")) * 10).round().astype(int) for c in CRITERIA]
    )
    peer_means = pd.Series(np.where(has_peer, json_lists(mean_tenths), None), index=means.index)
    codes = households["household_code"]
    result = results.loc[codes.to_numpy()]
    posted = pd.DataFrame(
        {
            "id": ids.take("row", n),
            "county_id": county_id,
            "record_id": households["village_code"].map(record_id).to_numpy(),
            "household_id": rows["id"].to_numpy(),
            "household_code": codes.to_numpy(),
            "head_name": households["head_name"].to_numpy(),
            "group_code": households["group_code"].to_numpy(),
            "group_name": households["group_code"].map(group_name).to_numpy(),
            "self_total": tenths_column(result["self_total"]),
            "peer_total": tenths_column(result["peer_total"]),
            "peer_count": whole(result["peer_count"]),
            "final_total": tenths_column(result["final_total"]),
            "grade": result["grade"].to_numpy(),
            "rank": whole(result["rank"]),
            "award": result["award"].to_numpy(),
            "flags": result["flags"].fillna("").to_numpy(),
            "group_scores": group_scores.reindex(codes.to_numpy()).to_numpy(),
            "peer_means": peer_means.reindex(codes.to_numpy()).to_numpy(),
        }
    )
    copy_frame(raw, "result_records", records)
    copy_frame(raw, "result_record_households", posted)
    raw.commit()
    return len(village_id), n


def build(engine: sa.Engine, url: URL, folder: Path) -> None:
    """Drop the schema, migrate to head and load gen.py's counties one by one."""
    rebuild_schema(engine)
    files, count = county_row_groups(folder)
    ids = Ids()
    started = time.perf_counter()
    total = 0
    with psycopg.connect(conninfo(url)) as raw:
        for i in range(count):
            frames = tuple(files[name].read_row_group(i).to_pandas() for name in ("households", "reviews", "quotas"))
            villages, households = load_county(engine, raw, ids, frames, seed=i)
            total += households
            rate = total / (time.perf_counter() - started)
            print(
                f"  county {i + 1}/{count}: {villages} villages, {households:,} households ({rate:,.0f}/s)", flush=True
            )
        for table in ("townships", "villages", "groups", "households", "result_records", "result_record_households"):
            raw.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608 - our table names
        raw.commit()
    with psycopg.connect(conninfo(url), autocommit=True) as raw:
        raw.execute("VACUUM ANALYZE")


def public_rows(engine: sa.Engine, *, live: bool) -> str:
    """What the posting path stores for the public page (``records.store_public_rows``, issue 34),
    through that same function, for every current record that lacks it; with ``live``, cleared
    instead, so that every page renders its rows as for a record posted before migration 0021."""
    table = ResultRecord.__table__
    if live:
        with engine.begin() as conn:
            cleared = conn.execute(sa.update(table).where(table.c.public_rows.is_not(None)).values(public_rows=None))
        return f"stored rows cleared from {cleared.rowcount:,} records: every page renders its rows (--live-rows)"
    maker = make_sessionmaker(engine, write=True)
    started = time.perf_counter()
    done = 0
    while True:
        with maker.begin() as session:
            batch = session.scalars(
                sa.select(ResultRecord)
                .where(ResultRecord.superseded_at.is_(None), ResultRecord.public_rows.is_(None))
                .order_by(ResultRecord.id)
                .limit(500)
            ).all()
            for record in batch:
                records.store_public_rows(session, record)
        done += len(batch)
        if not batch:
            break
    seconds = time.perf_counter() - started
    return f"stored rows rendered for {done:,} records by records.store_public_rows in {seconds:.1f} s"


def keep_posting_open(engine: sa.Engine) -> None:
    """A reused database: move the posting period to now, so that the served app's tick does not
    finalise every village half-way through the run."""
    now = utcnow()
    table = VillagePeriod.__table__
    with engine.begin() as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.state == WorkflowState.PUBLISHED.value, table.c.posting_ends_at < now + dt.timedelta(days=1))
            .values(published_at=now - dt.timedelta(days=1), posting_ends_at=now + dt.timedelta(days=6))
        )


def table_sizes(engine: sa.Engine) -> list[tuple[str, int, str]]:
    """Rows and size on disk (with indexes) of the tables the page reads."""
    tables = ("result_record_households", "households", "result_records", "village_periods", "villages")
    with engine.connect() as conn:
        return [
            (
                name,
                int(conn.scalar(sa.text(f"SELECT count(*) FROM {name}")) or 0),  # noqa: S608 - our table names
                str(conn.scalar(sa.text("SELECT pg_size_pretty(pg_total_relation_size(:t))"), {"t": name})),
            )
            for name in tables
        ]


# --- the served app and wrk ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def served(
    url: URL, port: int, workers: int, log: Path, command: list[str] | None = None, extra: dict[str, str] | None = None
) -> Iterator[str]:
    """``hygiene serve`` (gunicorn) in production settings, or ``command`` in the same environment
    (the floor), with the variables ``extra`` too; stopped, with its workers, on exit."""
    env = dict(os.environ) | (extra or {})
    env |= {
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "HYGIENE_ENV": "production",
        "HYGIENE_SECRET_KEY": secrets.token_hex(32),
        "WEB_CONCURRENCY": str(workers),
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    command = command or [str(Path(sys.executable).with_name("hygiene")), "serve"]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the server stopped (exit {server.returncode}); see {log}")
            with contextlib.suppress(OSError), urllib.request.urlopen(base + "/", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within 60 s; see {log}")
            time.sleep(0.3)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@dataclass
class WrkRun:
    label: str
    command: str
    requests: int
    rate: float
    p50: float
    p90: float
    p99: float
    non_2xx_3xx: int
    socket_errors: int
    load: float  # the 1-minute load average when it ended: others' processes share the CPUs


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(label: str, args: list[str]) -> WrkRun:
    command = ["wrk", *args]
    time.sleep(3)  # the server finishes what an earlier run left queued
    done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    out = done.stdout
    if WRK_LOG is not None:
        with WRK_LOG.open("a") as log:
            log.write(f"$ {' '.join(command)}\n{out}{done.stderr}\n")
    latency = dict(re.findall(r"^\s*(50|90|99)%\s+([\d.]+(?:us|ms|s|m))\b", out, re.MULTILINE))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_ok = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return WrkRun(
        label=label,
        command=" ".join(command),
        requests=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        rate=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50=_ms(latency["50"]) if "50" in latency else float("nan"),
        p90=_ms(latency["90"]) if "90" in latency else float("nan"),
        p99=_ms(latency["99"]) if "99" in latency else float("nan"),
        non_2xx_3xx=int(non_ok.group(1)) if non_ok else 0,
        socket_errors=sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
        load=os.getloadavg()[0],
    )


# The response headers the floor sends as the app sent them (gunicorn adds Date, Server, length).
FLOOR_HEADERS = (
    "Content-Type",
    "Content-Encoding",
    "ETag",
    "Vary",
    "Cache-Control",
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
)


def floor_comparison(
    args: argparse.Namespace, url: URL, base: str, path: str, work: Path, log: Path
) -> tuple[list[WrkRun], list[str]]:
    """The app's cached page beside the floor (benchmarks/floor_app.py: a bare Flask app serving the
    same bytes and headers under the same gunicorn settings), measured in turns, app then floor,
    ``args.rounds`` times, so that the other users of a shared machine weigh on both alike."""
    gzip_header = ["-H", "Accept-Encoding: gzip"]
    status, headers, body, _ = fetch(base + path, {"Accept-Encoding": "gzip"})
    if status != 200:
        raise RuntimeError(f"{path}: status {status}")
    (work / "page.body").write_bytes(body)
    kept = {name: headers[name] for name in FLOOR_HEADERS if name in headers}
    (work / "page.json").write_text(json.dumps({"path": path, "headers": kept}))
    floor_command = [sys.executable, str(Path(__file__).with_name("floor_app.py")), str(work)]
    port = free_port()
    runs: list[WrkRun] = []
    wrk_args = [f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency", *gzip_header]
    with served(url, port, args.workers, work / "floor.log", [*floor_command, str(port), str(args.workers)]) as floor:
        f_status, f_headers, f_body, _ = fetch(floor + path, {"Accept-Encoding": "gzip"})
        if (f_status, f_body) != (status, body) or any(f_headers.get(n) != v for n, v in kept.items()):
            raise RuntimeError("the floor does not answer what the app answers")
        run_wrk("warm-up app", [f"-t{args.threads}", f"-c{args.connections}", "-d5s", *gzip_header, base + path])
        run_wrk("warm-up floor", [f"-t{args.threads}", f"-c{args.connections}", "-d5s", *gzip_header, floor + path])
        for n in range(1, args.rounds + 1):
            runs.append(run_wrk(f"app, cached list, round {n}", [*wrk_args, base + path]))
            runs.append(run_wrk(f"floor (bare Flask), round {n}", [*wrk_args, floor + path]))
    app_rates = sorted(r.rate for r in runs if r.label.startswith("app"))
    floor_rates = sorted(r.rate for r in runs if r.label.startswith("floor"))
    ratios = [a.rate / f.rate for a, f in zip(runs[::2], runs[1::2], strict=True)]
    notes = [
        f"page {path}: {len(body):,} bytes gzipped, the same bytes and headers from the floor",
        f"app / floor requests per second, round by round: {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"medians: app {app_rates[len(app_rates) // 2]:.0f}, floor {floor_rates[len(floor_rates) // 2]:.0f}",
    ]
    return runs, notes


def print_runs(runs: list[WrkRun]) -> None:
    print(
        f"{'run':<38} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>7} {'load':>5}"
    )
    for run in runs:
        errors_total = run.non_2xx_3xx + run.socket_errors
        print(
            f"{run.label:<38} {run.requests:>9,} {run.rate:>8.1f} {run.p50:>8.2f} {run.p90:>8.2f} {run.p99:>8.2f}"
            f" {errors_total:>7} {run.load:>5.2f}"
        )


def floor_only(args: argparse.Namespace) -> None:
    """``--floor-only``: the cached page beside the floor on any database already holding the page
    (the demo on SQLite will do), without building the prefecture."""
    if not args.database_url or not args.page:
        sys.exit("--floor-only needs --database-url and --page")
    url = parse_database_url(args.database_url)
    work = Path(tempfile.mkdtemp(prefix="bench_floor_"))
    global WRK_LOG
    WRK_LOG = work / "wrk.log"
    print(f"database {redact_url(url)}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    with served(url, free_port(), args.workers, work / "gunicorn.log") as base:
        runs, notes = floor_comparison(args, url, base, args.page, work, work / "gunicorn.log")
    print_runs(runs)
    for note in notes:
        print(note)
    print(f"wrk's own output: {WRK_LOG}")


def paced_run(label: str, args: argparse.Namespace, headers: list[str], script: list[str]) -> WrkRun:
    """wrk paced to about ``args.rate`` requests/s: each connection pauses between its requests
    (the script's delay()) so that together they ask about that many; a 5 s calibration run
    measures what the responses add to each connection's cycle. Plain wrk cannot do better (no
    open-loop rate control): when the server cannot keep up, the pause is 0 and the run shows the
    queue."""
    connections = max(args.connections, 32)
    paced = [f"-t{args.threads}", f"-c{connections}", "--latency", *headers]
    first_pause = round(1000 * connections / args.rate)
    calibration = run_wrk("calibration", [*paced, "-d5s", *script, str(first_pause)])
    response_ms = 1000 * connections / max(calibration.rate, 1) - first_pause
    pause = max(0, round(1000 * connections / args.rate - response_ms))
    return run_wrk(label, [*paced, f"-d{args.duration}s", *script, str(pause)])


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes, float]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            body = response.read()
            status, got = response.status, dict(response.headers)
    except urllib.error.HTTPError as error:  # 304 comes back as an "error"
        body, status, got = error.read(), error.code, dict(error.headers)
    return status, got, body, (time.perf_counter() - start) * 1000


# --- a clerk's import and a reviewer's publication while residents read ------------------------------

WRITE_CLERK = "bench_public_clerk"
WRITE_REVIEWER = "bench_public_reviewer"
WRITE_STEPS = ("withdrawal", "review import", "submit and approve", "publication")
WRITE_REASON = "基准测试：撤回后重新导入复评"
OVERRIDE = "基准测试：缺项照常"  # the guard's reason, should the village's data have shortfalls


def _writes_of(session: Any, village_code: str) -> tuple[VillagePeriod, User, User]:
    village = session.scalars(sa.select(Village).where(Village.code == village_code)).one()
    village_period = session.scalars(
        sa.select(VillagePeriod)
        .join(Period, VillagePeriod.period_id == Period.id)
        .where(VillagePeriod.village_id == village.id, Period.code == PERIOD)
    ).one()
    clerk = session.scalars(sa.select(User).where(User.username == WRITE_CLERK)).one()
    reviewer = session.scalars(sa.select(User).where(User.username == WRITE_REVIEWER)).one()
    return village_period, clerk, reviewer


def prepare_writes(engine: sa.Engine, village_code: str) -> None:
    """The writing village's clerk and township reviewer (accounts made through the service), and the
    village published again if an earlier run stopped half-way (``WRITE_STEPS`` from where it is)."""
    maker = make_sessionmaker(engine, write=True)
    with maker.begin() as session:
        village = session.scalars(sa.select(Village).where(Village.code == village_code)).one()
        for username, role, unit in (
            (WRITE_CLERK, Role.VILLAGE_CLERK, village.code),
            (WRITE_REVIEWER, Role.TOWNSHIP_REVIEWER, village.township.code),
        ):
            if session.scalar(sa.select(User.id).where(User.username == username)) is None:
                accounts.create_user(
                    session, username=username, password=secrets.token_hex(16), role=role, unit_code=unit
                )
    with maker.begin() as session:
        village_period, _clerk, reviewer = _writes_of(session, village_code)
        moves = {
            WorkflowState.PUBLISHED: workflow.withdraw,
            WorkflowState.APPROVED: workflow.unapprove,
            WorkflowState.SUBMITTED: workflow.return_for_changes,
        }
        while village_period.state not in (WorkflowState.DRAFT, WorkflowState.RETURNED, WorkflowState.PUBLISHED):
            moves[village_period.state](session, reviewer, village_period, village_period.version, WRITE_REASON)
        published = village_period.state is WorkflowState.PUBLISHED
    if not published:
        steps = write_steps(village_code, random.Random(34))
        for name in WRITE_STEPS[1:]:
            with maker.begin() as session:
                steps[name](session)


def review_sheet(session: Any, village_period: VillagePeriod, rng: random.Random) -> bytes:
    """The village's 小组复评 sheet as a clerk fills it (CSV): every registered household, one group
    review each, each criterion between half and all of its points, in tenths."""
    period = village_period.period
    maxima = [(c.code, c.max_tenths) for c in period.rubric_version.criteria]
    codes = session.scalars(
        sa.select(Household.code)
        .join(Group, Household.group_id == Group.id)
        .where(Group.village_id == village_period.village_id, rating.registered(period))
        .order_by(Household.code)
    ).all()
    buffer = io.StringIO()
    sheet = csv.writer(buffer, lineterminator="\r\n")
    sheet.writerow(["户编号", "评议类型", "评议人", *(code for code, _ in maxima)])
    for code in codes:
        scores = [rng.randint(most // 2, most) / 10 for _, most in maxima]
        sheet.writerow([code, "复评", "王组长、李委员", *scores])
    return buffer.getvalue().encode()


def write_while_reading(url_text: str, village_code: str, stop: Any, out: str, pause: float = 0.0) -> None:
    """A clerk's review import and a reviewer's publication, again and again until ``stop``, through
    the services each in its own transaction as the pages do (another process: it competes with the
    served app for the CPUs), ``pause`` seconds apart (0: back to back, the worst case). Each cycle
    ends published, as the village was. Each step's own wall time and every error go to ``out``."""
    engine = make_engine(parse_database_url(url_text))
    maker = make_sessionmaker(engine, write=True)
    times: dict[str, list[float]] = {name: [] for name in WRITE_STEPS}
    errors: list[str] = []
    steps = write_steps(village_code, random.Random(34))
    while not stop.is_set() and not errors:
        for name, step in steps.items():
            started = time.perf_counter()
            try:
                with maker.begin() as session:
                    step(session)
            except Exception as error:
                errors.append(f"{name}: {error!r}")
                break
            times[name].append(time.perf_counter() - started)
        stop.wait(pause)
    engine.dispose()
    Path(out).write_text(json.dumps({"times": times, "errors": errors}, ensure_ascii=False))


def write_steps(village_code: str, rng: random.Random) -> dict[str, Any]:
    """``WRITE_STEPS`` as functions of a session, each as the clerk's or the reviewer's page calls the
    services: the posting taken down, the clerk's sheet imported, submitted and approved, published
    again (a new record, its public rows stored by ``records.post``)."""

    def review_import(session: Any) -> None:
        village_period, clerk, _ = _writes_of(session, village_code)
        data = review_sheet(session, village_period, rng)
        plan = review_imports.plan_review_upload(
            session, clerk, village_period.village, village_period.period, data, "复评表.csv"
        )
        review_imports.apply_review_import(session, clerk, plan, file_name="复评表.csv")

    def submit_and_approve(session: Any) -> None:
        village_period, clerk, reviewer = _writes_of(session, village_code)
        workflow.submit(session, clerk, village_period, village_period.version, override_reason=OVERRIDE)
        workflow.approve(session, reviewer, village_period, village_period.version, override_reason=OVERRIDE)

    def publication(session: Any) -> None:
        village_period, _, reviewer = _writes_of(session, village_code)
        workflow.publish(session, reviewer, village_period, village_period.version, override_reason=OVERRIDE)

    def withdrawal(session: Any) -> None:
        village_period, _, reviewer = _writes_of(session, village_code)
        workflow.withdraw(session, reviewer, village_period, village_period.version, WRITE_REASON)

    return dict(zip(WRITE_STEPS, (withdrawal, review_import, submit_and_approve, publication), strict=True))


@contextlib.contextmanager
def writing(url: URL, village_code: str, out: Path, pause: float) -> Iterator[None]:
    """``write_while_reading`` in its own process for the duration of the block."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    writer = context.Process(
        target=write_while_reading,
        args=(url.render_as_string(hide_password=False), village_code, stop, str(out), pause),
    )
    writer.start()
    try:
        yield
    finally:
        stop.set()
        writer.join(timeout=600)
        if writer.is_alive():
            writer.terminate()
            writer.join()


def write_notes(out: Path) -> list[str]:
    """The writes' own times (median and slowest of each step) and their errors."""
    if not out.exists():
        return ["writes: the writing process left no report (it failed; see above)"]
    found = json.loads(out.read_text())
    lines = []
    for name, seconds in found["times"].items():
        if seconds:
            ordered = sorted(seconds)
            lines.append(
                f"  {name}: {len(ordered)} done, median {ordered[len(ordered) // 2] * 1000:,.0f} ms, "
                f"slowest {ordered[-1] * 1000:,.0f} ms"
            )
        else:
            lines.append(f"  {name}: none done")
    lines.append(f"  errors: {len(found['errors'])}" + "".join(f"\n    {e}" for e in found["errors"]))
    return lines


# --- where the time goes ------------------------------------------------------------------------------


def profile_page(url: URL, paths: list[str]) -> list[str]:
    """The pages through Flask's test client on the same database, each rendered (not from the
    page cache): ms per request, SQL statements and SQL ms per request, and the functions with
    the most own time."""
    os.environ.setdefault("HYGIENE_SECRET_KEY", secrets.token_hex(32))
    from web import create_app
    from web.public import cache as page_cache

    app = create_app({"DATABASE_URL": url.render_as_string(hide_password=False), "TICK_SECONDS": 0})
    engine: sa.Engine = app.extensions["hygiene.engine"]
    sql = {"count": 0, "seconds": 0.0}

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        conn.info["started"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        sql["count"] += 1
        sql["seconds"] += time.perf_counter() - conn.info.pop("started")

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    client = app.test_client()
    client.get(paths[0])  # warm: templates compiled, connections open
    requests = len(paths) - 1
    # First without the profiler: each page rendered (the page cache emptied before), the CPU this
    # process spent on it (steadier than wall time on a shared machine) beside the wall time.
    lines = []
    for turn in (1, 2, 3):
        with app.app_context():
            page_cache.pages().clear()
        sql.update(count=0, seconds=0.0)
        cpu, start = time.process_time(), time.perf_counter()
        for path in paths[1:]:
            assert client.get(path, headers={"Accept-Encoding": "gzip"}).status_code == 200
        cpu_ms = (time.process_time() - cpu) * 1000 / requests
        wall_ms = (time.perf_counter() - start) * 1000 / requests
        lines.append(
            f"test client, {requests} different villages, each rendered, turn {turn} (no profiler): "
            f"{cpu_ms:.2f} ms CPU and {wall_ms:.2f} ms wall a page, {sql['count'] / requests:.1f} SQL statements "
            f"and {sql['seconds'] * 1000 / requests:.2f} ms of SQL each"
        )
    with app.app_context():
        page_cache.pages().clear()
    sql.update(count=0, seconds=0.0)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for path in paths[1:]:
        assert client.get(path, headers={"Accept-Encoding": "gzip"}).status_code == 200
    profiler.disable()
    wall = (time.perf_counter() - start) * 1000 / requests
    lines += [
        f"test client, {requests} different villages, each rendered: {wall:.1f} ms a request (under cProfile), "
        f"{sql['count'] / requests:.1f} SQL statements and {sql['seconds'] * 1000 / requests:.1f} ms of SQL each",
        "functions with the most own time (cProfile, tottime ms per request):",
    ]
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    top = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:12]  # type: ignore[attr-defined]
    for (file, line, name), (_cc, calls, tottime, cumtime, _callers) in top:
        where = f"{Path(file).name}:{line}({name})" if line else name
        lines.append(f"  {tottime * 1000 / requests:7.2f} ms own {cumtime * 1000 / requests:7.2f} ms cum"
                     f" {calls // requests:7d} calls  {where}")  # fmt: skip
    sql.update(count=0, seconds=0.0)
    start = time.perf_counter()
    for path in paths[1:]:
        assert client.get(path, headers={"Accept-Encoding": "gzip"}).status_code == 200
    cached = (time.perf_counter() - start) * 1000 / requests
    lines.append(
        f"the same pages again, from the page cache (no profiler): {cached:.1f} ms a request, "
        f"{sql['count'] / requests:.1f} SQL statements and {sql['seconds'] * 1000 / requests:.1f} ms of SQL each"
    )
    lines.append("the project's functions and templates by cumulative time (ms per request):")
    root = str(Path(__file__).resolve().parents[1])
    ours = [
        item
        for item in stats.stats.items()  # type: ignore[attr-defined]
        if (item[0][0].startswith(root) and "/.venv/" not in item[0][0]) or item[0][0].endswith(".html")
    ]
    for (file, line, name), (_cc, calls, _tottime, cumtime, _callers) in sorted(
        ours, key=lambda item: item[1][3], reverse=True
    )[:12]:
        lines.append(f"  {cumtime * 1000 / requests:7.2f} ms cum {calls // requests:7d} calls  "
                     f"{Path(file).relative_to(root) if file.startswith(root) else file}:{line}({name})")  # fmt: skip
    engine.dispose()
    return lines


def explain_rows_query(engine: sa.Engine, village_code: str) -> list[str]:
    """EXPLAIN ANALYZE of the biggest query of the page: a record's ranked rows, as
    ``records.posted_rows`` asks for them (the county first, for the rows' index)."""
    with engine.connect() as conn:
        county_id, record_id = conn.execute(
            sa.select(ResultRecord.county_id, ResultRecord.id).where(
                ResultRecord.village_code == village_code, ResultRecord.superseded_at.is_(None)
            )
        ).one()
        plan = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS) SELECT rank, household_code, head_name, group_name, grade, final_total,"
            " award FROM result_record_households WHERE county_id = %(county)s AND record_id = %(id)s"
            " AND rank IS NOT NULL ORDER BY rank, household_code",
            {"county": county_id, "id": record_id},
        ).scalars()
        return [f"  {line}" for line in plan]


# --- the run ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--households", type=int, default=2_000_000)
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench_public/data"))  # noqa: S108 - not the repo
    parser.add_argument("--rebuild", action="store_true", help="rebuild the database even if it is complete")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=int, default=20, help="seconds of each wrk run")
    parser.add_argument("--rate", type=int, default=300, help="requests/s of the paced run")
    parser.add_argument("--cold", type=int, default=20, help="villages requested one by one before the load")
    parser.add_argument("--profile-requests", type=int, default=50, help="distinct villages profiled")
    parser.add_argument(
        "--warm-random",
        type=int,
        default=0,
        help="seconds of random-village load before measuring again: each worker's page cache filled, as a "
        "county's lists are once residents have read them (0: not measured)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="turns of app then floor (issue 34)")
    parser.add_argument(
        "--floor-only",
        action="store_true",
        help="only the cached page beside the bare-Flask floor, on --database-url as it is (e.g. the demo)",
    )
    parser.add_argument("--page", default=None, help="with --floor-only: the page's path")
    parser.add_argument(
        "--live-rows",
        action="store_true",
        help="clear the records' stored rows (issue 34): every page renders its rows, as for a record posted "
        "before migration 0021 (without it, records lacking them get them through records.store_public_rows)",
    )
    parser.add_argument(
        "--profile-only",
        action="store_true",
        help="only the profile of first renders in the test client (CPU per page), no server and no wrk",
    )
    parser.add_argument(
        "--write-pause",
        type=float,
        default=0.0,
        help="seconds between the writer's cycles (withdraw, import, submit and approve, publish); 0: back to back",
    )
    parser.add_argument(
        "--no-writes",
        action="store_true",
        help="skip the cold runs while a clerk's review import and a reviewer's publication run",
    )
    args = parser.parse_args()
    if args.floor_only:
        floor_only(args)
        return

    url = parse_database_url(args.database_url) if args.database_url else default_url()
    if url.get_backend_name() != "postgresql":
        sys.exit("this benchmark needs PostgreSQL")
    if url.database == "hygiene_test":
        sys.exit("refusing the test database: name a database of its own (e.g. bench_public)")
    ensure_data(args.households, args.data, "parquet")
    households = expected_households(args.data)
    engine = make_engine(url)
    print(
        f"database {redact_url(url)}, data {args.data} ({households:,} households), {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if args.rebuild or not is_complete(engine, households):
        print("building the database (schema dropped, migrated, bulk-loaded):", flush=True)
        start = time.perf_counter()
        build(engine, url, args.data)
        print(f"built in {time.perf_counter() - start:.0f} s; grades, ranks and awards from the scoring engine")
    else:
        print("reusing the complete database (grades, ranks and awards from the scoring engine)")
        keep_posting_open(engine)
    print(public_rows(engine, live=args.live_rows), flush=True)
    for name, rows, size in table_sizes(engine):
        print(f"  {name:<26} {rows:>10,} rows {size:>10}")

    with engine.connect() as conn:
        codes = list(
            conn.scalars(  # the current records only: the runs while writing leave older versions of one village
                sa.select(ResultRecord.village_code)
                .where(ResultRecord.superseded_at.is_(None))
                .order_by(ResultRecord.village_code)
            )
        )
        median_code = conn.scalar(
            sa.select(ResultRecord.village_code)
            .where(ResultRecord.superseded_at.is_(None))
            .order_by(ResultRecord.households, ResultRecord.village_code)
            .offset(len(codes) // 2)
            .limit(1)
        )
    path = f"/public/villages/{median_code}/{PERIOD}"
    # The village the clerk and the reviewer write to: its list comes and goes, so no reader asks for it.
    writes_code = next(code for code in codes[len(codes) // 3 :] if code != median_code)
    codes.remove(writes_code)

    profiled = [f"/public/villages/{code}/{PERIOD}" for code in codes[-1 - args.profile_requests :]]
    if args.profile_only:
        for line in profile_page(url, profiled):
            print(line)
        return
    runs: list[WrkRun] = []
    notes: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="bench_public_"))
    (work / "paths.txt").write_text("".join(f"/public/villages/{code}/{PERIOD}\n" for code in codes))
    (work / "one.txt").write_text(path + "\n")
    (work / "random.lua").write_text(WRK_SCRIPT)
    log = work / "gunicorn.log"
    global WRK_LOG
    WRK_LOG = work / "wrk.log"
    gzip_header = ["-H", "Accept-Encoding: gzip"]  # as phones ask
    base_args = [f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency", *gzip_header]
    with served(url, free_port(), args.workers, log) as base:
        status, headers, body, first_ms = fetch(base + path)
        _, zipped_headers, zipped, _ = fetch(base + path, {"Accept-Encoding": "gzip"})
        etag = headers.get("ETag")
        notes.append(
            f"page {path}: status {status}, {len(body):,} bytes, {len(zipped):,} bytes with Accept-Encoding: gzip "
            f"(Content-Encoding {zipped_headers.get('Content-Encoding')!r}); first request {first_ms:.0f} ms; "
            f"Cache-Control {headers.get('Cache-Control')!r}; ETag {etag!r}"
        )
        text = body.decode()
        row = re.search(r"<tr class=[^\n]*", text)
        if row:
            rows = text.count("<tr class=")
            notes.append(f"{rows} rows on the page; one row is {len(row.group(0).encode())} bytes: {row.group(0)!r}")
        if etag:
            status_304, _, body_304, conditional_ms = fetch(base + path, {"If-None-Match": etag})
            notes.append(f"If-None-Match {etag}: status {status_304}, {len(body_304)} bytes, {conditional_ms:.1f} ms")
        cold = sorted(fetch(base + f"/public/villages/{code}/{PERIOD}")[3] for code in codes[1 : 1 + args.cold])
        if cold:
            notes.append(
                f"{len(cold)} villages requested one after another, each for the first time: "
                f"median {cold[len(cold) // 2]:.1f} ms, max {cold[-1]:.1f} ms"
            )
        run_wrk("warm-up", [f"-t{args.threads}", f"-c{args.connections}", "-d5s", *gzip_header, base + path])
        one = ["-s", str(work / "random.lua"), base + "/", "--", str(work / "one.txt")]
        many = ["-s", str(work / "random.lua"), base + "/", "--", str(work / "paths.txt")]
        runs.append(run_wrk("one village, unpaced", [*base_args, base + path]))
        floor_runs, floor_notes = floor_comparison(args, url, base, path, work, log)
        runs.extend(floor_runs)
        notes.extend(floor_notes)
        runs.append(paced_run(f"one village, paced to ~{args.rate}/s", args, gzip_header, one))
        runs.append(run_wrk(f"{len(codes):,} random villages, unpaced", [*base_args, *many, "0"]))
        runs.append(paced_run(f"random villages, paced to ~{args.rate}/s", args, gzip_header, many))
        if args.warm_random:
            run_wrk("random warm-up", [f"-t{args.threads}", f"-c{args.connections}", f"-d{args.warm_random}s",
                                       *gzip_header, *many, "0"])  # fmt: skip
            runs.append(run_wrk("random villages, warm, unpaced", [*base_args, *many, "0"]))
            runs.append(paced_run(f"random villages, warm, paced to ~{args.rate}/s", args, gzip_header, many))
        if etag:
            runs.append(
                run_wrk("one village, If-None-Match", [*base_args, "-H", f"If-None-Match: {etag}", base + path])
            )
        else:
            notes.append("no ETag on the page: conditional requests not measured")
    if not args.no_writes:
        # A fresh server (every worker's page cache empty again), then the cold runs while a clerk's
        # review import and a reviewer's publication run in another process, one after the other.
        prepare_writes(engine, writes_code)
        out = work / "writes.json"
        with (
            served(url, free_port(), args.workers, work / "gunicorn-writes.log") as base,
            writing(url, writes_code, out, args.write_pause),
        ):
            many = ["-s", str(work / "random.lua"), base + "/", "--", str(work / "paths.txt")]
            runs.append(run_wrk("random, cold, while writing, unpaced", [*base_args, *many, "0"]))
            runs.append(paced_run(f"random, cold, while writing, ~{args.rate}/s", args, gzip_header, many))
        notes.append(f"village {writes_code}: a clerk's review import and a reviewer's publication, again and again "
                     f"({args.write_pause:g} s apart) during the runs 'while writing' (another process, through the "
                     "services):")  # fmt: skip
        notes.extend(write_notes(out))
    for served_log in (log, work / "gunicorn-writes.log"):
        if served_log.exists():
            errors = [
                line
                for line in served_log.read_text(errors="replace").splitlines()
                if "Traceback" in line or "ERROR" in line
            ]
            notes.append(f"gunicorn log {served_log}: {len(errors)} error lines")

    print()
    print_runs(runs)
    print()
    for run in runs:
        print(f"{run.label}: {run.command}")
        if run.non_2xx_3xx or run.socket_errors:
            print(
                f"  errors: {run.non_2xx_3xx} non-2xx/3xx responses, "
                f"{run.socket_errors} socket errors (wrk times out at 2 s)"
            )
    print(f"wrk's own output: {WRK_LOG}")
    for note in notes:
        print(note)
    print()
    for line in profile_page(url, profiled):
        print(line)
    print(f"EXPLAIN ANALYZE of the record's rows (village {median_code}):")
    for line in explain_rows_query(engine, median_code):
        print(line)
    engine.dispose()


if __name__ == "__main__":
    main()
