"""Cities (市, prefectures) above counties (RULES.md §9: supervision has up to three levels, city,
county and township). A city groups counties; its inspectors (accounts scoped to the city) inspect
the townships and villages of those counties with the county's tools, through the city's own
teams (``inspection_teams.create_level_team``, ``inspections.hold``).

Cities are kept by the system administrator's command (``hygiene city``): there is no city
administrator account. A city has no audit chain of its own: each change is audited in the county
it concerns (a county joining a city, in that county; a city created with its first counties, in
each of them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import naming
from hygiene.models import City, County, User
from hygiene.services import audit
from hygiene.services.errors import FieldErrors, NotFound, PermissionDenied, ServiceError

CODE_MAX, NAME_MAX = 12, 60  # the columns' lengths


def get_city(session: Session, code: str) -> City:
    city = session.scalar(sa.select(City).where(City.code == code.strip()))
    if city is None:
        raise NotFound(f"找不到编码为 {naming.visible(code.strip())} 的市")
    return city


def _county(session: Session, code: str) -> County:
    county = session.scalar(sa.select(County).where(County.code == code.strip()))
    if county is None:
        raise NotFound(f"找不到编码为 {naming.visible(code.strip())} 的县")
    return county


def create_city(session: Session, actor: User | None, code: str, name: str, county_codes: Sequence[str]) -> City:
    """A city with its first counties (named by code; at least one). The command only (actor None)."""
    if actor is not None:
        raise PermissionDenied("市由系统管理员用命令设置")
    code, code_problem = naming.text_field(code, "市编码", CODE_MAX, required=True)
    name, name_problem = naming.text_field(name, "市名称", NAME_MAX, required=True)
    errors = {k: why for k, why in (("code", code_problem), ("name", name_problem)) if why}
    if not code_problem and session.scalar(sa.select(City.id).where(City.code == code)) is not None:
        errors["code"] = f"已有编码为 {code} 的市"
    if not county_codes:
        errors["counties"] = "请至少指定一个所辖县"
    if errors:
        raise FieldErrors(errors)
    counties = [_county(session, c) for c in county_codes]
    city = City(code=code, name=name)
    session.add(city)
    session.flush()
    for county in counties:
        add_county(session, actor, city, county)
    return city


def add_county(session: Session, actor: User | None, city: City, county: County) -> County:
    """The county joins the city (its inspectors may inspect it from now on); a county belongs to one
    city at most. Audited in the county."""
    if actor is not None:
        raise PermissionDenied("市由系统管理员用命令设置")
    if county.city_id == city.id:
        return county
    if county.city_id is not None:
        raise ServiceError(f"{county.name}已属于{county.city.name if county.city else '其他市'}")
    county.city_id = city.id
    session.flush()
    audit.record(
        session,
        actor,
        county,
        action="join_city",
        before={"city": None},
        after={"city": city.code, "city_name": city.name},
    )
    return county


def city_counties(session: Session, city: City) -> list[County]:
    return list(session.scalars(sa.select(County).where(County.city_id == city.id).order_by(County.code)))
