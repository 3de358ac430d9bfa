"""Uploaded sheets waiting for the clerk's confirmation: kept under a generated name in the
instance folder (never the user's file name: RELIABILITY.md trap 8), remembered in the signed
session cookie, so one user can never confirm another's upload."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, session
from werkzeug.datastructures import FileStorage

from hygiene.io.sheets import MAX_UPLOAD_BYTES

PENDING_KEY = "pending_upload"
# An upload nobody confirmed (the clerk closed the page) is removed by the next upload after this.
ABANDONED_AFTER_SECONDS = 24 * 3600


@dataclass(frozen=True)
class PendingUpload:
    purpose: str
    file_name: str
    data: bytes


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def read(storage: FileStorage) -> bytes:
    """The upload's bytes, reading at most one byte past the limit (the reader names the limit)."""
    return storage.stream.read(MAX_UPLOAD_BYTES + 1)


def keep(purpose: str, file_name: str, data: bytes) -> None:
    discard()
    folder = _folder()
    _remove_abandoned(folder)
    token = secrets.token_hex(16)
    (folder / token).write_bytes(data)
    session[PENDING_KEY] = {"token": token, "purpose": purpose, "file_name": file_name}


def take(purpose: str) -> PendingUpload | None:
    pending = session.get(PENDING_KEY)
    if not pending or pending.get("purpose") != purpose:
        return None
    path = _folder() / pending["token"]
    if not path.is_file():
        return None
    return PendingUpload(purpose, pending["file_name"], path.read_bytes())


def discard() -> None:
    pending = session.pop(PENDING_KEY, None)
    if pending:
        (_folder() / pending["token"]).unlink(missing_ok=True)


def _remove_abandoned(folder: Path) -> None:
    cutoff = time.time() - ABANDONED_AFTER_SECONDS
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:  # another worker removed it first
            pass
