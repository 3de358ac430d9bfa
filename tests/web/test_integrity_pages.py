"""Issue 32 where users meet it: the county's page shows its records and audit chain verified (and
what was altered outside the app); SQLite locked by another writer gives a retry or a clear Chinese
503 page, never a 500; the upload folder's disk full gives a clear message and records nothing; the
``hygiene backup``/``restore``/``check`` commands."""

from __future__ import annotations

import errno
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.models import Review
from tests.sheets import REVIEW_HEADER, csv_file
from tests.web.conftest import Auth
from tests.web.test_village_reviews import H1, V1, post_review, review_url, scores, upload, valid_sheet, version_on
from web.cli import main

C = "/county/520999"


def sqlite_path(app: Flask) -> str:
    return str(app.extensions["hygiene.engine"].url.database)


def tamper_with_a_record_row(path: str) -> int:
    raw = sqlite3.connect(path)
    record_id = raw.execute("SELECT min(record_id) FROM result_record_households").fetchone()[0]
    raw.execute("DROP TRIGGER result_record_households_no_update")
    raw.execute("UPDATE result_record_households SET head_name = '王改名' WHERE record_id = ?", (record_id,))
    raw.commit()
    raw.close()
    return int(record_id)


# --- the county's page -----------------------------------------------------------------------------


def test_the_county_page_shows_records_and_chain_verified(client: FlaskClient, auth: Auth, app: Flask) -> None:
    auth.login("county")
    home = client.get(f"{C}/").get_data(as_text=True)
    assert f'href="{C}/integrity"' in home
    html = client.get(f"{C}/integrity").get_data(as_text=True)
    assert "核验通过" in html and "前后相接、未被改动" in html
    assert 'id="chain-head"' in html


def test_the_county_page_names_a_record_altered_outside_the_app(client: FlaskClient, auth: Auth, app: Flask) -> None:
    record_id = tamper_with_a_record_row(sqlite_path(app))
    auth.login("county")
    html = client.get(f"{C}/integrity").get_data(as_text=True)
    assert "核验未通过" in html
    assert f"公示存档 #{record_id}: 内容与公示时的摘要不符（在应用之外被改动）" in html


@pytest.mark.parametrize("username", ["county2", "township", "village", "inspector"])
def test_only_the_countys_administrator_sees_it(client: FlaskClient, auth: Auth, username: str) -> None:
    auth.login(username)
    assert client.get(f"{C}/integrity").status_code in (403, 404)


# --- SQLite locked by another writer ---------------------------------------------------------------


def hold_write_lock(path: str, seconds: float) -> threading.Thread:
    """Another process's writer: takes SQLite's write lock and keeps it ``seconds``."""
    held = threading.Event()

    def writer() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        threading.Event().wait(seconds)
        other.execute("ROLLBACK")
        other.close()

    thread = threading.Thread(target=writer)
    thread.start()
    held.wait(5)
    return thread


def review_count(db_session: Session) -> int:
    db_session.rollback()  # a fresh snapshot
    return db_session.scalar(sa.select(sa.func.count()).select_from(Review)) or 0


def test_a_save_waits_for_a_short_lock_and_succeeds(auth: Auth, app: Flask, db_session: Session) -> None:
    auth.login("village")
    before = review_count(db_session)
    page_url = review_url(H1, "self")
    auth.client.get(page_url)
    thread = hold_write_lock(sqlite_path(app), 1.0)
    response = post_review(auth, page_url, scores("8"))
    thread.join()
    assert response.status_code == 302
    assert review_count(db_session) == before + 1


def test_a_lock_held_past_the_timeout_gives_a_clear_503_not_a_500(auth: Auth, app: Flask, db_session: Session) -> None:
    auth.login("village")
    before = review_count(db_session)
    page_url = review_url(H1, "self")
    page = auth.client.get(page_url).get_data(as_text=True)
    thread = hold_write_lock(sqlite_path(app), 7.0)  # beyond the 5 s busy timeout
    response = auth.post(page_url, {"version": version_on(page), **scores("8")}, token_from=page_url)
    thread.join()
    assert response.status_code == 503
    assert "数据库正忙（另一项写入尚未完成），本次操作未保存，请稍后重试。" in response.get_data(as_text=True)
    assert review_count(db_session) == before
    assert post_review(auth, page_url, scores("8")).status_code == 302  # the retry succeeds


# --- the upload folder's disk full -----------------------------------------------------------------


@pytest.fixture
def uploads_app(app: Flask, tmp_path: Path) -> Flask:
    app.instance_path = str(tmp_path / "instance")
    return app


def test_a_full_disk_gives_a_clear_message_and_records_no_upload(
    uploads_app: Flask, client: FlaskClient, auth: Auth, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth.login("village")
    data = csv_file(REVIEW_HEADER, valid_sheet(db_session))
    real_write = Path.write_bytes

    def full_disk(self: Path, content: bytes) -> int:  # writes half, as a disk filling up does
        real_write(self, content[: len(content) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    response = upload(auth, f"{V1}/upload", data, "第四季度.csv")
    monkeypatch.undo()
    assert response.status_code == 503
    assert "服务器磁盘空间不足，未记录任何上传" in response.get_data(as_text=True)
    assert list((Path(uploads_app.instance_path) / "uploads").iterdir()) == []
    confirmed = auth.post(f"{V1}/upload/confirm", {}, token_from="/")
    assert "没有待确认的上传文件" in client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert upload(auth, f"{V1}/upload", data, "第四季度.csv").status_code == 200  # space again: it works


# --- the commands ----------------------------------------------------------------------------------


def run(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})
    return result.exit_code, result.output


def test_backup_check_and_restore_from_the_command_line(sqlite_copy: str, tmp_path: Path) -> None:
    code, out = run(sqlite_copy, "check")
    assert code == 0 and "检查通过：未发现问题" in out
    code, out = run(sqlite_copy, "backup", str(tmp_path / "copy.sqlite3"))
    assert code == 0 and "SHA-256" in out

    code, out = run(sqlite_copy, "restore", str(tmp_path / "copy.sqlite3"))
    assert code == 2 and "目标数据库已有数据，拒绝恢复" in out

    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    code, out = run(fresh, "restore", str(tmp_path / "copy.sqlite3"))
    assert code == 0 and "检查通过：未发现问题" in out

    record_id = tamper_with_a_record_row(str(tmp_path / "fresh.sqlite3"))
    code, out = run(fresh, "check")
    assert code == 1
    assert f"问题: 公示存档 #{record_id}: 内容与公示时的摘要不符（在应用之外被改动）" in out
    assert "检查未通过：1 个问题" in out


def test_restore_refuses_a_file_that_is_no_backup(sqlite_copy: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    code, out = run(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", "restore", str(junk))
    assert code == 1 and "不是本系统的备份" in out
