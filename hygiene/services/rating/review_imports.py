"""Review sheet imports (INTERCHANGE.md §2, §2.1) and the group entry screen, which is checked as a
sheet is.

An import is planned first: every row is checked and every problem collected (row, column, value,
reason); any problem rejects the whole file and nothing is written. A clean plan says how many
rows will be added, replaced or left unchanged, for the clerk to confirm; applying it writes all
of it in the caller's one transaction. Importing the same content again changes nothing
("0 条变更") and is still audited. The web page and the ``hygiene import`` command call these same
functions.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from hygiene import naming, permissions
from hygiene.enums import CRITERIA, Grade, ReviewKind
from hygiene.io.exports import review_template_xlsx
from hygiene.io.scores import format_points, parse_score
from hygiene.io.sheets import (
    Problem,
    SheetRow,
    UploadTable,
    read_upload,
    review_columns,
)
from hygiene.models import Group, Household, Period, Review, User, Village
from hygiene.models._types import utcnow
from hygiene.services import audit
from hygiene.services.errors import IMPORT_CONFLICT, Conflict, PermissionDenied, flush_or_conflict
from hygiene.services.rating import rating, reviews

NOT_IN_VILLAGE = "本村无此户号"  # the same for unknown codes and other villages' codes: no probing


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
    # Only the kinds the sheet names are looked up: a village's group sheet loads its 430 group
    # reviews, not its 2,000 reviews of every kind (issue 34).
    kinds = {_kind_of(row.values.get("kind") or "") for row in table.rows}
    existing = {
        (r.household_id, r.kind, r.reviewer_household_id): r
        for r in session.scalars(
            sa.select(Review).where(
                Review.county_id == period.county_id,
                Review.period_id == period.id,
                Review.household_id.in_([h.id for h in households.values()]),
                Review.kind.in_([kind for kind in ReviewKind if kind in kinds]),
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
    kind = _kind_of(values["kind"])
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
        elif reason := naming.too_long(team, Review.team_members):
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


def _kind_of(text: str) -> ReviewKind | None:
    """The review kind a sheet's 评议类型 cell names (自评/互评/复评 or self/peer/group), or None."""
    return rating.REVIEW_KIND_NAMES.get(unicodedata.normalize("NFKC", text).strip().lower())


def apply_review_import(session: Session, actor: User | None, plan: ReviewImportPlan, *, file_name: str) -> int:
    """Write a checked plan; returns how many reviews were added or replaced (0 for the same sheet)."""
    village_period = reviews.village_period_for_entry(session, plan.village, plan.period)  # still editable?
    written: list[tuple[PlannedReview, Review, dict[str, object] | None]] = []
    replaced: list[tuple[Review, dict[str, object]]] = []
    entered_by_id = actor.id if actor else None
    for planned in plan.rows:
        if not planned.changes:
            continue
        review = planned.existing
        before = audit.snapshot(review, reviews.REVIEW_FIELDS) if review else None
        values: dict[str, object] = {"team_members": planned.team_members, "entered_by_id": entered_by_id}
        values |= {code: planned.scores[code] for code in CRITERIA}
        if review is None:
            review = Review(
                county_id=planned.household.county_id,
                period_id=plan.period.id,
                household_id=planned.household.id,
                kind=planned.kind,
                reviewer_household_id=planned.reviewer.id if planned.reviewer else None,
                **values,
            )
            session.add(review)
        else:
            replaced.append((review, values))
        written.append((planned, review, before))
    flush_or_conflict(session)
    _replace_reviews(session, replaced)
    # The group entry screen goes through the same door, but is logged as what it is (issue 30).
    on_screen = file_name == GROUP_ENTRY
    changed = len(written)
    # One bulk write for the sheet's entries, the same entries in the same order: a flush and a
    # chain-head query per row made a 430-household sheet cost about 1 s on PostgreSQL (issue 34).
    audit.record_many(
        session,
        actor,
        [
            *(
                reviews.review_change(
                    planned.household,
                    plan.period,
                    review.id,
                    "review_group_entry" if on_screen else "review_import",
                    before,
                    audit.snapshot(review, reviews.REVIEW_FIELDS),
                    reason="按组录入复评" if on_screen else f"导入 {file_name} 第{planned.row}行",
                )
                for planned, review, before in written
            ),
            audit.Change(
                village_period,
                "group_entry" if on_screen else "import_reviews",
                after={"rows": len(plan.rows), "changed": changed} | ({} if on_screen else {"file": file_name}),
                reason=f"按组录入复评：{changed} 条变更" if on_screen else f"导入评议表 {file_name}：{changed} 条变更",
            ),
        ],
    )
    return changed


def _replace_reviews(session: Session, replaced: Sequence[tuple[Review, dict[str, object]]]) -> None:
    """The sheet's changed reviews that exist, in one executemany UPDATE, each row version-checked
    as the ORM's flush checks it (``WHERE id = ? AND version = ?``, the version then one more), but
    not one statement a row: 430 of them were most of a village's import (issue 34). A review
    someone saved since the plan matches no row: ``Conflict``, as from the flush, and the request's
    transaction rolls back. The session's objects then hold the written values as loaded, as after
    a flush."""
    if not replaced:
        return
    table = cast(sa.Table, Review.__table__)
    rows = [
        {"_id": review.id, "_version": review.version, **values, "version": review.version + 1, "updated_at": utcnow()}
        for review, values in replaced
    ]
    update = sa.update(table).where(table.c.id == sa.bindparam("_id"), table.c.version == sa.bindparam("_version"))
    matched = session.connection().execute(update, rows).rowcount
    if matched != len(rows):
        raise Conflict(IMPORT_CONFLICT)
    for (review, _), row in zip(replaced, rows, strict=True):
        for name, value in row.items():
            if not name.startswith("_"):
                set_committed_value(review, name, value)


def plan_review_upload(
    session: Session, actor: User | None, village: Village, period: Period, data: bytes, file_name: str
) -> ReviewImportPlan:
    """Read a review sheet's bytes (any of the accepted formats) and plan its import."""
    rubric = [(c.code, c.label, c.max_tenths) for c in period.rubric_version.criteria]
    table = read_upload(data, file_name, review_columns(rubric), defer_cell_problems=True)
    return plan_review_import(session, actor, village, period, table)


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
        as_shown = review is not None and all(typed[c] == format_points(getattr(review, c)) for c in CRITERIA)
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
