"""Saves sent more than once (issue 31): a phone on a weak network retries, a clerk taps twice, a
queued save is sent again after the server answered but the answer was lost. Each save carries a
key the phone made (the ``Idempotency-Key`` header of the IETF httpapi draft, or a hidden field);
the first save under a key is stored with the digest of what it sent and the answer it got. The
same key again with the same values gets that answer and writes nothing; with other values it is
refused (the draft's 422) and writes nothing. Keys belong to the account that sent them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hygiene.models import IdempotencyKey, User
from hygiene.services.errors import ServiceError

HEADER = "Idempotency-Key"
FIELD = "idempotency_key"
# A UUID from the phone, or any opaque token of letters, digits and - _ . : (the draft leaves the
# format to the server); long enough not to collide by chance, short enough to index.
KEY_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{16,80}")


class KeyRejected(ServiceError):
    """The key is malformed, or was used before for a save with other values (HTTP 422)."""


class KeyInFlight(Exception):
    """Another request with the same key committed first (a race of two sends): roll back this one
    and answer with what that one stored."""


@dataclass(frozen=True)
class Answer:
    """The answer a save got: its HTTP status, where it sent the user next, and what it said."""

    status: int
    location: str
    message: str


def check_key(key: str) -> str:
    key = key.strip()
    if not KEY_PATTERN.fullmatch(key):
        raise KeyRejected("保存编号（Idempotency-Key）格式不对：应为 16–80 个字母、数字或 - _ . :")
    return key


def fingerprint(method: str, path: str, fields: Iterable[tuple[str, str]], files: Iterable[tuple[str, bytes]]) -> str:
    """A digest of a save: the method, the path with its query, every form value (the CSRF token and
    the key itself left out: a resend after logging in again carries a new token) and every file's
    content. Field order does not matter; a repeated field's values keep their order."""
    skipped = {"csrf_token", FIELD}
    values = sorted((name, value) for name, value in fields if name not in skipped)
    digests = sorted((name, hashlib.sha256(content).hexdigest()) for name, content in files)
    text = json.dumps([method.upper(), path, values, digests], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def lookup(session: Session, user: User, key: str, digest: str) -> Answer | None:
    """The answer stored for this account's key, or None if the key is new. Raises ``KeyRejected``
    when the key was used for a save with other values."""
    row = session.scalar(sa.select(IdempotencyKey).where(IdempotencyKey.user_id == user.id, IdempotencyKey.key == key))
    if row is None:
        return None
    if row.fingerprint != digest:
        raise KeyRejected("这个保存编号已用于另一份内容不同的保存，本次未保存；请刷新页面后重新填写")
    return Answer(row.status, row.location, row.message)


def claim(session: Session, user: User, county_id: int, key: str, digest: str) -> IdempotencyKey:
    """Take this account's key for a save, before the save's change, in the save's own transaction
    (flushed: a twin request sending the same key waits on the unique index until this one commits
    or rolls back). Raises ``KeyInFlight`` when another transaction committed the key first; the
    caller rolls back and answers with ``lookup``. ``settle`` stores the answer once it is known."""
    row = IdempotencyKey(
        county_id=county_id, user_id=user.id, key=key, fingerprint=digest, status=0, location="", message=""
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise KeyInFlight() from None
    return row


def settle(session: Session, row: IdempotencyKey, answer: Answer) -> None:
    """Store the answer the save under ``row``'s key got (in the same transaction as the save)."""
    row.status = answer.status
    row.location = answer.location[:500]
    row.message = answer.message[:500]
    session.flush()


def remember(session: Session, user: User, county_id: int, key: str, digest: str, answer: Answer) -> None:
    """``claim`` and ``settle`` at once, for a save whose answer is known before it is stored."""
    settle(session, claim(session, user, county_id, key, digest), answer)
