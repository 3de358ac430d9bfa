"""The ``hygiene`` command: exit 0 done, 2 invalid input with nothing written, 1 other failures."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from hygiene.db import make_engine
from hygiene.models import User
from web.cli import main


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


def run(url: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url}, input=input)


def count_users(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(sa.select(sa.func.count(User.id))) or 0
    engine.dispose()
    return n


def test_init_demo_and_demo_again(url: str) -> None:
    assert run(url, "init-db").exit_code == 0
    first = run(url, "demo")
    assert first.exit_code == 0, first.output
    assert "已载入演示县 示范县" in first.output and "county / demo-county-2026" in first.output
    again = run(url, "demo")
    assert again.exit_code == 0 and "已存在，未作更改" in again.output
    assert run(url, "init-db").exit_code == 0  # idempotent too


def test_commands_before_init_db_say_what_to_do(url: str) -> None:
    result = run(url, "demo")
    assert result.exit_code == 1 and "请先运行 hygiene init-db" in result.output


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("mysql://u@h/db", "不支持的数据库类型 'mysql'"),
        ("postgresql://h:notaport/db", "DATABASE_URL 格式不正确"),
        ("not a url", "DATABASE_URL 格式不正确"),
        ("postgresql://h:5432/", "缺少数据库名"),
    ],
)
def test_a_malformed_database_url_is_invalid_input(tmp_path: Path, raw: str, message: str) -> None:
    result = CliRunner().invoke(main, ["init-db"], env={"DATABASE_URL": raw})
    assert result.exit_code == 2 and message in result.output
    assert not any(tmp_path.iterdir())


def test_users_create_asks_for_the_password(url: str) -> None:
    run(url, "init-db")
    run(url, "demo")
    before = count_users(url)
    result = run(
        url,
        "users",
        "create",
        "--role",
        "village_clerk",
        "--unit",
        "5209990102",
        "xinhua",
        input="long-enough-1\nlong-enough-1\n",
    )
    assert result.exit_code == 0, result.output
    assert "已创建账号 xinhua（村委会" in result.output
    assert count_users(url) == before + 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "county_admin", "--unit", "000000", "someone"], "找不到编码为 000000 的县"),
        (["--role", "township_reviewer", "--unit", "000", "someone"], "找不到编码为 000 的乡镇"),
        (["--role", "village_clerk", "--unit", "5209990101", "village"], "用户名 village 已存在"),
        (["--role", "village_clerk", "--unit", "5209990101", "bad name!"], "用户名 'bad name!' 不合规"),
    ],
)
def test_users_create_refuses_bad_input_and_writes_nothing(url: str, args: list[str], message: str) -> None:
    run(url, "init-db")
    run(url, "demo")
    before = count_users(url)
    result = run(url, "users", "create", *args, input="long-enough-1\nlong-enough-1\n")
    assert result.exit_code == 2 and message in result.output
    assert count_users(url) == before


def test_users_create_refuses_a_short_password(url: str) -> None:
    run(url, "init-db")
    result = run(url, "users", "create", "--role", "county_admin", "--unit", "x", "someone", input="short\nshort\n")
    assert result.exit_code == 2 and "密码至少需要8位" in result.output


def test_unknown_role_is_refused_by_the_parser(url: str) -> None:
    result = run(url, "users", "create", "--role", "mayor", "--unit", "x", "someone")
    assert result.exit_code == 2 and "mayor" in result.output


def test_serve_refuses_a_bad_port(url: str) -> None:
    run(url, "init-db")
    result = CliRunner().invoke(main, ["serve"], env={"DATABASE_URL": url, "PORT": "http"})
    assert result.exit_code == 2 and "PORT 不是端口号" in result.output


def test_serve_refuses_production_without_a_secret_key(url: str) -> None:
    run(url, "init-db")
    result = CliRunner().invoke(
        main,
        ["serve"],
        env={"DATABASE_URL": url, "HYGIENE_ENV": "production", "SECRET_KEY": "", "HYGIENE_SECRET_KEY": ""},
    )
    assert result.exit_code == 1 and "未设置 SECRET_KEY" in result.output


def test_results_prints_the_engine_output_for_a_period(url: str, tmp_path: Path) -> None:
    run(url, "init-db")
    run(url, "demo")
    printed = run(url, "results", "--period", "2026Q3", "--village", "5209990101")
    assert printed.exit_code == 0
    lines = printed.output.splitlines()
    assert lines[0] == "household_code,village_code,self_total,peer_total,peer_count,final_total,grade,rank,award,flags"
    assert all(line.startswith("520999010") for line in lines[1:]) and len(lines) > 40
    written = run(url, "results", "--period", "2026Q3", "--output", str(tmp_path / "out"))
    assert written.exit_code == 0
    village_rows = (tmp_path / "out" / "village_results.csv").read_text().splitlines()
    assert len(village_rows) == 1 + 12 and village_rows[1].startswith("5209990101,52099901,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026Q9"], "季度格式不正确"),
        (["--period", "2030Q1"], "季度 2030Q1 不存在"),
        (["--period", "2026Q3", "--village", "000"], "找不到编码为 000 的村"),
    ],
)
def test_results_refuses_bad_input(url: str, args: list[str], message: str) -> None:
    run(url, "init-db")
    run(url, "demo")
    result = run(url, "results", *args)
    assert result.exit_code == 2 and message in result.output
