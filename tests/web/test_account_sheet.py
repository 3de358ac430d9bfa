"""The account sheet (issue 30): a county's accounts imported from one file, all or nothing like
the unit sheet; new accounts get a temporary password shown once and must change it at first login."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.models import User
from hygiene.services.setup import accounts
from tests.sheets import csv_file
from tests.web.conftest import Auth

C = "/county/520999"
HEADER = ["用户名", "姓名", "角色", "所属单位", "联系电话"]


def upload(auth: Auth, data: bytes, name: str = "账号.csv"):  # type: ignore[no-untyped-def]
    return auth.post(f"{C}/accounts/upload", {"file": (io.BytesIO(data), name)})


def test_a_sheet_of_accounts_is_imported_and_each_new_one_gets_a_password_shown_once(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("county")
    rows = [
        ["songlin-2", "松林镇第二审核员", "乡镇审核员", "松林镇", "13900000001"],
        ["qingshan-b", "青山村副文书", "村委会", "5209990101", ""],
        ["hedong-b", "河东村副文书", "village_clerk", "河东村", "0851-12345678"],
        ["village", "青山村文书（改名）", "村委会", "青山村", "13900000002"],  # an account already there
    ]
    preview = upload(auth, csv_file(HEADER, rows))
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "新建 3 个账号，更新 1 个账号的姓名或电话" in html
    assert db_session.scalar(sa.select(User.id).where(User.username == "songlin-2")) is None  # nothing yet
    done = auth.post(f"{C}/accounts/upload/confirm", {}, token_from=f"{C}/accounts/upload")
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "临时密码只显示这一次" in page and done.headers["Cache-Control"] == "no-store"
    passwords = dict(
        re.findall(r'<td data-label="用户名">([\w.-]+)</td><td data-label="临时密码"><code>(\S+)</code>', page)
    )
    assert set(passwords) == {"songlin-2", "qingshan-b", "hedong-b"}
    db_session.rollback()
    created = {u.username: u for u in db_session.scalars(sa.select(User).where(User.username.in_(passwords)))}
    assert all(u.must_change_password for u in created.values())
    assert created["songlin-2"].township_id is not None and created["hedong-b"].phone == "0851-12345678"
    assert accounts.authenticate(db_session, "qingshan-b", passwords["qingshan-b"]) is not None
    clerk = db_session.scalars(sa.select(User).where(User.username == "village")).one()
    assert (clerk.display_name, clerk.phone, clerk.must_change_password) == ("青山村文书（改名）", "13900000002", False)
    db_session.rollback()


def test_a_sheet_with_any_problem_writes_nothing_and_lists_every_one(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("county")
    rows = [
        ["ok-user", "好账号", "村委会", "青山村", ""],
        ["x", "太短", "村委会", "青山村", ""],
        ["ok-user", "重复", "督查员", "520999", ""],
        ["bad-role", "角色错", "村长", "青山村", ""],
        ["bad-unit", "单位错", "村委会", "邻村", ""],
        ["bad-level", "级别错", "乡镇审核员", "青山村", ""],
        ["bad-phone", "电话错", "督查员", "520999", "12345"],
        ["county2", "他县账号", "督查员", "520999", ""],
        ["township", "改角色", "督查员", "520999", ""],
    ]
    refused = upload(auth, csv_file(HEADER, rows))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    for reason in (
        "用户名须为2–40位字母、数字或 _ . -",
        "与第2行用户名重复",
        "角色须为 县管理员、乡镇审核员、村委会 或 督查员",
        "不是本县的县、乡镇或村",
        "乡镇审核员的所属单位须为乡镇",
        "电话号码格式不正确",
        "用户名已被其他县的账号使用",
        "账号已存在，角色为乡镇审核员",
    ):
        assert reason in html, reason
    assert db_session.scalar(sa.select(User.id).where(User.username == "ok-user")) is None
    example = client.get(f"{C}/examples/accounts.xlsx")
    assert example.status_code == 200
    assert upload(auth, example.data, "示例账号表.xlsx").status_code == 200  # the example passes
