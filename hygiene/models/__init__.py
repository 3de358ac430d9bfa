"""Every mapped class, importable from one place (Alembic's env imports this to see them all)."""

from hygiene.models.accounts import AuditEntry, LoginAttempt, LoginThrottle, User
from hygiene.models.awards import (
    AwardLedgerEntry,
    CountyBudget,
    Disqualification,
    HouseholdStar,
    Plaque,
    PlaqueEvent,
    Star,
)
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
from hygiene.models.units import County, Group, Household, Township, Village

__all__ = [
    "AuditEntry",
    "AwardLedgerEntry",
    "AwardQuota",
    "County",
    "CountyBudget",
    "Disqualification",
    "Group",
    "Household",
    "HouseholdStar",
    "InspectionAssignment",
    "InspectionTeam",
    "LoginAttempt",
    "LoginThrottle",
    "Notice",
    "Objection",
    "ObjectionThrottle",
    "Period",
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
    "Township",
    "User",
    "Village",
    "VillageAssessment",
    "VillagePeriod",
]
