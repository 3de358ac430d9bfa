"""The append-only audit log: every change to a score, an approval, a plaque, a star or an
account is recorded here by the service that makes it, in the same transaction."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.models import AuditEntry, User

SYSTEM_ACTOR = "system"


def _jsonable(value: Any) -> Any:
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


def record(
    session: Session,
    actor: User | None,
    *,
    entity: str,
    entity_id: object,
    action: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        user_id=actor.id if actor is not None else None,
        actor=actor.username if actor is not None else SYSTEM_ACTOR,
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        reason=reason,
    )
    session.add(entry)
    return entry


def history(session: Session, entity: str, entity_id: object) -> list[AuditEntry]:
    return list(
        session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id))
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
