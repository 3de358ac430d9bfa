"""A county's townships, villages and groups from a unit sheet (INTERCHANGE.md §2, §2.1): one row
per villager group. All or nothing, every problem named by row and column; the same sheet twice
changes nothing.

- A unit is known by its code. A new code is created; a known code with another name is renamed
  (audited). A code never moves to another parent: a sheet that puts a known village under another
  township, or a group under another village, is refused, naming the row.
- A unit missing from the sheet is never deleted: it keeps its history.
- A village's programme year (纳入年度, RULES.md §1) is set when given; blank leaves it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import naming, permissions
from hygiene.io.scores import parse_whole_number
from hygiene.io.sheets import COUNTY_SHEET_LIMITS, Problem, SheetRow, UploadTable, read_upload
from hygiene.io.sheets import unit_columns as columns
from hygiene.models import County, Group, Township, User, Village
from hygiene.services import audit
from hygiene.services.errors import PermissionDenied
from hygiene.services.setup import rollout

UNIT_CODE_RULE = "代码只能包含数字和字母"
LEVELS = {"township": ("乡镇", Township, 12), "village": ("村", Village, 16), "group": ("村民组", Group, 20)}


@dataclass
class UnitChange:
    level: str  # township, village, group
    code: str
    name: str
    parent_code: str | None
    row: int
    old_name: str | None = None  # a rename
    programme_year: int | None = None
    old_programme_year: int | None = None


@dataclass
class UnitPlan:
    county: County
    rows: int = 0
    created: list[UnitChange] = field(default_factory=list)
    renamed: list[UnitChange] = field(default_factory=list)
    years: list[UnitChange] = field(default_factory=list)  # programme years set or changed

    @property
    def changes(self) -> int:
        return len(self.created) + len(self.renamed) + len(self.years)

    def count(self, level: str) -> int:
        return sum(1 for c in self.created if c.level == level)


def read(data: bytes, file_name: str) -> UploadTable:
    return read_upload(data, file_name, columns(), defer_cell_problems=True, **COUNTY_SHEET_LIMITS)


def plan(session: Session, actor: User | None, county: County, table: UploadTable) -> UnitPlan:
    """Check every row against the county's units; raise UploadRejected listing every problem."""
    if actor is not None and not permissions.can_administer_county(actor, county):
        raise PermissionDenied("只有本县管理员可以导入单位表")
    known: dict[str, dict[str, Township | Village]] = {
        "township": {t.code: t for t in session.scalars(sa.select(Township))},
        "village": {v.code: v for v in session.scalars(sa.select(Village))},
    }
    groups = {(g.village_id, g.code): g for g in session.scalars(sa.select(Group))}
    problems: list[Problem] = []
    result = UnitPlan(county, rows=len(table.rows))
    seen: dict[tuple[str, str], tuple[str, str | None, int]] = {}  # (level, code) -> (name, parent, row)
    year_of: dict[str, tuple[int | None, int]] = {}
    for row in table.rows:
        start = len(problems)
        for level in LEVELS:
            _check_unit(table, row, level, problems)
        year = _year(table, row, problems)
        if len(problems) > start:
            continue
        values = row.values
        parents = {"township": None, "village": values["township_code"], "group": values["village_code"]}
        for level, parent in parents.items():
            code, name = values[f"{level}_code"], values[level]
            seen_key = (level, code if level != "group" else f"{values['village_code']}/{code}")
            earlier = seen.get(seen_key)
            if earlier is not None and earlier[:2] != (name, parent):
                what = "名称" if earlier[0] != name else "上级"
                problems.append(
                    table.problem(row, f"{level}_code", f"与第{earlier[2]}行同一代码的{what}不同（{earlier[0]}）")
                )
                continue
            seen.setdefault(seen_key, (name, parent, row.row))
        if year is not None:
            first = year_of.setdefault(values["village_code"], (year, row.row))
            if first[0] != year:
                problems.append(table.problem(row, "programme_year", f"与第{first[1]}行同一村的纳入年度不同"))
    for (level, key), (name, parent, row_number) in seen.items():
        code = key.split("/", 1)[1] if level == "group" else key
        existing = _existing(level, code, parent, known, groups)
        if existing is None:
            result.created.append(UnitChange(level, code, name, parent, row_number))
            continue
        moved = _moved(level, existing, parent, county, known)
        if moved:
            column, header = table.locations.get(f"{level}_code", (None, LEVELS[level][0]))
            problems.append(Problem(table.sheet, row_number, column, header, code, moved))
        elif existing.name != name:
            result.renamed.append(UnitChange(level, code, name, parent, row_number, old_name=existing.name))
    named = [v.id for code in year_of if isinstance(v := known["village"].get(code), Village)]
    first_years = rollout.first_period_years(session, named)
    for village_code, (year, row_number) in year_of.items():
        village = known["village"].get(village_code)
        if isinstance(village, Village) and (
            refused := rollout.programme_year_problem(first_years.get(village.id), year)
        ):
            column, header = table.locations.get("programme_year", (None, "纳入年度"))
            problems.append(Problem(table.sheet, row_number, column, header, str(year), refused))
        elif year is not None and (not isinstance(village, Village) or village.programme_year != year):
            old = village.programme_year if isinstance(village, Village) else None
            change = UnitChange("village", village_code, "", None, row_number, programme_year=year)
            change.old_programme_year = old
            result.years.append(change)
    table.reject(problems)
    return result


