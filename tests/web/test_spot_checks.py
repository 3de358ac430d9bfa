"""Spot checks on a phone (issue 19): the township's list from the adopted sample with the agreement,
entry criterion by criterion with its errors, entering again, the plaque revoked and notice issued
for a failed plaque holder, and who may read or write where."""

from __future__ import annotations

import html as html_lib
import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA, NoticeSource, PlaqueState
from hygiene.models import AuditEntry, Group, Household, InspectionTeam, Notice, Plaque, SpotCheck, Township, Village
from tests.web.conftest import Auth

BASE = "/inspection/520999/townships/52099901/periods/2026Q3"
CHECKS = BASE + "/checks"


def check_url(code: str, township: str = "52099901", period: str = "2026Q3") -> str:
    return f"/inspection/520999/townships/{township}/periods/{period}/households/{code}/check"


def scores(value: str) -> dict[str, str]:
    return dict.fromkeys(CRITERIA, value)


def in_township(code: str) -> sa.ColumnElement[bool]:
    return Household.group_id.in_(
        sa.select(Group.id).join(Village, Group.village_id == Village.id).join(Township).where(Township.code == code)
    )


def plaque_holder(db: Session) -> tuple[str, str]:
    code, serial = db.execute(
        sa.select(Household.code, Plaque.serial)
        .join(Plaque, Plaque.household_id == Household.id)
        .where(Plaque.state == PlaqueState.VALID, in_township("52099901"))
        .order_by(Household.code)
    ).first()  # type: ignore[misc]
    return code, serial


def without_plaque(db: Session, township: str = "52099901") -> str:
    return db.scalars(
        sa.select(Household.code)
        .where(in_township(township), Household.id.not_in(sa.select(Plaque.household_id)))
        .order_by(Household.code)
    ).first()  # type: ignore[return-value]


def text(response) -> str:  # type: ignore[no-untyped-def]
    return html_lib.unescape(response.get_data(as_text=True))


def test_a_failed_plaque_holder_loses_the_plaque_and_gets_a_notice(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    code, serial = plaque_holder(db_session)
    auth.login("inspector")
    page = text(client.get(check_url(code)))
    team = db_session.scalars(sa.select(InspectionTeam).where(InspectionTeam.name == "第一督查组")).one()
    assert f'name="members" type="text" value="{team.members}"' in page  # the team's members by default
    assert page.count('class="score"') == 10 and 'inputmode="decimal"' in page
    response = auth.post(check_url(code), scores("5") | {"members": "王组长、李委员", "notes": "厕所脏乱"})
    assert response.status_code == 303 and response.headers["Location"].endswith(CHECKS)
    listing = text(client.get(CHECKS))
    assert f"已摘除牌匾 {serial}" in listing and "号督办通知单" in listing and "50.0 分" in listing
    db_session.rollback()  # read what the requests committed
    plaque = db_session.scalars(sa.select(Plaque).where(Plaque.serial == serial)).one()
    assert plaque.state is PlaqueState.REVOKED and "50.0" in (plaque.revoke_reason or "")
    notice = db_session.scalars(sa.select(Notice).where(Notice.source == NoticeSource.SPOT_CHECK)).one()
    assert code in notice.problem and notice.spot_check_id is not None
    again = text(client.get(check_url(code)))
    assert f"第{notice.id}号督办通知单" in again and f"/inspection/520999/notices/{notice.id}" in again


def test_bad_scores_are_shown_beside_their_criterion_and_nothing_is_saved(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    code = without_plaque(db_session)
    auth.login("inspector")
    response = auth.post(check_url(code), scores("9") | {"c01": "九", "c02": "12", "c03": "", "members": ""})
    assert response.status_code == 422
    page = text(response)
    assert "“九”：不是0–10之间的分数" in page and "“12”：不是0–10之间的分数" in page
    assert "分数未填（空白不按0分计）" in page and "请填写抽查人员" in page
    assert page.count('aria-invalid="true"') == 4
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count(SpotCheck.id))) == 0


