"""Issue 30's commands, registered in ``web/cli.py``'s maps: ``period reopen`` (更正, RULES.md §5),
``users reset-password`` and ``export roster`` (a plaque revoked by mistake is reinstated by
``plaques reinstate``, web/cli_awards.py). Each calls the same service as its page, in one
transaction."""

from __future__ import annotations

from pathlib import Path

import click

# web.cli imports this module to register its commands: its helpers are imported when a command runs.


@click.command("reopen")
@click.argument("period_code")
@click.option("--village", "village_code", required=True, help="the village's code")
@click.option("--reason", required=True, help="why the published or final results are corrected")
def period_reopen(period_code: str, village_code: str, reason: str) -> None:
    """Send a published or final village period back for correction (更正), undoing its plaque changes.

    The posted record is kept as a superseded version; version 2 says it corrects version 1."""
    from hygiene.services.awards import plaques
    from hygiene.services.rating import workflow
    from hygiene.services.setup import periods, units
    from web.cli import InvalidInput, transaction

    with transaction() as session:
        village = units.get_village(session, village_code)
        period = periods.get_period(session, village.township.county_id, period_code)
        village_period = periods.village_period(session, village, period)
        if village_period is None:
            raise InvalidInput(f"{village.name} 没有 {period_code} 的评比")
        undone = [change.undo_text() for change in plaques.applied_changes(session, village_period)]
        workflow.reopen(session, None, village_period, village_period.version, reason)
        name = workflow.village_period_name(village_period)
    click.echo(f"已退回更正 {name}：原公示结果存档保留，重新公示时注明更正")
    for line in undone:
        click.echo(f"  {line}")


@click.group("export")
def export_group() -> None:
    """Files an office edits and imports back."""


@export_group.command("roster")
@click.option("--county", "county_code", required=True, help="the county's code")
@click.option("--village", "village_code", default=None, help="one village of the county")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="FILE.xlsx")
def export_roster(county_code: str, village_code: str | None, output: Path) -> None:
    """The household roster in the roster sheet's own layout (INTERCHANGE.md §2): edit it and
    import it back with ``hygiene import roster``."""
    from hygiene.io.exports import xlsx_bytes
    from hygiene.services.setup import roster_exports, units
    from web.cli import InvalidInput, transaction

    if output.suffix.lower() != ".xlsx":
        raise InvalidInput(f"--output 须为 .xlsx 文件：{output}")
    with transaction(write=False) as session:
        county = units.get_county(session, county_code)
        village = units.get_village(session, village_code) if village_code else None
        if village is not None and village.township.county_id != county.id:
            raise InvalidInput(f"村 {village_code} 不属于县 {county_code}")
        header, rows = roster_exports.roster_table(session, county, village=village)
    output.write_bytes(xlsx_bytes([("花名册", header, rows)]))
    click.echo(f"已导出 {len(rows)} 户到 {output}")


@click.command("reset-password")
@click.argument("username")
def users_reset_password(username: str) -> None:
    """A new temporary password (printed once), to be changed at the next login; lifts any login lock."""
    import sqlalchemy as sa

    from hygiene.models import User
    from hygiene.services.setup import accounts
    from web.cli import InvalidInput, transaction

    with transaction() as session:
        user = session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            raise InvalidInput(f"没有账号 {username}")
        temporary = accounts.temporary_password()
        accounts.reset_password(session, None, user, temporary)
    click.echo(f"已重置 {username} 的密码，临时密码（只显示这一次）：{temporary}")
    click.echo("用户登录后须立即设置新密码；该账号的登录锁定已解除。")
