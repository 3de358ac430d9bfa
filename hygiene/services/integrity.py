"""What the server promises a county about its data (issue 32): a backup taken while the app
serves, restored only into an empty database, and a check that finds what was changed or broken
outside the app.

``check`` verifies the foreign keys (SQLite: also its own quick check), every row against its
parents' county (``counties.county_mismatches``), every posted record against the digest stored
when it was posted, and each county's audit log as a hash chain (``hygiene.digests``).
``backup``/``restore`` use each database's own consistent copy: SQLite's online backup API,
``pg_dump -Fc`` and ``pg_restore --single-transaction --exit-on-error`` (RELIABILITY.md trap 13).
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from hygiene import config, digests
from hygiene.db import Base
from hygiene.models import County
from hygiene.services.rating import records
from hygiene.services.setup import counties

SHOWN = 20  # problems named one by one per kind, then counted
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class IntegrityError(Exception):
    """A backup or restore that cannot be done; the message (Chinese) is shown as is."""


class RestoreRefused(IntegrityError):
    """The target database holds data: a restore never overwrites it."""


@dataclass
class ChainState:
    """One county's audit log as a hash chain."""

    entries: int = 0
    head: str | None = None  # the last entry's stored hash
    broken: list[str] = field(default_factory=list)  # each altered, inserted or unhashed entry, named


@dataclass
class Report:
    checked: dict[str, int] = field(default_factory=dict)  # what was checked, how many
    problems: list[str] = field(default_factory=list)
    more: int = 0  # problems beyond those named

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str) -> None:
        if len(self.problems) < 10 * SHOWN:
            self.problems.append(problem)
        else:
            self.more += 1


# ---------------------------------------------------------------------------------------- check


def foreign_key_problems(connection: sa.Connection | Session) -> Iterable[str]:
    """Rows whose parent row is missing, one line per foreign key that has any: possible only if
    the database's own checks were set aside (a DBA's ``session_replication_role``, SQLite with
    ``foreign_keys`` off)."""
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            parent = fk.referred_table.alias("parent")
            columns = list(fk.columns)
            join = sa.and_(*(parent.c[element.column.name] == element.parent for element in fk.elements))
            missing = (
                sa.select(sa.func.count())
                .select_from(table)
                .where(*(c.is_not(None) for c in columns), ~sa.exists().where(join))
            )
            count = connection.scalar(missing) or 0
            if count:
                named = ", ".join(c.name for c in columns)
                yield f"{table.name}.{named}: {count} 行指向不存在的 {fk.referred_table.name} 行（外键不成立）"


def sqlite_quick_check(connection: sa.Connection | Session) -> Iterable[str]:
    for (line,) in connection.execute(sa.text("PRAGMA quick_check")):
        if line != "ok":
            yield f"SQLite 文件检查: {line}"


def chain_state(connection: sa.Connection | Session, county_id: int) -> ChainState:
    state = ChainState()
    expected_prev: str | None = None
    for entry, computed in digests.audit_chain(connection, county_id):
        state.entries += 1
        where = f"audit_log #{entry['id']}"
        if entry["hash"] is None:
            state.broken.append(f"{where}: 没有哈希（在应用之外写入）")
        elif entry["prev_hash"] != expected_prev:
            state.broken.append(f"{where}: 与前一条的哈希不相接（前面的条目被删除、插入或改动）")
        elif computed != entry["hash"]:
            state.broken.append(f"{where}: 内容与其哈希不符（在应用之外被改动）")
        expected_prev = entry["hash"]
    state.head = expected_prev
    return state


@dataclass(frozen=True)
class CountyIntegrity:
    """What the county's page shows: its records and its audit chain, verified now."""

    records: int
    altered_records: list[str]
    chain: ChainState

    @property
    def ok(self) -> bool:
        return not self.altered_records and not self.chain.broken


