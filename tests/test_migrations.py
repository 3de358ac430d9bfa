"""Alembic owns the schema: it round-trips on both databases, matches the models exactly, and
builds the audit log's append-only guard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hygiene import migrate
from hygiene.db import Base, make_engine
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
