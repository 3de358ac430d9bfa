"""Issue 32 on both databases: ``check`` passes on a sound database and names every kind of change
made outside the app (a record's row, an audit entry edited, removed or slipped in, a dangling
foreign key); the audit chain stays one chain under concurrent writers; a backup taken under write
load restores into an empty database with every table's count and passes the check; a database
holding data refuses a restore."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import migrate
from hygiene.db import Base, make_engine, make_sessionmaker
from hygiene.models import County, ResultRecord
from hygiene.services import audit, integrity
from hygiene.services.rating import records
from tests.conftest import fresh_postgres_database

DEMO_COUNTY = "520999"


def run_check(engine: sa.Engine) -> integrity.Report:
    with make_sessionmaker(engine)() as session:
        return integrity.check(session)


def county_id(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.select(County.id).where(County.code == DEMO_COUNTY)) or 0


def outside_the_app(engine: sa.Engine, table: str, statement: str, row_id: int) -> None:
    """What a DBA can do: set the table's guard aside, change it, put the guard back."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        if sqlite:
            triggers = conn.execute(
                sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"), {"t": table}
            ).all()
            for name, _ in triggers:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        else:
            conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        conn.execute(sa.text(statement), {"row": row_id})
        if sqlite:
            for _, sql in triggers:
                conn.exec_driver_sql(sql)
        else:
            conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def test_a_sound_database_passes_with_every_record_and_entry_counted(committing_engine: sa.Engine) -> None:
    report = run_check(committing_engine)
    assert report.ok, report.problems
    with committing_engine.connect() as conn:
        assert report.checked["公示存档"] == conn.scalar(sa.text("SELECT count(*) FROM result_records")) > 0
        assert report.checked["审计日志条目"] == conn.scalar(sa.text("SELECT count(*) FROM audit_log")) > 0
        assert conn.scalar(sa.text("SELECT count(*) FROM result_records WHERE digest IS NULL")) == 0
        assert conn.scalar(sa.text("SELECT count(*) FROM audit_log WHERE hash IS NULL")) == 0


def test_a_record_row_changed_outside_the_app_is_named(committing_engine: sa.Engine) -> None:
    with committing_engine.connect() as conn:
        record_id, row_id = conn.execute(
            sa.text("SELECT record_id, id FROM result_record_households WHERE final_total IS NOT NULL LIMIT 1")
        ).one()
    outside_the_app(
        committing_engine,
        "result_record_households",
        "UPDATE result_record_households SET final_total = final_total + 10 WHERE id = :row",
        row_id,
    )
    report = run_check(committing_engine)
    assert report.problems == [f"公示存档 #{record_id}: 内容与公示时的摘要不符（在应用之外被改动）"]


def test_a_record_header_changed_is_named_too(committing_engine: sa.Engine) -> None:
    with committing_engine.begin() as conn:
        record_id = conn.scalar(sa.text("SELECT min(id) FROM result_records"))
        conn.execute(
            sa.text("UPDATE result_records SET cleanest_awarded = cleanest_awarded + 1 WHERE id = :r"), {"r": record_id}
        )
    altered = f"公示存档 #{record_id}: 内容与公示时的摘要不符（在应用之外被改动）"
    assert run_check(committing_engine).problems == [altered]


def test_a_records_stored_public_rows_changed_outside_the_app_are_named(committing_engine: sa.Engine) -> None:
    """The list page shows the rows' markup stored at posting (issue 34): the digest covers the rows,
    so ``hygiene check`` renders them again and compares."""
    with Session(committing_engine) as session, session.begin():
        record = session.scalars(
            sa.select(ResultRecord).where(ResultRecord.public_rows.is_not(None)).order_by(ResultRecord.id)
        ).first()
        assert record is not None and record.public_rows is not None
        record_id, forged = record.id, dict(record.public_rows)
        forged["html"] = forged["html"].replace("<td>最清洁户", "<td>清洁户", 1)
        assert forged != record.public_rows
        record.public_rows = forged
    assert run_check(committing_engine).problems == [
        f"公示存档 #{record_id}: 公示名单页面与存档各户不符（在应用之外被改动）"
    ]