def _record_problems(
    connection: sa.Connection | Session, county_id: int | None, *, pages: Session | None = None
) -> tuple[int, list[str]]:
    """Records without a digest or not matching it; with ``pages``, also a record whose rows match
    but whose stored public rows (what its list page shows, issue 34) do not."""
    count, problems = 0, []
    sound = []
    for record_id, stored, computed in digests.record_digests(connection, county_id):
        count += 1
        if stored is None:
            problems.append(f"公示存档 #{record_id}: 没有摘要（在应用之外写入）")
        elif stored != computed:
            problems.append(f"公示存档 #{record_id}: 内容与公示时的摘要不符（在应用之外被改动）")
        else:
            sound.append(record_id)
    if pages is not None:
        for record_id in records.altered_public_rows(pages, sound):
            problems.append(f"公示存档 #{record_id}: 公示名单页面与存档各户不符（在应用之外被改动）")
    return count, problems


def county_integrity(session: Session, county: County) -> CountyIntegrity:
    checked, altered = _record_problems(session, county.id)
    return CountyIntegrity(records=checked, altered_records=altered, chain=chain_state(session, county.id))


def check(session: Session) -> Report:
    """Verify the whole database; read-only."""
    report = Report()
    if session.get_bind().dialect.name == "sqlite":
        for problem in sqlite_quick_check(session):
            report.add(problem)
    foreign_keys = sum(len(t.foreign_key_constraints) for t in Base.metadata.sorted_tables)
    report.checked["外键"] = foreign_keys
    for problem in foreign_key_problems(session):
        report.add(problem)
    mismatches = counties.county_mismatches(session)
    report.checked["按县核对的表"] = len(mismatches)
    for table, count in mismatches.items():
        if count:
            report.add(f"{table}: {count} 行与其上级（或所记对象）不属同一县")
    checked, problems = _record_problems(session, None, pages=session)
    report.checked["公示存档"] = checked
    for problem in problems:
        report.add(problem)
    county_ids = set(session.scalars(sa.select(County.id)))
    county_ids |= set(session.scalars(sa.select(digests.AUDIT_LOG.c.county_id).distinct()))
    entries = 0
    for county_id in sorted(county_ids):
        state = chain_state(session, county_id)
        entries += state.entries
        for problem in state.broken:
            report.add(problem)
    report.checked["审计日志条目"] = entries
    return report


# ------------------------------------------------------------------------------ backup, restore


def _pg_tool(name: str) -> str:
    """A PostgreSQL client program, the newest installed (it must not be older than the server)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if candidates:
        return str(candidates[-1])
    found = shutil.which(name)
    if found is None:
        raise IntegrityError(f"找不到 PostgreSQL 客户端程序 {name}（请安装 postgresql-client）")
    return found


def libpq_target(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for the client programs, and the environment carrying the password
    (kept off the command line, where ``ps`` would show it). Several hosts (``host=a:5432&host=b:5432``)
    become libpq's ``a:5432,b:5432``."""
    hosts = url.query.get("host")
    if isinstance(hosts, str):
        hosts = (hosts,)
    netloc = ",".join(hosts) if hosts else f"{url.host or ''}{f':{url.port}' if url.port else ''}"
    query = {k: v for k, v in url.query.items() if k != "host" and isinstance(v, str)}
    user = f"{url.username}@" if url.username else ""
    params = "&".join(f"{k}={v}" for k, v in query.items())
    uri = f"postgresql://{user}{netloc}/{url.database}" + (f"?{params}" if params else "")
    env = config.child_environment()
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return uri, env


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class BackupDone:
    path: Path
    size: int
    sha256: str


