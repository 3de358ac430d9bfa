"""The village clerk's household forms: add, edit, move, mark moved away; history; conflicts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.models import AuditEntry, Group, Household, User, Village
from tests.web.conftest import Auth

V1 = "/village/5209990101"
H1 = "520999010101001"


def groups(db_session: Session, village_code: str = "5209990101") -> list[Group]:
    return list(
        db_session.scalars(sa.select(Group).join(Village).where(Village.code == village_code).order_by(Group.code))
    )


def household(db_session: Session, code: str) -> Household:
    db_session.rollback()  # end the read snapshot: see what the request committed
    return db_session.scalars(sa.select(Household).where(Household.code == code)).one()


def test_roster_page_shows_groups_and_households(client: FlaskClient, auth: Auth) -> None:
    auth.login("village")
    html = client.get(f"{V1}/").get_data(as_text=True)
    assert "青山村" in html and "第一组" in html and H1 in html and "添加农户" in html


def test_reviewers_see_the_roster_without_edit_links(client: FlaskClient, auth: Auth) -> None:
    auth.login("township")
    html = client.get(f"{V1}/").get_data(as_text=True)
    assert H1 in html and "添加农户" not in html


def test_clerk_adds_a_household_and_it_is_audited(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("village")
    group = groups(db_session)[1]
    response = auth.post(
        f"{V1}/households/new",
        {
            "code": "520999010102099",
            "head_name": "  罗新华 ",
            "group_id": group.id,
            "members": "4",
            "phone": "13800000000",
        },
    )
    assert response.status_code == 302
    created = household(db_session, "520999010102099")
    assert (created.head_name, created.group_id, created.members, created.phone) == (
        "罗新华",
        group.id,
        4,
        "13800000000",
    )
    entry = db_session.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity == "household", AuditEntry.entity_id == str(created.id))
    ).one()
    assert entry.actor == "village" and entry.action == "create" and entry.after["head_name"] == "罗新华"


def test_a_duplicate_code_is_refused_next_to_the_field(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("village")
    response = auth.post(
        f"{V1}/households/new", {"code": H1, "head_name": "重复", "group_id": groups(db_session)[0].id, "members": "2"}
    )
    assert response.status_code == 200
    assert f"户编号 {H1} 已存在" in response.get_data(as_text=True)


def test_invalid_fields_get_chinese_errors(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("village")
    response = auth.post(
        f"{V1}/households/new",
        {"code": "12 34", "head_name": "", "group_id": groups(db_session)[0].id, "members": "０", "phone": "abc"},
    )
    html = response.get_data(as_text=True)
    for message in ("户编号只能包含数字、字母和 -", "请输入户主姓名", "电话号码格式不正确", "不是1–99之间的整数"):
        assert message in html


@pytest.mark.parametrize(
    ("typed", "stored"), [("４", 4), (" 5 ", 5), ("٤", None), ("4_0", None), ("+4", None), ("", None)]
)
def test_members_are_read_as_strictly_as_scores(
    client: FlaskClient, auth: Auth, db_session: Session, typed: str, stored: int | None
) -> None:
    """RELIABILITY.md trap 3: full-width digits are digits; other scripts' digits, 4_0 and +4 are not."""
    auth.login("village")
    code = "5209990101019555"
    response = auth.post(
        f"{V1}/households/new",
        {"code": code, "head_name": "王五", "group_id": groups(db_session)[0].id, "members": typed},
    )
    db_session.rollback()  # a fresh look at what the request committed
    saved = db_session.scalar(sa.select(Household).where(Household.code == code))
    if stored is None:
        assert response.status_code == 200 and saved is None
        html = response.get_data(as_text=True)
        assert ("请输入人口数" if not typed else "不是1–99之间的整数") in html
        assert f'value="{typed}"' in html or not typed  # what was typed stays in the field
    else:
        assert response.status_code == 302 and saved is not None and saved.members == stored


def test_a_group_of_another_village_is_refused(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("village")
    foreign_group = groups(db_session, "5209990201")[0]
    response = auth.post(
        f"{V1}/households/new",
        {"code": "520999010101998", "head_name": "外组", "group_id": foreign_group.id, "members": "1"},
    )
    assert response.status_code == 200 and "不是有效的选择" in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(Household).where(Household.code == "520999010101998")) is None


def edit(auth: Auth, db_session: Session, **changes: object):  # type: ignore[no-untyped-def]
    current = household(db_session, H1)
    data = {
        "head_name": current.head_name,
        "group_id": current.group_id,
        "members": current.members,
        "phone": current.phone or "",
        "version": current.version,
        "reason": "核实户籍信息",
        **changes,
    }
    if current.is_poor:
        data.setdefault("is_poor", "y")
    return auth.post(f"{V1}/households/{H1}/edit", data)


def test_clerk_moves_a_household_to_another_group_with_history(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("village")
    target = groups(db_session)[2]
    assert edit(auth, db_session, group_id=target.id, reason="分户调整").status_code == 302
    assert household(db_session, H1).group_id == target.id
    html = client.get(f"{V1}/households/{H1}").get_data(as_text=True)
    assert "分户调整" in html and f"村民组: {groups(db_session)[0].name} → {target.name}" in html
    clerk = db_session.scalars(sa.select(User).where(User.username == "village")).one()
    assert f'<td data-label="操作人">{clerk.display_name}（村委会）</td>' in html  # the person, not "village"


def test_marking_moved_away_keeps_the_household(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("village")
    assert edit(auth, db_session, moved_away_on="2026-11-01", reason="全家外迁").status_code == 302
    assert str(household(db_session, H1).moved_away_on) == "2026-11-01"


def test_a_stale_form_is_refused_and_nothing_is_lost(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("village")
    stale_version = household(db_session, H1).version
    assert edit(auth, db_session, members=6).status_code == 302  # someone else saved first
    response = edit(auth, db_session, members=2, version=stale_version)
    assert response.status_code == 409
    assert "已被他人修改" in response.get_data(as_text=True)
    assert household(db_session, H1).members == 6


def test_moving_away_before_a_reviewed_quarter_is_refused(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("village")
    response = edit(auth, db_session, moved_away_on="2026-06-30", reason="录入错误的迁出日期")
    assert response.status_code == 200
    assert "该户在 2026Q4 已有评议记录，迁出日期不能早于该季度开始" in response.get_data(as_text=True)
    assert household(db_session, H1).moved_away_on is None


@pytest.mark.parametrize("name", ["\u202e三张", "张\u200b三"])
def test_the_household_form_refuses_invisible_characters_in_a_name(
    client: FlaskClient, auth: Auth, db_session: Session, name: str
) -> None:
    """The outside probe saved "\\u202e..." through this form; the public list then showed it."""
    auth.login("village")
    group = groups(db_session)[0]
    response = auth.post(
        f"{V1}/households/new", {"code": "520999010101777", "head_name": name, "group_id": group.id, "members": "2"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "含有" in html and "请删除" in html
    db_session.rollback()
    assert db_session.scalars(sa.select(Household).where(Household.code == "520999010101777")).first() is None
    assert edit(auth, db_session, head_name=name).status_code == 200
    assert household(db_session, H1).head_name != name
