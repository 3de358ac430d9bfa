"""Inspection teams (联合督查考核组, RULES.md §9): the county's teams, the names of everyone on them and
the inspector accounts that belong to them (an inspector belongs to at most one team of its own
county). Every change is audited and guarded by the state the administrator saw.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import naming, permissions
from hygiene.db import lock_county_settings
from hygiene.enums import Level, Role
from hygiene.models import (
    City,
    County,
    InspectionTeam,
    Township,
    User,
)
from hygiene.services import audit
from hygiene.services.errors import (
    FieldErrors,
    NotFound,
    PermissionDenied,
    check_unchanged,
    state_digest,
)

TEAM_NAME_MAX = 60  # the columns' lengths
MEMBERS_MAX = 200


# --- teams and their members ----------------------------------------------------------------------


def teams(session: Session, county: County) -> list[InspectionTeam]:
    """The county's own teams (not its townships')."""
    return list(
        session.scalars(
            sa.select(InspectionTeam)
            .where(InspectionTeam.county_id == county.id, InspectionTeam.level == Level.COUNTY.value)
            .order_by(InspectionTeam.id)
        )
    )


def get_team(session: Session, county: County, team_id: int) -> InspectionTeam:
    team = session.get(InspectionTeam, team_id)
    if team is None or team.county_id != county.id or team.level != Level.COUNTY.value:
        raise NotFound(f"本县没有编号为 {team_id} 的督查组")
    return team


# --- the teams of the other levels (RULES.md §9: a city's, a township's own) ------------------------------


def unit_teams(session: Session, user: User) -> list[InspectionTeam]:
    """The teams of the inspector's supervising unit (its county's, its city's or its township's)."""
    level = permissions.inspector_level(user)
    if level is None:
        return []
    where = {
        Level.CITY: InspectionTeam.city_id == user.city_id,
        Level.COUNTY: InspectionTeam.county_id == user.county_id,
        Level.TOWNSHIP: InspectionTeam.township_id == user.township_id,
    }[level]
    return list(
        session.scalars(
            sa.select(InspectionTeam).where(where, InspectionTeam.level == level.value).order_by(InspectionTeam.id)
        )
    )


def get_unit_team(session: Session, user: User, team_id: int) -> InspectionTeam:
    """A team of the inspector's own unit; any other is "not found"."""
    team = session.get(InspectionTeam, team_id)
    if team is None or not permissions.can_lead_team(user, team):
        raise NotFound(f"没有编号为 {team_id} 的本级督查组")
    return team


def _team_counties(session: Session, team: InspectionTeam) -> list[int]:
    """The counties a team's changes are audited in: a city team's, each county of its city."""
    if team.county_id is not None:
        return [team.county_id]
    return list(session.scalars(sa.select(County.id).where(County.city_id == team.city_id).order_by(County.id)))


def create_level_team(
    session: Session,
    actor: User | None,
    unit: City | Township,
    *,
    name: str,
    members: str,
    inspectors: Collection[User] = (),
) -> InspectionTeam:
    """A team of a city (it inspects the townships of the city's counties) or a township's own team
    (its villages), with the inspector accounts of that unit on it. Kept by the command (actor None)
    or, for a township's team, by the county administrator."""
    if isinstance(unit, Township):
        county = unit.county
        if actor is not None and not permissions.can_manage_inspection_teams(actor, county):
            raise PermissionDenied("只有本县管理员可以管理乡镇督查组")
        team = InspectionTeam(level=Level.TOWNSHIP.value, county_id=county.id, township_id=unit.id)
        same = sa.select(InspectionTeam.id).where(InspectionTeam.county_id == county.id)
    else:
        if actor is not None:
            raise PermissionDenied("市级督查组由系统管理员用命令设置")
        if not unit.counties:
            raise FieldErrors({"city": f"{unit.name}还没有所辖县"})
        team = InspectionTeam(level=Level.CITY.value, city_id=unit.id)
        same = sa.select(InspectionTeam.id).where(InspectionTeam.city_id == unit.id)
    team.name, name_problem = naming.text_field(name, "督查组名称", TEAM_NAME_MAX, required=True)
    team.members, members_problem = naming.text_field(members, "组成人员", MEMBERS_MAX, required=True)
    errors = {k: why for k, why in (("name", name_problem), ("members", members_problem)) if why}
    if not name_problem and session.scalar(same.where(InspectionTeam.name == team.name)) is not None:
        errors["name"] = f"{unit.name}已有名为“{team.name}”的督查组"
    session.add(team)
    wrong = [u.username for u in inspectors if not _of_unit(u, team)]
    if wrong:
        errors["inspectors"] = f"不是{unit.name}的督查员账号：{'、'.join(wrong)}"
    if errors:
        session.expunge(team)
        raise FieldErrors(errors)
    session.flush()
    for user in inspectors:
        user.inspection_team_id = team.id
    session.flush()
    for county_id in _team_counties(session, team):
        audit.record(
            session,
            actor,
            team,
            action="create",
            county_id=county_id,
            after=_team_view(session, team) | {"level": team.level},
        )
    return team


