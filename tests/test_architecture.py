"""The layer rules of docs/architecture.md, checked rather than remembered.

- The import contracts in setup.cfg ([importlinter]): the engine imports no hygiene, web, Flask or
  SQLAlchemy; hygiene never imports web; only the rating service (the engine's one door), the
  ranking service and the vocabulary in hygiene.enums import the engine.
- Configuration is read from the environment only in hygiene/config.py.
- Services flush and never commit or roll back: the request or the command owns the transaction.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from importlinter import cli as import_linter

ROOT = Path(__file__).resolve().parent.parent
CODE = ("scoring", "hygiene", "web")
CONFIG_MODULE = ROOT / "hygiene" / "config.py"


def _modules(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def _attribute_chains(tree: ast.AST) -> list[tuple[int, str]]:
    chains = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts = [node.attr]
            value = node.value
            while isinstance(value, ast.Attribute):
                parts.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name):
                parts.append(value.id)
                chains.append((node.lineno, ".".join(reversed(parts))))
    return chains


def test_the_import_contracts_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert import_linter.lint_imports(config_filename=str(ROOT / "setup.cfg"), no_cache=True) == 0


def test_configuration_is_read_only_in_hygiene_config() -> None:
    readers = {"os.environ", "os.getenv", "os.environ.get", "config.from_prefixed_env", "config.from_envvar"}
    found = [
        f"{path.relative_to(ROOT)}:{line} {chain}"
        for path in _modules(*CODE)
        if path != CONFIG_MODULE
        for line, chain in _attribute_chains(ast.parse(path.read_text()))
        if chain in readers or chain.endswith(".from_prefixed_env")
    ]
    found += [
        f"{path.relative_to(ROOT)}: from os import environ/getenv"
        for path in _modules(*CODE)
        if path != CONFIG_MODULE
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom)
        and node.module == "os"
        and {a.name for a in node.names} & {"environ", "getenv"}
    ]
    assert found == []


def test_services_never_commit_or_roll_back() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _modules("hygiene")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"commit", "rollback"}
    ]
    assert found == []