def backup(engine: sa.Engine, target: Path) -> BackupDone:
    """A consistent copy of the whole database, taken while others read and write. The copy is
    written beside ``target`` and renamed onto it only when complete."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if engine.dialect.name == "sqlite":
            _sqlite_backup(engine, partial)
        else:
            uri, env = libpq_target(engine.url)
            done = subprocess.run(  # noqa: S603  (our own arguments: the URL from DATABASE_URL, the operator's file)
                [_pg_tool("pg_dump"), "-Fc", "--no-owner", "-f", str(partial), "-d", uri],
                env=env,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise IntegrityError(f"pg_dump 失败: {done.stderr.strip()}")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupDone(target, target.stat().st_size, _sha256_of(target))


def _sqlite_backup(engine: sa.Engine, target: Path) -> None:
    source_path = engine.url.database
    if not source_path or source_path == ":memory:":
        raise IntegrityError("内存数据库无法备份")
    source = sqlite3.connect(source_path)
    copy = sqlite3.connect(target)
    try:
        source.execute("PRAGMA busy_timeout=5000")
        # In one step (pages=-1): the copy is one read snapshot, whatever writers do meanwhile.
        source.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        problems = [row[0] for row in copy.execute("PRAGMA quick_check") if row[0] != "ok"]
        if problems:
            raise IntegrityError(f"备份副本检查未通过: {'; '.join(problems[:5])}")
    finally:
        copy.close()
        source.close()


def holds_data(engine: sa.Engine) -> dict[str, int]:
    """The tables of the database that hold rows (``alembic_version`` aside), with their counts."""
    inspector = sa.inspect(engine)
    found = {}
    with engine.connect() as connection:
        for name in inspector.get_table_names():
            if name == "alembic_version":
                continue
            count = connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name))) or 0
            if count:
                found[name] = count
    return found


def _backup_kind(source: Path) -> str:
    if not source.is_file():
        raise IntegrityError(f"备份文件不存在: {source}")
    with source.open("rb") as handle:
        head = handle.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise IntegrityError(f"{source} 不是本系统的备份（既不是 SQLite 文件，也不是 pg_dump -Fc 文件）")


def restore(engine: sa.Engine, source: Path) -> None:
    """Restore a backup into an empty database; refused (``RestoreRefused``, nothing changed)
    into one holding any row. An empty database may already have the schema (``hygiene init-db``):
    it is replaced by the backup's."""
    kind = _backup_kind(source)
    backend = engine.dialect.name
    if kind != backend:
        raise IntegrityError(
            f"备份是 {'SQLite' if kind == 'sqlite' else 'PostgreSQL'} 的，而 DATABASE_URL 指向"
            f" {'SQLite' if backend == 'sqlite' else 'PostgreSQL'}：请在同类数据库上恢复"
        )
    held = holds_data(engine)
    if held:
        named = "、".join(f"{name}（{count}行）" for name, count in sorted(held.items())[:5])
        raise RestoreRefused(f"目标数据库已有数据，拒绝恢复（不覆盖任何数据）: {named}")
    if backend == "sqlite":
        _sqlite_restore(engine, source)
    else:
        _pg_restore(engine, source)


def _sqlite_restore(engine: sa.Engine, source: Path) -> None:
    target_path = engine.url.database
    if not target_path or target_path == ":memory:":
        raise IntegrityError("内存数据库无法恢复")
    engine.dispose()
    backup_file = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    target = sqlite3.connect(target_path)
    try:
        problems = [row[0] for row in backup_file.execute("PRAGMA quick_check") if row[0] != "ok"]
        if problems:
            raise IntegrityError(f"备份文件已损坏: {'; '.join(problems[:5])}")
        backup_file.backup(target, pages=-1)
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
        backup_file.close()


def _pg_restore(engine: sa.Engine, source: Path) -> None:
    uri, env = libpq_target(engine.url)
    existing = sa.inspect(engine).get_table_names()
    engine.dispose()
    command = [_pg_tool("pg_restore"), "--single-transaction", "--exit-on-error", "--no-owner", "-d", uri]
    if existing:  # the schema of an empty database (init-db) gives way to the backup's
        command[1:1] = ["--clean", "--if-exists"]
    done = subprocess.run([*command, str(source)], env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        raise IntegrityError(f"pg_restore 失败（数据库未改动）: {done.stderr.strip()}")


def summary(report: Report) -> list[str]:
    """The lines ``hygiene check`` prints."""
    lines = [f"已检查 {what}: {count}" for what, count in report.checked.items()]
    if report.ok:
        lines.append("检查通过：未发现问题")
    else:
        lines.extend(f"问题: {problem}" for problem in report.problems)
        if report.more:
            lines.append(f"另有 {report.more} 个问题未列出")
        lines.append(f"检查未通过：{len(report.problems) + report.more} 个问题")
    return lines
