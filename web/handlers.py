"""The shape of every request (docs/architecture.md, "Requests"): a view loads what it needs through
``load`` (404 unless the object exists and belongs to the place the URL names), then hands its one
change to ``save``, the only place in ``web/`` that commits or rolls back a request's transaction.

``save`` runs the change in the request's session and

* commits, and flashes ``done``, when the change succeeded;
* rolls back on ``FieldErrors`` and puts each message next to its field of ``form`` (flashing the
  joined message too), so that the view shows the page again with what was typed;
* rolls back on any other ``ServiceError`` and flashes its Chinese message;
* lets ``Conflict`` (a version or state guard lost a race) through: web.errors answers every conflict
  with the 409 page, rendered from a fresh session.

A save sent from a phone carries an idempotency key (issue 31, ``web/field.py``): given ``once``,
``save`` takes the key before the change and stores the answer (where it sends the user, and what it
says) beside it, in the transaction it commits; a twin request that committed the key first makes
this one roll back and give that one's answer. The view answers with ``Saved.answer``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import abort, current_app, flash
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from hygiene.models import User
from hygiene.services import idempotency
from hygiene.services.errors import Conflict, FieldErrors, ServiceError
from web.database import get_session

T = TypeVar("T")
S = TypeVar("S")
R = TypeVar("R")


@dataclass(frozen=True)
class Saved(Generic[T]):
    """What ``save`` did: ``ok`` when committed (``value`` is the change's result), else refused
    (``field_errors`` when the refusal was put on the form's fields, so that the page is shown again;
    ``error`` the refusal itself, for a view whose answer depends on which it was)."""

    ok: bool
    value: T | None = None
    field_errors: bool = False
    error: ServiceError | None = None
    answer: idempotency.Answer | None = None  # with ``once``: the answer to give (stored under its key)

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class Once:
    """A save made at most once (web/field.py ``SaveOnce``): the key the phone sent (None: a plain
    save), the digest of what it sent, the account and county the key is filed under, and where the
    answer sends the user, from the change's result. ``save`` does not flash ``done``: the view
    answers with ``Saved.answer`` (JSON for the offline queue, a flash and a redirect for a page)."""

    key: str | None
    digest: str
    user: User
    county_id: int
    location: Callable[[Any], str]


def save(
    change: Callable[[Session], T],
    *,
    done: str | Callable[[T], str] | None = None,
    form: FlaskForm | None = None,
    field: Callable[[str], str] | None = None,
    refusal_field: str | None = None,
    commit_on: tuple[type[Exception], ...] = (),
    once: Once | None = None,
) -> Saved[T]:
    """Run ``change(session)`` and commit once, or roll back and say why (see the module's docstring).

    ``field`` maps a key of ``FieldErrors`` to the form's field name (default: the key itself); a key
    with no such field goes to the form's own errors. ``refusal_field`` names the field a plain
    ``ServiceError`` is shown next to instead of being flashed. ``commit_on`` lists exceptions that
    are raised on after committing what the change wrote (a refused login still counts the attempt).
    ``once`` makes the save idempotent (see the module's docstring).
    """
    session = get_session()
    try:
        claimed = None
        if once is not None and once.key is not None:
            claimed = idempotency.claim(session, once.user, once.county_id, once.key, once.digest)
        value = change(session)
        if once is not None:
            message = "" if done is None else done if isinstance(done, str) else done(value)
            answer = idempotency.Answer(200, once.location(value), message)
            if claimed is not None:
                idempotency.settle(session, claimed, answer)
    except commit_on:  # first: a refused login is a ServiceError that must still count
        session.commit()
        raise
    except FieldErrors as exc:
        session.rollback()
        flash(str(exc), "error")
        if form is None:
            return Saved(ok=False, error=exc)
        for key, message in exc.errors.items():
            name = field(key) if field else key
            if name in form:
                form[name].errors = [*_errors_list(form[name].errors), message]
            else:
                form.form_errors.append(message)
        return Saved(ok=False, field_errors=True, error=exc)
    except ServiceError as exc:
        session.rollback()
        if form is not None and refusal_field is not None:
            form[refusal_field].errors = [str(exc)]
            return Saved(ok=False, field_errors=True, error=exc)
        flash(str(exc), "error")
        return Saved(ok=False, error=exc)
    except idempotency.KeyInFlight:
        assert once is not None and once.key is not None
        session.rollback()
        return _answered_by_twin(session, once)
    session.commit()
    if once is not None:
        return Saved(ok=True, value=value, answer=answer)
    if done is not None:
        flash(done if isinstance(done, str) else done(value), "success")
    return Saved(ok=True, value=value)


def _answered_by_twin(session: Session, once: Once) -> Saved[Any]:
    """The same key was committed by a twin request while this one worked: its answer, or its
    refusal when the twin sent other values under the key."""
    assert once.key is not None
    try:
        stored = idempotency.lookup(session, once.user, once.key, once.digest)
    except idempotency.KeyRejected as exc:
        return Saved(ok=False, error=exc)
    if stored is None:  # the twin rolled back after all: nothing was saved, the phone sends again
        return Saved(ok=False, error=ServiceError("保存未完成，请重试"))
    return Saved(ok=True, answer=stored)


def save_streamed(
    steps: Generator[S, None, R],
    *,
    done: Callable[[R], S],
    refused: Callable[[Exception], S],
    failed: Callable[[], S],
    refusals: tuple[type[Exception], ...] = (),
) -> Iterator[S]:
    """``save`` for a change whose page is sent while it works (a long import): pass ``steps`` on,
    then commit and yield ``done(result)``; or roll back and yield ``refused(error)`` for a
    ServiceError, a Conflict or one of ``refusals``, ``failed()`` for anything else (logged: the page
    has started, so no error page can follow). An error or a closed page writes nothing."""
    session = get_session()
    caught: tuple[type[Exception], ...] = (ServiceError, Conflict, *refusals)
    try:
        result = yield from steps
        session.commit()
    except caught as exc:
        session.rollback()
        yield refused(exc)
    except Exception:
        session.rollback()
        current_app.logger.exception("a streamed change failed")
        yield failed()
    else:
        yield done(result)


def _errors_list(errors: Any) -> list[str]:
    return list(errors) if isinstance(errors, list | tuple) else []


def load(getter: Callable[..., T | None], *args: Any, belongs: Callable[[T], bool] | None = None) -> T:
    """``getter(session, *args)``, one of the services' loaders, when it finds the object and
    ``belongs(object)`` holds; else 404 (another unit's object is "not found", never "forbidden":
    its existence is not told). A loader refusing the identifier itself (a malformed period code)
    is "not found" too."""
    try:
        found = getter(get_session(), *args)
    except ServiceError:  # NotFound, or an identifier no object can have
        abort(404)
    if found is None or (belongs is not None and not belongs(found)):
        abort(404)
    return found
