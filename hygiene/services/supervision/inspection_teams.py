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
from hygiene.enums import Role
from hygiene.models import (
    County,
    InspectionTeam,
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
    return list(
        session.scalars(
            sa.select(InspectionTeam).where(InspectionTeam.county_id == county.id).order_by(InspectionTeam.id)
        )
    )


def get_team(session: Session, county: County, team_id: int) -> InspectionTeam:
    team = session.get(InspectionTeam, team_id)
    if team is None or team.county_id != county.id:
        raise NotFound(f"本县没有编号为 {team_id} 的督查组")
    return team


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