def _check_unit(table: UploadTable, row: SheetRow, level: str, problems: list[Problem]) -> None:
    label, _, longest_code = LEVELS[level]
    code, name = row.values[f"{level}_code"], row.values[level]
    if not code:
        problems.append(table.problem(row, f"{level}_code", f"请填写{label}代码"))
    elif not (code.isascii() and code.isalnum()) or len(code) > longest_code:
        problems.append(table.problem(row, f"{level}_code", f"{label}{UNIT_CODE_RULE}，最长{longest_code}位"))
    if reason := naming.name_problem(name, 60, f"{label}名称"):
        problems.append(table.problem(row, level, reason))


def _year(table: UploadTable, row: SheetRow, problems: list[Problem]) -> int | None:
    text = row.values.get("programme_year", "")
    if not text:
        return None
    try:
        return parse_whole_number(text, 2000, 2100)
    except ValueError as exc:
        problems.append(table.problem(row, "programme_year", str(exc)))
        return None


def _existing(
    level: str,
    code: str,
    parent: str | None,
    known: dict[str, dict[str, Township | Village]],
    groups: dict[tuple[int, str], Group],
) -> Township | Village | Group | None:
    if level != "group":
        return known[level].get(code)
    village = known["village"].get(parent or "")
    return groups.get((village.id, code)) if village is not None else None


def _moved(
    level: str,
    existing: Township | Village | Group,
    parent: str | None,
    county: County,
    known: dict[str, dict[str, Township | Village]],
) -> str | None:
    """Why a known unit cannot stand where the sheet puts it, or None."""
    if isinstance(existing, Township):
        return None if existing.county_id == county.id else "该乡镇代码属于其他县，代码不能移到其他上级"
    if isinstance(existing, Village):
        township = existing.township
        if township.county_id != county.id:
            return "该村代码属于其他县，代码不能移到其他上级"
        return None if township.code == parent else f"该村属于乡镇 {township.code}，代码不能移到其他乡镇"
    return None  # a group is found under its own village only


def apply(session: Session, actor: User | None, plan: UnitPlan, *, file_name: str) -> int:
    """Write a checked plan; returns the number of changes (0 for the same sheet again)."""
    county = plan.county
    townships = {t.code: t for t in session.scalars(sa.select(Township).where(Township.county_id == county.id))}
    villages = {
        v.code: v for v in session.scalars(sa.select(Village).join(Township).where(Township.county_id == county.id))
    }
    for level in ("township", "village", "group"):
        for change in (c for c in plan.created if c.level == level):
            unit: Township | Village | Group
            if level == "township":
                unit = townships[change.code] = Township(county_id=county.id, code=change.code, name=change.name)
            elif level == "village":
                township_id = townships[change.parent_code or ""].id
                unit = villages[change.code] = Village(
                    county_id=county.id, township_id=township_id, code=change.code, name=change.name
                )
            else:
                village_id = villages[change.parent_code or ""].id
                unit = Group(county_id=county.id, village_id=village_id, code=change.code, name=change.name)
            session.add(unit)
            session.flush()
            audit.record(
                session, actor, unit, action="create",
                after={"code": change.code, "name": change.name}, reason=f"导入单位表 {file_name} 第{change.row}行",
            )  # fmt: skip
    for change in plan.renamed:
        unit = _find(session, change, villages, townships)
        unit.name = change.name
        audit.record(
            session, actor, unit, action="rename",
            before={"name": change.old_name}, after={"name": change.name},
            reason=f"导入单位表 {file_name} 第{change.row}行",
        )  # fmt: skip
    for change in plan.years:
        village = villages[change.code]
        village.programme_year = change.programme_year
        audit.record(
            session,
            actor,
            village,
            action="programme_year",
            before={"programme_year": change.old_programme_year},
            after={"programme_year": change.programme_year},
            reason=f"导入单位表 {file_name} 第{change.row}行",
        )
    county.units_from_sheet = True
    session.flush()
    audit.record(
        session,
        actor,
        county,
        action="import_units",
        after={"file": file_name, "rows": plan.rows, "changed": plan.changes},
        reason=f"导入单位表 {file_name}：{plan.changes} 条变更",
    )
    return plan.changes


def _find(
    session: Session, change: UnitChange, villages: dict[str, Village], townships: dict[str, Township]
) -> Township | Village | Group:
    if change.level == "township":
        return townships[change.code]
    if change.level == "village":
        return villages[change.code]
    group = session.scalar(
        sa.select(Group).where(Group.village_id == villages[change.parent_code or ""].id, Group.code == change.code)
    )
    assert group is not None
    return group
