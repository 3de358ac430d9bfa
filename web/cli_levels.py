"""The three levels of supervision (RULES.md §9, issue 33), registered in ``web.cli_registry.COMMANDS``:
``hygiene city`` (a city above counties, its teams and the townships they hold) and
``hygiene township-team`` (a township's own team). Each calls the same services as the pages, in
one transaction; a city's and a township's inspector accounts are made with ``hygiene users create
--role inspector --unit CODE`` (the city's or the township's code)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hygiene.models import City, Township, User

# web.cli_registry names this module: its helpers are imported when a command runs.


@click.group("city")
def city_group() -> None:
    """Cities above counties (市级督查): create one, add counties, its teams and what they hold."""


@city_group.command("create")
@click.argument("code")
@click.argument("name")
@click.option("--county", "county_codes", multiple=True, required=True, help="a county of the city (repeatable)")
def city_create(code: str, name: str, county_codes: tuple[str, ...]) -> None:
    """A city with its first counties."""
    from hygiene.services.setup import cities
    from web.cli import transaction

    with transaction() as session:
        city = cities.create_city(session, None, code, name, county_codes)
        names = "、".join(c.name for c in cities.city_counties(session, city))
    click.echo(f"已建立{name}（{code}），所辖县：{names}")


@city_group.command("add-county")
@click.argument("city_code")
@click.argument("county_code")
def city_add_county(city_code: str, county_code: str) -> None:
    """Add a county to the city: the city's inspectors may inspect it from now on."""
    from hygiene.services.setup import cities, units
    from web.cli import transaction

    with transaction() as session:
        city = cities.get_city(session, city_code)
        county = cities.add_county(session, None, city, units.get_county(session, county_code))
    click.echo(f"{county.name}已划入{city.name}")


def _inspectors(session: Session, usernames: tuple[str, ...]) -> list[User]:
    import sqlalchemy as sa

    from hygiene.models import User
    from web.cli import InvalidInput

    found = []
    for name in usernames:
        user = session.scalar(sa.select(User).where(User.username == name))
        if user is None:
            raise InvalidInput(f"没有用户名为 {name} 的账号")
        found.append(user)
    return found


def _create_team(
    get_unit: Callable[[Session, str], City | Township], code: str, name: str, members: str, usernames: tuple[str, ...]
) -> None:
    """A city's or a township's own team (the county's teams have their page), with its inspectors."""
    from hygiene.services.supervision import inspection_teams
    from web.cli import transaction

    with transaction() as session:
        unit = get_unit(session, code)
        team = inspection_teams.create_level_team(
            session, None, unit, name=name, members=members, inspectors=_inspectors(session, usernames)
        )
        click.echo(f"已建立{unit.name}督查组“{team.name}”（编号 {team.id}）")


@city_group.command("team")
@click.argument("city_code")
@click.argument("name")
@click.option("--members", required=True, help="everyone on the team, by name")
@click.option("--inspector", "usernames", multiple=True, help="a city inspector account on it (repeatable)")
def city_team(city_code: str, name: str, members: str, usernames: tuple[str, ...]) -> None:
    """A city team, with the city's inspector accounts on it."""
    from hygiene.services.setup import cities

    _create_team(cities.get_city, city_code, name, members, usernames)


@city_group.command("assign")
@click.argument("city_code")
@click.argument("team_name")
@click.argument("period_code")
@click.argument("township_codes", nargs=-1, required=True)
def city_assign(city_code: str, team_name: str, period_code: str, township_codes: tuple[str, ...]) -> None:
    """The city team holds these townships (of one county of the city) in the county's period."""
    import sqlalchemy as sa

    from hygiene.models import InspectionTeam
    from hygiene.services.setup import cities, periods, units
    from hygiene.services.supervision import inspections
    from web.cli import InvalidInput, transaction

    with transaction() as session:
        city = cities.get_city(session, city_code)
        team = session.scalar(
            sa.select(InspectionTeam).where(InspectionTeam.city_id == city.id, InspectionTeam.name == team_name)
        )
        if team is None:
            raise InvalidInput(f"{city.name}没有名为“{team_name}”的督查组")
        for code in township_codes:
            township = units.get_township(session, code)
            period = periods.get_period(session, township.county_id, period_code)
            inspections.hold(session, None, team, period, township)
            click.echo(f"{team.name}负责{township.county.name}{township.name}{period.code}的督查")


@click.command("township-team")
@click.argument("township_code")
@click.argument("name")
@click.option("--members", required=True, help="everyone on the team, by name")
@click.option("--inspector", "usernames", multiple=True, help="a township inspector account on it (repeatable)")
def township_team(township_code: str, name: str, members: str, usernames: tuple[str, ...]) -> None:
    """A township's own inspection team (乡镇自查), with the township's inspector accounts on it."""
    from hygiene.services.setup import units

    _create_team(units.get_township, township_code, name, members, usernames)
