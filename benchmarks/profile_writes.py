"""Profile: the writer's steps of ``public_load.py`` (issue 34), one village, step by step.

``public_load.py`` measures cold public pages while another process loops, for one village of about
430 households, through a withdrawal, the clerk's 小组复评 sheet import, a submit and an approval, and
a publication (``public_load.write_steps``). That writer competes with the served pages for the CPUs,
so what matters is each step's own cost. This runs the same steps (the same functions) on a small
database and prints, per step, the median of ``--cycles`` runs of:

- wall time (the step's transaction, commit included),
- CPU time of this Python process (``time.process_time``: the database server's CPU is not in it),
- SQL statements sent (a SQLAlchemy ``before_cursor_execute`` listener, plus the COPY statements
  ``hygiene.services.bulk`` sends through the driver on PostgreSQL, which SQLAlchemy does not see),
- engine runs (``scoring.score_tables``) and engine input readings (``rating.engine_inputs``),
- on PostgreSQL running on this machine, the CPU time of the server processes behind the
  connections (``/proc/PID/schedstat`` of each ``backend_pid``; the WAL writer and the other
  background processes are not in it).

With ``--profile STEP`` (or ``all``) each such step then runs ``--cycles`` more times under cProfile,
and the functions with the most cumulative and own time are printed.

The database: one county of gen.py's (``--households``, 20,000 by default: 47 villages of about 430
households, 3 townships, with their self, peer and group reviews and quotas), loaded through
SQLAlchemy's Core inserts on SQLite or PostgreSQL, its period opened by the service
(``counties.open_period``), every village period approved, then every village but the writer's one
published through ``workflow.publish`` (records, stored rows, audit entries: realistic neighbours),
and the writer's village brought to published by ``public_load.prepare_writes``. A complete database
is reused (``--rebuild`` builds it again).

    .venv/bin/python benchmarks/profile_writes.py                       # SQLite, /tmp/profile_writes/writes.db
    scripts/with-postgres.sh .venv/bin/python benchmarks/profile_writes.py --postgres
    .venv/bin/python benchmarks/profile_writes.py --profile "review import"

``--database-url`` names any database instead (dropped and rebuilt only when incomplete). gen.py's data
stays under ``--data`` (default /tmp/profile_writes/data), never the repository.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import URL

import scoring
from hygiene import migrate
from hygiene.db import make_engine, make_sessionmaker, parse_database_url, redact_url
from hygiene.enums import CRITERIA, ReviewKind, Role, WorkflowState
from hygiene.models import (
    AwardQuota,
    County,
    Group,
    Household,
    Review,
    Township,
    User,
    Village,
    VillagePeriod,
)
from hygiene.models._types import utcnow
from hygiene.services.rating import rating, workflow
from hygiene.services.setup import accounts, counties
from scoring.bench import ensure_data

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prefecture_db import database_on_test_server
from public_load import OVERRIDE, PERIOD, PROGRAMME_YEAR, WRITE_CLERK, WRITE_STEPS, prepare_writes, write_steps

DATABASE = "bench_writes"
Sample = tuple[float, float, int, int, int, float | None]  # wall s, CPU s, statements, runs, readings, server CPU s


# --- the database ---------------------------------------------------------------------------------


def writer_village(households: pd.DataFrame) -> str:
    """The village the writer works on: the one whose size is nearest 430 households (first by code)."""
    sizes = households.groupby("village_code").size()
    return str((sizes - 430).abs().sort_index().idxmin())


def _insert(session: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 20_000):
        session.execute(sa.insert(table), rows[start : start + 20_000])


def build(engine: sa.Engine, folder: Path) -> str:
    """The county of ``folder`` (gen.py's files) loaded into an empty schema; returns the writer's village."""
    households = pq.read_table(folder / "households.parquet").to_pandas()
    reviews = pq.read_table(folder / "reviews.parquet").to_pandas()
    quotas = pq.read_table(folder / "quotas.parquet").to_pandas()
    maker = make_sessionmaker(engine, write=True)
    rng = np.random.default_rng(34)
    with maker.begin() as session:
        code = str(households["township_code"].iloc[0])[:2]
        county = counties.create_county(session, None, code, f"模拟县{code}")
        county_id = county.id
        townships = sorted(households["township_code"].unique())
        _insert(
            session,
            Township.__table__,
            [{"county_id": county_id, "code": t, "name": f"{t}镇"} for t in townships],
        )
        township_id = dict(session.execute(sa.select(Township.code, Township.id)).all())
        villages = households[["village_code", "township_code"]].drop_duplicates("village_code")
        _insert(
            session,
            Village.__table__,
            [
                {
                    "county_id": county_id,
                    "township_id": township_id[t],
                    "code": v,
                    "name": f"{v}村",
                    "programme_year": PROGRAMME_YEAR,
                }
                for v, t in villages.itertuples(index=False)
            ],
        )
        village_id = dict(session.execute(sa.select(Village.code, Village.id)).all())
        groups = households[["group_code", "village_code"]].drop_duplicates("group_code")
        _insert(
            session,
            Group.__table__,
            [
                {"county_id": county_id, "village_id": village_id[v], "code": g, "name": f"第{int(g[-2:]) + 1}组"}
                for g, v in groups.itertuples(index=False)
            ],
        )
        group_id = dict(session.execute(sa.select(Group.code, Group.id)).all())
        members = rng.integers(1, 8, len(households))
        _insert(
            session,
            Household.__table__,
            [
                {
                    "county_id": county_id,
                    "group_id": group_id[g],
                    "code": h,
                    "head_name": name,
                    "members": int(m),
                }
                for (h, g, name), m in zip(
                    households[["household_code", "group_code", "head_name"]].itertuples(index=False),
                    members,
                    strict=True,
                )
            ],
        )
        household_id = dict(session.execute(sa.select(Household.code, Household.id)).all())
        opened = counties.open_period(session, None, session.get_one(County, county_id), PERIOD)
        period_id = opened.period.id
        village_period = dict(
            session.execute(
                sa.select(VillagePeriod.village_id, VillagePeriod.id).where(VillagePeriod.period_id == period_id)
            ).all()
        )
        tenths = {c: (reviews[c].to_numpy(dtype=np.float64) * 10).round().astype(int).tolist() for c in CRITERIA}
        now = utcnow()
        _insert(
            session,
            Review.__table__,
            [
                {
                    "county_id": county_id,
                    "period_id": period_id,
                    "household_id": household_id[h],
                    "kind": ReviewKind(kind),
                    "reviewer_household_id": household_id[reviewer] if kind == "peer" else None,
                    "team_members": reviewer if kind == "group" else None,
                    "updated_at": now,
                    **{c: tenths[c][i] for c in CRITERIA},
                }
                for i, (h, kind, reviewer) in enumerate(
                    reviews[["household_code", "kind", "reviewer"]].itertuples(index=False)
                )
            ],
        )
        given = quotas.dropna(subset=["cleanest_quota", "clean_quota"])
        _insert(
            session,
            AwardQuota.__table__,
            [
                {
                    "county_id": county_id,
                    "village_period_id": village_period[village_id[v]],
                    "cleanest_quota": int(a),
                    "clean_quota": int(b),
                }
                for v, a, b in given[["village_code", "cleanest_quota", "clean_quota"]].itertuples(index=False)
            ],
        )
        approved = utcnow() - pd.Timedelta(days=1).to_pytimedelta()
        session.execute(
            sa.update(VillagePeriod)
            .where(VillagePeriod.period_id == period_id)
            .values(state=WorkflowState.APPROVED, submitted_at=approved, approved_at=approved)
        )
    village_code = writer_village(households)
    publish_neighbours(engine, village_code)
    prepare_writes(engine, village_code)
    if engine.dialect.name == "postgresql":  # as public_load.py's build: the planner's statistics
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    return village_code


def publish_neighbours(engine: sa.Engine, village_code: str) -> None:
    """Every other village published through the workflow by its township's reviewer (one
    transaction each): their records, stored rows and audit entries are the writer's neighbours."""
    maker = make_sessionmaker(engine, write=True)
    with maker.begin() as session:
        townships = list(session.scalars(sa.select(Township.code).order_by(Township.code)))
        for township in townships:
            username = f"bench_writes_{township}"
            if session.scalar(sa.select(User.id).where(User.username == username)) is None:
                accounts.create_user(
                    session,
                    username=username,
                    password="bench-writes-2026",  # noqa: S106 - a throwaway benchmark account
                    role=Role.TOWNSHIP_REVIEWER,
                    unit_code=township,
                )
        ids = list(
            session.scalars(
                sa.select(VillagePeriod.id)
                .join(Village, VillagePeriod.village_id == Village.id)
                .where(Village.code != village_code, VillagePeriod.state == WorkflowState.APPROVED)
                .order_by(Village.code)
            )
        )
    for village_period_id in ids:
        with maker.begin() as session:
            village_period = session.get_one(VillagePeriod, village_period_id)
            username = f"bench_writes_{village_period.village.township.code}"
            actor = session.scalars(sa.select(User).where(User.username == username)).one()
            workflow.publish(session, actor, village_period, village_period.version, override_reason=OVERRIDE)


