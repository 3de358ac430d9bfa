"""Sheet imports (INTERCHANGE.md §2, §2.1): the household roster and the review sheet.

An import is planned first: every row is checked and every problem collected (row, column, value,
reason); any problem rejects the whole file and nothing is written. A clean plan says how many
rows will be added, replaced or left unchanged, for the clerk to confirm; applying it writes all
of it in the caller's one transaction. Importing the same content again changes nothing
("0 条变更") and is still audited. The web page and the ``hygiene import`` command call these same
functions."""

from __future__ import annotations

import itertools
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from hygiene import naming, permissions
from hygiene.enums import CRITERIA, Grade, ReviewKind
from hygiene.io.exports import review_template_xlsx
from hygiene.io.scores import format_tenths, parse_score, parse_whole_number
from hygiene.io.sheets import (
    COUNTY_SHEET_LIMITS,
    Problem,
    SheetRow,
    UploadTable,
    read_upload,
    review_columns,
    roster_columns,
)
from hygiene.models import Group, Household, Period, Review, Township, User, Village
from hygiene.services import audit, rating, reviews, units
from hygiene.services.errors import Conflict, PermissionDenied

NOT_IN_VILLAGE = "本村无此户号"  # the same for unknown codes and other villages' codes: no probing
NOT_IN_UNIT_SHEET = "本村的单位表中没有这个村民组，请检查名称或先由县管理员导入单位表"


def _longest(column: sa.orm.InstrumentedAttribute[object]) -> int:
    """The most characters the database holds in ``column``: the model is the one place that says."""
    length = column.property.columns[0].type.length
    assert isinstance(length, int)
    return length


def _too_long(text: str, column: sa.orm.InstrumentedAttribute[object]) -> str | None:
    longest = _longest(column)
    return f"超过{longest}个字" if len(text) > longest else None


def _flush_or_conflict(session: Session) -> None:
    """One flush for the whole sheet, so that the inserts go out in batches. Someone saving the same
    review or household between the plan and now is a conflict, never a half-written import."""
    try:
        session.flush()
    except (sa.exc.IntegrityError, StaleDataError):
        raise Conflict("导入期间数据已被他人修改，未写入任何数据，请重新上传") from None


# --- reviews -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedReview:
    row: int
    household: Household
    kind: ReviewKind
    reviewer: Household | None
    team_members: str | None
    scores: dict[str, int]
    existing: Review | None
    changes: bool = field(init=False)

    def __post_init__(self) -> None:
        # Decided when planned: after the import writes, the review equals the row.
        r = self.existing
        same = r is not None and r.team_members == self.team_members
        same = same and all(getattr(r, c) == self.scores[c] for c in CRITERIA)
        object.__setattr__(self, "changes", not same)


@dataclass(frozen=True)
class ReviewChange:
    """One review the import writes, as the preview lists it: old and new totals, and for a group
    review (which decides the grade, RULES.md §3) old and new grades."""

    row: int
    household: Household
    kind: ReviewKind
    reviewer: str
    old_total: int | None  # tenths; None for a new review
    new_total: int
    old_grade: Grade | None
    new_grade: Grade | None


@dataclass
class ReviewImportPlan:
    village: Village
    period: Period
    rows: list[PlannedReview] = field(default_factory=list)
    unfilled: int = 0  # template rows whose ten scores are all blank: skipped (INTERCHANGE.md §2.1)

    def listed_changes(self) -> list[ReviewChange]:
        """Every review that changes, in sheet order."""
        settings = rating.settings_of(self.period)

        def grade(total: int | None) -> Grade | None:
            return Grade(rating.grade_of(total, settings)) if total is not None else None

        changes = []
        for r in self.rows:
            if not r.changes:
                continue
            old = r.existing.total_tenths() if r.existing is not None else None
            new = sum(r.scores.values())
            group = r.kind is ReviewKind.GROUP
            reviewer = r.reviewer.code if r.reviewer else (r.team_members or "")
            changes.append(
                ReviewChange(
                    r.row,
                    r.household,
                    r.kind,
                    reviewer,
                    old,
                    new,
                    grade(old) if group else None,
                    grade(new) if group else None,
                )
            )
        return changes

    def count(self, kind: ReviewKind, *, new: bool) -> int:
        return sum(1 for r in self.rows if r.kind is kind and r.changes and (r.existing is None) == new)

    @property
    def unchanged(self) -> int:
        return sum(1 for r in self.rows if not r.changes)

    @property
    def changed(self) -> int:
        return len(self.rows) - self.unchanged


