"""Errors that services raise for people to read. Messages are Chinese and name what is wrong."""

from __future__ import annotations


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
