"""Issue 30's commands, registered in ``web/cli.py``: ``period reopen`` (更正, RULES.md §5),
``plaques reinstate`` (a plaque revoked outside the cycle by mistake) and ``export roster``. Each
calls the same service as its page, in one transaction."""

from __future__ import annotations

import click

from web.cli import InvalidInput, transaction


@click.command("reopen")
@click.argument("period_code")
@click.option("--village", "village_code", required=True, help="the village's code")
@click.option("--reason", required=True, help="why the published or final results are corrected")
def period_reopen(period_code: str, village_code: str, reason: str) -> None:
    """Send a published or final village period back for correction (更正): the posted record is
    kept as a superseded version and the plaque changes the period applied are undone."""
    from hygiene.services.awards import plaques
    from hygiene.services.rating import workflow
    from hygiene.services.setup import periods, units

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


@click.command("reinstate")
@click.argument("serial")
@click.option("--reason", required=True, help="why the revocation was a mistake")
def plaques_reinstate(serial: str, reason: str) -> None:
    """Reinstate a plaque revoked outside the cycle by mistake, with its serial and level."""
    from hygiene.services.awards import plaques
    from hygiene.services.setup import units

    with transaction() as session:
        county_code = serial.split("-", 1)[0]
        plaque = plaques.get_plaque(session, units.get_county(session, county_code), serial)
        plaques.reinstate(session, None, plaque, reason=reason, expected_version=plaque.version)
        level = plaque.level.label
    click.echo(f"已恢复牌匾 {serial}（{level}）")
