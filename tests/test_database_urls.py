"""A primary and its standbys in one DATABASE_URL (libpq's multi-host forms), and the optional
read-only DATABASE_REPLICA_URL for the public pages (issue 32)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from hygiene import config
from hygiene.db import DatabaseUrlError, parse_database_url
from hygiene.services.integrity import libpq_target
from tests.web.conftest import Auth
from web import create_app

MULTI = "postgresql+psycopg://hyg:pw@/hygiene?host=10.0.0.1%3A5432&host=10.0.0.2%3A5433&target_session_attrs=read-write"


@pytest.mark.parametrize(
    "raw",
    [
        "postgresql://hyg:pw@10.0.0.1:5432,10.0.0.2:5433/hygiene?target_session_attrs=read-write",
        "postgres://hyg:pw@10.0.0.1:5432,10.0.0.2:5433/hygiene?target_session_attrs=read-write",
        "host=10.0.0.1,10.0.0.2 port=5432,5433 dbname=hygiene user=hyg password=pw target_session_attrs=read-write",
        MULTI,
    ],
)
def test_libpqs_multi_host_forms_all_mean_the_same(raw: str) -> None:
    assert parse_database_url(raw).render_as_string(hide_password=False) == MULTI


def test_the_client_programs_get_libpqs_own_form_and_the_password_apart() -> None:
    uri, env = libpq_target(parse_database_url(MULTI))
    assert uri == "postgresql://hyg@10.0.0.1:5432,10.0.0.2:5433/hygiene?target_session_attrs=read-write"
    assert env["PGPASSWORD"] == "pw"


def test_hosts_and_ports_that_do_not_pair_are_refused() -> None:
    with pytest.raises(DatabaseUrlError, match="主机与端口个数不一致"):
        parse_database_url("host=a,b,c port=1,2 dbname=hygiene")


def test_the_replica_is_optional_and_read_in_one_place() -> None:
    assert config.replica_url({}) is None
    replica = config.replica_url({"DATABASE_REPLICA_URL": "postgresql://r@standby/hygiene"})
    assert replica is not None and replica.host == "standby"


def test_public_pages_read_the_replica_and_staff_pages_the_primary(sqlite_copy: str, tmp_path: Path) -> None:
    primary = sqlite_copy.removeprefix("sqlite:///")
    replica = tmp_path / "replica.sqlite3"
    shutil.copy(primary, replica)
    raw = sqlite3.connect(replica)
    raw.execute("UPDATE counties SET name = '副本县' WHERE code = '520999'")
    raw.commit()
    raw.close()
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": sqlite_copy,
            "DATABASE_REPLICA_URL": f"sqlite:///{replica}",
            "SECRET_KEY": "test-secret-key",
        }
    )
    try:
        client = app.test_client()
        assert "副本县" in client.get("/").get_data(as_text=True)
        auth = Auth(client)
        auth.login("county")
        staff_page = client.get("/county/520999/").get_data(as_text=True)
        assert "副本县" not in staff_page and "管理" in staff_page
    finally:
        app.extensions["hygiene.engine"].dispose()
        app.extensions["hygiene.replica_engine"].dispose()
