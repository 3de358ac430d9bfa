"""Entering the three reviews (三评, RULES.md §3) for a village period, one at a time (the form) or
many at once (the sheet import: hygiene.services.imports). Every rule a single review must obey is
checked here; scores come from the engine via hygiene.services.rating.rating, never computed here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from hygiene import permissions
from hygiene.enums import CRITERIA, ReviewKind, WorkflowState
from hygiene.models import Group, Household, Period, Review, User, Village, VillagePeriod
from hygiene.services import audit
from hygiene.services.errors import Conflict, FieldErrors, PermissionDenied, ServiceError
from hygiene.services.rating import rating
from hygiene.services.setup import periods

REVIEW_FIELDS = ("kind", "reviewer_household_id", "team_members", *CRITERIA)


@dataclass(frozen=True)
class ReviewInput:
    """One review as entered: scores in tenths by criterion code."""

    kind: ReviewKind
    scores: Mapping[str, int]
    reviewer_code: str | None = None  # peer reviews: the reviewing household
    team_members: str | None = None  # group reviews: the review team's names
    # Peer reviews: the reviewer of the review the form was opened on; choosing another reviewer
    # in that form moves the review to them rather than adding a second one.
    edited_reviewer_code: str | None = None


class ReviewRejected(FieldErrors):
    """A review's problems by field: criterion code, "reviewer", "team_members"."""


# Why reviews cannot be entered in each state past the clerk's hands, and what to do about it
# (RULES.md §5: the clerk edits in draft and returned only).
LOCKED_REASONS = {
    WorkflowState.SUBMITTED: "已提交乡镇审核，评议不能再修改；如需修改，请联系乡镇审核员退回",
    WorkflowState.APPROVED: "乡镇已审核通过，评议不能再修改；如需修改，请联系乡镇审核员撤销审核并退回",
    WorkflowState.PUBLISHED: "正在公示，评议不能再修改；如有错误，请联系乡镇审核员撤回公示并退回",
    WorkflowState.FINAL: "已定档，评议不能再修改",
}


def entry_locked_reason(village: Village, period: Period, state: WorkflowState | None) -> str | None:
    """Why the village's reviews for the period cannot be entered now, or None when they can."""
    reason = LOCKED_REASONS.get(state) if state is not None else None
    return f"{village.name} {period.code} {reason}" if reason else None


def entry_lock(session: Session, village: Village, period: Period) -> str | None:
    """Why the village's reviews for the period cannot be entered now, for pages to say up front."""
    village_period = periods.village_period(session, village, period)
    return entry_locked_reason(village, period, village_period.state if village_period else None)


def village_period_for_entry(session: Session, village: Village, period: Period) -> VillagePeriod:
    """The village's period, opened as a draft on first use; refused unless still editable."""
    village_period = periods.open_village_period(session, village, period)
    if reason := entry_locked_reason(village, period, village_period.state):
        raise ServiceError(reason)
    return village_period


def max_tenths(period: Period) -> dict[str, int]:
    return {c.code: c.max_tenths for c in period.rubric_version.criteria}


def household_in_group(session: Session, group_id: int, code: str) -> Household | None:
    return session.scalar(sa.select(Household).where(Household.group_id == group_id, Household.code == code))


def household_in_village(session: Session, village: Village, code: str) -> Household | None:
    return session.scalar(
        sa.select(Household).join(Group).where(Group.village_id == village.id, Household.code == code)
    )


def existing_review(
    session: Session, household: Household, period: Period, kind: ReviewKind, reviewer: Household | None
) -> Review | None:
    query = sa.select(Review).where(
        Review.county_id == household.county_id,
        Review.household_id == household.id,
        Review.period_id == period.id,
        Review.kind == kind,
    )
    if kind is ReviewKind.PEER:
        assert reviewer is not None
        query = query.where(Review.reviewer_household_id == reviewer.id)
    return session.scalar(query)