def _of_unit(user: User, team: InspectionTeam) -> bool:
    return user.role is Role.INSPECTOR and (
        (team.city_id is not None and user.city_id == team.city_id)
        or (team.township_id is not None and user.township_id == team.township_id)
    )


def county_inspectors(session: Session, county: County) -> list[User]:
    """The county's inspector accounts (active or not), by username."""
    return list(
        session.scalars(
            sa.select(User).where(User.role == Role.INSPECTOR, User.county_id == county.id).order_by(User.username)
        )
    )


def team_inspectors(session: Session, team: InspectionTeam) -> list[User]:
    return list(session.scalars(sa.select(User).where(User.inspection_team_id == team.id).order_by(User.username)))


def team_of(session: Session, user: User) -> InspectionTeam | None:
    return session.get(InspectionTeam, user.inspection_team_id) if user.inspection_team_id is not None else None


def _team_view(session: Session, team: InspectionTeam) -> dict[str, object]:
    return {
        "name": team.name,
        "members": team.members,
        "inspectors": [u.username for u in team_inspectors(session, team)],
    }


def team_state(session: Session, team: InspectionTeam) -> str:
    """What a team's form showed (`check_unchanged`)."""
    return state_digest(_team_view(session, team))


def _team_fields(
    session: Session, county: County, name: str, members: str, team: InspectionTeam | None
) -> tuple[str, str]:
    name, name_problem = naming.text_field(name, "督查组名称", TEAM_NAME_MAX, required=True)
    members, members_problem = naming.text_field(members, "组成人员", MEMBERS_MAX, required=True)
    errors = {k: why for k, why in (("name", name_problem), ("members", members_problem)) if why}
    if not name_problem:
        same = session.scalar(
            sa.select(InspectionTeam.id).where(InspectionTeam.county_id == county.id, InspectionTeam.name == name)
        )
        if same is not None and (team is None or same != team.id):
            errors["name"] = f"本县已有名为“{name}”的督查组"
    if errors:
        raise FieldErrors(errors)
    return name, members


def create_team(session: Session, actor: User | None, county: County, *, name: str, members: str) -> InspectionTeam:
    """A new inspection team of the county (``actor`` None: the system, as the demo loads)."""
    if actor is not None and not permissions.can_manage_inspection_teams(actor, county):
        raise PermissionDenied("只有本县管理员可以管理督查组")
    name, members = _team_fields(session, county, name, members, None)
    team = InspectionTeam(county_id=county.id, name=name, members=members)
    session.add(team)
    session.flush()
    audit.record(session, actor, team, action="create", after=_team_view(session, team))
    return team


def update_team(
    session: Session,
    actor: User | None,
    team: InspectionTeam,
    *,
    name: str,
    members: str,
    inspector_ids: Collection[int],
    shown_state: str | None = None,
) -> bool:
    """Rename the team, set its members' names and which of the county's inspector accounts belong to
    it (an inspector chosen here leaves its former team). Returns whether anything changed."""
    county = session.get_one(County, team.county_id)
    if actor is not None and not permissions.can_manage_inspection_teams(actor, county):
        raise PermissionDenied("只有本县管理员可以管理督查组")
    lock_county_settings(session, county.id)
    check_unchanged(shown_state, _team_view(session, team), f"{team.name}的设置")
    name, members = _team_fields(session, county, name, members, team)
    inspectors = {u.id: u for u in county_inspectors(session, county)}
    unknown = [str(i) for i in inspector_ids if i not in inspectors]
    if unknown:
        raise FieldErrors({"inspectors": f"不是本县督查员账号：{'、'.join(unknown)}"})
    before = _team_view(session, team)
    team.name, team.members = name, members
    chosen = set(inspector_ids)
    for user in inspectors.values():
        belongs = user.inspection_team_id == team.id
        if (user.id in chosen) == belongs:
            continue
        former = team_of(session, user)
        user.inspection_team_id = team.id if user.id in chosen else None
        audit.record(
            session,
            actor,
            user,  # an inspector of the county
            action="inspection_team",
            county_id=county.id,
            before={"inspection_team": former.name if former else None},
            after={"inspection_team": team.name if user.id in chosen else None},
        )
    session.flush()
    after = _team_view(session, team)
    if after == before:
        return False
    audit.record(session, actor, team, action="update", before=before, after=after)
    return True
