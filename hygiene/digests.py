"""Tamper evidence (issue 32): the SHA-256 digest of a posted record and the hash chain of the
audit log, computed in one canonical way by the code that stores them (``records.post``,
``audit.record``), the code that verifies them (``hygiene check``) and migration 0013, which gave
the rows stored before it theirs.

A record's digest covers the record's own fields as posted (not the ``superseded_*`` and
``plaques_applied_at`` stamps set later) and every household row, in household code order. An
audit entry's hash covers the entry's fields and the hash of the county's entry before it
(``prev_hash``; none for a county's first), so that changing, removing or inserting an entry
anywhere but at the end breaks every link after it.

The rows are read through light table objects naming only the columns digested, with the few
types that need one (timestamps, JSON, booleans), so that SQLite and PostgreSQL, and every later
schema, read the same canonical values.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from hygiene.models._types import UTCDateTime

RECORD_FIELDS: tuple[str, ...] = (
    "id", "county_id", "village_period_id", "number", "posted_at", "posted_by_id", "period_code",
    "township_code", "township_name", "village_code", "village_name", "rubric_version_id", "settings",
    "households", "rated", "cleanest", "clean", "fairly_clean", "not_clean", "cleanest_floor", "clean_floor",
    "cleanest_quota", "clean_quota", "cleanest_awarded", "clean_awarded", "cleanest_shortfall",
    "clean_shortfall", "meets_ratios",
)  # fmt: skip
ROW_FIELDS: tuple[str, ...] = (
    "county_id", "record_id", "household_id", "household_code", "head_name", "group_code", "group_name",
    "self_total", "peer_total", "peer_count", "final_total", "grade", "rank", "award", "flags",
    "group_scores", "peer_means",
)  # fmt: skip
AUDIT_FIELDS: tuple[str, ...] = (
    "county_id", "at", "user_id", "actor", "entity", "entity_id", "action", "before", "after", "reason",
)  # fmt: skip

_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "posted_at": UTCDateTime(),
    "at": UTCDateTime(),
    "settings": sa.JSON(),
    "group_scores": sa.JSON(),
    "peer_means": sa.JSON(),
    "before": sa.JSON(),
    "after": sa.JSON(),
    "meets_ratios": sa.Boolean(),
}


def _light_table(name: str, fields: Sequence[str]) -> sa.TableClause:
    names = fields if "id" in fields else ("id", *fields)
    return sa.table(name, *(sa.column(f, _TYPES.get(f)) for f in names))


RECORDS = _light_table("result_records", (*RECORD_FIELDS, "digest"))
RECORD_ROWS = _light_table("result_record_households", ROW_FIELDS)
AUDIT_LOG = _light_table("audit_log", (*AUDIT_FIELDS, "prev_hash", "hash"))


_PLAIN = frozenset({str, int, bool, float, type(None)})  # exact types, as JSON has them (not enums)


def _canonical(value: Any) -> Any:
    # Exact types first (issue 34: a county's roster hashes 198,500 entries); then as before.
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, int | float | str):
        return value
    raise TypeError(f"cannot digest a {type(value).__name__}")


def _json_ready(value: Any) -> bool:
    """Whether ``value`` is already its own canonical form: dicts with keys of the exact type str,
    lists, and values of the exact JSON types. Such a value is written by ``json.dumps`` exactly as
    ``_canonical``'s copy of it would be (a key of another type is where the two could differ:
    ``_canonical`` makes it ``str(key)`` before the keys are sorted)."""
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and (type(v) in _PLAIN or _json_ready(v)) for k, v in value.items())
    if kind is list:
        return all(type(v) in _PLAIN or _json_ready(v) for v in value)
    return kind in _PLAIN


# json.dumps with these arguments builds this encoder on every call: built once, the same text
# (issue 34: 1 µs of an audit entry's 12).
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _sha256(value: Any) -> str:
    # A value that is its own canonical form is not copied (issue 34: an audit entry's fields are,
    # but for the time, which entry_hash makes canonical first).
    canonical = value if _json_ready(value) else _canonical(value)
    return hashlib.sha256(_CANONICAL_JSON.encode(canonical).encode("utf-8")).hexdigest()


_last_instant: tuple[object, str] = (None, "")


def _instant(at: Any) -> Any:
    """``_canonical(at)``, remembered for the last object given: the entries one ``record_many``
    writes share their time (1.5 µs an entry, 0.3 s of a county's roster)."""
    global _last_instant
    last = _last_instant  # one read: another thread may replace it meanwhile
    if last[0] is at:
        return last[1]
    text = _canonical(at)
    _last_instant = (at, text)
    return text


def entry_hash(prev_hash: str | None, fields: Mapping[Any, Any]) -> str:
    """The hash of an audit entry: its fields (``AUDIT_FIELDS``) and its predecessor's hash."""
    return _sha256({"prev": prev_hash or "", **{f: fields[f] for f in AUDIT_FIELDS}, "at": _instant(fields["at"])})


def record_digest(record: Mapping[Any, Any], rows: Sequence[Mapping[Any, Any]]) -> str:
    """The digest of a record (``RECORD_FIELDS``) and its household rows (``ROW_FIELDS``)."""
    ordered = sorted(rows, key=lambda row: str(row["household_code"]))
    table = [[row[f] for f in ROW_FIELDS] for row in ordered]
    # The record's fields made canonical alone: its time would otherwise have every row copied
    # too, though rows as read are their own canonical form (issue 34: 5 ms a publication).
    return _sha256(
        {
            "record": _canonical({f: record[f] for f in RECORD_FIELDS}),
            "rows": table if _json_ready(table) else _canonical(table),
        }
    )


def stored_record_digest(connection: sa.Connection | Any, record_id: int) -> tuple[str | None, str]:
    """A stored record's digest as stored (None if it has none) and as its rows compute it now.
    ``connection`` is a Connection or a Session."""
    record = connection.execute(sa.select(RECORDS).where(RECORDS.c.id == record_id)).mappings().one()
    # The county first: the rows' index leads with it (a scan of the whole index otherwise).
    rows = (
        connection.execute(
            sa.select(RECORD_ROWS).where(
                RECORD_ROWS.c.county_id == record["county_id"], RECORD_ROWS.c.record_id == record_id
            )
        )
        .mappings()
        .all()
    )
    return record["digest"], record_digest(record, rows)


def record_digests(
    connection: sa.Connection | Any, county_id: int | None = None
) -> Iterator[tuple[int, str | None, str]]:
    """Every record (of one county, or all) as (id, stored digest, digest computed now): one
    query for the records and one streamed query for all their rows, in record order."""
    where = [] if county_id is None else [RECORDS.c.county_id == county_id]
    records = connection.execute(sa.select(RECORDS).where(*where).order_by(RECORDS.c.id)).mappings().all()
    if not records:
        return
    row_where = [] if county_id is None else [RECORD_ROWS.c.county_id == county_id]
    rows = connection.execute(
        sa.select(RECORD_ROWS).where(*row_where).order_by(RECORD_ROWS.c.record_id),
        execution_options={"yield_per": 5000},
    ).mappings()
    pending = next(rows, None)
    for record in records:
        own: list[Mapping[Any, Any]] = []
        while pending is not None and pending["record_id"] < record["id"]:
            pending = next(rows, None)  # a row of no record: the foreign key check names it
        while pending is not None and pending["record_id"] == record["id"]:
            own.append(pending)
            pending = next(rows, None)
        yield record["id"], record["digest"], record_digest(record, own)


def audit_chain(connection: sa.Connection | Any, county_id: int) -> Iterator[tuple[Mapping[Any, Any], str]]:
    """A county's audit entries in order, each with the hash its fields and its predecessor's
    stored hash give now (equal to its stored hash when nothing was altered)."""
    entries = connection.execute(
        sa.select(AUDIT_LOG).where(AUDIT_LOG.c.county_id == county_id).order_by(AUDIT_LOG.c.id),
        execution_options={"yield_per": 5000},
    ).mappings()
    for entry in entries:
        yield entry, entry_hash(entry["prev_hash"], entry)
