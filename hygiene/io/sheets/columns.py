"""The columns of the two sheets people upload (INTERCHANGE.md §2)."""

from __future__ import annotations

from collections.abc import Sequence

from hygiene.io.sheets.base import Column
from hygiene.io.sheets.tables import _alias_index

# --- the columns of the two sheets (INTERCHANGE.md §2) -------------------------------------------


def unit_columns() -> list[Column]:
    """The unit sheet: one row per villager group, with its village and township, codes and names."""
    return [
        Column("township_code", ("乡镇代码", "乡镇（街道）代码", "township_code")),
        Column("township", ("乡镇", "乡镇（街道）", "乡镇街道", "街道", "township")),
        Column("village_code", ("村代码", "村（居）代码", "village_code")),
        Column("village", ("村", "村（居）", "村居", "行政村", "village")),
        Column("group_code", ("村民组代码", "组代码", "group_code")),
        Column("group", ("村民组", "村民小组", "组", "group")),
        Column("programme_year", ("纳入年度", "纳入评比年度", "programme_year"), required=False),
    ]


def roster_columns() -> list[Column]:
    """The household roster: township and village by name or code, then the household."""
    return [
        Column("township", ("乡镇", "乡镇（街道）", "乡镇街道", "街道", "township")),
        Column("village", ("村", "村（居）", "村居", "行政村", "village")),
        Column("group", ("村民组", "村民小组", "组", "group")),
        Column("household_code", ("户编号", "户号", "household_code")),
        Column("head_name", ("户主姓名", "户主", "head_name")),
        Column("members", ("人口", "家庭人口", "人口数", "members")),
        Column("phone", ("联系电话", "电话", "手机号码", "phone"), required=False),
        Column("poor", ("是否脱贫户/低收入户", "是否脱贫户", "是否低收入户", "poor"), required=False),
    ]


def review_columns(rubric: Sequence[tuple[str, str, int]]) -> list[Column]:
    """The review sheet: household, kind, reviewer, then one column per rubric line
    ``(code, label, max_tenths)``, headed by its code (``c01``), its label (``家庭个人卫生``) or both
    as the template writes them (``家庭个人卫生(c01)``)."""
    columns = [
        Column("household_code", ("户编号", "户号", "household_code")),
        Column("kind", ("评议类型", "kind")),
        Column("reviewer", ("评议人", "reviewer")),
    ]
    columns += [Column(code, (label, code, criterion_header(code, label)), is_score=True) for code, label, _ in rubric]
    _alias_index(columns)  # refuses a rubric whose labels collide with each other or a column
    return columns


def criterion_header(code: str, label: str) -> str:
    """The header the review template writes for a criterion, one of `review_columns`' aliases."""
    return f"{label}({code})"
