"""Errors that services raise for people to read. Messages are Chinese and name what is wrong."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError


class ServiceError(Exception):
    """A rule refused the request; nothing was written. ``str(error)`` is shown to the user."""


class FieldErrors(ServiceError):
    """Field-level problems: ``errors`` maps a form field's name to its Chinese message, for showing
    next to the field; ``str(error)`` joins them for the command line and the page's message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(errors.values()))
        self.errors = errors


class NotFound(ServiceError):
    pass


class PermissionDenied(ServiceError):
    pass


class Conflict(Exception):
    """Someone else changed the row since it was read (optimistic concurrency), or won a race for a
    unique row. Not a ServiceError, so that no view handles it on its own: every conflict takes one
    path (the web answers the Chinese 409 page from a clean session; the command exits 1)."""

    DEFAULT = "数据已被他人修改，请刷新后重试"

    def __init__(self, message: str = DEFAULT) -> None:
        super().__init__(message)


def state_digest(values: object) -> str:
    """A short digest of the values a page showed, posted back with its form, for the rows that carry
    no version column (a county's settings, its rollout plan, its villages' programme years)."""
    text = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def check_unchanged(shown: str | None, current: object, what: str) -> None:
    """Refuse a save made on a page showing ``what`` as it no longer is (RELIABILITY.md: lost
    updates): someone saved it in between. ``shown`` is the page's `state_digest`; ``None`` (the
    command line, which reads and writes at once) checks nothing."""
    if shown is not None and shown != state_digest(current):
        raise Conflict(f"{what}已被他人修改，本次未保存；请刷新查看最新内容后重新填写")


IMPORT_CONFLICT = "导入期间数据已被他人修改，未写入任何数据，请重新上传"


def flush_or_conflict(session: Session) -> None:
    """One flush for a whole sheet, so that the inserts go out in batches. Someone saving the same
    review or household between the plan and now is a conflict, never a half-written import."""
    try:
        session.flush()
    except (sa.exc.IntegrityError, StaleDataError):
        raise Conflict(IMPORT_CONFLICT) from None