def save_review(
    session: Session,
    actor: User,
    village: Village,
    period: Period,
    household: Household,
    entry: ReviewInput,
    *,
    expected_version: int,
) -> Review:
    """Add or replace one review. ``expected_version`` is the version of the review the form was
    filled from (0 for a new one): if someone saved it since, ``Conflict`` and nothing changes."""
    if not permissions.can_edit_village(actor, village):
        raise PermissionDenied("只有本村村委会可以录入评议")
    village_period_for_entry(session, village, period)
    errors = rating.score_problems(period, entry.scores)
    reviewer: Household | None = None
    team = (entry.team_members or "").strip() or None
    if entry.kind is ReviewKind.PEER:
        code = (entry.reviewer_code or "").strip()
        reviewer = household_in_village(session, village, code) if code else None
        problem = rating.peer_reviewer_problem(household, code, reviewer)
        if problem:
            errors["reviewer"] = problem
    elif entry.kind is ReviewKind.GROUP and team is None:
        errors["team_members"] = "请填写评比检查小组成员"
    if errors:
        raise ReviewRejected(errors)

    review = existing_review(session, household, period, entry.kind, reviewer)
    edited_code = (entry.edited_reviewer_code or "").strip()
    if entry.kind is ReviewKind.PEER and edited_code and reviewer is not None and edited_code != reviewer.code:
        if review is not None:
            raise ReviewRejected({"reviewer": f"评议户 {reviewer.code} 已互评过本户，请修改那一条"})
        edited = household_in_group(session, household.group_id, edited_code)
        review = existing_review(session, household, period, entry.kind, edited) if edited else None
    elif entry.kind is ReviewKind.PEER and review is not None and expected_version == 0 and reviewer is not None:
        # A new peer review by a household that already reviewed this one: not a race, a repeat.
        raise ReviewRejected({"reviewer": f"评议户 {reviewer.code} 已互评过本户，请在本户的评议记录中修改那一条"})
    if (review.version if review else 0) != expected_version:
        raise Conflict()
    before = audit.snapshot(review, REVIEW_FIELDS) if review else None
    if review is None:
        review = Review(county_id=household.county_id, period_id=period.id, household_id=household.id, kind=entry.kind)
        session.add(review)
    review.reviewer_household_id = reviewer.id if reviewer else None
    review.team_members = team if entry.kind is ReviewKind.GROUP else None
    review.entered_by_id = actor.id
    for code in CRITERIA:
        setattr(review, code, entry.scores[code])
    after = audit.snapshot(review, REVIEW_FIELDS)
    if before == after:
        return review
    try:
        session.flush()
    except (StaleDataError, IntegrityError):
        # Someone saved this review since we read it: an UPDATE that matched no row at our version,
        # or an INSERT that met their row in the unique index.
        raise Conflict() from None
    action = "review_update" if before else "review_create"
    audit.record_many(session, actor, [review_change(household, period, review.id, action, before, after)])
    return review


def review_change(
    household: Household,
    period: Period,
    review_id: int,
    action: str,
    before: dict[str, object] | None,
    after: dict[str, object] | None,
    reason: str | None = None,
) -> audit.Change:
    """The audit entry of one review's change, recorded on the household so that its history page
    shows every review it was given, including ones later deleted (``audit.record_many``: one or a
    sheet's many)."""
    where = {"period": period.code, "review_id": review_id}
    return audit.Change(
        household,
        action,
        before=before | where if before else None,
        after=after | where if after else None,
        reason=reason,
    )


def delete_review(
    session: Session,
    actor: User,
    village: Village,
    period: Period,
    review: Review,
    *,
    expected_version: int,
    reason: str,
) -> None:
    """Remove a review entered by mistake (e.g. a peer review by the wrong household); audited."""
    if not permissions.can_edit_village(actor, village):
        raise PermissionDenied("只有本村村委会可以录入评议")
    village_period_for_entry(session, village, period)
    if review.version != expected_version:
        raise Conflict()
    if not reason.strip():
        raise ServiceError("请填写删除原因")
    before = audit.snapshot(review, REVIEW_FIELDS)
    household = review.household
    session.delete(review)
    session.flush()
    audit.record_many(
        session, actor, [review_change(household, period, review.id, "review_delete", before, None, reason.strip())]
    )


@dataclass(frozen=True)
class BoardRow:
    household: Household
    group: Group
    has_self: bool
    peer_count: int
    has_group: bool
    result: dict[str, object] = field(default_factory=dict)

    @property
    def missing(self) -> list[ReviewKind]:
        return [
            k
            for k, present in (
                (ReviewKind.SELF, self.has_self),
                (ReviewKind.PEER, self.peer_count > 0),
                (ReviewKind.GROUP, self.has_group),
            )
            if not present
        ]


@dataclass(frozen=True)
class GroupProgress:
    """How far one villager group's reviews are, for the board's chart."""

    group: Group
    complete: int  # self, peer and group review all entered
    rated: int  # has the group review (the one that rates) but still lacks self or peer
    unrated: int  # no group review yet

    @property
    def total(self) -> int:
        return self.complete + self.rated + self.unrated


def group_progress(rows: Sequence[BoardRow], groups: Sequence[Group]) -> list[GroupProgress]:
    """Each group's count of households with every review, with the group review only, and without."""
    progress = []
    for group in groups:
        own = [r for r in rows if r.group.id == group.id]
        complete = sum(1 for r in own if not r.missing)
        rated = sum(1 for r in own if r.has_group and r.missing)
        progress.append(GroupProgress(group, complete, rated, len(own) - complete - rated))
    return progress