def plan_review_import(
    session: Session, actor: User | None, village: Village, period: Period, table: UploadTable
) -> ReviewImportPlan:
    """Check every row of a review sheet against the village, its groups and the rubric."""
    if actor is not None and not permissions.can_edit_village(actor, village):
        raise PermissionDenied("只有本村村委会可以导入评议")
    reviews.village_period_for_entry(session, village, period)
    households = {
        h.code: h
        for h in session.scalars(
            sa.select(Household).join(Group).where(Group.village_id == village.id, rating.registered(period))
        )
    }
    maxima = reviews.max_tenths(period)
    existing = {
        (r.household_id, r.kind, r.reviewer_household_id): r
        for r in session.scalars(
            sa.select(Review).where(
                Review.county_id == period.county_id,
                Review.period_id == period.id,
                Review.household_id.in_([h.id for h in households.values()]),
            )
        )
    }
    problems: list[Problem] = []
    plan = ReviewImportPlan(village, period)
    first_row: dict[tuple[str, ReviewKind, str], int] = {}
    for row in table.rows:
        if not any(row.values[code] for code in CRITERIA):
            plan.unfilled += 1  # a pre-filled template row nobody scored
            continue
        planned = _plan_review_row(table, row, households, maxima, existing, problems)
        if planned is None:
            continue
        key = (planned.household.code, planned.kind, planned.reviewer.code if planned.reviewer else "")
        if key in first_row:
            problems.append(
                table.problem(
                    row,
                    "household_code",
                    f"与第{first_row[key]}行重复（同一户、同一评议类型"
                    + ("、同一评议人）" if planned.reviewer else "）"),
                )
            )
            continue
        first_row[key] = row.row
        plan.rows.append(planned)
    table.reject(problems)
    return plan


def _plan_review_row(
    table: UploadTable,
    row: SheetRow,
    households: dict[str, Household],
    maxima: dict[str, int],
    existing: dict[tuple[int, ReviewKind, int | None], Review],
    problems: list[Problem],
) -> PlannedReview | None:
    start = len(problems)
    values = row.values
    household = households.get(values["household_code"])
    if household is None:
        problems.append(table.problem(row, "household_code", NOT_IN_VILLAGE))
    kind = rating.REVIEW_KIND_NAMES.get(unicodedata.normalize("NFKC", values["kind"]).strip().lower())
    if kind is None:
        problems.append(table.problem(row, "kind", "评议类型须为 自评/互评/复评（或 self/peer/group）"))
    reviewer: Household | None = None
    team: str | None = None
    reviewer_text = values.get("reviewer", "")
    if kind is ReviewKind.PEER:
        reviewer = households.get(reviewer_text)
        problem = rating.peer_reviewer_problem(household, reviewer_text, reviewer) if household else None
        if problem:
            problems.append(table.problem(row, "reviewer", problem))
    elif kind is ReviewKind.GROUP:
        team = reviewer_text or None
        if team is None:
            problems.append(table.problem(row, "reviewer", "复评须填写评比检查小组成员姓名"))
        elif reason := _too_long(team, Review.team_members):
            problems.append(table.problem(row, "reviewer", f"小组成员姓名{reason}"))
    elif kind is ReviewKind.SELF and reviewer_text:
        problems.append(table.problem(row, "reviewer", "自评不填评议人"))
    scores: dict[str, int] = {}
    for code in CRITERIA:
        try:
            scores[code] = parse_score(values[code], maxima[code])
        except ValueError as exc:
            problems.append(table.problem(row, code, str(exc)))
    if len(problems) > start or household is None or kind is None:
        return None
    key = (household.id, kind, reviewer.id if reviewer else None)
    return PlannedReview(row.row, household, kind, reviewer, team, scores, existing.get(key))


