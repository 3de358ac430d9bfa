"""Published results as records (RULES.md §5-6; the models' docstring says why).

``post`` stores a village period's results when the township publishes it: every registered
household with its totals, grade, rank, award and flags, its name and group as posted, its group
review criterion by criterion and its per-criterion peer means; the village's counts; the rubric
version and the settings used. ``supersede`` marks the current record as replaced (a withdrawn
publication, an upheld objection) and keeps it. Readers take ``current_record(s)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from markupsafe import escape
from sqlalchemy.orm import Session, selectinload, undefer

from hygiene import digests, naming
from hygiene.enums import CRITERIA, AwardLevel, Grade, ReviewKind, WorkflowState
from hygiene.models import (
    Group,
    Household,
    Period,
    ResultRecord,
    ResultRecordHousehold,
    Review,
    User,
    VillagePeriod,
)
from hygiene.models._types import utcnow
from hygiene.models.records import VILLAGE_COUNTS
from hygiene.services import audit, bulk
from hygiene.services.rating import rating

PUBLIC_STATES = (WorkflowState.PUBLISHED, WorkflowState.FINAL)


TOTALS = ("self_total", "peer_total", "final_total")  # the engine's totals a record's rows store as tenths
ROW_COLUMNS = (
    "county_id", "record_id", "household_id", "household_code", "head_name", "group_code", "group_name",
    "self_total", "peer_total", "peer_count", "final_total", "grade", "rank", "award", "flags",
    "group_scores", "peer_means",
)  # fmt: skip


def post(
    session: Session, actor: User | None, village_period: VillagePeriod, scored: rating.Scored | None = None
) -> ResultRecord:
    """Store the village period's results as they are now, as its next record version. Raises
    ``rating.RatingRefused`` (nothing written) when the engine refuses the data. The household rows
    go in as one bulk insert (COPY on PostgreSQL, ``hygiene.services.bulk``) in the caller's
    transaction; the audit entry is one per record, as for every post.

    ``scored`` is the engine's run on this village and period earlier in the same transaction (the
    publication's guard, ``rating.score_now``), used instead of running it again."""
    period, village = village_period.period, village_period.village
    if scored is None:
        scored = rating.score_now(session, period, [village.id])
    household_results, village_results, means = scored.household_results, scored.village_results, scored.peer_means()
    mean_tenths = [rating.tenths(pa.array(means[c])) for c in CRITERIA]  # column by column (issue 34)
    peer_means = {
        str(code): scores if count else None
        for code, count, *scores in zip(means["household_code"], means["peer_count"], *mean_tenths, strict=True)
    }
    households = {
        code: (household_id, head_name, group_code, group_name)
        for household_id, code, head_name, group_code, group_name in session.execute(
            sa.select(Household.id, Household.code, Household.head_name, Group.code, Group.name)
            .join(Group, Household.group_id == Group.id)
            .where(Group.village_id == village.id, rating.registered(period))
        )
    }
    group_scores = {
        household_id: list(scores)
        for household_id, *scores in session.execute(
            sa.select(Review.household_id, *(getattr(Review, c) for c in CRITERIA))
            .join(Household, Review.household_id == Household.id)
            .join(Group, Household.group_id == Group.id)
            .where(
                Review.county_id == period.county_id,
                Review.period_id == period.id,
                Review.kind == ReviewKind.GROUP,
                Group.village_id == village.id,
            )
        )
    }
    number = 1 + (
        session.scalar(
            sa.select(sa.func.max(ResultRecord.number)).where(ResultRecord.village_period_id == village_period.id)
        )
        or 0
    )
    counts = village_results.to_pylist()[0]
    record = ResultRecord(
        county_id=village_period.county_id,
        village_period_id=village_period.id,
        number=number,
        posted_by_id=actor.id if actor else None,
        posted_at=village_period.published_at or utcnow(),
        period_code=period.code,
        township_code=village.township.code,
        township_name=village.township.name,
        village_code=village.code,
        village_name=village.name,
        rubric_version_id=period.rubric_version_id,
        settings=rating.settings_snapshot(period),
        meets_ratios=bool(counts["meets_ratios"]),
        **{name: int(counts[name]) for name in VILLAGE_COUNTS},
    )
    session.add(record)
    session.flush()
    rows = []
    shown = ("household_code", "peer_count", "grade", "rank", "award", "flags")
    codes, peer_counts, grades, ranks, awards, flags_of = (household_results.column(c).to_pylist() for c in shown)
    self_totals, peer_totals, final_totals = (rating.tenths(household_results.column(c)) for c in TOTALS)
    for code, self_total, peer_total, peer_count, final_total, grade, rank, award, flags in zip(
        codes, self_totals, peer_totals, peer_counts, final_totals, grades, ranks, awards, flags_of, strict=True
    ):
        code = str(code)
        household_id, head_name, group_code, group_name = households[code]
        scores = group_scores.get(household_id)
        mean = peer_means.get(code)
        rows.append(
            (
                record.county_id,
                record.id,
                household_id,
                code,
                head_name,
                group_code,
                group_name,
                self_total,
                peer_total,
                int(peer_count),
                final_total,
                Grade(grade).value if grade else None,
                rank,
                AwardLevel(award).value if award else None,
                flags or "",
                None if scores is None else json.dumps(scores),
                None if mean is None else json.dumps(mean),
            )
        )
    bulk.insert_rows(session, ResultRecordHousehold.__tablename__, ROW_COLUMNS, rows)
    session.expire(record, ["rows"])
    store_public_rows(session, record)
    # Tamper evidence (issue 32): the digest of the record and its rows as stored, read back.
    record.digest = digests.stored_record_digest(session, record.id)[1]
    session.flush()
    audit.record(
        session,
        actor,
        village_period,
        action="record_post",
        after={
            "record": number,
            "households": record.households,
            "rated": record.rated,
            "cleanest_awarded": record.cleanest_awarded,
            "clean_awarded": record.clean_awarded,
        },
        reason=f"公示结果存档（第{number}版）",
    )
    return record