def test_stored_public_rows_are_checked_a_batch_of_records_at_a_time(
    committing_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``hygiene check`` reads the stored rows of CHECKED_AT_ONCE records in one statement and their
    households in another (issue 34: two statements a record before): a record forged in the last
    batch is named, and the statements grow with the batches, not the records."""
    monkeypatch.setattr(records, "CHECKED_AT_ONCE", 2)
    with Session(committing_engine) as session, session.begin():
        stored = session.scalars(
            sa.select(ResultRecord).where(ResultRecord.public_rows.is_not(None)).order_by(ResultRecord.id)
        ).all()
        assert len(stored) >= 3
        ids, last = [r.id for r in stored], stored[-1]
        forged = dict(last.public_rows or {})
        forged["groups"] = [*forged["groups"], "第99组"]
        last.public_rows = forged
    assert run_check(committing_engine).problems == [
        f"公示存档 #{ids[-1]}: 公示名单页面与存档各户不符（在应用之外被改动）"
    ]
    statements: list[str] = []
    sa.event.listen(committing_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    def selects() -> list[str]:  # SQLite's BEGIN is sent as a statement too
        return [text for text in statements if text.lstrip().upper().startswith("SELECT")]

    with Session(committing_engine) as session:
        assert records.altered_public_rows(session, ids) == [ids[-1]]
        assert len(selects()) == 2 * ((len(ids) + 1) // 2)
        monkeypatch.setattr(records, "CHECKED_AT_ONCE", 500)
        statements.clear()
        assert records.altered_public_rows(session, ids) == [ids[-1]]
        assert len(selects()) == 2


def test_audit_entries_edited_removed_or_slipped_in_are_named(committing_engine: sa.Engine) -> None:
    county = county_id(committing_engine)
    with committing_engine.connect() as conn:
        ids = conn.scalars(sa.text("SELECT id FROM audit_log WHERE county_id = :c ORDER BY id"), {"c": county}).all()
    edited, removed, after_removed = ids[3], ids[10], ids[11]
    outside_the_app(committing_engine, "audit_log", "UPDATE audit_log SET reason = 'rewritten' WHERE id = :row", edited)
    outside_the_app(committing_engine, "audit_log", "DELETE FROM audit_log WHERE id = :row", removed)
    with committing_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO audit_log (county_id, at, actor, entity, entity_id, action) "
                "VALUES (:c, CURRENT_TIMESTAMP, 'mallory', 'county', :c, 'backdated')"
            ),
            {"c": county},
        )
        slipped = conn.scalar(sa.text("SELECT max(id) FROM audit_log"))
    problems = run_check(committing_engine).problems
    assert f"audit_log #{edited}: 内容与其哈希不符（在应用之外被改动）" in problems
    assert f"audit_log #{after_removed}: 与前一条的哈希不相接（前面的条目被删除、插入或改动）" in problems
    assert f"audit_log #{slipped}: 没有哈希（在应用之外写入）" in problems
    assert len(problems) == 3


def test_a_dangling_foreign_key_is_named(committing_engine: sa.Engine) -> None:
    with committing_engine.connect() as conn:
        household_id = conn.scalar(sa.text("SELECT max(id) FROM households"))
    if committing_engine.dialect.name == "sqlite":
        raw = sqlite3.connect(str(committing_engine.url.database))  # foreign_keys is off by default
        raw.execute("UPDATE households SET group_id = 999999 WHERE id = ?", (household_id,))
        raw.commit()
        raw.close()
    else:
        with committing_engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.execute(sa.text("UPDATE households SET group_id = 999999 WHERE id = :h"), {"h": household_id})
    problems = run_check(committing_engine).problems
    assert "households.group_id: 1 行指向不存在的 groups 行（外键不成立）" in problems


def test_the_chain_stays_one_chain_under_concurrent_writers(committing_engine: sa.Engine) -> None:
    """Without the chain's lock, two transactions would chain onto the same entry (a fork)."""
    county = county_id(committing_engine)
    maker = make_sessionmaker(committing_engine, write=True)
    start = threading.Barrier(8)
    errors: list[str] = []

    def write(runner: int) -> None:
        start.wait()
        for n in range(10):
            try:
                with maker.begin() as session:
                    for k in range(2):
                        action = f"r{runner}.{n}.{k}"
                        audit.record(session, None, kind="county", entity_id=county, county_id=county, action=action)
            except Exception as exc:
                errors.append(repr(exc))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with make_sessionmaker(committing_engine)() as session:
        state = integrity.chain_state(session, county)
    assert state.broken == []
    with committing_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM audit_log WHERE action LIKE 'r%.%.%'")) == 160


def row_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.scalar(sa.text(f'SELECT count(*) FROM "{name}"')) or 0 for name in Base.metadata.tables}  # noqa: S608


