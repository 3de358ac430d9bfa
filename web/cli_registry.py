"""The registration point of the ``hygiene`` commands defined outside ``web.cli`` (docs/architecture.md,
"A command"), and the click group that imports such a command only when it runs: ``hygiene --help``
lists them from these maps without importing their modules (issue 34)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

# The commands defined in other modules, by name: "module:attribute" and the one-line help that
# `hygiene --help` shows without importing the module (its docstring's first sentence). The one
# place such a command is registered (docs/architecture.md, "A command"); tests/web/test_cli_imports.py
# checks each line against its command.
COMMANDS: dict[str, tuple[str, str]] = {
    "backup": ("web.cli_integrity:backup", "A consistent copy of the whole database while the app keeps running."),
    "restore": (
        "web.cli_integrity:restore",
        "Restore a backup into an empty database (refused into one holding data), then check it.",
    ),
    "check": (
        "web.cli_integrity:check",
        "Verify foreign keys, counties, records' digests and the audit chain; exit 1 on any problem.",
    ),
    "public-rows": (
        "web.cli_integrity:public_rows",
        "Store the public list's rows of records posted before this version, so their pages are not rendered live.",
    ),
    "stars": (
        "web.cli_awards:stars_group",
        "Every household holding a star, as CSV (RULES.md §8), sorted by household code.",
    ),
    "benefits": (
        "web.cli_awards:benefits_command",
        "The benefits priority list (five-plus first, then by star count): CSV, or a workbook.",
    ),
    "ledger": ("web.cli_awards:ledger_group", "The year's award ledger as CSV, by date then household code."),
    "stats": ("web.cli_awards:stats_command", "The county's figures in its bulletin's terms, one CSV line."),
    "export": ("web.cli_daily:export_group", "Files an office edits and imports back."),
    "households": (
        "web.cli_households:households_group",
        "Correct a household's code or move it to another village, keeping its history.",
    ),
    "check-sheets": (
        "web.cli_field:check_sheets_command",
        "The household check sheets (评比检查表) of a village or a group as one PDF, a page a household.",
    ),
    "city": (
        "web.cli_levels:city_group",
        "Cities above counties (市级督查): create one, add counties, its teams and what they hold.",
    ),
    "township-team": (
        "web.cli_levels:township_team",
        "A township's own inspection team (乡镇自查), with the township's inspector accounts on it.",
    ),
}
# The same for the subcommands of `hygiene users` and `hygiene period` defined in other modules.
USER_COMMANDS: dict[str, tuple[str, str]] = {
    "reset-password": (
        "web.cli_daily:users_reset_password",
        "A new temporary password (printed once), to be changed at the next login; lifts any login lock.",
    ),
}
PERIOD_COMMANDS: dict[str, tuple[str, str]] = {
    "reopen": (
        "web.cli_daily:period_reopen",
        "Send a published or final village period back for correction (更正), undoing its plaque changes.",
    ),
}
# The same for the subcommands of `hygiene plaques` defined in other modules.
PLAQUE_COMMANDS: dict[str, tuple[str, str]] = {
    "revoke": (
        "web.cli_awards:plaques_revoke",
        "Revoke a plaque outside the cycle; the hygiene star goes with it in the same transaction.",
    ),
    "reinstate": (
        "web.cli_awards:plaques_reinstate",
        "Undo a revocation made outside the cycle; the hygiene star comes back with it.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands in other modules (``lazy``: name → ("module:attribute", short help))
    are imported only when one of them runs or shows its own help."""

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.commands[cmd_name] = self.load(cmd_name)
        return self.commands.get(cmd_name)

    def load(self, cmd_name: str) -> click.Command:
        module_name, _, attribute = self.lazy[cmd_name][0].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command) or command.name != cmd_name:
            raise TypeError(f"{self.lazy[cmd_name][0]} is not the click command {cmd_name!r}")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is None:
                rows.append((name, _short_help(self.lazy[name][1], limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _short_help(text: str, limit: int) -> str:
    """A command's first sentence cut to the help column, as click cuts the loaded ones."""
    return text if len(text) <= limit else text[: max(limit - 3, 0)].rstrip() + "..."
