"""Correcting a household's code and moving it to another village on the household's page (issue
30): the township reviewer and the county administrator, each after a confirmation step that
names what changes; the village clerk cannot; a township reviewer cannot move a household out of
the township; an old link still finds the household."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.models import AuditEntry, Group, Household, HouseholdFormerCode, Village
from hygiene.services.setup import units
from tests.web.conftest import Auth

QINGSHAN = "/village/5209990101"
XINHUA = "/village/5209990102"  # 2026Q4 submitted
HEDONG = "/village/5209990201"  # 河坝乡, 2026Q4 returned


def fresh(db: Session) -> Session:
    db.rollback()
    return db


def household(db: Session, code: str) -> Household | None:
    return fresh(db).scalar(sa.select(Household).where(Household.code == code))


def first_code(db: Session, village_code: str) -> str:
    return (
        fresh(db)
        .scalars(
            sa.select(Household.code)
            .join(Group)
            .join(Village)
            .where(Village.code == village_code)
            .order_by(Household.code)
        )
        .first()
    ) or ""


def newcomer(db: Session, village_code: str, code: str) -> Household:
    """A household just added to the village: no reviews yet, so it may move."""
    village = units.get_village(fresh(db), village_code)
    added = units.add_household(
        db,
        village,
        actor=None,
        code=code,
        head_name="新来户",
        members=2,
        group_id=village.groups[0].id,
        phone=None,
        is_poor=False,
    )
    db.commit()
    return added


def test_a_township_reviewer_corrects_a_code_after_confirming(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    code = first_code(db_session, "5209990101")
    target = household(db_session, code)
    assert target is not None
    page_url = f"{QINGSHAN}/households/{code}"
    url = f"{page_url}/recode"
    auth.login("township")
    assert "更正户编号" in client.get(page_url).get_data(as_text=True)
    form = {"version": target.version, "new_code": "520999010101901", "reason": "录入时把 0 打成了 9"}

    shown = auth.post(url, form)
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "请确认：更正户编号" in text
    assert f"户编号 {code} 改为 520999010101901" in text and "曾用编号" in text
    assert household(db_session, code) is not None  # nothing written before confirming

    done = auth.post(url, {**form, "confirmed": "1"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/households/520999010101901")
    corrected = household(db_session, "520999010101901")
    assert corrected is not None and corrected.id == target.id
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "户编号已更正为 520999010101901" in page and "曾用户编号" in page and code in page
    assert f"编号: {code} → 520999010101901" in page  # the history says what changed
    entry = db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "recode")).one()
    assert entry.actor == "township" and entry.reason == "录入时把 0 打成了 9"
    # an old link finds the household at its code now
    old_link = client.get(page_url)
    assert old_link.status_code == 302 and old_link.headers["Location"].endswith("/households/520999010101901")


def test_a_taken_code_a_busy_village_and_a_stale_form_are_refused(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    code, other = first_code(db_session, "5209990101"), first_code(db_session, "5209990102")
    target = household(db_session, code)
    assert target is not None
    auth.login("township")
    url = f"{QINGSHAN}/households/{code}/recode"
    taken = auth.post(url, {"version": target.version, "new_code": other, "reason": "改号"})
    assert taken.status_code == 422 and "已被 新华村" in taken.get_data(as_text=True)
    bad = auth.post(url, {"version": target.version, "new_code": "52/../07", "reason": "改号"})
    assert bad.status_code == 422 and "只能包含数字" in bad.get_data(as_text=True)
    busy = auth.post(
        f"{XINHUA}/households/{other}/recode", {"version": 1, "new_code": "520999010201999", "reason": "x"}
    )
    assert busy.status_code == 422 and "新华村 2026Q4 已提交" in busy.get_data(as_text=True)
    stale = {"version": target.version + 1, "new_code": "520999010101901", "reason": "改号", "confirmed": "1"}
    assert auth.post(url, stale).status_code == 409
    assert household(db_session, code) is not None
    assert fresh(db_session).scalar(sa.select(sa.func.count()).select_from(HouseholdFormerCode)) == 0


def test_the_village_clerk_can_neither_correct_nor_move(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    code = first_code(db_session, "5209990101")
    auth.login("village")
    page = client.get(f"{QINGSHAN}/households/{code}").get_data(as_text=True)
    assert "更正户编号" not in page and "迁往他村" not in page
    for action in ("recode", "move"):
        url = f"{QINGSHAN}/households/{code}/{action}"
        assert client.get(url).status_code == 403
        form = {"version": 1, "new_code": "520999010101901", "reason": "x", "to_group": 1, "confirmed": "1"}
        assert auth.post(url, form, token_from=f"{QINGSHAN}/households/{code}").status_code == 403
    assert household(db_session, code) is not None


def test_a_township_reviewer_moves_within_the_township_only(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    moving = newcomer(db_session, "5209990201", "520999020101901")  # 河东村, 河坝乡
    longjing = units.get_village(fresh(db_session), "5209990203")  # 龙井村, 河坝乡, draft
    qingshan = units.get_village(db_session, "5209990101")  # 松林镇
    into_longjing, into_qingshan = longjing.groups[0].id, qingshan.groups[0].id
    url = f"{HEDONG}/households/{moving.code}/move"
    auth.login("township2")
    form_page = client.get(url).get_data(as_text=True)
    assert "龙井村" in form_page and "青山村" not in form_page  # another township's villages are no choice
    out = auth.post(url, {"version": 1, "to_group": into_qingshan, "new_code": moving.code, "reason": "迁居"})
    assert out.status_code == 422 and "不是有效的选择" in out.get_data(as_text=True)
    assert household(db_session, moving.code).group_id == moving.group_id

    form = {"version": 1, "to_group": into_longjing, "new_code": "520999020301901", "reason": "迁居龙井村"}
    shown = auth.post(url, form).get_data(as_text=True)
    assert "请确认：迁移农户" in shown and "迁至 河坝乡龙井村" in shown and "改为 520999020301901" in shown
    done = auth.post(url, {**form, "confirmed": "1"})
    assert done.status_code == 303 and done.headers["Location"].endswith(
        "/village/5209990203/households/520999020301901"
    )
    moved = household(db_session, "520999020301901")
    assert moved is not None and moved.id == moving.id and moved.group_id == into_longjing
    auth.logout()
    auth.login("village2")  # 河东村's clerk: the household is no longer theirs, the old link is not found
    assert client.get(f"{HEDONG}/households/{moving.code}").status_code == 404


def test_the_county_administrator_moves_between_townships(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    moving = newcomer(db_session, "5209990201", "520999020101902")
    qingshan = units.get_village(fresh(db_session), "5209990101")
    group = qingshan.groups[0]
    url = f"{HEDONG}/households/{moving.code}/move"
    auth.login("township")  # 松林镇's reviewer: not a village of theirs
    assert client.get(url).status_code == 403
    auth.logout()
    auth.login("county")
    form = {"version": 1, "to_group": group.id, "new_code": moving.code, "reason": "户主随子女迁居青山村"}
    shown = auth.post(url, form).get_data(as_text=True)
    assert f"迁至 松林镇青山村{group.name}" in shown and f"户编号 {moving.code} 不变" in shown
    done = auth.post(url, {**form, "confirmed": "1"})
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已迁至 青山村" in page and "迁往他村" in page and "村: 河东村 → 青山村" in page
    entry = fresh(db_session).scalars(sa.select(AuditEntry).where(AuditEntry.action == "move")).one()
    assert (entry.before["village"], entry.after["village"], entry.actor) == ("河东村", "青山村", "county")
