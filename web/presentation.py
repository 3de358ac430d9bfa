"""How domain values are shown: labels from ``hygiene.enums``, scores from tenths, masked names."""

from __future__ import annotations

from typing import Any

from hygiene.enums import CRITERIA, AwardLevel, Grade, ReviewKind, Role, WorkflowState
from hygiene.services.workflow import ASSESSMENT_AREAS


def tenths(value: int | None) -> str:
    """85 → '8.5'; None → ''. Exact: integer arithmetic, no float."""
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10)
    return f"{sign}{whole}.{frac}"


FLAG_LABELS = {
    "no_self": "缺自评",
    "few_peers": "互评不足",
    "self_gap": "自评差距大",
    "peer_gap": "互评差距大",
}

# What the audit log's actions mean, for history pages.
ACTION_LABELS = {
    "create": "新增",
    "update": "修改",
    "delete": "删除",
    "import": "花名册导入更新",
    "review_create": "录入评议",
    "review_update": "修改评议",
    "review_delete": "删除评议",
    "review_import": "导入评议",
    "import_reviews": "导入评分表",
    "import_roster": "导入花名册",
    "submit": "提交审核",
    "return": "退回",
    "approve": "审核通过",
    "unapprove": "撤销审核",
    "publish": "公示",
    "finalize": "定档",
    "demo_seed": "示范数据",
}
FIELD_LABELS = {
    "state": "状态",
    "return_reason": "退回原因",
    "kind": "评议类型",
    "team_members": "评比检查小组",
    "reviewer_household_id": "评议户",
    "cleanest_quota": "最清洁户名额",
    "clean_quota": "清洁户名额",
    "head_name": "户主",
    "members": "人口",
    "group": "村民组",
    "phone": "联系电话",
    "is_poor": "脱贫户/低收入户",
    "moved_away_on": "迁出日期",
}


def audit_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """The fields an audit entry changed, as (label, before, after); context keys are left out."""
    before, after = before or {}, after or {}
    labels = FIELD_LABELS | {c: c for c in CRITERIA} | {f: label for f, label in ASSESSMENT_AREAS}
    rows = []
    for key in [*after, *(k for k in before if k not in after)]:
        if key in labels and before.get(key) != after.get(key):
            old, new = before.get(key), after.get(key)
            if key in CRITERIA or key in dict(ASSESSMENT_AREAS):
                old, new = tenths(old), tenths(new)
            elif isinstance(old, bool) or isinstance(new, bool):
                old = "" if old is None else ("是" if old else "否")
                new = "" if new is None else ("是" if new else "否")
            elif key == "state":
                old = WorkflowState(old).label if old else ""
                new = WorkflowState(new).label if new else ""
            rows.append((labels[key], old, new))
    return rows


def template_globals() -> dict[str, Any]:
    return {
        "FLAG_LABELS": FLAG_LABELS,
        "ACTION_LABELS": ACTION_LABELS,
        "audit_changes": audit_changes,
        "Grade": Grade,
        "WorkflowState": WorkflowState,
        "Role": Role,
        "ReviewKind": ReviewKind,
        "AwardLevel": AwardLevel,
    }


def template_filters() -> dict[str, Any]:
    return {"tenths": tenths}