def is_complete(engine: sa.Engine) -> str | None:
    """The writer's village of a database this script built (schema at head, every village
    published), or None."""
    if migrate.current_revision(engine) != migrate.head_revision():
        return None
    with engine.connect() as conn:
        states = set(conn.scalars(sa.select(VillagePeriod.state).distinct()))
        writer = conn.scalar(
            sa.select(Village.code).join(User, User.village_id == Village.id).where(User.username == WRITE_CLERK)
        )
    return writer if states == {WorkflowState.PUBLISHED} else None


def rebuild_schema(engine: sa.Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    else:
        sa.MetaData().drop_all(engine)
        path = engine.url.database
        engine.dispose()
        if path and Path(path).exists():
            Path(path).unlink()
    migrate.upgrade(engine)


# --- the counting ---------------------------------------------------------------------------------


class Counter:
    """Statements sent, engine runs and engine input readings, counted while ``counting``."""

    def __init__(self, engine: sa.Engine) -> None:
        self.statements = 0
        self.engine_runs = 0
        self.readings = 0
        self.backends: set[int] = set()  # PostgreSQL: the server processes of the connections checked out
        sa.event.listen(engine, "before_cursor_execute", self._statement)
        self._wrap(scoring, "score_tables", "engine_runs")
        self._wrap(rating, "engine_inputs", "readings")
        if engine.dialect.name == "postgresql":
            import psycopg

            original = psycopg.Cursor.copy

            def copy(cursor: Any, *args: Any, **kwargs: Any) -> Any:
                self.statements += 1
                return original(cursor, *args, **kwargs)

            psycopg.Cursor.copy = copy  # type: ignore[method-assign,assignment]
            sa.event.listen(engine, "checkout", self._checkout)

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _checkout(self, dbapi_connection: Any, *_: Any) -> None:
        self.backends.add(dbapi_connection.info.backend_pid)

    def server_seconds(self) -> float | None:
        """CPU time of the PostgreSQL server processes behind this engine's connections so far
        (``/proc/PID/schedstat``, nanoseconds on a CPU): None unless the server runs on this machine."""
        if not self.backends:
            return None
        total = 0
        for pid in self.backends:
            try:
                total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                return None
        return total / 1e9

    def _wrap(self, module: Any, name: str, tally: str) -> None:
        original = getattr(module, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            setattr(self, tally, getattr(self, tally) + 1)
            return original(*args, **kwargs)

        setattr(module, name, counted)

    def totals(self) -> tuple[int, int, int]:
        return self.statements, self.engine_runs, self.readings


def run_cycles(
    maker: Any, steps: dict[str, Callable[[Any], None]], cycles: int, counter: Counter, profile: set[str]
) -> dict[str, list[Sample]]:
    """Each step in its own transaction, ``cycles`` times: a ``Sample`` per run; the steps in
    ``profile`` under cProfile (then printed)."""
    found: dict[str, list[Sample]] = {name: [] for name in steps}
    profilers = {name: cProfile.Profile() for name in profile}
    for _ in range(cycles):
        for name, step in steps.items():
            before = counter.totals()
            profiler = profilers.get(name)
            server = counter.server_seconds()
            wall, cpu = time.perf_counter(), time.process_time()
            with enabled(profiler), maker.begin() as session:
                step(session)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            server_after = counter.server_seconds()
            served = server_after - server if server is not None and server_after is not None else None
            statements, engine_runs, readings = (a - b for a, b in zip(counter.totals(), before, strict=True))
            found[name].append((wall, cpu, statements, engine_runs, readings, served))
    for name, profiler in profilers.items():
        print(f"\n--- cProfile: {name}, {cycles} runs ---")
        for order in ("cumulative", "tottime"):
            stats = pstats.Stats(profiler).strip_dirs().sort_stats(order)
            stats.print_stats(28)
    return found


@contextmanager
def enabled(profiler: cProfile.Profile | None) -> Iterator[None]:
    if profiler is None:
        yield
        return
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()


def report(found: dict[str, list[Sample]]) -> None:
    print(
        f"{'step':<20} {'runs':>4} {'wall ms (median, min-max)':>28} {'CPU ms (median)':>16} "
        f"{'statements':>11} {'engine runs':>12} {'readings':>9} {'server CPU ms (median)':>22}"
    )
    for name, runs in found.items():
        walls = [r[0] * 1000 for r in runs]
        cpus = [r[1] * 1000 for r in runs]
        statements = sorted({r[2] for r in runs})
        engine_runs = sorted({r[3] for r in runs})
        readings = sorted({r[4] for r in runs})
        served = [r[5] * 1000 for r in runs if r[5] is not None]
        server = f"{statistics.median(served):,.0f}" if len(served) == len(runs) else "-"
        print(
            f"{name:<20} {len(runs):>4} {statistics.median(walls):>10,.0f} ({min(walls):,.0f}-{max(walls):,.0f})"
            f"{'':>8} {statistics.median(cpus):>16,.0f} {'/'.join(map(str, statements)):>11} "
            f"{'/'.join(map(str, engine_runs)):>12} {'/'.join(map(str, readings)):>9} {server:>22}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--postgres", action="store_true", help="a database on HYGIENE_TEST_POSTGRES_URL's server")
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--data", type=Path, default=Path("/tmp/profile_writes/data"))  # noqa: S108 - not the repo
    parser.add_argument("--cycles", type=int, default=9)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--profile", action="append", default=[], choices=[*WRITE_STEPS, "all"], help="cProfile this step after"
    )
    args = parser.parse_args()
    if args.database_url:
        url: URL = parse_database_url(args.database_url)
    elif args.postgres:
        url = database_on_test_server(DATABASE)
    else:
        path = args.data.parent / "writes.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        url = parse_database_url(f"sqlite:///{path}")
    folder = args.data / str(args.households)
    ensure_data(args.households, folder, "parquet")
    engine = make_engine(url)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; database {redact_url(url)}")
    village_code = None if args.rebuild else is_complete(engine)
    if village_code is None:
        started = time.perf_counter()
        rebuild_schema(engine)
        village_code = build(engine, folder)
        print(f"built in {time.perf_counter() - started:.1f} s")
    with engine.connect() as conn:
        size = conn.scalar(
            sa.select(sa.func.count(Household.id))
            .join(Group, Household.group_id == Group.id)
            .join(Village, Group.village_id == Village.id)
            .where(Village.code == village_code)
        )
        totals = {t: conn.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in ("households", "reviews", "audit_log")}  # noqa: S608 - our names
    print(f"writer's village {village_code}: {size} households; " + ", ".join(f"{t} {n:,}" for t, n in totals.items()))
    counter = Counter(engine)
    maker = make_sessionmaker(engine, write=True)
    steps = write_steps(village_code, random.Random(34))
    run_cycles(maker, steps, 1, counter, set())  # warm: caches, the first statements compiled
    found = run_cycles(maker, steps, args.cycles, counter, set())
    print(f"\n{args.cycles} cycles, load average {os.getloadavg()[0]:.2f}")
    report(found)
    profiled = set(WRITE_STEPS) if "all" in args.profile else set(args.profile)
    if profiled:
        run_cycles(maker, steps, args.cycles, counter, profiled)  # every step (each needs the one before)
    engine.dispose()


if __name__ == "__main__":
    main()
