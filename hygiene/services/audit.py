"""The append-only audit log: every change to a score, an approval, a plaque, a star or an
account is recorded here by the service that makes it, in the same transaction."""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import digests
from hygiene.db import Base
from hygiene.models import (
    AccountabilityCase,
    AuditEntry,
    Cadre,
    County,
    Group,
    Household,
    InspectionTeam,
    Notice,
    Objection,
    Period,
    Plaque,
    SpotCheck,
    Township,
    UnannouncedVisit,
    User,
    Village,
    VillagePeriod,
    VisitCheck,
)
from hygiene.models._types import utcnow
from hygiene.services import bulk

SYSTEM_ACTOR = "system"
_PLAIN = frozenset({str, int, bool, float, type(None)})
CHAIN_LOCK = 0x6175  # the first key of the audit chain's PostgreSQL advisory locks ("au"); the second is the county

# The entity types recorded on a row of a table with its county, by that row's id (as text). A
# village period's quota and assessment are recorded on the village period's id; ``user``,
# ``county`` and ``inspection_assignment`` are placed by ``entity_county``.
ENTITY_TABLES: dict[str, sa.FromClause] = {
    "household": Household.__table__,
    "village_period": VillagePeriod.__table__,
    "award_quota": VillagePeriod.__table__,
    "village_assessment": VillagePeriod.__table__,
    "notice": Notice.__table__,
    "objection": Objection.__table__,
    "plaque": Plaque.__table__,
    "spot_check": SpotCheck.__table__,
    "inspection_team": InspectionTeam.__table__,
    "cadre": Cadre.__table__,
    "accountability_case": AccountabilityCase.__table__,
    "unannounced_visit": UnannouncedVisit.__table__,
    "visit_check": VisitCheck.__table__,
    "township": Township.__table__,
    "village": Village.__table__,
    "group": Group.__table__,
}


def _jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:  # exact types first: a county's roster writes 198,500 entries
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def snapshot(obj: object, fields: Sequence[str]) -> dict[str, Any]:
    """The named attributes of a row, as JSON-ready values, for ``before``/``after``."""
    return {f: _jsonable(getattr(obj, f)) for f in fields}


# The kind an entry names for a row of each class (``kind=`` overrides it: a village period's quota
# and assessment are recorded as ``award_quota`` and ``village_assessment`` on the village period).
ENTITY_KINDS: dict[type[Base], str] = {
    County: "county",
    Township: "township",
    Village: "village",
    Group: "group",
    Household: "household",
    VillagePeriod: "village_period",
    Notice: "notice",
    Objection: "objection",
    Plaque: "plaque",
    SpotCheck: "spot_check",
    InspectionTeam: "inspection_team",
    Cadre: "cadre",
    AccountabilityCase: "accountability_case",
    UnannouncedVisit: "unannounced_visit",
    VisitCheck: "visit_check",
    User: "user",
}


def _county_of(subject: Base) -> int:
    if isinstance(subject, County):
        return subject.id
    county_id = getattr(subject, "county_id", None)
    if not isinstance(county_id, int):
        raise TypeError(f"{type(subject).__name__} has no county: pass county_id")
    return county_id


def record(
    session: Session,
    actor: User | None,
    subject: Base | None = None,
    *,
    action: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
    kind: str | None = None,
    entity_id: object = None,
    county_id: int | None = None,
) -> AuditEntry:
    """One entry for a change to ``subject`` (the row changed): its kind, id and county are read
    from it. Without a subject (a bulk write that has only ids), ``kind``, ``entity_id`` and
    ``county_id`` are given; ``kind`` alone may override the subject's (``award_quota``), and
    ``county_id`` is given for a row without a county of its own (a user account)."""
    fields = _fields(
        actor, subject, utcnow(), action, before, after, reason, kind=kind, entity_id=entity_id, county_id=county_id
    )
    # The hash chain (issue 32): each entry carries its county's previous entry's hash. The chain's
    # head is read under a lock held to the end of the transaction (PostgreSQL: an advisory lock per
    # county; SQLite: the write lock this transaction holds), so two transactions never chain onto
    # the same entry; the entry is inserted at once, so the next one in this transaction follows it.
    session.flush()
    prev_hash = _chain_head(session, fields["county_id"])
    entry = AuditEntry(**fields, prev_hash=prev_hash, hash=digests.entry_hash(prev_hash, fields))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Change:
    """One change for ``record_many``, as the arguments of ``record``: the row changed (its kind, id
    and county read from it after the flush that gives a new row its id), or, for a row written in
    bulk without an ORM object, ``kind``, ``entity_id`` and ``county_id``."""

    subject: Base | None
    action: str
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    reason: str | None = None
    kind: str | None = None
    entity_id: object = None
    county_id: int | None = None