@dataclass(frozen=True)
class ReviewBoard:
    rows: list[BoardRow]
    shortfalls: rating.Shortfalls  # what submitting would go ahead without
    refused: str | None = None  # why the engine could not score the data as it stands (what to fix)


def review_board(session: Session, village: Village, period: Period) -> ReviewBoard:
    """Every registered household of the village with the reviews it has and the engine's totals,
    grade and flags so far (not-rated households have empty results)."""
    households = session.execute(
        sa.select(Household, Group)
        .join(Group, Household.group_id == Group.id)
        .where(Group.village_id == village.id, rating.registered(period))
        .order_by(Group.code, Household.code)
    ).all()
    counts: dict[tuple[int, ReviewKind], int] = {
        (household_id, kind): n
        for household_id, kind, n in session.execute(
            sa.select(Review.household_id, Review.kind, sa.func.count(Review.id))
            .join(Household, Review.household_id == Household.id)
            .join(Group, Household.group_id == Group.id)
            .where(Review.county_id == period.county_id, Review.period_id == period.id, Group.village_id == village.id)
            .group_by(Review.household_id, Review.kind)
        ).all()
    }
    refused = None
    try:
        household_results, village_results = rating.result_frames(session, period, [village.id])
        shortfalls = rating.Shortfalls.from_results(household_results, village_results)
    except rating.RatingRefused as exc:
        refused = str(exc)
        household_results, _ = rating.empty_frames()  # the board still lists what was entered
        shortfalls = rating.Shortfalls.refused_by(refused)
    results = {str(r["household_code"]): r for r in household_results.to_dict("records")}
    rows = [
        BoardRow(
            household=h,
            group=g,
            has_self=counts.get((h.id, ReviewKind.SELF), 0) > 0,
            peer_count=counts.get((h.id, ReviewKind.PEER), 0),
            has_group=counts.get((h.id, ReviewKind.GROUP), 0) > 0,
            result=rating.plain(results.get(h.code, {})),
        )
        for h, g in households
    ]
    return ReviewBoard(rows, shortfalls, refused)


def household_reviews(session: Session, household: Household, period: Period) -> list[Review]:
    return list(
        session.scalars(
            sa.select(Review)
            .where(
                Review.county_id == household.county_id,
                Review.household_id == household.id,
                Review.period_id == period.id,
            )
            .order_by(Review.kind, Review.id)
        )
    )


def last_team(session: Session, village: Village, period: Period) -> str | None:
    """The review team's names as last entered for the village in the period: the same team reviews
    the whole village, so the group review form offers them instead of having them retyped."""
    return session.scalar(
        sa.select(Review.team_members)
        .join(Household, Review.household_id == Household.id)
        .join(Group, Household.group_id == Group.id)
        .where(
            Group.village_id == village.id,
            Review.county_id == period.county_id,
            Review.period_id == period.id,
            Review.kind == ReviewKind.GROUP,
            Review.team_members.is_not(None),
        )
        .order_by(Review.updated_at.desc(), Review.id.desc())
        .limit(1)
    )


def next_household(session: Session, household: Household, period: Period) -> Household | None:
    """The next household of the village, by code, still without a group review in the period: where
    the clerk goes after saving one ("下一户")."""
    reviewed = sa.select(Review.household_id).where(
        Review.county_id == period.county_id, Review.period_id == period.id, Review.kind == ReviewKind.GROUP
    )
    return session.scalar(
        sa.select(Household)
        .join(Group, Household.group_id == Group.id)
        .where(
            Group.village_id == household.group.village_id,
            Household.code > household.code,
            Household.id.not_in(reviewed),
            rating.registered(period),
        )
        .order_by(Household.code)
        .limit(1)
    )


def group_entry(session: Session, group: Group, period: Period) -> list[tuple[Household, Review | None]]:
    """The households a villager group has in the period, by code, each with its group review if any:
    the rows of the group entry screen."""
    households = list(
        session.scalars(
            sa.select(Household)
            .where(Household.group_id == group.id, rating.registered(period))
            .order_by(Household.code)
        )
    )
    existing = {
        r.household_id: r
        for r in session.scalars(
            sa.select(Review).where(
                Review.county_id == period.county_id,
                Review.period_id == period.id,
                Review.kind == ReviewKind.GROUP,
                Review.household_id.in_([h.id for h in households]),
            )
        )
    }
    return [(h, existing.get(h.id)) for h in households]
