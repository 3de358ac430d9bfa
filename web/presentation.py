"""How domain values are shown: labels from ``hygiene.enums``, scores from tenths, masked names."""

from __future__ import annotations

from typing import Any

from hygiene.enums import AwardLevel, Grade, ReviewKind, Role, WorkflowState


def tenths(value: int | None) -> str:
    """85 → '8.5'; None → ''. Exact: integer arithmetic, no float."""
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10)
    return f"{sign}{whole}.{frac}"


def template_globals() -> dict[str, Any]:
    return {
        "Grade": Grade,
        "WorkflowState": WorkflowState,
        "Role": Role,
        "ReviewKind": ReviewKind,
        "AwardLevel": AwardLevel,
    }


def template_filters() -> dict[str, Any]:
    return {"tenths": tenths}