def record_many(session: Session, actor: User | None, changes: Iterable[Change]) -> int:
    """``record`` for many changes at once (a county's roster, issue 34): the same entries in the
    same order and the same hash chain, each county's head read once under its lock and the
    entries written in one bulk insert instead of a flush and a query each. Returns how many."""
    session.flush()  # new rows get their ids, earlier entries of this transaction are in the chain
    at = utcnow()
    rows = [
        _fields(
            actor,
            c.subject,
            at,
            c.action,
            c.before,
            c.after,
            c.reason,
            kind=c.kind,
            entity_id=c.entity_id,
            county_id=c.county_id,
        )
        for c in changes
    ]
    heads: dict[int, str | None] = {}
    for fields in rows:
        county_id = fields["county_id"]
        if county_id not in heads:
            heads[county_id] = _chain_head(session, county_id)
        fields["prev_hash"] = heads[county_id]
        fields["hash"] = heads[county_id] = digests.entry_hash(fields["prev_hash"], fields)
    if rows and bulk.is_postgresql(session):
        # In list order (COPY): ids ascend as the chain runs; JSON as its text.
        bulk.insert_rows(
            session,
            "audit_log",
            _COLUMNS,
            [tuple(_json_text(row[c]) if c in _JSON else row[c] for c in _COLUMNS) for row in rows],
        )
    elif rows:
        bulk.insert_many(session, cast(sa.Table, AuditEntry.__table__), rows)  # in list order
    return len(rows)


_COLUMNS = (*digests.AUDIT_FIELDS, "prev_hash", "hash")
_JSON = frozenset({"before", "after"})


_JSON_TEXT = json.JSONEncoder(ensure_ascii=False)  # json.dumps's text, its encoder built once (3 µs a row)


def _json_text(value: Any) -> str | None:
    return None if value is None else _JSON_TEXT.encode(value)


def _fields(
    actor: User | None,
    subject: Base | None,
    at: dt.datetime,
    action: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    reason: str | None,
    *,
    kind: str | None = None,
    entity_id: object = None,
    county_id: int | None = None,
) -> dict[str, Any]:
    if subject is not None:
        kind = kind or ENTITY_KINDS[type(subject)]
        entity_id = subject.id if entity_id is None else entity_id  # type: ignore[attr-defined]
        county_id = _county_of(subject) if county_id is None else county_id
    if kind is None or entity_id is None or county_id is None:
        raise TypeError("audit.record needs a subject, or kind, entity_id and county_id")
    return {
        "county_id": county_id,
        "at": at,
        "user_id": actor.id if actor is not None else None,
        "actor": actor.username if actor is not None else SYSTEM_ACTOR,
        "entity": kind,
        "entity_id": str(entity_id),
        "action": action,
        "before": _jsonable(before) if before is not None else None,
        "after": _jsonable(after) if after is not None else None,
        "reason": reason,
    }


def _chain_head(session: Session, county_id: int) -> str | None:
    """The hash of the county's last entry, its chain locked to the end of the transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(CHAIN_LOCK, county_id)))
    return session.scalar(
        sa.select(AuditEntry.hash).where(AuditEntry.county_id == county_id).order_by(AuditEntry.id.desc()).limit(1)
    )


def history(session: Session, entity: str, entity_id: object, *, county_id: int) -> list[AuditEntry]:
    """An entity's entries, oldest first, read by the entity's county as well (the index
    ``ix_audit_log_entity`` leads with it, issue 20)."""
    return list(
        session.scalars(
            sa.select(AuditEntry)
            .where(
                AuditEntry.county_id == county_id,
                AuditEntry.entity == entity,
                AuditEntry.entity_id == str(entity_id),
            )
            .order_by(AuditEntry.id)
        )
    )


def actor_label(session: Session, username: str) -> str:
    """Who made a change, as the office knows them: the account's name and role (张文书（村委会）),
    "系统" for the system, the bare username for an account no longer found."""
    if username == SYSTEM_ACTOR:
        return "系统"
    user = session.scalar(sa.select(User).where(User.username == username))
    return f"{user.display_name}（{user.role.label}）" if user is not None else username


def entity_county() -> sa.ColumnElement[int | None]:
    """The county of an entry's entity, read from the entity's row (a correlated subquery on
    ``audit_log``): NULL for an entity type not known here or an entity whose row is missing. The
    entry's own ``county_id`` must equal it (``counties.county_mismatches``, issue 20); migration
    0012 filled the column the same way."""
    entity_id = sa.cast(AuditEntry.entity_id, sa.Integer)
    counties: dict[str, sa.ScalarSelect[int | None]] = {
        entity: sa.select(table.c.county_id).where(table.c.id == entity_id).scalar_subquery()
        for entity, table in ENTITY_TABLES.items()
    }
    counties["county"] = sa.select(County.id).where(County.id == entity_id).scalar_subquery()
    counties["user"] = (  # the account's own county: county staff's, or its township's or village's
        sa.select(sa.func.coalesce(User.county_id, Township.county_id, Village.county_id))
        .select_from(User)
        .outerjoin(Township, Township.id == User.township_id)
        .outerjoin(Village, Village.id == User.village_id)
        .where(User.id == entity_id)
        .scalar_subquery()
    )
    counties["inspection_assignment"] = (  # "2026Q4:52099901": the period's code and the township's
        sa.select(Township.county_id)
        .join(Period, Period.county_id == Township.county_id)
        .where(Period.code + ":" + Township.code == AuditEntry.entity_id)
        .scalar_subquery()
    )
    return sa.case(*((AuditEntry.entity == entity, county) for entity, county in counties.items()), else_=sa.null())
