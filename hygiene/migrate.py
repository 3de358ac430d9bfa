"""Run the Alembic migrations from code (``hygiene init-db``, tests), on a given engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

# alembic.command and alembic.script (Mako, Pygments) are imported where a migration runs or the
# head is read: a command that only checks the revision starts faster (issue 34).

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@contextmanager
def migrating(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction that commits at the end, for Alembic to migrate on.

    On SQLite, foreign keys are not enforced while migrating, as SQLite prescribes for rebuilding a
    table (``batch_alter_table``, migration 0011): dropping the old copy of a table would otherwise
    delete the rows that reference it (ON DELETE CASCADE) or be refused by them. The pragma changes
    only outside a transaction, hence before BEGIN; ``PRAGMA foreign_key_check`` then proves, before
    the commit, that every reference still holds.
    """
    with engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            with connection.begin():
                yield connection
            return
        driver: Any = connection.connection.driver_connection
        driver.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows whose references are broken: {broken[:5]}")
        finally:
            driver.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    from alembic import command

    with migrating(engine) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: sa.Engine, revision: str = "base") -> None:
    from alembic import command

    with migrating(engine) as connection:
        command.downgrade(alembic_config(connection), revision)


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()
