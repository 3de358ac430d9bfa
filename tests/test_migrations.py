"""Alembic owns the schema: it round-trips on both databases, matches the models exactly, builds
the audit log's append-only guard, and moves a county's data with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm import Session

from hygiene import migrate
from hygiene.db import Base, make_engine
from hygiene.services import counties
from tests.conftest import BACKENDS, fresh_postgres_database


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    else:
        engine = fresh_postgres_database("hygiene_migrations")
    yield engine
    engine.dispose()


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade_round_trips(empty_engine: sa.Engine) -> None:
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    assert table_names(empty_engine) == set(Base.metadata.tables)

    migrate.downgrade(empty_engine, "base")
    assert migrate.current_revision(empty_engine) is None
    assert table_names(empty_engine) == set()

    migrate.upgrade(empty_engine)
    assert table_names(empty_engine) == set(Base.metadata.tables)


def test_migrations_match_the_models(empty_engine: sa.Engine) -> None:
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_audit_log_refuses_update_and_delete_in_the_database(empty_engine: sa.Engine) -> None:
    migrate.upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO audit_log (at, actor, entity, entity_id, action) "
                "VALUES (CURRENT_TIMESTAMP, 'system', 'x', '1', 'create')"
            )
        )
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), empty_engine.begin() as conn:
            conn.execute(sa.text(statement))
    with empty_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT actor FROM audit_log")).scalar_one() == "system"


def row_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.scalar(sa.text(f'SELECT count(*) FROM "{name}"')) or 0 for name in Base.metadata.tables}  # noqa: S608


def test_migration_0011_gives_every_row_its_parents_county_and_loses_none(committing_engine: sa.Engine) -> None:
    """Down to 0010 and up again on the seeded counties: every row gets its parents' county and
    nothing is lost (SQLite rebuilds the tables: no ON DELETE CASCADE of a quota may fire), and a
    record's rows are immutable again."""
    before = row_counts(committing_engine)
    assert before["award_quotas"] and before["result_record_households"] and before["plaque_events"]
    migrate.downgrade(committing_engine, "0010")
    with committing_engine.connect() as conn:
        assert "county_id" not in {c["name"] for c in sa.inspect(conn).get_columns("reviews")}
    migrate.upgrade(committing_engine)
    assert row_counts(committing_engine) == before
    with Session(committing_engine) as session:
        assert set(counties.county_mismatches(session).values()) == {0}
    with pytest.raises(sa.exc.DatabaseError, match="immutable"), committing_engine.begin() as conn:
        conn.execute(sa.text("UPDATE result_record_households SET head_name = 'x'"))
