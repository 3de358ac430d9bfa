"""Configuration read from the environment, in one place: the web app, the ``hygiene`` command and
Alembic all take the database from ``database_url()`` (INTERCHANGE.md §3: "DATABASE_URL selects the
database ... for the web app, the command and the migrations alike")."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

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


PUBLIC_URL = "HYGIENE_PUBLIC_URL"
TRUSTED_HOSTS = "HYGIENE_TRUSTED_HOSTS"
_PUBLIC_URL_SHAPE = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


class PublicUrlError(ValueError):
    """The configured public address cannot be used; the message says what to set."""


def public_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The site's public address as residents reach it (``HYGIENE_PUBLIC_URL``, e.g.
    ``https://wsgj.example.gov.cn``): printed links (a certificate's QR code, the notice's objection
    link) are made from it, never from the request's Host header. None when not set."""
    environ = os.environ if environ is None else environ
    value = (environ.get(PUBLIC_URL) or "").strip().rstrip("/")
    if not value:
        return None
    if not _PUBLIC_URL_SHAPE.fullmatch(value):
        raise PublicUrlError(
            f"{PUBLIC_URL}={value!r} 无效：应为网站对外的地址，如 https://wsgj.example.gov.cn（不带路径）"
        )
    return value


def trusted_hosts(environ: Mapping[str, str] | None = None) -> list[str] | None:
    """The host names the app answers to (Flask's ``TRUSTED_HOSTS``): ``HYGIENE_TRUSTED_HOSTS``
    (comma-separated), else the public address's host; None (any) when neither is set."""
    environ = os.environ if environ is None else environ
    listed = [host.strip() for host in (environ.get(TRUSTED_HOSTS) or "").split(",") if host.strip()]
    if listed:
        return listed
    url = public_url(environ)
    return [urlsplit(url).hostname or ""] if url else None