def apply_review_import(session: Session, actor: User | None, plan: ReviewImportPlan, *, file_name: str) -> int:
    """Write a checked plan; returns how many reviews were added or replaced (0 for the same sheet)."""
    village_period = reviews.village_period_for_entry(session, plan.village, plan.period)  # still editable?
    written: list[tuple[PlannedReview, Review, dict[str, object] | None]] = []
    for planned in plan.rows:
        if not planned.changes:
            continue
        review = planned.existing
        before = audit.snapshot(review, reviews.REVIEW_FIELDS) if review else None
        if review is None:
            review = Review(
                county_id=planned.household.county_id,
                period_id=plan.period.id,
                household_id=planned.household.id,
                kind=planned.kind,
                reviewer_household_id=planned.reviewer.id if planned.reviewer else None,
            )
            session.add(review)
        review.team_members = planned.team_members
        review.entered_by_id = actor.id if actor else None
        for code in CRITERIA:
            setattr(review, code, planned.scores[code])
        written.append((planned, review, before))
    _flush_or_conflict(session)
    for planned, review, before in written:
        reviews.record_review_change(
            session,
            actor,
            planned.household,
            plan.period,
            review.id,
            "review_import",
            before,
            audit.snapshot(review, reviews.REVIEW_FIELDS),
            reason=f"导入 {file_name} 第{planned.row}行",
        )
    changed = len(written)
    audit.record(
        session,
        actor,
        entity="village_period",
        entity_id=village_period.id,
        county_id=village_period.county_id,
        action="import_reviews",
        after={"file": file_name, "rows": len(plan.rows), "changed": changed},
        reason=f"导入评议表 {file_name}：{changed} 条变更",
    )
    return changed


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
    existing: Household | None
    changes: bool = field(init=False)

    def __post_init__(self) -> None:
        # Decided when planned: after the import writes, the household equals the row.
        h = self.existing
        differs = h is None or (h.head_name, h.members, h.phone, h.is_poor, h.group.name) != (
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


def _unit_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


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
    county_ids = {v.township.county_id for v in villages}
    existing = {
        (h.county_id, h.code): h
        for h in session.scalars(sa.select(Household).where(Household.county_id.in_(county_ids)))
    }
    group_names = {
        (group.village_id, group.name)
        for group in session.scalars(sa.select(Group).where(Group.village_id.in_([v.id for v in villages])))
    }
    problems: list[Problem] = []
    plan = RosterImportPlan()
    first_row: dict[tuple[int | None, str], int] = {}  # household codes are unique per county
    for row in table.rows:
        values = row.values
        start = len(problems)
        unit_key = (_unit_key(values["township"]), _unit_key(values["village"]))
        village = by_key.get(unit_key)
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
        elif (county_key := (village.township.county_id if village else None, code)) in first_row:
            problems.append(table.problem(row, "household_code", f"与第{first_row[county_key]}行户编号重复"))
        else:
            first_row[county_key] = row.row
        current = existing.get((village.township.county_id, code)) if village else None
        if current is not None and village is not None and current.group.village_id != village.id:
            problems.append(table.problem(row, "household_code", "户编号已被其他村使用（户编号在全县唯一）"))
        if reason := naming.name_problem(values["group"], _longest(Group.name), "村民组"):
            problems.append(table.problem(row, "group", reason))
        elif (
            village is not None
            and village.township.county.units_from_sheet
            and (village.id, values["group"]) not in group_names
        ):
            problems.append(table.problem(row, "group", NOT_IN_UNIT_SHEET))
        if reason := naming.name_problem(values["head_name"], _longest(Household.head_name), "户主姓名"):
            problems.append(table.problem(row, "head_name", reason))
        members = _members(values.get("members", ""))
        if members is None:
            problems.append(table.problem(row, "members", f"人口须为1–{MAX_MEMBERS}之间的整数"))
        phone = values.get("phone", "") or None
        if phone is not None and (reason := naming.phone_problem(phone)):
            problems.append(table.problem(row, "phone", reason))
        poor = POOR_VALUES.get(unicodedata.normalize("NFKC", values.get("poor", "")).strip().lower())
        if poor is None:
            problems.append(table.problem(row, "poor", "须填 是 或 否"))
        if len(problems) > start or village is None or members is None or poor is None:
            continue
        plan.rows.append(
            PlannedHousehold(
                row.row, village, values["group"], code, values["head_name"], members, phone, poor, current
            )
        )
    table.reject(problems)
    return plan


def _members(text: str) -> int | None:
    try:
        return parse_whole_number(text, 1, MAX_MEMBERS)
    except ValueError:
        return None


ROSTER_BATCH = 2000  # households written per flush; the progress shown moves a batch at a time


def write_roster(
    session: Session, actor: User | None, plan: RosterImportPlan, *, file_name: str
) -> Iterator[tuple[int, int]]:
    """Write a checked roster plan (new groups and households, changed households updated), a batch
    at a time, yielding (households written, households to write) after each batch so that a
    county-wide roster can show its progress. The caller owns the transaction: an import stopped
    half-way is rolled back whole."""
    groups: dict[tuple[int, str], Group] = {
        (g.village_id, g.name): g
        for g in session.scalars(sa.select(Group).where(Group.village_id.in_({r.village.id for r in plan.rows})))
    }
    to_write = [planned for planned in plan.rows if planned.changes]
    first_period: dict[int, str | None] = {}
    for start in range(0, len(to_write), ROSTER_BATCH):
        written: list[tuple[PlannedHousehold, Household, dict[str, object] | None]] = []
        for planned in to_write[start : start + ROSTER_BATCH]:
            group = groups.get((planned.village.id, planned.group_name))
            if group is None:
                group = Group(
                    county_id=planned.village.county_id,
                    village_id=planned.village.id,
                    code=_next_group_code(planned.village, groups.values()),
                    name=planned.group_name,
                )
                session.add(group)
                groups[(planned.village.id, planned.group_name)] = group
            household = planned.existing
            before = units.household_snapshot(household, household.group) if household else None
            if household is None:
                if planned.village.id not in first_period:
                    with session.no_autoflush:
                        first_period[planned.village.id] = units.first_period_of_new_household(session, planned.village)
                household = Household(
                    county_id=planned.village.township.county_id,
                    code=planned.code,
                    group=group,
                    head_name=planned.head_name,
                    registered_from=first_period[planned.village.id],
                )
                session.add(household)
            household.group = group  # by relationship: a new group has no id until the flush
            household.head_name = planned.head_name
            household.members = planned.members
            household.phone = planned.phone
            household.is_poor = planned.is_poor
            written.append((planned, household, before))
        _flush_or_conflict(session)
        for planned, household, before in written:
            audit.record(
                session,
                actor,
                entity="household",
                entity_id=household.id,
                county_id=household.county_id,
                action="import" if before else "create",
                before=before,
                after=units.household_snapshot(household, household.group),
                reason=f"导入 {file_name} 第{planned.row}行",
            )
        yield start + len(written), len(to_write)
    # One summary entry on each village the sheet names, even with "0 条变更" (INTERCHANGE.md §2.1).
    villages = {r.village.id: r.village for r in plan.rows}
    rows = Counter(r.village.id for r in plan.rows)
    changed = Counter(planned.village.id for planned in to_write)
    for village_id, village in sorted(villages.items()):
        audit.record(
            session,
            actor,
            entity="village",
            entity_id=village_id,
            county_id=village.county_id,
            action="import_roster",
            after={"file": file_name, "rows": rows[village_id], "changed": changed[village_id]},
            reason=f"导入花名册 {file_name}：{village.name} {changed[village_id]} 条变更",
        )
    session.flush()


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


# --- files ---------------------------------------------------------------------------------------


def plan_review_upload(
    session: Session, actor: User | None, village: Village, period: Period, data: bytes, file_name: str
) -> ReviewImportPlan:
    """Read a review sheet's bytes (any of the accepted formats) and plan its import."""
    rubric = [(c.code, c.label, c.max_tenths) for c in period.rubric_version.criteria]
    table = read_upload(data, file_name, review_columns(rubric), defer_cell_problems=True)
    return plan_review_import(session, actor, village, period, table)


def plan_roster_upload(
    session: Session, actor: User | None, villages: Sequence[Village], data: bytes, file_name: str
) -> RosterImportPlan:
    """A village's roster, or a whole county's (the command names every village): the county-wide
    limits of INTERCHANGE.md §2.1 then apply."""
    limits = COUNTY_SHEET_LIMITS if len(villages) > 1 else {}
    table = read_upload(data, file_name, roster_columns(), defer_cell_problems=True, **limits)
    return plan_roster_import(session, actor, table, villages=villages)


GROUP_ENTRY = "村民组复评录入"  # how the group entry screen is named in problems and the audit log


def plan_group_entry(
    session: Session,
    actor: User | None,
    village: Village,
    period: Period,
    entries: Sequence[tuple[Household, Review | None]],
    team: str,
    scores: Mapping[str, Mapping[str, str]],
    versions: Mapping[str, int] | None = None,
) -> ReviewImportPlan:
    """The group entry screen (issue 17): one group review per household of a villager group
    (``entries``: each with its group review if any), typed in a grid (``scores[household code]
    [criterion code]``) with one review team, checked exactly as a review sheet is (one door:
    ``plan_review_import``). Row N of the problems is the group's Nth household and the column is the
    criterion's code, so the page can put each error in its cell; a household whose ten cells are
    blank is 未填 and left as it is. A row left exactly as the screen showed it keeps its own review
    team: the team typed above is the one that reviewed the rows entered now, not every earlier one.
    ``versions`` (household code → the version of its group review the screen showed, 0 for none)
    guards each row: a row that would change a review someone saved since the screen was read is a
    Conflict, so that saving one row never puts another's old values back (issue 28)."""
    rows = []
    for n, (household, review) in enumerate(entries, start=1):
        typed = {c: scores.get(household.code, {}).get(c, "").strip() for c in CRITERIA}
        as_shown = review is not None and all(typed[c] == format_tenths(getattr(review, c)) for c in CRITERIA)
        blank = not any(typed.values())
        shown_version = None if versions is None else versions.get(household.code, 0)
        if shown_version is not None and not (as_shown or blank) and shown_version != (review.version if review else 0):
            raise Conflict(
                f"{household.code} {household.head_name} 的小组复评已被他人修改，本次未保存；请刷新后重新填写"
            )
        reviewer = review.team_members if as_shown and review is not None and review.team_members else team
        rows.append(SheetRow(n, {"household_code": household.code, "kind": "复评", "reviewer": reviewer} | typed))
    locations: dict[str, tuple[str | None, str]] = {c: (c, c) for c in CRITERIA}
    locations |= {"reviewer": ("team_members", "评比检查小组成员"), "household_code": (None, "户编号")}
    return plan_review_import(session, actor, village, period, UploadTable(GROUP_ENTRY, 0, rows, locations))


def review_template(session: Session, village: Village, period: Period) -> bytes:
    """The review sheet for a village period, pre-filled with its households and the rubric."""
    households = session.execute(
        sa.select(Household.code, Household.head_name, Group.name)
        .join(Group)
        .where(Group.village_id == village.id, rating.registered(period))
        .order_by(Group.code, Household.code)
    ).all()
    rubric = [(c.code, c.label, c.max_tenths) for c in period.rubric_version.criteria]
    return review_template_xlsx(f"{village.township.name}{village.name} {period.code}", list(households), rubric)
