"""Rehearsal: the PostgreSQL primary dies, its standby takes over, the app carries on (issue 32).

1. Two clusters on loopback, each on a free port, under a temporary folder: a primary
   (``synchronous_standby_names='*'``, ``synchronous_commit=on``: a commit returns only once the
   standby has it) and a hot standby made with ``pg_basebackup -R`` streaming from it.
2. The schema (Alembic) and the demo county on the primary.
3. One app (``web.create_app``, never restarted) with the libpq multi-host ``DATABASE_URL``
   ``host=primary,standby … target_session_attrs=read-write``. ``--clerks`` threads save through
   the app's own write sessions (each save one audited transaction: ``audit.record``, the hash
   chain included), each save counted as acknowledged once its commit returned; ``--readers``
   threads read the public county list through the app (Flask's test client).
4. After ``--before`` seconds the primary's postmaster is killed with ``kill -9``; the standby is
   promoted (``pg_ctl promote``) at once (in production a cluster manager decides this; the
   rehearsal measures what the app does once a primary is back). The load runs ``--after`` seconds
   more, then stops.
5. Verified on the new primary: every acknowledged save is there (0 lost), the county's audit
   chain is intact. Printed: failover time (the kill to the first acknowledged save on the new
   primary), failed saves and reads during the window (a failed save is not acknowledged: the clerk
   is told and saves again), the slowest read, saves and reads in all.

    .venv/bin/python benchmarks/failover_rehearsal.py [--clerks 4] [--readers 2] [--before 3] [--after 3]

Every process it starts (the two clusters) is stopped and their folder removed before it returns.
``restart_rehearsal`` (used by tests/test_failover.py too) restarts a single cluster under the app
instead: the next requests must succeed without restarting the app (pool pre-ping).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import sqlalchemy as sa

from hygiene import migrate
from hygiene.db import make_engine, make_sessionmaker
from hygiene.models import AuditEntry, County
from hygiene.services import audit, demo, integrity

PGBIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parts[-2]))[-1]


def _as_postgres(program: str, *args: str, check: bool = True) -> None:
    """Run a PostgreSQL program (as the postgres user when we are root, as initdb requires)."""
    command = [str(PGBIN / program), *args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=check, capture_output=True)  # noqa: S603  (our own arguments)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    data: Path
    port: int
    log: Path

    def pg_ctl(self, *args: str) -> None:
        _as_postgres("pg_ctl", "-D", str(self.data), "-l", str(self.log), *args)

    def start(self) -> None:
        self.pg_ctl("-w", "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data.parent}", "start")

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            _as_postgres("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=False)


@contextmanager
def clusters(standby: bool) -> Iterator[tuple[Cluster, Cluster | None]]:
    """A primary (and a synchronous hot standby), stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="hygiene-failover."))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    primary = Cluster(root / "primary", _free_port(), root / "primary.log")
    second = Cluster(root / "standby", _free_port(), root / "standby.log") if standby else None
    try:
        _as_postgres("initdb", "-D", str(primary.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.write("wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\nfsync = on\n")
            if standby:
                conf.write("synchronous_standby_names = '*'\nsynchronous_commit = on\n")
        with (primary.data / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        primary.start()
        if second is not None:
            _as_postgres(
                "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                "-D", str(second.data), "-R", "-X", "stream",
            )  # fmt: skip
            with (second.data / "postgresql.auto.conf").open("a") as conf:
                conf.write("synchronous_standby_names = ''\n")  # once promoted, it stands alone
            second.start()
        yield primary, second
    finally:
        for cluster in (second, primary):
            if cluster is not None:
                cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def _url(*clusters_: Cluster, attrs: str = "read-write", database: str = "hygiene") -> str:
    hosts = ",".join(f"127.0.0.1:{c.port}" for c in clusters_)
    return f"postgresql://postgres@{hosts}/{database}?target_session_attrs={attrs}&connect_timeout=2"


def _prepare(primary: Cluster) -> None:
    admin = make_engine(_url(primary, database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE hygiene")
    admin.dispose()
    engine = make_engine(_url(primary))
    migrate.upgrade(engine)
    with make_sessionmaker(engine).begin() as session:
        demo.load_demo(session)
    engine.dispose()


def _app(url: str):  # type: ignore[no-untyped-def]
    from web import create_app

    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "rehearsal-secret-key"})


@dataclass
class Figures:
    failover_seconds: float = 0.0
    saves_acknowledged: int = 0
    saves_failed: int = 0
    saves_lost: int = 0
    reads_ok: int = 0
    reads_failed: int = 0
    slowest_read_seconds: float = 0.0
    read_statuses: dict[str, int] = field(default_factory=dict)
    chain_intact: bool = False


def failover_rehearsal(clerks: int = 4, readers: int = 2, before: float = 3.0, after: float = 3.0) -> Figures:
    figures = Figures()
    with clusters(standby=True) as (primary, standby):
        assert standby is not None
        _prepare(primary)
        app = _app(_url(primary, standby))
        write = app.extensions["hygiene.write_sessionmaker"]
        with app.extensions["hygiene.sessionmaker"]() as session:
            county_id = session.scalars(sa.select(County.id).where(County.code == demo.COUNTY_CODE)).one()
        acknowledged: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()
        killed_at: list[float] = []
        first_after: list[float] = []

        def clerk(number: int) -> None:
            n = 0
            while not stop.is_set():
                action = f"save-{number}-{n}"
                try:
                    with write.begin() as session:
                        audit.record(
                            session, None, kind="county", entity_id=county_id, county_id=county_id, action=action
                        )
                except sa.exc.DBAPIError:
                    with lock:
                        figures.saves_failed += 1
                    stop.wait(0.05)  # the clerk is told, and saves again
                    continue
                with lock:
                    acknowledged.append(action)
                    if killed_at and not first_after:
                        first_after.append(time.monotonic())
                n += 1

        def reader() -> None:
            client = app.test_client()
            while not stop.is_set():
                started = time.monotonic()
                status = client.get("/").status_code
                took = time.monotonic() - started
                with lock:
                    figures.read_statuses[str(status)] = figures.read_statuses.get(str(status), 0) + 1
                    figures.slowest_read_seconds = max(figures.slowest_read_seconds, took)
                    if status == 200:
                        figures.reads_ok += 1
                    else:
                        figures.reads_failed += 1

        threads = [threading.Thread(target=clerk, args=(i,)) for i in range(clerks)]
        threads += [threading.Thread(target=reader) for _ in range(readers)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(before)
            deadline = time.monotonic() + 60  # a loaded machine: the primary is killed once it has taken a save
            while not acknowledged and time.monotonic() < deadline:
                time.sleep(0.1)
            os.kill(primary.postmaster_pid(), signal.SIGKILL)
            killed_at.append(time.monotonic())
            standby.pg_ctl("-w", "promote")
            time.sleep(after)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        figures.failover_seconds = round(first_after[0] - killed_at[0], 3) if first_after else -1.0
        figures.saves_acknowledged = len(acknowledged)
        figures.slowest_read_seconds = round(figures.slowest_read_seconds, 3)
        survivor = make_engine(_url(standby))
        with make_sessionmaker(survivor)() as session:
            stored = set(session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("save-%"))))
            figures.saves_lost = len(set(acknowledged) - stored)
            figures.chain_intact = not integrity.chain_state(session, county_id).broken
        survivor.dispose()
        app.extensions["hygiene.engine"].dispose()
    return figures


@dataclass
class RestartFigures:
    before: int
    after: list[int]


def restart_rehearsal() -> RestartFigures:
    """The app reads a page, PostgreSQL restarts under it, the app reads again (no app restart)."""
    with clusters(standby=False) as (primary, _):
        _prepare(primary)
        app = _app(_url(primary))
        client = app.test_client()
        before = client.get("/").status_code
        primary.pg_ctl("-w", "-m", "fast", "restart", "-o", f"-p {primary.port} -c listen_addresses=127.0.0.1")
        after = [client.get("/").status_code for _ in range(3)]
        app.extensions["hygiene.engine"].dispose()
    return RestartFigures(before, after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clerks", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--before", type=float, default=3.0)
    parser.add_argument("--after", type=float, default=3.0)
    args = parser.parse_args()
    figures = failover_rehearsal(args.clerks, args.readers, args.before, args.after)
    print(json.dumps(asdict(figures), ensure_ascii=False))
    restart = restart_rehearsal()
    print(json.dumps({"restart": asdict(restart)}))


if __name__ == "__main__":
    main()
