"""Configuration read from the environment, in one place: the web app, the ``hygiene`` command and
Alembic all take the database from ``database_url()`` (INTERCHANGE.md §3: "DATABASE_URL selects the
database ... for the web app, the command and the migrations alike")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import URL

from hygiene.db import default_sqlite_url, parse_database_url

DATABASE_URL = "DATABASE_URL"


def instance_path() -> Path:
    """Where the embedded SQLite file and the uploads live: ``instance/`` under the working folder."""
    return Path.cwd() / "instance"


def database_url(environ: Mapping[str, str] | None = None) -> URL:
    """The database to use: ``DATABASE_URL``, else the SQLite file under ``instance/``.
    Raises ``DatabaseUrlError`` (a Chinese message) for a URL that cannot be used."""
    environ = os.environ if environ is None else environ
    return parse_database_url(environ.get(DATABASE_URL) or default_sqlite_url(instance_path()))


MEDIA_PATH = "HYGIENE_MEDIA_PATH"


def media_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where photos are stored (issue 31): ``HYGIENE_MEDIA_PATH``, else ``instance/media``."""
    environ = os.environ if environ is None else environ
    configured = environ.get(MEDIA_PATH)
    return Path(configured) if configured else instance_path() / "media"
