"""Run the Alembic migrations from code (``hygiene init-db``, tests), on a given engine."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only where a migration runs: a command that only checks that the schema is
# current reads the revision with one query and the head from the migration files' own lines, without
# loading Alembic and every migration module (about 0.2 s of CPU, issue 34).

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_REVISION_LINE = re.compile(r"^(down_revision|revision)\b[^=\n]*=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config(connection: sa.Connection) -> Config:
    from alembic.config import Config

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
    """The revision the database is at (Alembic's version table), None before the first migration."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    if len(versions) > 1:
        raise RuntimeError(f"the database is at several heads: {sorted(versions)}")
    return versions[0] if versions else None


@functools.cache
def head_revision() -> str | None:
    """The newest migration's revision: the one no migration names as its ``down_revision``, read
    from the lines each migration file starts with. Where those lines do not give one plain chain
    (a merge revision, a computed value), Alembic's own reading of the directory answers."""
    revisions: dict[str, str | None] = {}
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        revision, down = (_literal(found.get("revision")), _literal(found.get("down_revision")))
        if not revision or revision is _UNREADABLE or down is _UNREADABLE:
            return _alembic_head()
        revisions[str(revision)] = down if down is None else str(down)
    heads = set(revisions) - set(revisions.values())
    return heads.pop() if len(heads) == 1 else _alembic_head()


_UNREADABLE = object()


def _literal(text: str | None) -> object:
    """A ``revision = "0001"`` line's value: the string, None for ``None``, else unreadable."""
    if text is None or text == "None":
        return None
    match = re.fullmatch(r"""(["'])(\w+)\1""", text)
    return match.group(2) if match else _UNREADABLE


def _alembic_head() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()