@pytest.fixture
def empty_target(committing_engine: sa.Engine, tmp_path: Path) -> Iterator[sa.Engine]:
    if committing_engine.dialect.name == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'restored.sqlite3'}")
    else:
        engine = fresh_postgres_database("hygiene_restored")
    yield engine
    engine.dispose()


def test_a_backup_under_write_load_restores_whole_and_checks_clean(
    committing_engine: sa.Engine, empty_target: sa.Engine, tmp_path: Path
) -> None:
    county = county_id(committing_engine)
    maker = make_sessionmaker(committing_engine, write=True)
    stop = threading.Event()
    written: list[int] = []

    def clerk() -> None:
        n = 0
        while not stop.is_set():
            with maker.begin() as session:
                audit.record(session, None, kind="county", entity_id=county, county_id=county, action=f"load{n}")
            written.append(n)
            n += 1

    thread = threading.Thread(target=clerk)
    thread.start()
    try:
        while len(written) < 5:
            stop.wait(0.01)
        done = integrity.backup(committing_engine, tmp_path / "copy.bak")
    finally:
        stop.set()
        thread.join(timeout=60)
    assert done.size > 0 and len(done.sha256) == 64
    migrate.upgrade(empty_target)  # an empty database with the schema (init-db) is accepted
    integrity.restore(empty_target, done.path)
    restored = row_counts(empty_target)
    source = row_counts(committing_engine)
    # The copy is one snapshot: every table as in the source, the audit log up to some save of the clerk.
    audit_restored, audit_source = restored.pop("audit_log"), source.pop("audit_log")
    assert restored == source
    assert audit_source - len(written) <= audit_restored <= audit_source
    assert migrate.current_revision(empty_target) == migrate.head_revision()
    assert run_check(empty_target).ok


def test_a_database_holding_data_refuses_a_restore(committing_engine: sa.Engine, tmp_path: Path) -> None:
    done = integrity.backup(committing_engine, tmp_path / "copy.bak")
    before = row_counts(committing_engine)
    with pytest.raises(integrity.RestoreRefused, match="目标数据库已有数据，拒绝恢复"):
        integrity.restore(committing_engine, done.path)
    assert row_counts(committing_engine) == before


def test_the_county_page_figures(committing_engine: sa.Engine) -> None:
    with Session(committing_engine) as session:
        county = session.scalars(sa.select(County).where(County.code == DEMO_COUNTY)).one()
        found = integrity.county_integrity(session, county)
        records = session.scalar(
            sa.select(sa.func.count()).select_from(ResultRecord).where(ResultRecord.county_id == county.id)
        )
    assert found.ok and found.records == records and found.chain.entries > 0 and found.chain.head
