"""How domain values are shown: labels from ``hygiene.enums``, scores from tenths, masked names."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, cast

from flask import abort, g, request

from hygiene.enums import CRITERIA, AssessmentArea, AwardLevel, Grade, ReviewKind, Role, WorkflowState
from hygiene.io.scores import format_points
from hygiene.models import Period
from hygiene.models._types import BEIJING_TIME
from hygiene.services import audit
from hygiene.services.rating import sign_offs
from hygiene.services.rating.rating import FLAG_LABELS
from hygiene.services.rating.workflow import MOVE_LABELS
from web.database import get_session


def tenths(value: int | None) -> str:
    """85 → '8.5'; None → ''. Exact: integer arithmetic, no float."""
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10)
    return f"{sign}{whole}.{frac}"


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
    "group_entry": "按组录入复评",
    "review_group_entry": "按组录入复评",
    "import_roster": "导入花名册",
    **MOVE_LABELS,
    "record_post": "公示结果存档",
    "record_supersede": "公示结果作废（存档保留）",
    "plaque_issue": "挂牌",
    "plaque_upgrade": "牌匾升级",
    "plaque_downgrade": "牌匾降级",
    "plaque_revoke": "摘牌",
    "plaque_reinstate": "恢复牌匾",
    "plaque_void": "牌匾作废（更正）",
    "plaque_commend": "表彰（等待期内不挂牌）",
    "demo_seed": "示范数据",
    "file": "提出异议",
    "upheld": "异议成立（采纳）",
    "dismissed": "异议不予采纳",
    "star_grant": "授予星级/称号",
    "star_withdraw": "摘除星级/称号",
    "disqualify": "取消评星资格",
    "lift": "解除取消评星资格",
    "ledger_add": "登记奖励",
    "recode": "更正户编号",
    "move": "迁往他村",
}
FIELD_LABELS = {
    "state": "状态",
    "return_reason": "退回原因",
    "kind": "评议类型",
    "team_members": "评比检查小组",
    "reviewer_household_id": "评议户",
    "cleanest_quota": "最清洁户名额",
    "clean_quota": "清洁户名额",
    "code": "编号",
    "village": "村",
    "head_name": "户主",
    "members": "人口",
    "group": "村民组",
    "phone": "联系电话",
    "is_poor": "脱贫户/低收入户",
    "moved_away_on": "迁出日期",
}


def audit_changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None, households: Mapping[int, str] | None = None
) -> list[tuple[str, Any, Any]]:
    """The fields an audit entry changed, as (label, before, after); context keys are left out.
    Ten criterion scores read as the total and the ten scores in one line each; ``households``
    names the reviewer households by id."""
    before, after = before or {}, after or {}
    labels = FIELD_LABELS | {area.value: area.label for area in AssessmentArea}
    rows = []
    if any(before.get(c) != after.get(c) for c in CRITERIA):
        rows.append(("总分", _total(before), _total(after)))
        rows.append(("十项得分", _scores(before), _scores(after)))
    for key in [*after, *(k for k in before if k not in after)]:
        if key in labels and before.get(key) != after.get(key):
            old, new = before.get(key), after.get(key)
            if key in {area.value for area in AssessmentArea}:
                old, new = tenths(old), tenths(new)
            elif isinstance(old, bool) or isinstance(new, bool):
                old = "" if old is None else ("是" if old else "否")
                new = "" if new is None else ("是" if new else "否")
            elif key == "state":
                old = WorkflowState(old).label if old else ""
                new = WorkflowState(new).label if new else ""
            elif key == "kind":
                old = ReviewKind(old).label if old else ""
                new = ReviewKind(new).label if new else ""
            elif key == "reviewer_household_id":
                names = households or {}
                old = names.get(old, old) if old is not None else ""
                new = names.get(new, new) if new is not None else ""
            rows.append((labels[key], cast(str, old), cast(str, new)))
    return rows


def _total(snapshot: Mapping[str, Any]) -> str:
    if any(snapshot.get(c) is None for c in CRITERIA):
        return ""
    return tenths(sum(snapshot[c] for c in CRITERIA))


def _scores(snapshot: Mapping[str, Any]) -> str:
    if any(snapshot.get(c) is None for c in CRITERIA):
        return ""
    return "/".join(format_points(snapshot[c]) for c in CRITERIA)


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


# China keeps one time zone, UTC+8, with no daylight saving: a fixed offset is exact and needs no
# tz database on the server. Times are stored in UTC and shown as the county sees its clocks.


def local_time(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time as Beijing time; '' for none."""
    return "" if value is None else value.astimezone(BEIJING_TIME).strftime(fmt)  # columns are tz-aware


def picked_period(choices: Sequence[Period]) -> Period | None:
    """The period a page's picker asks for (``?period=2026Q3``), else the newest; an unknown one is 404."""
    code = request.args.get("period")
    if not code:
        return choices[0] if choices else None
    found = next((p for p in choices if p.code == code), None)
    if found is None:
        abort(404)
    return found


def actor(username: str) -> str:
    """An audit entry's actor as people read it, looked up once per request and username."""
    labels: dict[str, str] = g.setdefault("actor_labels", {})
    if username not in labels:
        labels[username] = audit.actor_label(get_session(), username)
    return labels[username]


def template_filters() -> dict[str, Any]:
    return {"tenths": tenths, "local_time": local_time, "actor": actor, "stage": sign_offs.stage_label}


def page_number() -> int:
    """The page a paginated list asks for (``?page=3``), 1 if none or not a number."""
    text = request.args.get("page", "")
    return int(text) if text.isdigit() and len(text) < 7 else 1
