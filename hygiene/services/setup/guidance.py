"""Guidance for a new county (issue 30): the set-up checklist its home shows until every step is
done, and example sheets (unit sheet, roster) that carry the code rules the imports check."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import Role
from hygiene.io.exports import xlsx_bytes
from hygiene.models import County, Household, Period, RolloutPlanYear, Township, User
from hygiene.naming import HOUSEHOLD_CODE_RULE
from hygiene.services.setup.roster_exports import ROSTER_HEADER
from hygiene.services.setup.roster_imports import MAX_MEMBERS
from hygiene.services.setup.unit_sheet import LEVELS, UNIT_CODE_RULE


@dataclass(frozen=True)
class Step:
    key: str  # names the page that does it (web/county)
    label: str
    hint: str
    done: bool


def checklist(session: Session, county: County) -> list[Step]:
    """The county's set-up steps in the order they are done, each with whether it is."""

    def exists(query: sa.Select[int]) -> bool:
        return session.scalar(query.limit(1)) is not None

    return [
        Step(
            "units",
            "导入单位表",
            "全县的乡镇、村、村民组及其代码（可先下载示例表）",
            exists(sa.select(Township.id).where(Township.county_id == county.id)),
        ),
        Step(
            "rollout",
            "设定推进计划",
            "各年纳入评比的比例和各村的纳入年度",
            exists(sa.select(RolloutPlanYear.id).where(RolloutPlanYear.county_id == county.id)),
        ),
        Step(
            "roster",
            "导入农户花名册",
            "全县或各村的农户，户编号全县唯一（可先下载示例表）",
            exists(sa.select(Household.id).where(Household.county_id == county.id)),
        ),
        Step(
            "users",
            "创建乡镇审核员和村委会账号",
            "每个乡镇至少一名审核员，每个村一名村委会账号",
            exists(
                sa.select(User.id)
                .join(Township, User.township_id == Township.id)
                .where(Township.county_id == county.id, User.role == Role.TOWNSHIP_REVIEWER)
            ),
        ),
        Step(
            "periods",
            "开启第一个评比季度",
            "开启后各村即可录入评议",
            exists(sa.select(Period.id).where(Period.county_id == county.id)),
        ),
    ]


def _rules() -> list[str]:
    township, village, group = (LEVELS[level] for level in ("township", "village", "group"))
    return [
        f"乡镇代码：{UNIT_CODE_RULE}，最长{township[2]}位，全县唯一；建议用县代码加两位序号（如 52099901）。",
        f"村代码：{UNIT_CODE_RULE}，最长{village[2]}位，全县唯一；建议用乡镇代码加两位序号（如 5209990101）。",
        f"村民组代码：{UNIT_CODE_RULE}，最长{group[2]}位；建议用村代码加两位序号（如 520999010101）。",
        f"户编号：{HOUSEHOLD_CODE_RULE}，全县唯一；建议用村民组代码加三位序号（如 520999010101001）。",
        "代码以文本格式填写，开头的 0 不能丢；代码一经导入不能改到别的乡镇或村下，名称可以修改（留有记录）。",
        "表中没有的单位不会被删除；同一个表可以反复导入，已有的不会重复。",
        "整个表一次检查：有任何一处不对都不会导入，并逐行列出问题。",
    ]


def example_unit_sheet(county: County) -> bytes:
    """A filled-in unit sheet for the county (two townships, three villages), with the rules."""
    c = county.code
    rows: list[list[object]] = [
        [f"{c}01", "示例镇", f"{c}0101", "示例一村", f"{c}010101", "第一组", 2026],
        [f"{c}01", "示例镇", f"{c}0101", "示例一村", f"{c}010102", "第二组", 2026],
        [f"{c}01", "示例镇", f"{c}0102", "示例二村", f"{c}010201", "第一组", 2027],
        [f"{c}02", "示例乡", f"{c}0201", "示例三村", f"{c}020101", "第一组", None],
    ]
    header = ["乡镇代码", "乡镇", "村代码", "村", "村民组代码", "村民组", "纳入年度"]
    rules = [
        *_rules(),
        "纳入年度可不填：按推进计划的年度纳入评比。",
        "请删除示例行，按本县实际填写后在“导入单位表”上传。",
    ]
    return xlsx_bytes([("单位表", header, rows), ("填写说明", ["填写说明"], [[line] for line in rules])])


def example_roster(county: County) -> bytes:
    """A filled-in roster (the roster sheet's own layout), with the rules."""
    c = county.code
    rows = [
        ["示例镇", "示例一村", "第一组", f"{c}010101001", "张三", 4, "13800000000", "否"],
        ["示例镇", "示例一村", "第一组", f"{c}010101002", "李四", 2, "", "是"],
        ["示例镇", "示例一村", "第二组", f"{c}010102001", "王五", 5, "", "否"],
    ]
    rules = [
        *_rules(),
        "乡镇、村可填名称或代码；村民组填名称（须与单位表一致）。",
        f"人口填1到{MAX_MEMBERS}的整数；联系电话可不填，不会公开；是否脱贫户/低收入户填“是”或“否”，不会公开。",
        "已有的户按户编号更新，新的户编号新增；请删除示例行后上传。",
    ]
    return xlsx_bytes([("花名册", ROSTER_HEADER, rows), ("填写说明", ["填写说明"], [[line] for line in rules])])