def supersede(
    session: Session, actor: User | None, village_period: VillagePeriod, reason: str, *, correction: bool = False
) -> None:
    """Mark the current record as replaced; it stays in the history. A later publication posts the
    next version; after a ``correction`` (更正), that version says it corrects this one."""
    record = current_record(session, village_period)
    if record is None:
        return
    record.superseded_at = utcnow()
    record.superseded_reason = reason
    record.superseded_by_correction = correction
    session.flush()
    audit.record(
        session,
        actor,
        village_period,
        action="record_supersede",
        before={"record": record.number},
        after={"correction": True} if correction else None,
        reason=reason,
    )


def corrected_number(session: Session, record: ResultRecord) -> int | None:
    """The version this record corrects (更正, RULES.md §5): the one before it, when the county
    administrator sent that one back; None for a first version or one after a withdrawal or an
    upheld objection."""
    if record.number == 1:
        return None
    previous = session.scalar(
        sa.select(ResultRecord).where(
            ResultRecord.county_id == record.county_id,
            ResultRecord.village_period_id == record.village_period_id,
            ResultRecord.number == record.number - 1,
        )
    )
    return previous.number if previous is not None and previous.superseded_by_correction else None


def current_record(
    session: Session, village_period: VillagePeriod, *, public_rows: bool = False
) -> ResultRecord | None:
    """The village period's current record; with ``public_rows``, its stored rows' markup read with it
    (the column is deferred: only the public page reads it)."""
    find = sa.select(ResultRecord).where(
        ResultRecord.village_period_id == village_period.id, ResultRecord.superseded_at.is_(None)
    )
    return session.scalar(find.options(undefer(ResultRecord.public_rows)) if public_rows else find)


def current_records(session: Session, period: Period, village_ids: Sequence[int]) -> dict[int, ResultRecord]:
    """The current record of each published or final village period among these villages, by
    village id, with their household rows loaded."""
    found = session.execute(
        sa.select(VillagePeriod.village_id, ResultRecord)
        .join(ResultRecord, ResultRecord.village_period_id == VillagePeriod.id)
        .where(
            VillagePeriod.period_id == period.id,
            VillagePeriod.village_id.in_(village_ids),
            VillagePeriod.state.in_(PUBLIC_STATES),
            ResultRecord.superseded_at.is_(None),
        )
        .options(selectinload(ResultRecord.rows))
    )
    return dict(found.all())


def history(session: Session, village_period: VillagePeriod) -> list[ResultRecord]:
    """Every record version of the village period, the first first."""
    return list(
        session.scalars(
            sa.select(ResultRecord)
            .where(ResultRecord.village_period_id == village_period.id)
            .order_by(ResultRecord.number)
        )
    )


