"""Alembic environment: the schema is ``hygiene.db.Base.metadata`` (never the Flask app).

The connection comes from ``config.attributes["connection"]`` when ``hygiene.migrate`` runs us,
otherwise from ``hygiene.config.database_url()`` (``DATABASE_URL``, as for the app and the command).
"""

from __future__ import annotations

from alembic import context

import hygiene.models  # noqa: F401  (registers every table on the metadata)
from hygiene.config import database_url
from hygiene.db import Base, make_engine
from hygiene.migrate import migrating

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(database_url())
    with migrating(engine) as conn:  # as ``hygiene.migrate`` runs us: SQLite's foreign keys off meanwhile
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported: run against a database")
run_migrations_online()
