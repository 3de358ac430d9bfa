"""The one place that decides who may see or change what (role and scope).

A village clerk works in one village; a township reviewer reviews the villages of one township; a
county administrator and an inspector see their whole county. Views and the command line ask
these functions and never test roles themselves.

Supervision has three levels (RULES.md §9, issue 33): an inspector account is scoped to its
*supervising unit*, a county (as before), a city (every county of the city) or a township (that
township's own inspectors, on its villages). Each uses the same tools in its own area only, with the
teams of its own unit; a planned unannounced visit is seen only by its own level and those above it.
"""

from __future__ import annotations

from collections.abc import Sequence

from hygiene.enums import Level, Role
from hygiene.models import County, InspectionAssignment, InspectionTeam, Township, UnannouncedVisit, User, Village


def _county_wide(user: User, county_id: int) -> bool:
    return user.role in (Role.COUNTY_ADMIN, Role.INSPECTOR) and user.county_id == county_id


def inspector_level(user: User) -> Level | None:
    """The level of the inspector's supervising unit; None for any other role."""
    if user.role is not Role.INSPECTOR:
        return None
    if user.city_id is not None:
        return Level.CITY
    if user.township_id is not None:
        return Level.TOWNSHIP
    return Level.COUNTY


def can_view_village(user: User, village: Village) -> bool:
    if user.role is Role.VILLAGE_CLERK:
        return user.village_id == village.id
    if user.role is Role.TOWNSHIP_REVIEWER:
        return user.township_id == village.township_id
    return _county_wide(user, village.township.county_id)


def can_edit_village(user: User, village: Village) -> bool:
    """Households and reviews are entered by the village's own clerk only."""
    return user.role is Role.VILLAGE_CLERK and user.village_id == village.id


def can_view_township(user: User, township: Township) -> bool:
    if user.role is Role.TOWNSHIP_REVIEWER:
        return user.township_id == township.id
    return _county_wide(user, township.county_id)


def can_review_township(user: User, township: Township) -> bool:
    """Quotas, assessments, approval, publication and objections: the township's reviewer."""
    return user.role is Role.TOWNSHIP_REVIEWER and user.township_id == township.id


def can_administer_county(user: User, county: County) -> bool:
    return user.role is Role.COUNTY_ADMIN and user.county_id == county.id


def can_import_roster(user: User, villages: Sequence[Village]) -> bool:
    """A village's clerk imports its own roster; the county administrator imports a county-wide one
    (the county's households brought in at the start, from the household register)."""
    if villages and all(can_edit_village(user, v) for v in villages):
        return True
    counties = {v.township.county for v in villages}
    return len(counties) == 1 and can_administer_county(user, counties.pop())


def can_recode_household(user: User, village: Village) -> bool:
    """Correcting a household's mistyped code (issue 30): its township's reviewer or the county
    administrator; never the village clerk, whose typing it corrects."""
    if user.role is Role.TOWNSHIP_REVIEWER:
        return user.township_id == village.township_id
    return can_administer_county(user, village.township.county)


def can_move_household(user: User, from_village: Village, to_village: Village) -> bool:
    """Moving a household to another village (issue 30): within a township its reviewer, between
    townships (or within one) the county administrator."""
    if user.role is Role.TOWNSHIP_REVIEWER:
        return user.township_id == from_village.township_id == to_village.township_id
    county = from_village.township.county
    return to_village.township.county_id == county.id and can_administer_county(user, county)


def can_sign_off(user: User, county: County) -> bool:
    """The county's sign-off levels after the township's approval (RULES.md §5): its administrator."""
    return can_administer_county(user, county)


def can_inspect_county(user: User, county: County) -> bool:
    """The whole county: its own inspectors and its city's."""
    if user.role is not Role.INSPECTOR:
        return False
    if user.city_id is not None:
        return county.city_id == user.city_id
    return user.county_id == county.id


def can_inspect_township(user: User, township: Township) -> bool:
    """A township and its villages: the inspectors of its county, of its city, and its own."""
    if user.role is Role.INSPECTOR and user.township_id is not None:
        return user.township_id == township.id
    return can_inspect_county(user, township.county)


def can_inspect_in(user: User, county: County) -> bool:
    """Some part of the county (the inspection pages under its code): an inspector of the county or
    its city, or a township's own inspector of one of its townships (shown that township only)."""
    if user.role is Role.INSPECTOR and user.township is not None:
        return user.township.county_id == county.id
    return can_inspect_county(user, county)


def can_lead_team(user: User, team: InspectionTeam) -> bool:
    """An inspector works with the teams of its own supervising unit (the unit's level and itself)."""
    level = inspector_level(user)
    if level is None or team.level != level.value:
        return False
    if level is Level.CITY:
        return team.city_id == user.city_id
    if level is Level.TOWNSHIP:
        return team.township_id == user.township_id
    return team.county_id == user.county_id


def can_see_visit(user: User, visit: UnannouncedVisit, county: County) -> bool:
    """An unannounced visit (暗访): once done, every inspector of its township; while planned, only
    inspectors of its own level or above (a city's planned visit is hidden from the county, a
    county's from the township's own inspectors), never the township's reviewer (RULES.md §9)."""
    if visit.state != "planned":
        return can_inspect_township(user, visit.township)
    level = inspector_level(user)
    if level is Level.CITY:
        return can_inspect_county(user, county)
    if level is Level.COUNTY:
        return visit.level != Level.CITY.value and user.county_id == county.id
    if level is Level.TOWNSHIP:
        return visit.level == Level.TOWNSHIP.value and user.township_id == visit.township_id
    return False


def can_view_supervision(user: User, county: County) -> bool:
    """The county dashboard and the township ranking's figures: the county's inspectors and administrator."""
    return can_inspect_county(user, county) or can_administer_county(user, county)


def can_revoke_plaques(user: User, county: County, township: Township | None = None) -> bool:
    """Revoking a plaque outside the cycle (a failed spot check): the county's inspectors (its city's
    too) and administrator, and, for a plaque of ``township``, that township's own inspectors."""
    if township is not None and user.role is Role.INSPECTOR and user.township_id is not None:
        return can_inspect_township(user, township)
    return can_inspect_county(user, county) or can_administer_county(user, county)


def can_manage_inspection_teams(user: User, county: County) -> bool:
    """The county's inspection teams, their members and the townships each holds per period: the
    county administrator."""
    return can_administer_county(user, county)


def can_spot_check(user: User, assignment: InspectionAssignment) -> bool:
    """Adopting the sample of a township and period, and entering its spot checks (with the plaque
    revocations and notices they bring): an inspector of the team that holds it, of the team's own
    supervising unit. Every inspector of the township reads them (``can_inspect_township``)."""
    return (
        user.role is Role.INSPECTOR
        and user.inspection_team_id is not None
        and user.inspection_team_id == assignment.team_id
        and assignment.team.level == assignment.level
        and can_lead_team(user, assignment.team)
    )
