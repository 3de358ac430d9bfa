"""The ``hygiene`` command starts at once (issue 34): ``--help`` imports no database layer, engine
or web app, a command imports what it needs when it runs, and the lazily registered commands'
one-line help in ``web.cli_registry.COMMANDS`` is what each command says of itself.

Each check runs a fresh interpreter (what a clerk's shell or cron starts) and reads its
``sys.modules`` at exit; no timing here (benchmarks print times, see docs/performance.md)."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from hygiene import collector
from hygiene.services.supervision import sampling
from web.cli import main, period_group, users
from web.cli import plaques_register as plaques
from web.cli_registry import COMMANDS, PERIOD_COMMANDS, PLAQUE_COMMANDS, USER_COMMANDS

ROOT = Path(__file__).resolve().parents[2]

# The web app, its extensions and the heavy libraries a command that does not need them must not load.
WEB_APP = ("flask", "werkzeug", "jinja2", "flask_login", "flask_wtf", "argon2", "web.public", "web.extensions")
ENGINE = ("pandas", "numpy", "pyarrow", "scoring.engine")
DATABASE = ("sqlalchemy", "psycopg", "alembic", "hygiene.models")
SPREADSHEETS = ("openpyxl",)
DOCUMENTS = ("reportlab",)
# Alembic runs migrations (init-db); a command that only checks the schema is current reads the
# version and the migration files' revision lines without it.
MIGRATIONS = ("alembic", "mako")

PROBE = """
import atexit, json, sys
atexit.register(lambda: print("MODULES=" + json.dumps(sorted(sys.modules)), file=sys.__stderr__))
from web.cli import main
main(sys.argv[1:])
"""


def modules_loaded(*args: str, database_url: str | None = None) -> tuple[int, set[str]]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(ROOT)}
    if database_url:
        env["DATABASE_URL"] = database_url
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES="))
    return done.returncode, set(json.loads(line.removeprefix("MODULES=")))


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(p for p in packages if p in modules or any(m.startswith(p + ".") for m in modules))


def test_help_imports_no_database_engine_or_web_app() -> None:
    status, modules = modules_loaded("--help")
    assert status == 0
    assert loaded(modules, WEB_APP + ENGINE + DATABASE + SPREADSHEETS + DOCUMENTS + MIGRATIONS) == []
    # The lazily registered commands are listed without importing their modules.
    assert "web.cli_integrity" not in modules and "web.cli_awards" not in modules


def test_a_subcommand_group_help_imports_nothing_heavy() -> None:
    status, modules = modules_loaded("import", "--help")
    assert status == 0
    assert loaded(modules, WEB_APP + ENGINE + DATABASE + SPREADSHEETS) == []


def test_init_db_loads_the_database_layer_only(tmp_path: Path) -> None:
    status, modules = modules_loaded("init-db", database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert status == 0
    assert loaded(modules, ("sqlalchemy", "alembic")) == ["alembic", "sqlalchemy"]
    assert loaded(modules, WEB_APP + ENGINE + SPREADSHEETS) == []


def test_results_runs_the_engine_without_the_web_app(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    runner = CliRunner()
    assert runner.invoke(main, ["init-db"], env={"DATABASE_URL": url}).exit_code == 0
    assert runner.invoke(main, ["demo"], env={"DATABASE_URL": url}).exit_code == 0
    status, modules = modules_loaded("results", "--period", "2026Q3", "--village", "5209990101", database_url=url)
    assert status == 0
    assert "pandas" in modules and "scoring.engine" in modules  # it did score
    assert loaded(modules, WEB_APP + SPREADSHEETS + DOCUMENTS + MIGRATIONS) == []


def test_the_collector_waits_for_a_commands_imports_only() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ImportError), collector.paused():
        import hygiene.no_such_module  # noqa: F401
    assert gc.isenabled()


def test_a_lazy_command_is_loaded_when_run() -> None:
    result = CliRunner().invoke(main, ["check", "--help"])
    assert result.exit_code == 0 and "audit chain" in result.output


MAPS: list[tuple[click.Group, dict[str, tuple[str, str]]]] = [
    (main, COMMANDS),
    (plaques, PLAQUE_COMMANDS),
    (users, USER_COMMANDS),
    (period_group, PERIOD_COMMANDS),
]


@pytest.mark.parametrize(("group", "name"), [(group, name) for group, lazy in MAPS for name in sorted(lazy)])
def test_each_lazy_command_is_registered_with_its_own_help(group: click.Group, name: str) -> None:
    target, short_help = next(lazy for g, lazy in MAPS if g is group)[name]
    command = group.get_command(click.Context(group), name)
    assert command is not None and command.name == name, target
    # The line `hygiene --help` shows is the command's own first sentence, so the two cannot drift.
    assert command.get_short_help_str(limit=1000) == short_help


def test_the_listing_shows_every_command_once() -> None:
    result = CliRunner().invoke(main, ["--help"])
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == sorted(listed) and set(COMMANDS) <= set(listed)
    assert {"results", "serve", "init-db", "import"} <= set(listed)


def test_sample_help_shows_the_services_default_size() -> None:
    result = CliRunner().invoke(main, ["sample", "--help"])
    assert f"[default: {sampling.DEFAULT_SIZE}]" in result.output
