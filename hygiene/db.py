"""The database layer: one declarative ``Base`` with a constraint naming convention, and the
engine factory that makes SQLite behave (WAL, foreign keys, real transactions).

Nothing here reads the environment: callers pass the URL (``web`` reads it inside the app factory,
the ``hygiene`` command from ``DATABASE_URL``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Named constraints let Alembic's SQLite batch mode find and drop them later.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class DatabaseUrlError(ValueError):
    """A DATABASE_URL that cannot be used; the message is shown to the operator as is."""


SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def default_sqlite_url(instance_path: Path) -> str:
    return f"sqlite:///{instance_path / 'hygiene.sqlite3'}"


def parse_database_url(raw: str) -> URL:
    """Validate a database URL and pin PostgreSQL to psycopg 3.

    ``postgres://`` and ``postgresql://`` (as hosting providers write them) both mean psycopg 3.
    """
    raw = raw.strip()
    if not raw:
        raise DatabaseUrlError("DATABASE_URL 为空")
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    multi_host = _libpq_multi_host(raw)
    try:
        url = multi_host or make_url(raw)
    except (ArgumentError, ValueError) as exc:
        raise DatabaseUrlError(
            f"DATABASE_URL 格式不正确: {raw!r}（示例: postgresql://user:pass@host:5432/hygiene 或 sqlite:///instance/hygiene.sqlite3）"
        ) from exc
    backend = url.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise DatabaseUrlError(f"不支持的数据库类型 {backend!r}：只支持 SQLite 和 PostgreSQL")
    if backend == "postgresql":
        if url.get_driver_name() not in ("psycopg", "psycopg2", ""):
            raise DatabaseUrlError(f"PostgreSQL 驱动 {url.get_driver_name()!r} 不受支持：请使用 psycopg")
        url = url.set(drivername="postgresql+psycopg")
        if not url.database:
            raise DatabaseUrlError(f"DATABASE_URL 缺少数据库名: {raw!r}")
    return url


def _libpq_multi_host(raw: str) -> URL | None:
    """libpq's own forms for a primary and its standbys (issue 32), as SQLAlchemy spells them: the
    URI ``postgresql://u@a:5432,b:5432/db?target_session_attrs=read-write`` or the keyword string
    ``host=a,b port=5432,5432 dbname=db target_session_attrs=read-write`` become
    ``postgresql+psycopg://u@/db?host=a:5432&host=b:5432&target_session_attrs=read-write``, which
    psycopg hands back to libpq. None for anything else (a plain URL, SQLite)."""
    uri = raw.startswith(("postgresql://", "postgresql+psycopg://"))
    netloc = raw.split("://", 1)[1].split("/", 1)[0] if uri else ""
    if not ("," in netloc or (not uri and "://" not in raw and "host=" in raw)):
        return None
    import psycopg  # here, not at the top: the `hygiene` command starts without the driver
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(raw.replace("postgresql+psycopg://", "postgresql://", 1))
    except psycopg.ProgrammingError as exc:
        raise DatabaseUrlError(f"DATABASE_URL 格式不正确: {exc}") from None
    hosts = str(params.pop("host", "")).split(",")
    ports = str(params.pop("port", "")).split(",") if params.get("port") else []
    if len(ports) == 1:
        ports *= len(hosts)
    if ports and len(ports) != len(hosts):
        raise DatabaseUrlError(f"DATABASE_URL 的主机与端口个数不一致: {redact_url(raw)}")
    user, password, database = params.pop("user", None), params.pop("password", None), params.pop("dbname", None)
    query: dict[str, str | tuple[str, ...]] = {k: str(v) for k, v in params.items()}
    query["host"] = tuple(f"{host}:{port}" if ports else host for host, port in zip(hosts, ports or hosts, strict=True))
    return URL.create(
        "postgresql+psycopg",
        username=str(user) if user else None,
        password=str(password) if password else None,
        database=str(database) if database else None,
        query=query,
    )


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 "legacy" transaction mode lets SELECTs run outside a transaction and
    # SAVEPOINTs escape a rollback; take over transaction control (see the `begin` listener).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA foreign_keys=ON",
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA busy_timeout=5000",
    ):
        cursor.execute(pragma)
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    # Reads begin DEFERRED, so in WAL mode they never block anyone. Writers ask for IMMEDIATE
    # (``writer_engine``): the write lock is then taken up front and two writers queue on
    # busy_timeout, instead of one failing half-way when it upgrades a read snapshot.
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str | URL, **kwargs: Any) -> sa.Engine:
    parsed = parse_database_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(parsed, **kwargs)


def writer_engine(engine: sa.Engine) -> sa.Engine:
    """The same engine and pool, whose transactions take SQLite's write lock at BEGIN."""
    return engine.execution_options(sqlite_begin="IMMEDIATE")


def make_sessionmaker(engine: sa.Engine, *, write: bool = False) -> sessionmaker[Session]:
    return sessionmaker(writer_engine(engine) if write else engine, expire_on_commit=False)


_MASK = re.compile(r"(?<=://)([^:/@]+):[^@]*@")


def redact_url(url: str | URL) -> str:
    """The URL without its password, for log lines and error messages."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return _MASK.sub(r"\1:***@", url)


def lock_county_settings(session: Session, county_id: int) -> None:
    """Serialize the saves of a county's shared settings (its settings, rollout plan, programme
    years, inspection teams and their assignment), which carry a page's `state` digest rather than a
    version: take the county row's lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's writing
    transaction already holds the database) and forget every row the session read before, so that
    the digest is checked against what is committed now. Two saves from the same page then queue
    here, and the second sees the first's change and is refused (a lost update otherwise, on
    PostgreSQL's READ COMMITTED: issue 28)."""
    from hygiene.models import County

    session.flush()
    session.expire_all()
    session.execute(sa.select(County.id).where(County.id == county_id).with_for_update())
