"""Benchmark: load with writes on the prefecture's PostgreSQL (issue 32), driven by locust.

Residents read posted village lists, village clerks sign in and save 小组复评 scores (each clerk its
own village), township reviewers approve and publish the villages of their township, all at once,
through the served app (``hygiene serve``: gunicorn, production settings, loopback only), for a
bounded time (``--run-time``, ``--users``, ``--spawn-rate``). The users are in
``load_with_writes_locustfile.py``.

1. The database: gen.py's prefecture (``--households``, 2,000,000 in 10 counties by default)
   loaded by ``prefecture_db.load`` (units, households, reviews, quotas; every village period
   approved); an existing complete load is reused.
2. The stage (``prepare``): ``--posted`` villages published through ``workflow.publish`` (one in
   each of as many townships, across the counties) for residents to read; ``--clerks`` villages of
   other townships set back to draft (the clerks' own, one each, ``--households-per-clerk`` of
   their households each); the villages of ``--reviewers`` townships set back to submitted; an
   account for every clerk and reviewer.
3. The run: ``locust --headless`` against the app on 127.0.0.1; the clerks' and reviewers' places
   fixed, the rest of ``--users`` residents.
4. The check: every clerk's last acknowledged value of each household and criterion is what the
   database holds (``lost_updates``: 0 lost); errors by kind of request (409 conflicts counted
   apart: with one writer a row, none are expected); p50/p95/p99 and requests/s by kind; the load
   average over the run (others share the machine). The reviewers' acknowledged approvals and
   publications are checked against the villages' states too (``moves_not_stored``).

    .venv/bin/pip install -e '.[dev,bench]'   # locust
    scripts/with-postgres.sh .venv/bin/python benchmarks/load_with_writes.py --households 200000 --run-time 2m
    scripts/with-postgres.sh .venv/bin/python benchmarks/load_with_writes.py            # 2M, 10 minutes

Without ``--database-url`` it uses the server of ``HYGIENE_TEST_POSTGRES_URL`` with a database of
its own, ``bench_load``. gen.py's data stays under ``--data``. Every process it starts (gunicorn,
locust) is stopped before it returns; exit status 1 when an error or a lost update was found.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.db import make_engine, make_sessionmaker, parse_database_url, redact_url
from hygiene.enums import CRITERIA, ReviewKind, Role, WorkflowState
from hygiene.models import County, Group, Household, Period, Review, Township, User, Village, VillagePeriod
from hygiene.models._types import utcnow
from hygiene.services.rating import workflow
from hygiene.services.setup import accounts
from scoring.bench import ensure_data

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prefecture_db import PERIOD, database_on_test_server, is_loaded, load
from public_load import free_port, served

DATABASE = "bench_load"
LOCUSTFILE = Path(__file__).with_name("load_with_writes_locustfile.py")
Cells = Mapping[str, Mapping[str, Mapping[str, int]]]  # village -> household -> criterion -> tenths


# --- the check ------------------------------------------------------------------------------------


@dataclass
class Check:
    cells: int  # household × criterion values acknowledged
    lost: list[str]  # each cell whose stored value is not the last acknowledged one, named
    in_flight_stored: int  # saves unanswered at the stop that the database holds (not lost, not acknowledged)


def lost_updates(session: Session, period_code: str, acknowledged: Cells, in_flight: Cells | None = None) -> Check:
    """Compare each clerk's last acknowledged 小组复评 values with the database. A household whose
    save was still unanswered when the run stopped may hold that save's values instead (it reached
    the database, its answer did not reach the clerk); any other difference is a lost update."""
    in_flight = in_flight or {}
    villages = set(acknowledged) | set(in_flight)
    stored: dict[tuple[str, str], dict[str, int | None]] = {}
    if villages:
        rows = session.execute(
            sa.select(Village.code, Household.code, *(getattr(Review, c) for c in CRITERIA))
            .select_from(Review)
            .join(Household, Review.household_id == Household.id)
            .join(Group, Household.group_id == Group.id)
            .join(Village, Group.village_id == Village.id)
            .join(Period, Review.period_id == Period.id)
            .where(Review.kind == ReviewKind.GROUP, Period.code == period_code, Village.code.in_(villages))
        )
        for village, household, *scores in rows:
            stored[(village, household)] = dict(zip(CRITERIA, scores, strict=True))
    lost: list[str] = []
    cells = 0
    in_flight_stored = 0
    for village, households in acknowledged.items():
        for household, values in households.items():
            have = stored.get((village, household), {})
            pending = in_flight.get(village, {}).get(household)
            cells += len(values)
            if pending is not None and all(have.get(c) == t for c, t in pending.items()):
                in_flight_stored += 1
                continue
            lost.extend(
                f"{village} {household} {criterion}: acknowledged {tenths}, stored {have.get(criterion)}"
                for criterion, tenths in sorted(values.items())
                if have.get(criterion) != tenths
            )
    return Check(cells, lost, in_flight_stored)


def moves_not_stored(session: Session, period_code: str, moved: Mapping[str, list[str]]) -> list[str]:
    """The reviewers' acknowledged moves against the villages' states: a village whose publication
    was acknowledged is published; one only approved is approved (or published: its publication's
    answer may not have arrived before the stop)."""
    wanted = {v: WorkflowState.PUBLISHED for v in moved.get("publish", [])}
    approved = {v: WorkflowState.APPROVED for v in moved.get("approve", []) if v not in wanted}
    expected = approved | wanted
    if not expected:
        return []
    states = dict(
        session.execute(
            sa.select(Village.code, VillagePeriod.state)
            .join(VillagePeriod, VillagePeriod.village_id == Village.id)
            .join(Period, VillagePeriod.period_id == Period.id)
            .where(Period.code == period_code, Village.code.in_(expected))
        ).all()
    )
    return [
        f"{village}: {state.value} acknowledged, {states.get(village)} stored"
        for village, state in sorted(expected.items())
        if states.get(village) is not state
        and not (state is WorkflowState.APPROVED and states.get(village) is WorkflowState.PUBLISHED)
    ]


# --- the stage ------------------------------------------------------------------------------------


def account(session: Session, username: str, role: Role, unit_code: str) -> dict[str, str]:
    password = f"load-{secrets.token_hex(12)}"
    accounts.create_user(session, username=username, password=password, role=role, unit_code=unit_code)
    return {"username": username, "password": password}


def set_state(session: Session, village_ids: list[int], period_ids: list[int], state: WorkflowState) -> None:
    """Set village periods back to draft or submitted (the stage, like the loader's approval)."""
    table = VillagePeriod.__table__
    submitted = utcnow() - dt.timedelta(hours=1) if state is WorkflowState.SUBMITTED else None
    session.execute(
        sa.update(table)
        .where(table.c.village_id.in_(village_ids), table.c.period_id.in_(period_ids))
        .values(state=state.value, submitted_at=submitted, approved_at=None)
    )


def prepare(engine: sa.Engine, args: argparse.Namespace) -> dict[str, Any]:
    """Publish, set back and sign up as the docstring's step 2 says; the plan for the locustfile."""
    maker = make_sessionmaker(engine, write=True)
    with maker.begin() as session:
        first_county = session.scalar(sa.select(County.id).order_by(County.code).limit(1))
        townships = list(session.scalars(sa.select(Township).order_by(Township.county_id, Township.code)))
        own = [t for t in townships if t.county_id == first_county]
        reviewed, others = own[: args.reviewers], [t for t in townships if t not in own[: args.reviewers]]
        period_ids = list(session.scalars(sa.select(Period.id).where(Period.code == PERIOD)))
        criteria = {
            c.code: c.max_tenths
            for c in session.scalars(sa.select(Period).where(Period.id == period_ids[0])).one().rubric_version.criteria
        }

        def villages_of(township: Township) -> list[Village]:
            return list(
                session.scalars(sa.select(Village).where(Village.township_id == township.id).order_by(Village.code))
            )

        reviewers = []
        for i, township in enumerate(reviewed):
            villages = villages_of(township)
            set_state(session, [v.id for v in villages], period_ids, WorkflowState.SUBMITTED)
            reviewers.append(
                account(session, f"load_reviewer_{i}", Role.TOWNSHIP_REVIEWER, township.code)
                | {"township": township.code, "villages": [v.code for v in villages]}
            )
        clerks = []
        for i, township in enumerate(others[: args.clerks]):
            village = villages_of(township)[0]
            set_state(session, [village.id], period_ids, WorkflowState.DRAFT)
            households = session.scalars(
                sa.select(Household.code)
                .join(Group)
                .where(Group.village_id == village.id, Household.moved_away_on.is_(None))
                .order_by(Household.code)
                .limit(args.households_per_clerk)
            )
            clerks.append(
                account(session, f"load_clerk_{i}", Role.VILLAGE_CLERK, village.code)
                | {"village": village.code, "households": list(households)}
            )
        if len(clerks) < args.clerks:
            sys.exit(f"only {len(clerks)} townships for {args.clerks} clerks: ask for fewer clerks")
        rest = others[args.clerks :]
        posting = rest[:: max(1, len(rest) // args.posted)][: args.posted]
    posted = []
    for i, township in enumerate(posting):  # one transaction a village, as the township page does
        with maker.begin() as session:
            actor = account(session, f"load_poster_{i}", Role.TOWNSHIP_REVIEWER, township.code)
            user = session.scalars(sa.select(User).where(User.username == actor["username"])).one()
            village_period = session.scalars(
                sa.select(VillagePeriod)
                .join(Village)
                .where(Village.township_id == township.id, VillagePeriod.period_id.in_(period_ids))
                .order_by(Village.code)
                .limit(1)
            ).one()
            workflow.publish(
                session, user, village_period, village_period.version, override_reason="负载测试：有缺项仍公示"
            )
            posted.append(f"/public/villages/{village_period.village.code}/{PERIOD}")
    return {"period": PERIOD, "criteria": criteria, "clerks": clerks, "reviewers": reviewers, "public_paths": posted}


# --- the run --------------------------------------------------------------------------------------


@dataclass
class Kind:
    name: str
    requests: int
    failures: int
    rate: float
    p50: float
    p95: float
    p99: float
    slowest: float


def read_stats(prefix: Path) -> tuple[list[Kind], list[dict[str, str]]]:
    """locust's ``--csv`` files: per kind of request (and the Aggregated line), and the failures."""
    kinds = []
    with Path(f"{prefix}_stats.csv").open() as stats:
        for row in csv.DictReader(stats):
            kinds.append(
                Kind(
                    name=row["Name"],
                    requests=int(row["Request Count"]),
                    failures=int(row["Failure Count"]),
                    rate=float(row["Requests/s"]),
                    p50=float(row["50%"] if row["50%"] != "N/A" else "nan"),
                    p95=float(row["95%"] if row["95%"] != "N/A" else "nan"),
                    p99=float(row["99%"] if row["99%"] != "N/A" else "nan"),
                    slowest=float(row["Max Response Time"]),
                )
            )
    with Path(f"{prefix}_failures.csv").open() as failures:
        return kinds, list(csv.DictReader(failures))


def run_locust(base: str, plan_file: Path, acks_file: Path, prefix: Path, args: argparse.Namespace) -> list[float]:
    """locust headless against ``base``; the 1-minute load average sampled every 10 s meanwhile."""
    command = [
        str(Path(sys.executable).with_name("locust")), "-f", str(LOCUSTFILE), "--headless", "--host", base,
        "--users", str(args.users), "--spawn-rate", str(args.spawn_rate), "--run-time", args.run_time,
        "--stop-timeout", "30", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    print("$ " + " ".join(command), flush=True)
    env = os.environ | {"LOAD_PLAN": str(plan_file), "LOAD_ACKS": str(acks_file)}
    loads = []
    with (prefix.parent / "locust.log").open("wb") as log:
        runner = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            while runner.poll() is None:
                loads.append(os.getloadavg()[0])
                time.sleep(10)
        finally:
            if runner.poll() is None:
                runner.terminate()
            runner.wait(timeout=60)
    return loads


def by_village(plan: dict[str, Any], per_clerk: Mapping[str, Any]) -> dict[str, Any]:
    village = {c["username"]: c["village"] for c in plan["clerks"]}
    return {village[name]: cells for name, cells in per_clerk.items() if name in village}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--households", type=int, default=2_000_000)
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench_load/data"))  # noqa: S108 - not the repo
    parser.add_argument("--rebuild", action="store_true", help="reload even if the database is complete")
    parser.add_argument("--users", type=int, default=40, help="in all: clerks and reviewers, the rest residents")
    parser.add_argument("--clerks", type=int, default=8)
    parser.add_argument("--reviewers", type=int, default=4, help="each its own township")
    parser.add_argument("--households-per-clerk", type=int, default=50)
    parser.add_argument("--posted", type=int, default=60, help="villages published for residents to read")
    parser.add_argument("--spawn-rate", type=float, default=4)
    parser.add_argument("--run-time", default="10m", help="locust's --run-time: 90s, 2m, 10m")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    if args.users <= args.clerks + args.reviewers:
        sys.exit("--users must leave room for residents")

    folder = args.data / str(args.households)
    ensure_data(args.households, folder, "parquet")
    url = parse_database_url(args.database_url) if args.database_url else database_on_test_server(DATABASE)
    if url.get_backend_name() != "postgresql":
        sys.exit("this benchmark needs PostgreSQL")
    engine = make_engine(url)
    print(f"database {redact_url(url)}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    if args.rebuild or not is_loaded(engine, args.households):
        started = time.perf_counter()
        load(engine, url, folder)
        print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    plan = prepare(engine, args)
    print(
        f"stage in {time.perf_counter() - started:.0f} s: {len(plan['public_paths'])} villages published, "
        f"{len(plan['clerks'])} clerks ({args.households_per_clerk} households each), "
        f"{sum(len(r['villages']) for r in plan['reviewers'])} villages submitted to {len(plan['reviewers'])} "
        "reviewer(s)",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="bench_load_"))
    plan_file, acks_file, prefix = work / "plan.json", work / "acks.json", work / "locust"
    plan_file.write_text(json.dumps(plan, ensure_ascii=False))
    gunicorn_log = work / "gunicorn.log"
    load_before = os.getloadavg()[0]
    # Production settings; only the session cookie goes over plain http (loopback, no TLS here).
    with served(url, free_port(), args.workers, gunicorn_log, extra={"HYGIENE_SESSION_COOKIE_SECURE": "false"}) as base:
        loads = run_locust(base, plan_file, acks_file, prefix, args)
    kinds, failures = read_stats(prefix)
    outcome = json.loads(acks_file.read_text())
    with make_sessionmaker(engine)() as session:
        check = lost_updates(
            session, PERIOD, by_village(plan, outcome["acknowledged"]), by_village(plan, outcome["in_flight"])
        )
        moves_lost = moves_not_stored(session, PERIOD, outcome["moved"])
    engine.dispose()
    tracebacks = gunicorn_log.read_text(errors="replace").count("Traceback")

    print(f"\n{'kind of request':<26} {'requests':>9} {'errors':>7} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'p99 ms':>7} {'max ms':>7}")  # fmt: skip
    for k in kinds:
        print(f"{k.name:<26} {k.requests:>9,} {k.failures:>7} {k.rate:>7.1f} {k.p50:>7.0f} {k.p95:>7.0f} "
              f"{k.p99:>7.0f} {k.slowest:>7.0f}")  # fmt: skip
    for failure in failures:
        print(f"  error: {failure['Method']} {failure['Name']}: {failure['Error']} × {failure['Occurrences']}")
    counts = outcome["counts"]
    conflicts = sum(n for name, n in counts.items() if "409" in name)
    errors = sum(k.failures for k in kinds if k.name == "Aggregated")
    print(f"users {args.users} ({args.clerks} clerks, {args.reviewers} reviewer(s), the rest residents), spawn "
          f"rate {args.spawn_rate}/s, run time {args.run_time}, gunicorn workers {args.workers}")  # fmt: skip
    print(f"workflow: {json.dumps(counts, ensure_ascii=False)}; 409 conflicts {conflicts}")
    print(f"errors {errors}; gunicorn tracebacks {tracebacks}")
    print(f"lost updates: {len(check.lost)} of {check.cells:,} acknowledged cells (household × criterion); "
          f"{check.in_flight_stored} saves unanswered at the stop and stored")  # fmt: skip
    for line in check.lost[:20]:
        print(f"  lost: {line}")
    print(f"reviewers' moves: {len(outcome['moved']['approve'])} approvals and {len(outcome['moved']['publish'])} "
          f"publications acknowledged, {len(moves_lost)} not as stored")  # fmt: skip
    for line in moves_lost[:20]:
        print(f"  not stored: {line}")
    mean = sum(loads) / len(loads) if loads else float("nan")
    print(f"load average (1 min): {load_before:.2f} before, {mean:.2f} mean and {max(loads, default=0):.2f} max "
          f"during the run, on {os.cpu_count()} CPUs shared with other work")  # fmt: skip
    print(f"files: {work} (locust's CSV and log, gunicorn's log, the plan, the acknowledged values)")
    if errors or check.lost or moves_lost or tracebacks:
        sys.exit(1)


if __name__ == "__main__":
    main()
