"""Household roster imports (INTERCHANGE.md §2, §2.1), for one village or a whole county.

Planned first, every problem collected (row, column, value, reason); any problem rejects the whole
file and nothing is written; applying a clean plan writes all of it in the caller's one
transaction. The web page and the ``hygiene import roster`` command call these same functions.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from hygiene import collector, naming, permissions
from hygiene.io.scores import parse_whole_number
from hygiene.io.sheets import (
    COUNTY_SHEET_LIMITS,
    Problem,
    UploadTable,
    read_upload,
    roster_columns,
)
from hygiene.models import Group, Household, HouseholdFormerCode, Township, User, Village
from hygiene.models._types import utcnow
from hygiene.services import audit, bulk
from hygiene.services.errors import IMPORT_CONFLICT, Conflict, PermissionDenied, flush_or_conflict
from hygiene.services.setup import units

NOT_IN_UNIT_SHEET = "本村的单位表中没有这个村民组，请检查名称或先由县管理员导入单位表"


# --- roster --------------------------------------------------------------------------------------

MAX_MEMBERS = 99
POOR_VALUES = {
    "是": True,
    "否": False,
    "y": True,
    "n": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
    "true": True,
    "false": False,
    "": False,
}


class CurrentHousehold(NamedTuple):
    """A household as the plan compares it with its row: read as columns, not as an ORM object
    (issue 34: a county's roster compares 198,500). The write loads the ones it changes."""

    id: int
    code: str
    village_id: int
    head_name: str
    members: int
    phone: str | None
    is_poor: bool
    group_name: str
    version: int


@dataclass(frozen=True)
class PlannedHousehold:
    row: int
    village: Village
    group_name: str
    code: str
    head_name: str
    members: int
    phone: str | None
    is_poor: bool
    existing: CurrentHousehold | None
    village_id: int  # ``village.id`` and its county's id, read once per village: a county's roster
    county_id: int  # reads them 198,500 times, each an ORM attribute through the village
    changes: bool = field(init=False)

    def __post_init__(self) -> None:
        # Decided when planned: after the import writes, the household equals the row.
        h = self.existing
        differs = h is None or (h.head_name, h.members, h.phone, h.is_poor, h.group_name) != (
            self.head_name,
            self.members,
            self.phone,
            self.is_poor,
            self.group_name,
        )
        object.__setattr__(self, "changes", differs)


@dataclass
class RosterImportPlan:
    rows: list[PlannedHousehold] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(1 for r in self.rows if r.existing is None)

    @property
    def updated(self) -> int:
        return sum(1 for r in self.rows if r.existing is not None and r.changes)

    @property
    def unchanged(self) -> int:
        return sum(1 for r in self.rows if not r.changes)

    def by_township(self) -> list[TownshipCounts]:
        """What the roster brings to each township it names, for a county-wide preview."""
        counts: dict[str, TownshipCounts] = {}
        villages: dict[str, set[int]] = {}
        for r in self.rows:
            township = r.village.township
            c = counts.setdefault(township.code, TownshipCounts(township.name))
            villages.setdefault(township.code, set()).add(r.village.id)
            c.households += 1
            c.added += r.existing is None
            c.updated += r.existing is not None and r.changes
        for code, c in counts.items():
            c.villages = len(villages[code])
        return [counts[code] for code in sorted(counts)]


@dataclass
class TownshipCounts:
    name: str
    villages: int = 0
    households: int = 0
    added: int = 0
    updated: int = 0


@functools.lru_cache(maxsize=4096)  # a county's roster names its few hundred units 198,500 times
def _unit_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


@functools.lru_cache(maxsize=256)
def _poor(text: str) -> bool | None:
    return POOR_VALUES.get(unicodedata.normalize("NFKC", text).strip().lower())


def plan_roster_import(
    session: Session, actor: User | None, table: UploadTable, *, villages: Sequence[Village]
) -> RosterImportPlan:
    """Check a roster against ``villages`` (the clerk's one village, or every village of a county for
    its administrator and the command line). A township or village is named by its name or its code."""
    if actor is not None and not permissions.can_import_roster(actor, villages):
        raise PermissionDenied("只有本村村委会或本县管理员可以导入花名册")
    by_key: dict[tuple[str, str], Village | None] = {}  # None: two villages answer to these names
    for v in villages:
        for t_key in (v.township.name, v.township.code):
            for v_key in (v.name, v.code):
                key = (_unit_key(t_key), _unit_key(v_key))
                by_key[key] = v if by_key.get(key, v) is v else None
    # Each village's id, county and whether its groups come from the unit sheet, read once (an ORM
    # attribute through the village and its township was 10 reads a row, 0.5 s of a county's roster).
    facts = {v: (v.id, v.township.county_id, v.township.county.units_from_sheet) for v in villages}
    county_ids = {county_id for _, county_id, _ in facts.values()}
    existing = {
        (county_id, current.code): current
        for county_id, *values in session.execute(
            sa.select(
                Household.county_id,
                Household.id,
                Household.code,
                Group.village_id,
                Household.head_name,
                Household.members,
                Household.phone,
                Household.is_poor,
                Group.name,
                Household.version,
            )
            .join(Group, Household.group_id == Group.id)
            .where(Household.county_id.in_(county_ids))
        )
        for current in (CurrentHousehold(*values),)
    }
    # A code a household had before a correction or a move is never a new household (issue 30).
    former = {
        (county_id, code): household
        for county_id, code, household in session.execute(
            sa.select(HouseholdFormerCode.county_id, HouseholdFormerCode.code, Household)
            .join(Household, HouseholdFormerCode.household_id == Household.id)
            .where(HouseholdFormerCode.county_id.in_(county_ids))
        )
    }
    village_ids = {v.id for v in villages}
    group_names = {
        (group.village_id, group.name)
        for group in session.scalars(sa.select(Group).where(Group.village_id.in_([v.id for v in villages])))
    }
    problems: list[Problem] = []
    plan = RosterImportPlan()
    group_length, head_length = naming.column_length(Group.name), naming.column_length(Household.head_name)
    first_row: dict[tuple[int | None, str], int] = {}  # household codes are unique per county
    for row in table.rows:
        values = row.values
        start = len(problems)
        unit_key = (_unit_key(values["township"]), _unit_key(values["village"]))
        village = by_key.get(unit_key)
        village_id, county_id, groups_from_sheet = facts[village] if village is not None else (0, None, False)
        if village is None and unit_key in by_key:
            problems.append(table.problem(row, "village", "有同名的乡镇和村，请填写村代码"))
        elif village is None:
            column = "village" if any(k[0] == _unit_key(values["township"]) for k in by_key) else "township"
            problems.append(table.problem(row, column, "不是本次可导入的乡镇和村" if actor is None else "不是本村"))
        code = values["household_code"]
        if not code:
            problems.append(table.problem(row, "household_code", "请填写户编号"))
        elif reason := naming.household_code_problem(code):
            problems.append(table.problem(row, "household_code", reason))
        elif (county_key := (county_id, code)) in first_row:
            problems.append(table.problem(row, "household_code", f"与第{first_row[county_key]}行户编号重复"))
        else:
            first_row[county_key] = row.row
        current = existing.get((county_id, code)) if county_id is not None else None
        if current is not None and village is not None and current.village_id != village_id:
            problems.append(table.problem(row, "household_code", "户编号已被其他村使用（户编号在全县唯一）"))
        elif current is None and county_id is not None and (renamed := former.get((county_id, code))):
            problems.append(table.problem(row, "household_code", _former_code_problem(renamed, village_ids)))
        if reason := naming.name_problem(values["group"], group_length, "村民组"):
            problems.append(table.problem(row, "group", reason))
        elif village is not None and groups_from_sheet and (village_id, values["group"]) not in group_names:
            problems.append(table.problem(row, "group", NOT_IN_UNIT_SHEET))
        if reason := naming.name_problem(values["head_name"], head_length, "户主姓名"):
            problems.append(table.problem(row, "head_name", reason))
        members = _members(values.get("members", ""))
        if members is None:
            problems.append(table.problem(row, "members", f"人口须为1–{MAX_MEMBERS}之间的整数"))
        phone = values.get("phone", "") or None
        if phone is not None and (reason := naming.phone_problem(phone)):
            problems.append(table.problem(row, "phone", reason))
        poor = _poor(values.get("poor", ""))
        if poor is None:
            problems.append(table.problem(row, "poor", "须填 是 或 否"))
        if len(problems) > start or village is None or county_id is None or members is None or poor is None:
            continue
        plan.rows.append(
            PlannedHousehold(
                row.row,
                village,
                values["group"],
                code,
                values["head_name"],
                members,
                phone,
                poor,
                current,
                village_id,
                county_id,
            )
        )
    table.reject(problems)
    return plan


def _former_code_problem(household: Household, village_ids: set[int]) -> str:
    """A former code in a roster: the household's code now if it lives in a village the import may
    write, else no more than that the code is retired (no probing of other villages)."""
    if household.group.village_id in village_ids:
        return f"这是原户编号，该户现在的户编号是 {household.code}，请改用新户编号"
    return "这是已停用的原户编号（该户已更正编号或迁往其他村），不能再用"


@functools.lru_cache(maxsize=256)
def _members(text: str) -> int | None:
    try:
        return parse_whole_number(text, 1, MAX_MEMBERS)
    except ValueError:
        return None


ROSTER_BATCH = 2000  # households written per statement; the progress shown moves a batch at a time


def write_roster(
    session: Session, actor: User | None, plan: RosterImportPlan, *, file_name: str
) -> Iterator[tuple[int, int]]:
    """Write a checked roster plan (new groups and households, changed households updated), a batch
    at a time, yielding (households written, households to write) after each batch so that a
    county-wide roster can show its progress. The caller owns the transaction: an import stopped
    half-way is rolled back whole.

    New households go in as one multi-row INSERT per batch and their audit entries as another
    (``audit.record_many``), not an ORM object and a flush each (issue 34: a county's 198,500
    households); changed households are updated through the ORM, version-checked."""
    groups: dict[tuple[int, str], Group] = {
        (g.village_id, g.name): g
        for g in session.scalars(sa.select(Group).where(Group.village_id.in_({r.village_id for r in plan.rows})))
    }
    to_write = [planned for planned in plan.rows if planned.changes]
    for planned in to_write:  # new groups in the order the roster first names them (01, 02, …)
        if (planned.village_id, planned.group_name) not in groups:
            group = Group(
                county_id=planned.county_id,
                village_id=planned.village_id,
                code=_next_group_code(planned.village, groups.values()),
                name=planned.group_name,
            )
            session.add(group)
            groups[(planned.village_id, planned.group_name)] = group
    with session.no_autoflush:
        first_period = units.first_periods_of_new_households(
            session, {planned.village_id: planned.village for planned in to_write if planned.existing is None}.values()
        )
    flush_or_conflict(session)  # the new groups get their ids
    households = cast(sa.Table, Household.__table__)
    # Read once, not through the ORM's attributes for each of a county's households.
    group_ids = {key: group.id for key, group in groups.items()}
    for start in range(0, len(to_write), ROSTER_BATCH):
        with collector.paused():  # not across the yield: the caller runs between batches
            batch = to_write[start : start + ROSTER_BATCH]
            now = utcnow()
            new_rows = [
                {
                    "county_id": planned.county_id,
                    "group_id": group_ids[(planned.village_id, planned.group_name)],
                    "code": planned.code,
                    "head_name": planned.head_name,
                    "members": planned.members,
                    "phone": planned.phone,
                    "is_poor": planned.is_poor,
                    "moved_away_on": None,
                    "registered_from": first_period[planned.village_id],
                    "created_at": now,
                    "version": 1,
                }
                for planned in batch
                if planned.existing is None
            ]
            befores: dict[int, dict[str, object]] = {}
            loaded = _changed_households(session, [planned.existing for planned in batch if planned.existing])
            for planned in batch:
                if planned.existing is None:
                    continue
                household = loaded[planned.existing.id]
                befores[household.id] = units.household_snapshot(household, household.group)
                household.group = groups[(planned.village_id, planned.group_name)]
                household.head_name = planned.head_name
                household.members = planned.members
                household.phone = planned.phone
                household.is_poor = planned.is_poor
            flush_or_conflict(session)
            new_ids = _insert_households(session, households, new_rows)
            new_values = iter(new_rows)
            changes = []
            for planned in batch:
                reason = f"导入 {file_name} 第{planned.row}行"
                if planned.existing is None:
                    row = next(new_values)
                    row["id"] = new_ids[(row["county_id"], row["code"])]
                    changes.append(
                        audit.Change(
                            None,
                            action="create",
                            after=units.household_row_snapshot(row, planned.group_name),
                            reason=reason,
                            kind="household",
                            entity_id=row["id"],
                            county_id=planned.county_id,
                        )
                    )
                else:
                    household = loaded[planned.existing.id]
                    changes.append(
                        audit.Change(
                            household,
                            action="import",
                            before=befores[household.id],
                            after=units.household_snapshot(household, household.group),
                            reason=reason,
                        )
                    )
            audit.record_many(session, actor, changes)
        yield start + len(batch), len(to_write)
    # One summary entry on each village the sheet names, even with "0 条变更" (INTERCHANGE.md §2.1).
    villages = {r.village_id: r.village for r in plan.rows}
    rows = Counter(r.village_id for r in plan.rows)
    changed = Counter(planned.village_id for planned in to_write)
    audit.record_many(
        session,
        actor,
        (
            audit.Change(
                village,
                action="import_roster",
                after={"file": file_name, "rows": rows[village_id], "changed": changed[village_id]},
                reason=f"导入花名册 {file_name}：{village.name} {changed[village_id]} 条变更",
            )
            for village_id, village in sorted(villages.items())
        ),
    )
    session.flush()


def _changed_households(session: Session, planned: Sequence[CurrentHousehold]) -> dict[int, Household]:
    """The households a batch changes, as ORM objects (their update is version-checked), each as it
    was planned: one changed since the plan read it is a conflict, nothing is written."""
    if not planned:
        return {}
    found = {
        h.id: h
        for h in session.scalars(
            sa.select(Household)
            .where(Household.id.in_([current.id for current in planned]))
            .options(joinedload(Household.group))
        )
    }
    if any(current.id not in found or found[current.id].version != current.version for current in planned):
        raise Conflict(IMPORT_CONFLICT)
    return found


def _insert_households(session: Session, households: sa.Table, rows: Sequence[Mapping[str, Any]]) -> dict[object, int]:
    """Insert these households and return their ids by (county id, code). On PostgreSQL the ids are
    drawn from the table's sequence first and the rows go in by COPY with them; elsewhere one
    multi-row INSERT, the ids read back by the county's unique code (SQLite's IN list uses the
    index, where PostgreSQL's planner, without statistics for rows COPYed in this transaction,
    scanned the table once per batch)."""
    if not rows:
        return {}
    try:
        if bulk.is_postgresql(session):
            sequence = session.scalar(sa.select(sa.func.pg_get_serial_sequence(households.name, "id")))
            drawn = session.scalars(
                sa.select(sa.func.nextval(sequence)).select_from(sa.func.generate_series(1, len(rows)))
            ).all()
            columns = ["id", *rows[0]]
            bulk.insert_rows(
                session, households.name, columns, [[n, *row.values()] for n, row in zip(drawn, rows, strict=True)]
            )
            return {(row["county_id"], row["code"]): n for n, row in zip(drawn, rows, strict=True)}
        bulk.insert_many(session, households, rows)  # one executemany per batch
    except sa.exc.IntegrityError:  # a household of the same code added since the plan
        raise Conflict(IMPORT_CONFLICT) from None
    ids: dict[object, int] = {}
    for county_id in {row["county_id"] for row in rows}:
        codes = [row["code"] for row in rows if row["county_id"] == county_id]
        found = session.execute(
            sa.select(households.c.code, households.c.id).where(
                households.c.county_id == county_id, households.c.code.in_(codes)
            )
        )
        ids.update(((county_id, code), household_id) for code, household_id in found)
    return ids


def apply_roster_import(
    session: Session,
    actor: User | None,
    plan: RosterImportPlan,
    *,
    file_name: str,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write a checked roster plan whole (``write_roster``); returns the number of households written.
    ``progress(written, total)`` is told after each batch."""
    for done, total in write_roster(session, actor, plan, file_name=file_name):
        if progress is not None:
            progress(done, total)
    return sum(1 for planned in plan.rows if planned.changes)


def _next_group_code(village: Village, groups: Iterable[Group]) -> str:
    """The village's code and the first unused two-digit number (groups are 01, 02, …)."""
    taken = {g.code for g in groups if g.village_id == village.id}
    return next(code for n in itertools.count(1) if (code := f"{village.code}{n:02d}") not in taken)


def every_village(session: Session) -> list[Village]:
    """The villages a command-line roster may name (the web page passes only the clerk's own)."""
    return list(session.scalars(sa.select(Village).join(Township).order_by(Village.code)))


def plan_roster_upload(
    session: Session, actor: User | None, villages: Sequence[Village], data: bytes, file_name: str
) -> RosterImportPlan:
    """A village's roster, or a whole county's (the command names every village): the county-wide
    limits of INTERCHANGE.md §2.1 then apply."""
    limits = COUNTY_SHEET_LIMITS if len(villages) > 1 else {}
    with collector.paused():
        table = read_upload(data, file_name, roster_columns(), defer_cell_problems=True, **limits)
        return plan_roster_import(session, actor, table, villages=villages)
