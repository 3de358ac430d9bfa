"""Every mapped class, importable from one place (Alembic's env imports this to see them all)."""

from hygiene.db import Base
from hygiene.models.accountability import AccountabilityCase, Cadre, UnannouncedVisit, VisitCheck
from hygiene.models.accounts import AuditEntry, LoginAttempt, LoginThrottle, User
from hygiene.models.awards import (
    AwardGoodsMapping,
    AwardLedgerEntry,
    CountyBudget,
    Disqualification,
    HouseholdStar,
    Plaque,
    PlaqueEvent,
    Star,
    StarSettings,
)
from hygiene.models.field import IdempotencyKey, Photo
from hygiene.models.periods import AwardQuota, Period, RolloutPlanYear, VillageAssessment, VillagePeriod
from hygiene.models.records import ResultRecord, ResultRecordHousehold
from hygiene.models.reviews import Review
from hygiene.models.rubric import RubricCriterion, RubricVersion
from hygiene.models.supervision import (
    InspectionAssignment,
    InspectionTeam,
    Notice,
    Objection,
    ObjectionThrottle,
    SpotCheck,
)
from hygiene.models.units import City, County, Group, Household, HouseholdFormerCode, Township, Village

__all__ = [
    "AccountabilityCase",
    "AuditEntry",
    "AwardGoodsMapping",
    "AwardLedgerEntry",
    "AwardQuota",
    "Cadre",
    "City",
    "County",
    "CountyBudget",
    "Disqualification",
    "Group",
    "Household",
    "HouseholdFormerCode",
    "HouseholdStar",
    "IdempotencyKey",
    "InspectionAssignment",
    "InspectionTeam",
    "LoginAttempt",
    "LoginThrottle",
    "Notice",
    "Objection",
    "ObjectionThrottle",
    "Period",
    "Photo",
    "Plaque",
    "PlaqueEvent",
    "ResultRecord",
    "ResultRecordHousehold",
    "Review",
    "RolloutPlanYear",
    "RubricCriterion",
    "RubricVersion",
    "SpotCheck",
    "Star",
    "StarSettings",
    "Township",
    "UnannouncedVisit",
    "User",
    "Village",
    "VillageAssessment",
    "VillagePeriod",
    "VisitCheck",
    "county_parents",
]


def county_parents() -> dict[str, list[tuple[str, str]]]:
    """For each table whose every row belongs to one county (a NOT NULL ``county_id``: the tables
    sharded by county, docs/scaling.md), its columns that reference another such table, with that
    table: a row's parents, which must be of the row's county (issue 20;
    ``hygiene.services.setup.counties.county_mismatches``). Read from the foreign keys, so a new table is
    covered as soon as it carries its county."""
    tables = {t.name for t in Base.metadata.sorted_tables if "county_id" in t.c and not t.c.county_id.nullable}
    return {
        table.name: sorted(
            (fk.parent.name, fk.column.table.name)
            for fk in table.foreign_keys
            if fk.parent.name != "county_id" and fk.column.table.name in tables
        )
        for table in Base.metadata.sorted_tables
        if table.name in tables
    }