def household_table_of(records: Iterable[ResultRecord]) -> pa.Table:
    """household_results (INTERCHANGE.md §1) as the records posted them."""
    return rating.household_table(
        [
            {
                "household_code": row.household_code,
                "village_code": record.village_code,
                "self_total": row.self_total,
                "peer_total": row.peer_total,
                "peer_count": row.peer_count,
                "final_total": row.final_total,
                "grade": row.grade,
                "rank": row.rank,
                "award": row.award,
                "flags": row.flags,
            }
            for record in records
            for row in record.rows
        ]
    )


def village_table_of(records: Iterable[ResultRecord]) -> pa.Table:
    """village_results (INTERCHANGE.md §1) as the records posted them."""
    return rating.village_table(
        [
            {
                "village_code": record.village_code,
                "township_code": record.township_code,
                **{name: getattr(record, name) for name in VILLAGE_COUNTS},
                "meets_ratios": record.meets_ratios,
            }
            for record in records
        ]
    )


@dataclass(frozen=True)
class PostedRow:
    """One rated household of a posted list as the public may see it (RULES.md §6)."""

    rank: int
    household_code: str
    masked_name: str
    group_name: str
    grade: Grade
    final_total: str
    award: AwardLevel | None
    final_tenths: int = 0  # the same total in tenths, for files that store it as a number


def mask_name(name: str) -> str:
    """The public list shows the surname only (RULES.md §6): 张三丰, 张三 → 张**, always two stars, so
    that the mask does not tell how long the name is."""
    return name[:1] + "**" if name else ""


def posted_rows(
    session: Session, record: ResultRecord, *, first: int | None = None, last: int | None = None
) -> list[PostedRow]:
    """The rated households of a record in ranking order: the shown columns only, ranked by the
    database (a posted list is read far more often than anything else, RULES.md §6). ``first``:
    only the first so many; ``last``: only the last so many, the last first (the black list)."""
    R = ResultRecordHousehold
    order = (R.rank.desc(), R.household_code.desc()) if last is not None else (R.rank, R.household_code)
    found = session.execute(
        sa.select(*_POSTED_COLUMNS)
        # The county first: the rows' index leads with it; by record_id alone PostgreSQL scanned the
        # whole index, 33 of a cold page's 64 ms on the 2M prefecture (issue 34).
        .where(R.county_id == record.county_id, R.record_id == record.id, R.rank.is_not(None))
        .order_by(*order)
        .limit(first if last is None else last)
    )
    return [_posted_row(*row) for row in found]


_POSTED_COLUMNS = (
    ResultRecordHousehold.rank,
    ResultRecordHousehold.household_code,
    ResultRecordHousehold.head_name,
    ResultRecordHousehold.group_name,
    ResultRecordHousehold.grade,
    ResultRecordHousehold.final_total,
    ResultRecordHousehold.award,
)


def _posted_row(
    rank: int | None,
    code: str,
    head_name: str,
    group_name: str,
    grade: Grade | None,
    final_total: int | None,
    award: AwardLevel | None,
) -> PostedRow:
    return PostedRow(
        rank=rank or 0,  # never None: the queries take ranked rows only
        household_code=code,
        masked_name=mask_name(head_name),
        group_name=group_name,
        grade=grade or Grade.NOT_CLEAN,
        final_total=rating.total_text(final_total or 0),
        award=award,
        final_tenths=final_total or 0,
    )


# The version of ``rows_html``'s markup that a record's stored ``public_rows`` was rendered with. A
# change to the markup bumps it: records rendered before then are shown by rendering their rows
# again (``stored_public_rows`` answers None for them), as records posted before migration 0021 are.
PUBLIC_ROWS_FORMAT = 1


def rows_html(rows: Iterable[PostedRow]) -> str:
    """The public list's table rows (``web/templates/public/list.html``), escaped as its template
    escapes (markupsafe, Jinja's autoescape): the same bytes the row loop gave, but a record's list
    is rendered once when it is posted rather than on every first view (issue 34). Each row carries
    its values only; the phone card's labels and order come from the column positions (app.css)."""
    return "".join(
        f'\n<tr class="g-{escape(row.grade.value)}"><td>{row.rank}<td><a href="households/'
        f'{escape(row.household_code)}">{escape(row.household_code)}</a><td>{escape(row.masked_name)}'
        f"<td>{escape(row.final_total)}<td>{escape(row.grade.label)}"
        f"<td>{escape(row.award.label) if row.award else ''}\n    "
        for row in rows
    )


