"""Uploaded sheets waiting for the clerk's confirmation: kept in the instance folder under a name
made of the signed-in user's id and a random id (never the user's file name: RELIABILITY.md trap
8), the random id remembered in the signed session cookie. The file is looked up from the server's
own knowledge of who is signed in and an id that must be 32 hex digits, never from a path the
client sends: even a forged cookie (a leaked secret key) reaches only its own user's uploads."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app, flash, redirect, render_template, request, session, stream_template
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from hygiene.io.sheets import COUNTY_SHEET_LIMITS, MAX_UPLOAD_BYTES, UploadRejected
from hygiene.services.errors import ServiceError
from web.forms import ConfirmImportForm
from web.handlers import save, save_streamed

PENDING_KEY = "pending_upload"
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}", re.ASCII)
# An upload nobody confirmed (the clerk closed the page) is removed by the next upload after this.
ABANDONED_AFTER_SECONDS = 24 * 3600


# Pages whose upload may hold a whole county (INTERCHANGE.md §2.1); every other request keeps the
# app's MAX_CONTENT_LENGTH.
COUNTY_UPLOAD_ENDPOINTS = frozenset({"county.upload_units", "county.upload_roster"})


def init_app(app: Flask) -> None:
    """Registered before CSRF protection, which reads the form (and so the body) before any view."""
    app.before_request(_allow_county_uploads)


def _allow_county_uploads() -> None:
    if request.endpoint in COUNTY_UPLOAD_ENDPOINTS:
        request.max_content_length = COUNTY_SHEET_LIMITS["max_bytes"] + 1024 * 1024


@dataclass(frozen=True)
class PendingUpload:
    purpose: str
    file_name: str
    data: bytes


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def read(storage: FileStorage, max_bytes: int = MAX_UPLOAD_BYTES) -> bytes:
    """The upload's bytes, reading at most one byte past the limit (the reader names the limit)."""
    return storage.stream.read(max_bytes + 1)


def _path(upload_id: object) -> Path | None:
    """Where the signed-in user's upload ``upload_id`` is kept; None for anything but 32 hex digits."""
    if not isinstance(upload_id, str) or not _UPLOAD_ID.fullmatch(upload_id):
        return None
    return _folder() / f"{int(current_user.id)}-{upload_id}"


def keep(purpose: str, file_name: str, data: bytes) -> None:
    discard()
    _remove_abandoned(_folder())
    upload_id = secrets.token_hex(16)
    path = _path(upload_id)
    assert path is not None
    path.write_bytes(data)
    session[PENDING_KEY] = {"token": upload_id, "purpose": purpose, "file_name": str(file_name)[:200]}


def take(purpose: str) -> PendingUpload | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("purpose") != purpose:
        return None
    path = _path(pending.get("token"))
    if path is None or not path.is_file():
        return None
    return PendingUpload(purpose, str(pending.get("file_name", "")), path.read_bytes())


def discard() -> None:
    pending = session.pop(PENDING_KEY, None)
    path = _path(pending.get("token")) if isinstance(pending, dict) else None
    if path is not None:
        path.unlink(missing_ok=True)


def _remove_abandoned(folder: Path) -> None:
    cutoff = time.time() - ABANDONED_AFTER_SECONDS
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:  # another worker removed it first
            pass


def confirm(purpose: str, write: Callable[[PendingUpload], str], *, retry_url: str, done_url: str) -> Response:
    """The confirm step of every import page: the pending upload is planned again against the data
    as it is now (the village may have been submitted, a household moved, since the preview) and
    written by ``write``, which returns what to tell the user; or nothing is written and the user is
    told why and sent back to upload again."""
    pending = take(purpose)
    if not ConfirmImportForm().validate_on_submit() or pending is None:
        flash("没有待确认的上传文件，请重新上传", "error")
        return redirect(retry_url)

    def change(_session: object) -> str:
        try:
            return write(pending)
        except (UploadRejected, ServiceError) as exc:
            raise ServiceError(f"导入失败，未写入任何数据：{exc}") from exc

    saved = save(change, done=lambda done: done)
    if not saved:
        return redirect(retry_url)
    discard()
    return redirect(done_url)


def cancel(purpose: str, back_url: str) -> Response:
    """The user read the preview and does not want it: the pending upload is removed, nothing written."""
    pending = take(purpose)
    if ConfirmImportForm().validate_on_submit() and pending is not None:
        discard()
        flash(f"已取消导入 {pending.file_name}，未写入任何数据", "success")
    return redirect(back_url)


def preview(
    purpose: str,
    template: str,
    context: dict[str, Any],
    check: Callable[[bytes, str], object],
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> ResponseReturnValue:
    """The upload step of every import page: the form's file checked by ``check(data, file name)``,
    which returns the plan to preview; every problem listed (422), or the plan shown and the file
    kept for the confirm step (``confirm``)."""
    form = context["form"]
    if not form.validate_on_submit():
        return render_template(template, **context)
    name = form.file.data.filename or "upload"
    data = read(form.file.data, max_bytes)
    try:
        plan = check(data, name)
    except UploadRejected as exc:
        return render_template(template, **context, rejected=exc, file_name=name), 422
    except ServiceError as exc:
        flash(str(exc), "error")
        return render_template(template, **context), 422
    keep(purpose, name, data)
    return render_template(template, **context, plan=plan, file_name=name)


@dataclass(frozen=True)
class Step:
    """One line of a long import's progress: what it is doing, how far (``done`` of ``total``,
    none for a step that cannot count), and at the end whether it succeeded."""

    text: str
    done: int = 0
    total: int = 0
    outcome: str = ""  # "success" or "error" on the last step


def confirm_streamed(
    purpose: str,
    write: Callable[[PendingUpload], Generator[Step, None, str]],
    *,
    heading: str,
    retry_url: str,
    done_url: str,
) -> ResponseReturnValue:
    """The confirm step of an import long enough to watch (a county-wide roster): like ``confirm``,
    but the page is sent as the work goes, one step a line (the stylesheet shows the latest), so the
    administrator sees the households being written instead of a page that seems to hang. ``write``
    yields its steps and returns what to tell the user; the transaction is committed only at the end,
    so an error, or a closed page, writes nothing."""
    pending = take(purpose)
    if not ConfirmImportForm().validate_on_submit() or pending is None:
        flash("没有待确认的上传文件，请重新上传", "error")
        return redirect(retry_url)
    # The cookie is sent before the work starts: the pending upload is used up whatever happens.
    upload_path = _path(session.pop(PENDING_KEY)["token"])

    def steps() -> Iterator[Step]:
        try:
            yield from save_streamed(
                write(pending),
                done=lambda done: Step(done, outcome="success"),
                refused=lambda exc: Step(f"导入失败，未写入任何数据：{exc}", outcome="error"),
                failed=lambda: Step(
                    "导入失败（系统错误），未写入任何数据；请稍后重试或联系系统管理员", outcome="error"
                ),
                refusals=(UploadRejected,),
            )
        finally:
            if upload_path is not None:
                upload_path.unlink(missing_ok=True)

    response = current_app.response_class(
        stream_template(
            "import_progress.html",
            heading=heading,
            file_name=pending.file_name,
            steps=steps(),
            retry_url=retry_url,
            done_url=done_url,
        )
    )
    response.headers["X-Accel-Buffering"] = "no"  # a proxy (nginx) passes each line on at once
    return response
