"""Shared fixtures.

Databases: a migrated SQLite file with the demo county (plus a second county, for cross-county
checks) is built once per run and copied for every web test; service tests run on SQLite and, when
``HYGIENE_TEST_POSTGRES_URL`` is set (``make test`` always sets it), on PostgreSQL too, each test
inside an outer transaction that is rolled back.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import migrate
from hygiene.db import make_engine, make_sessionmaker
from hygiene.enums import Role
from hygiene.models import County, Group, Household, Township, Village
from hygiene.services import demo
from hygiene.services.awards import stars
from hygiene.services.setup import accounts, periods

POSTGRES_URL = os.environ.get("HYGIENE_TEST_POSTGRES_URL")
if os.environ.get("CI") and not POSTGRES_URL:
    raise RuntimeError("CI must test PostgreSQL too: run the suite through `make test`")

BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]

# Accounts beyond the demo's, so every role has an own and a foreign unit.
OTHER_COUNTY = ("520998", "邻县")
EXTRA_USERS = (
    ("township2", Role.TOWNSHIP_REVIEWER, "52099902"),
    ("county2", Role.COUNTY_ADMIN, OTHER_COUNTY[0]),
    ("inspector2", Role.INSPECTOR, OTHER_COUNTY[0]),
)
EXTRA_PASSWORD = "extra-pass-2026"
PASSWORDS = {u.username: u.password for u in demo.DEMO_USERS} | {name: EXTRA_PASSWORD for name, _, _ in EXTRA_USERS}


def pytest_report_header() -> str:
    return f"databases: {', '.join(BACKENDS)}"


def seed(session: Session) -> None:
    """The demo county, plus a small neighbouring county and the extra accounts."""
    demo.load_demo(session, today=demo.REFERENCE_DAY)
    county = County(code=OTHER_COUNTY[0], name=OTHER_COUNTY[1])
    session.add(county)
    session.flush()
    periods.create_default_rubric(session, county)
    stars.create_default_catalogue(session, county)
    periods.open_period(session, county, "2026Q4")
    township = Township(county_id=county.id, code="52099801", name="邻镇")
    session.add(township)
    session.flush()
    village = Village(county_id=county.id, township_id=township.id, code="5209980101", name="邻村", programme_year=2026)
    session.add(village)
    session.flush()
    group = Group(county_id=county.id, village_id=village.id, code="520998010101", name="第一组")
    session.add(group)
    session.flush()
    session.add(Household(county_id=county.id, group_id=group.id, code="520998010101001", head_name="杨邻居"))
    for username, role, unit in EXTRA_USERS:
        accounts.create_user(session, username=username, password=EXTRA_PASSWORD, role=role, unit_code=unit)


def build_database(engine: sa.Engine) -> None:
    migrate.upgrade(engine)
    with make_sessionmaker(engine).begin() as session:
        seed(session)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "hygiene.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    build_database(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file we copy
    assert not path.with_name(path.name + "-wal").exists()
    return path


def reset_postgres(url: str) -> sa.Engine:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    return engine


@pytest.fixture(scope="session")
def postgresql_engine() -> Iterator[sa.Engine]:
    assert POSTGRES_URL
    engine = reset_postgres(POSTGRES_URL)
    build_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_engine(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    path = tmp_path_factory.mktemp("services") / "hygiene.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> sa.Engine:
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture
def db(engine: sa.Engine) -> Iterator[Session]:
    """A session on the seeded database; everything it does is rolled back afterwards."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


def fresh_postgres_database(name: str, template: str | None = None) -> sa.Engine:
    """A PostgreSQL database of its own, empty or a copy of ``template``, for tests that commit or
    migrate down and so must not disturb the shared, rolled-back service-test database."""
    assert POSTGRES_URL
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    admin.dispose()
    return make_engine(POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}")


@pytest.fixture(scope="session")
def postgres_template() -> str:
    """The seeded PostgreSQL database, built once; each committing test gets a copy of it
    (CREATE DATABASE … TEMPLATE: a file copy on the server, instead of migrating and seeding again)."""
    name = "hygiene_commits_template"
    engine = fresh_postgres_database(name)
    build_database(engine)
    engine.dispose()  # a template must have no open connection when it is copied
    return name


@pytest.fixture(params=BACKENDS)
def committing_engine(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> Iterator[sa.Engine]:
    """A private seeded database on each backend, for tests whose sessions really commit."""
    if request.param == "sqlite":
        path = tmp_path / "hygiene.sqlite3"
        shutil.copy(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        engine = fresh_postgres_database("hygiene_commits", template=request.getfixturevalue("postgres_template"))
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_copy(sqlite_template: Path, tmp_path: Path) -> str:
    """A private copy of the seeded SQLite database, for code that commits."""
    path = tmp_path / "hygiene.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"