def groups_of(rows: Iterable[PostedRow]) -> list[str]:
    """The villager groups of the listed households, by name in natural order (the search's choices)."""
    return sorted({row.group_name for row in rows}, key=naming.natural_key)


def public_rows_of(rows: Sequence[PostedRow]) -> dict[str, Any]:
    """What a record stores for its public page (``ResultRecord.public_rows``): its rows' markup and
    its groups, with the markup's format."""
    return {"format": PUBLIC_ROWS_FORMAT, "html": rows_html(rows), "groups": groups_of(rows)}


def store_public_rows(session: Session, record: ResultRecord) -> None:
    """Render a record's public rows once and store them with it (``records.post``; the benchmarks'
    prefecture builder): from its rows as stored, read back as the page reads them (issue 34)."""
    record.public_rows = public_rows_of(posted_rows(session, record))
    session.flush()


def records_lacking_public_rows(session: Session) -> list[int]:
    """The ids of records whose page renders its rows on every first view: posted before migration
    0021, or stored in an older markup (``PUBLIC_ROWS_FORMAT``), oldest first."""
    stored = session.execute(sa.select(ResultRecord.id, ResultRecord.public_rows).order_by(ResultRecord.id))
    return [record_id for record_id, rows in stored if not rows or rows.get("format") != PUBLIC_ROWS_FORMAT]


def store_missing_public_rows(session: Session, record_ids: Iterable[int]) -> Iterable[int]:
    """``store_public_rows`` for each of ``record_ids`` (``records_lacking_public_rows``), yielding each
    id once stored, for a progress bar. The rows' markup is a copy of the record's rows, not a change
    to what was posted (the digest covers the rows), so it is not an audited change."""
    for record_id in record_ids:
        record = session.get(ResultRecord, record_id)
        if record is not None:
            store_public_rows(session, record)
            session.expire(record)  # a county's records one at a time, not all of them held
        yield record_id


def stored_public_rows(record: ResultRecord) -> tuple[str, list[str]] | None:
    """A record's stored rows' markup and groups, or None when it has none in today's format (posted
    before migration 0021, or rendered by an older markup): then the page renders its rows."""
    stored = record.public_rows
    if not stored or stored.get("format") != PUBLIC_ROWS_FORMAT:
        return None
    return str(stored["html"]), [str(g) for g in stored["groups"]]


CHECKED_AT_ONCE = 500  # records whose stored rows ``altered_public_rows`` reads in one statement


def altered_public_rows(session: Session, record_ids: Sequence[int]) -> list[int]:
    """The records among ``record_ids`` whose stored public rows are not what their rows render to
    (changed outside the app: the digest covers the rows, not this copy of them, ``hygiene check``).
    A record storing none, or rows in an older markup (not rendered again), is not altered. Read
    CHECKED_AT_ONCE records at a time, their stored rows in one statement and their households in
    another, not two statements a record (4,650 records on the 2M prefecture)."""
    R = ResultRecordHousehold
    altered = []
    for start in range(0, len(record_ids), CHECKED_AT_ONCE):
        ids = list(record_ids[start : start + CHECKED_AT_ONCE])
        stored = {
            record_id: (county_id, public_rows)
            for record_id, county_id, public_rows in session.execute(
                sa.select(ResultRecord.id, ResultRecord.county_id, ResultRecord.public_rows).where(
                    ResultRecord.id.in_(ids)
                )
            )
            if public_rows and public_rows.get("format") == PUBLIC_ROWS_FORMAT
        }
        if not stored:
            continue
        rows: dict[int, list[PostedRow]] = {record_id: [] for record_id in stored}
        found = session.execute(
            sa.select(R.record_id, *_POSTED_COLUMNS)
            # the county first, as the rows' index leads with it (``posted_rows``)
            .where(
                R.county_id.in_({county_id for county_id, _ in stored.values()}),
                R.record_id.in_(list(stored)),
                R.rank.is_not(None),
            )
            .order_by(R.record_id, R.rank, R.household_code)
        )
        for record_id, rank, code, head_name, group_name, grade, final_total, award in found:
            rows[record_id].append(_posted_row(rank, code, head_name, group_name, grade, final_total, award))
        altered += [
            record_id
            for record_id in ids
            if record_id in stored and stored[record_id][1] != public_rows_of(rows[record_id])
        ]
    return altered
