"""Configuration read from the environment, in one place: the web app, the ``hygiene`` command and
Alembic all take the database from ``database_url()`` (INTERCHANGE.md §3: "DATABASE_URL selects the
database ... for the web app, the command and the migrations alike")."""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import URL

from hygiene.db import default_sqlite_url, parse_database_url

DATABASE_URL = "DATABASE_URL"
APP_PREFIX = "HYGIENE_"  # HYGIENE_SECRET_KEY, HYGIENE_ENV, ...: the web app's settings


class ServerAddressError(ValueError):
    """HOST or PORT cannot be served on; the message is Chinese."""


DATABASE_REPLICA_URL = "DATABASE_REPLICA_URL"


def instance_path() -> Path:
    """Where the embedded SQLite file and the uploads live: ``instance/`` under the working folder."""
    return Path.cwd() / "instance"


def database_url(environ: Mapping[str, str] | None = None) -> URL:
    """The database to use: ``DATABASE_URL``, else the SQLite file under ``instance/``.
    Raises ``DatabaseUrlError`` (a Chinese message) for a URL that cannot be used."""
    environ = os.environ if environ is None else environ
    return parse_database_url(environ.get(DATABASE_URL) or default_sqlite_url(instance_path()))


def app_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The web app's settings from ``HYGIENE_*`` variables (prefix stripped, values read as JSON
    where they are JSON, as Flask's ``from_prefixed_env`` does), plus ``SECRET_KEY`` as the key
    when ``HYGIENE_SECRET_KEY`` is not set. ``HYGIENE_DATABASE_URL`` (and ``..._REPLICA_URL``) is
    dropped: the database is chosen by ``database_url()`` alone, for the app, the command and the
    migrations alike."""
    environ = os.environ if environ is None else environ
    settings: dict[str, Any] = {}
    for key in sorted(environ):
        if not key.startswith(APP_PREFIX) or key in (APP_PREFIX + DATABASE_URL, APP_PREFIX + DATABASE_REPLICA_URL):
            continue
        value: Any = environ[key]
        with contextlib.suppress(ValueError):
            value = json.loads(value)
        settings[key.removeprefix(APP_PREFIX)] = value
    if environ.get("SECRET_KEY") and not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = environ["SECRET_KEY"]
    return settings


def server_address(environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    """Where ``hygiene serve`` listens: ``HOST`` (127.0.0.1) and ``PORT`` (5000)."""
    environ = os.environ if environ is None else environ
    host = environ.get("HOST", "127.0.0.1")
    try:
        port = int(environ.get("PORT", "5000"))
    except ValueError:
        raise ServerAddressError(f"PORT 不是端口号: {environ['PORT']!r}") from None
    if not 0 < port < 65536:
        raise ServerAddressError(f"PORT 不是端口号: {environ['PORT']!r}")
    return host, port


def web_concurrency(environ: Mapping[str, str] | None = None) -> int:
    """How many gunicorn workers serve: ``WEB_CONCURRENCY`` (2)."""
    environ = os.environ if environ is None else environ
    try:
        workers = int(environ.get("WEB_CONCURRENCY", "2"))
    except ValueError:
        raise ServerAddressError(f"WEB_CONCURRENCY 不是正整数: {environ['WEB_CONCURRENCY']!r}") from None
    if workers < 1:
        raise ServerAddressError(f"WEB_CONCURRENCY 不是正整数: {workers}")
    return workers


def replica_url(environ: Mapping[str, str] | None = None) -> URL | None:
    """An optional read-only copy (a PostgreSQL hot standby) for the public pages (issue 32):
    ``DATABASE_REPLICA_URL``, or None to read them from ``DATABASE_URL`` too. Records are immutable,
    so a replica's lag only delays when a new posting appears there."""
    environ = os.environ if environ is None else environ
    raw = environ.get(DATABASE_REPLICA_URL)
    return parse_database_url(raw) if raw else None


def child_environment() -> dict[str, str]:
    """A copy of the environment for the client programs the app runs (``pg_dump``, ``pg_restore``),
    to which the caller adds what they need (``PGPASSWORD``)."""
    return dict(os.environ)


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
