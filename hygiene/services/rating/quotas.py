"""What the township sets for a village period: its award quotas (RULES.md §4) and the village
assessment (§9).
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from hygiene.enums import AssessmentArea, WorkflowState
from hygiene.models import (
    AwardQuota,
    Period,
    User,
    VillageAssessment,
    VillagePeriod,
)
from hygiene.models._types import utcnow
from hygiene.services import audit
from hygiene.services.errors import Conflict, FieldErrors, ServiceError
from hygiene.services.rating import rating, workflow

ASSESSMENT_AREAS: tuple[AssessmentArea, ...] = tuple(AssessmentArea)
ASSESSMENT_PASS_TENTHS = 800  # RULES.md §9: ≥ 80 completes the period's work (areas: County setting)
QUOTA_STATES = (WorkflowState.DRAFT, WorkflowState.SUBMITTED, WorkflowState.RETURNED)


# --- quotas and assessment -----------------------------------------------------------------------


def set_quotas(
    session: Session,
    actor: User,
    village_period: VillagePeriod,
    *,
    cleanest_quota: int,
    clean_quota: int,
    expected_version: int,
) -> AwardQuota:
    """The township's award quotas for the period; a quota below its floor is refused, naming it.
    ``expected_version`` is the quota row's version the form showed (0 when none was set)."""
    workflow.require_reviewer(actor, village_period)
    if village_period.state not in QUOTA_STATES:
        raise ServiceError(
            f"{workflow.village_period_name(village_period)} 现为{village_period.state.label}，名额已不能修改"
        )
    cleanest_floor, clean_floor = rating.floors(session, village_period.village, village_period.period)
    errors = {}
    if cleanest_quota < cleanest_floor:
        errors["cleanest_quota"] = f"最清洁户名额 {cleanest_quota} 低于下限 {cleanest_floor}"
    if clean_quota < clean_floor:
        errors["clean_quota"] = f"清洁户名额 {clean_quota} 低于下限 {clean_floor}"
    if errors:
        raise FieldErrors(errors)
    quota = session.scalar(
        sa.select(AwardQuota).where(
            AwardQuota.county_id == village_period.county_id, AwardQuota.village_period_id == village_period.id
        )
    )
    if (quota.version if quota else 0) != expected_version:
        raise Conflict("名额已被他人修改，请刷新后重试")
    fields = ("cleanest_quota", "clean_quota")
    before = audit.snapshot(quota, fields) if quota else None
    if quota is None:
        quota = AwardQuota(
            county_id=village_period.county_id,
            village_period_id=village_period.id,
            cleanest_quota=cleanest_quota,
            clean_quota=clean_quota,
        )
        session.add(quota)
    else:
        quota.cleanest_quota, quota.clean_quota = cleanest_quota, clean_quota
        quota.set_at = utcnow()
    after = audit.snapshot(quota, fields)
    if before == after:
        return quota
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("名额已被他人修改，请刷新后重试") from None
    audit.record(
        session,
        actor,
        village_period,
        kind="award_quota",
        action="update" if before else "create",
        before=before,
        after=after | {"floors": [cleanest_floor, clean_floor]},
    )
    return quota


def assessment_area_max(period: Period) -> int:
    """The points of each assessment area, in tenths: a setting the period keeps (RULES.md §9, 25
    by default)."""
    return period.assessment_area_max_tenths


def set_assessment(
    session: Session,
    actor: User,
    village_period: VillagePeriod,
    areas: Mapping[str, int],
    *,
    notes: str | None,
    expected_version: int,
) -> VillageAssessment:
    """The township's assessment of the village in four areas (tenths, 0…the county's points each)."""
    workflow.require_reviewer(actor, village_period)
    if village_period.state is WorkflowState.FINAL:
        raise ServiceError(f"{workflow.village_period_name(village_period)} 已定档，考核分不能再修改")
    area_max = assessment_area_max(village_period.period)
    errors = [
        f"{area.label}应在0–{area_max / 10:g}分之间" for area in ASSESSMENT_AREAS if not 0 <= areas[area] <= area_max
    ]
    if errors:
        raise ServiceError("；".join(errors))
    assessment = session.scalar(
        sa.select(VillageAssessment).where(
            VillageAssessment.county_id == village_period.county_id,
            VillageAssessment.village_period_id == village_period.id,
        )
    )
    if (assessment.version if assessment else 0) != expected_version:
        raise Conflict("考核分已被他人修改，请刷新后重试")
    fields = (*ASSESSMENT_AREAS, "notes")
    before = audit.snapshot(assessment, fields) if assessment else None
    if assessment is None:
        assessment = VillageAssessment(
            county_id=village_period.county_id,
            village_period_id=village_period.id,
            **{area.value: areas[area] for area in ASSESSMENT_AREAS},
        )
        session.add(assessment)
    else:
        for area in ASSESSMENT_AREAS:
            setattr(assessment, area.value, areas[area])
        assessment.assessed_at = utcnow()
    assessment.notes = (notes or "").strip() or None
    after = audit.snapshot(assessment, fields)
    if before == after:
        return assessment
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("考核分已被他人修改，请刷新后重试") from None
    audit.record(
        session,
        actor,
        village_period,
        kind="village_assessment",
        action="update" if before else "create",
        before=before,
        after=after,
    )
    return assessment