def test_entering_a_check_again_updates_it(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    code = without_plaque(db_session)
    auth.login("inspector")
    assert auth.post(check_url(code), scores("９") | {"members": "王组长"}).status_code == 303  # full-width
    page = text(client.get(check_url(code)))
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    assert version and version[1] == "1" and 'value="9"' in page and "90.0 分" in page
    response = auth.post(check_url(code), scores("9") | {"c02": "8.5", "members": "王组长", "version": "1"})
    assert response.status_code == 303
    db_session.rollback()
    check = db_session.scalars(sa.select(SpotCheck)).one()
    assert (check.c02, check.version) == (85, 2)
    update = db_session.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity == "spot_check").order_by(AuditEntry.id.desc())
    ).first()
    assert update is not None and (update.action, update.before["c02"], update.after["c02"]) == ("update", 90, 85)
    stale = auth.post(check_url(code), scores("5") | {"members": "王组长", "version": "1"})
    assert stale.status_code == 409


def test_the_list_shows_the_adopted_sample_and_the_agreement(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("inspector")
    before = text(client.get(CHECKS))
    assert "尚未采用样本" in before and "第一督查组" in before
    sample = "/inspection/520999/townships/52099901/sample?period=2026Q3&size=6&seed=77"
    adopt = "/inspection/520999/townships/52099901/sample/adopt?period=2026Q3"
    assert auth.post(adopt, {"size": "6", "seed": "77"}, token_from=sample).status_code == 303
    listing = text(client.get(CHECKS))
    drawn = re.findall(r'<td class="card-name">(\d+)</td>', listing)
    assert len(drawn) == 6 and listing.count(">录入</a>") == 6 and "随机种子 77" in listing
    assert auth.post(check_url(drawn[0]), scores("9") | {"members": "王组长"}).status_code == 303
    listing = text(client.get(CHECKS))
    assert listing.count(">录入</a>") == 5 and listing.count(">修改</a>") == 1
    assert re.search(r"<dt>已抽查（计入一致率）</dt><dd>1 户</dd>", listing)
    assert re.search(r"<dd>(0\.0|100\.0)%</dd>", listing)
    # a household outside the sample, found by its code
    codes = db_session.scalars(sa.select(Household.code).where(in_township("52099901")))
    other = next(c for c in codes if c not in drawn)
    found = client.get(CHECKS, query_string={"household": f" {other} "})
    assert found.status_code == 302 and found.headers["Location"].endswith(check_url(other))
    missing = client.get(CHECKS, query_string={"household": "520999020101001"})
    assert missing.status_code == 422 and "松林镇没有户编号为“520999020101001”的农户" in text(missing)
    auth.post(check_url(other), scores("8") | {"members": "王组长"})
    assert "样本外的抽查" in text(client.get(CHECKS))


def test_who_reads_and_who_writes(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    own, elsewhere = without_plaque(db_session), without_plaque(db_session, "52099902")
    auth.login("inspector")
    assert client.get(CHECKS).status_code == 200
    other_list = text(client.get("/inspection/520999/townships/52099902/periods/2026Q3/checks"))
    assert "只有第二督查组的督查员可以录入" in other_list and ">录入</a>" not in other_list
    assert client.get(check_url(elsewhere, "52099902")).status_code == 403
    assert auth.post(check_url(elsewhere, "52099902"), scores("9") | {"members": "x"}).status_code == 403
    assert client.get(check_url(elsewhere)).status_code == 404  # not a household of 52099901
    assert client.get(check_url(own, period="2025Q4")).status_code == 404
    assert client.get("/inspection/520999/townships/52099801/periods/2026Q3/checks").status_code == 404
    auth.logout()
    for username in ("county", "township", "village", "inspector2"):
        auth.login(username)
        assert client.get(CHECKS).status_code == 403, username
        assert client.get(check_url(own)).status_code == 403, username
        auth.logout()
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count(SpotCheck.id))) == 0
