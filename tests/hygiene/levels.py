"""Three levels of supervision (issue 33) on the seeded database: the demo county 520999 in city 5209
and the neighbouring county 520998 in city 5208, each city with an inspector on a city team, and
townships 52099901 (松林镇) and 52099902 with their own inspector on their own team."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import Role
from hygiene.models import City, InspectionTeam, Township, User
from hygiene.services.setup import accounts, cities
from hygiene.services.supervision import inspection_teams

PASSWORD = "levels-pass-2026"


@dataclass(frozen=True)
class Levels:
    city: City
    other_city: City
    city_inspector: User
    other_city_inspector: User
    township_inspector: User  # 松林镇 (52099901)
    other_township_inspector: User  # 52099902
    city_team: InspectionTeam
    other_city_team: InspectionTeam
    own_team: InspectionTeam
    other_own_team: InspectionTeam


def _inspector(session: Session, username: str, unit: str) -> User:
    return accounts.create_user(session, username=username, password=PASSWORD, role=Role.INSPECTOR, unit_code=unit)


def _township(session: Session, code: str) -> Township:
    return session.scalars(sa.select(Township).where(Township.code == code)).one()


def three_levels(session: Session) -> Levels:
    city = cities.create_city(session, None, "5209", "测试市", ["520999"])
    other_city = cities.create_city(session, None, "5208", "邻市", ["520998"])
    city_inspector = _inspector(session, "city-inspector", "5209")
    other_city_inspector = _inspector(session, "city-inspector2", "5208")
    township_inspector = _inspector(session, "songlin-inspector", "52099901")
    other_township_inspector = _inspector(session, "township2-inspector", "52099902")
    make = inspection_teams.create_level_team
    return Levels(
        city=city,
        other_city=other_city,
        city_inspector=city_inspector,
        other_city_inspector=other_city_inspector,
        township_inspector=township_inspector,
        other_township_inspector=other_township_inspector,
        city_team=make(session, None, city, name="市督查一组", members="赵市、钱市", inspectors=[city_inspector]),
        other_city_team=make(
            session, None, other_city, name="邻市督查组", members="孙邻", inspectors=[other_city_inspector]
        ),
        own_team=make(
            session,
            None,
            _township(session, "52099901"),
            name="松林镇自查组",
            members="周镇",
            inspectors=[township_inspector],
        ),
        other_own_team=make(
            session,
            None,
            _township(session, "52099902"),
            name="二镇自查组",
            members="吴镇",
            inspectors=[other_township_inspector],
        ),
    )
