"""``hygiene households``: correcting a household's mistyped code and moving a household to another
village (issue 30), as the county office does on the household's page, through the same service
(``hygiene.services.setup.household_moves``), in one transaction each."""

from __future__ import annotations

import click

# Services are imported inside each command (issue 34: `hygiene --help` imports no SQLAlchemy).


@click.group("households")
def households_group() -> None:
    """Correct a household's code or move it to another village, keeping its history."""


@households_group.command("recode")
@click.argument("household_code")
@click.argument("new_code")
@click.option("--county", "county_code", required=True, help="the county's code")
@click.option("--reason", required=True, help="why the code is corrected")
def households_recode(household_code: str, new_code: str, county_code: str, reason: str) -> None:
    """Correct a mistyped household code; the old code stays the household's former code."""
    from hygiene.services.setup import household_moves, units
    from web.cli import transaction

    with transaction() as session:
        county = units.get_county(session, county_code)
        household = household_moves.county_household(session, county.id, household_code)
        old = household.code
        household_moves.correct_code(session, None, household, new_code, reason)
        new = household.code
    click.echo(f"户编号 {old} 已更正为 {new}；{old} 留作该户的曾用编号")


@households_group.command("move")
@click.argument("household_code")
@click.option("--county", "county_code", required=True, help="the county's code")
@click.option("--to-village", "village_code", required=True, help="the code of the village it moves to")
@click.option("--group", "group_key", default=None, help="the group there, by code or name (needed if it has several)")
@click.option("--new-code", default=None, help="its code there (default: keep the code)")
@click.option("--reason", required=True, help="why it moves")
def households_move(
    household_code: str, county_code: str, village_code: str, group_key: str | None, new_code: str | None, reason: str
) -> None:
    """Move a household to a group of another village, its code kept or changed."""
    from hygiene.services.setup import household_moves, units
    from web.cli import InvalidInput, transaction

    with transaction() as session:
        county = units.get_county(session, county_code)
        household = household_moves.county_household(session, county.id, household_code)
        village = units.get_village(session, village_code)
        if village.county_id != county.id:
            raise InvalidInput(f"村 {village_code} 不属于县 {county_code}")
        groups = [g for g in village.groups if group_key is None or group_key in (g.code, g.name)]
        if len(groups) != 1:
            names = "、".join(f"{g.code} {g.name}" for g in village.groups)
            raise InvalidInput(f"请用 --group 指明 {village.name} 的村民组（{names}）")
        old, was = household.code, household.group.village.name
        household_moves.move(session, None, household, groups[0], new_code or household.code, reason)
        line = f"{old} 已从 {was} 迁至 {village.name} {groups[0].name}，户编号 {household.code}"
    click.echo(line)
