"""The township reviewer's pages: the township board, a village's results, quotas, assessment and
the workflow moves, each through the form a reviewer uses."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import WorkflowState
from hygiene.models import AuditEntry, AwardQuota, Village, VillageAssessment, VillagePeriod
from tests.web.conftest import Auth

T1 = "/township/52099901"
DRAFT, SUBMITTED, APPROVED, PUBLISHED = "5209990101", "5209990102", "5209990103", "5209990104"


def page(village_code: str) -> str:
    return f"{T1}/periods/2026Q4/villages/{village_code}/"


def village_period(db: Session, village_code: str) -> VillagePeriod:
    db.rollback()  # a fresh snapshot: see what the request committed
    return db.scalars(
        sa.select(VillagePeriod).join(Village).where(Village.code == village_code, VillagePeriod.period_id == 2)
    ).one()


def version_on(html: str) -> str:
    match = re.search(r'name="version" type="hidden" value="(\d+)"', html)
    assert match, "page has no version field"
    return match.group(1)


def test_the_board_lists_every_village_with_state_awards_and_a_chart(client: FlaskClient, auth: Auth) -> None:
    auth.login("township")
    html = client.get(f"{T1}/?period=2026Q4").get_data(as_text=True)
    for name, state in (("青山村", "填报中"), ("新华村", "已提交")):
        assert name in html and state in html
    assert "<svg" in html and "bar-cleanest" in html
    assert html.count('class="state state-') == 4
    assert "待审核 1 个" in html


def test_the_village_page_ranks_households_and_can_put_problems_first(client: FlaskClient, auth: Auth) -> None:
    auth.login("township")
    ranked = client.get(page(SUBMITTED)).get_data(as_text=True)
    assert "农户评定结果" in ranked and "下限：最清洁户" in ranked
    first_rows = re.findall(r"<tr class=\"(needs-look|)\">\s*<td data-label=\"名次\">(\d*)</td>", ranked)
    ranks = [int(r) for _, r in first_rows if r]
    assert ranks[:3] == [1, 2, 3]
    problems = client.get(page(SUBMITTED) + "?order=problems").get_data(as_text=True)
    looks = [
        cls for cls, _ in re.findall(r"<tr class=\"(needs-look|)\">\s*<td data-label=\"名次\">(\d*)</td>", problems)
    ]
    assert looks and looks == sorted(looks, reverse=True) and "needs-look" in looks


def test_reviewer_approves_and_publishes_and_each_move_is_audited(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("township")
    html = client.get(page(SUBMITTED)).get_data(as_text=True)
    flagged = "15 户有提示（自评、互评与复评相差较大，或互评户数不足等），请核对"  # the demo's 新华村
    assert "审核通过前请核对" in html and flagged in html and "仍要审核通过的原因（必填）" in html
    guarded = auth.post(page(SUBMITTED) + "approve", {"version": version_on(html)}, token_from=page(SUBMITTED))
    message = client.get(guarded.headers["Location"]).get_data(as_text=True)
    assert f"新华村 2026Q4 暂不能审核通过：{flagged}。如确需审核通过，请填写原因后再确认。" in message
    assert village_period(db_session, SUBMITTED).state is WorkflowState.SUBMITTED
    reason = {"version": version_on(html), "reason": "已逐户核对，分差属实"}
    response = auth.post(page(SUBMITTED) + "approve", reason, token_from=page(SUBMITTED))
    assert response.status_code == 303
    followed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已审核通过" in followed and "发布公示" in followed and "仍要公示的原因（必填）" in followed
    published = {"version": version_on(followed), "reason": "同上"}
    # publishing asks to confirm first, naming what it changes; nothing is written until confirmed
    asked = auth.post(page(SUBMITTED) + "publish", published, token_from=page(SUBMITTED))
    asked_html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "请确认：公示" in asked_html and "对外公示 7 天" in asked_html
    assert 'name="confirmed" value="1"' in asked_html
    assert village_period(db_session, SUBMITTED).state is WorkflowState.APPROVED
    response = auth.post(page(SUBMITTED) + "publish", published | {"confirmed": "1"}, token_from=page(SUBMITTED))
    assert village_period(db_session, SUBMITTED).state is WorkflowState.PUBLISHED
    assert "公示截止" in client.get(response.headers["Location"]).get_data(as_text=True)
    actions = db_session.scalars(
        sa.select(AuditEntry.action).where(
            AuditEntry.entity == "village_period",
            AuditEntry.entity_id == str(village_period(db_session, SUBMITTED).id),
            AuditEntry.actor == "township",
        )
    ).all()
    assert actions == ["approve", "publish", "record_post"]
    approval = db_session.scalars(
        sa.select(AuditEntry.reason).where(AuditEntry.action == "approve", AuditEntry.actor == "township")
    ).one()
    assert approval == f"有缺项仍审核通过：已逐户核对，分差属实（{flagged}）"
    public = client.get(f"/public/villages/{SUBMITTED}/2026Q4")
    assert public.status_code == 200


def test_a_return_needs_a_reason_and_the_clerk_sees_it(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("township")
    version = version_on(client.get(page(SUBMITTED)).get_data(as_text=True))
    refused = auth.post(page(SUBMITTED) + "return", {"version": version, "reason": " "}, token_from=page(SUBMITTED))
    assert "退回必须填写原因" in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert village_period(db_session, SUBMITTED).state is WorkflowState.SUBMITTED
    auth.post(page(SUBMITTED) + "return", {"version": version, "reason": "第二组互评不足"}, token_from=page(SUBMITTED))
    assert village_period(db_session, SUBMITTED).return_reason == "第二组互评不足"


def test_a_second_reviewer_tab_gets_changed_by_someone_else(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("township")
    stale = version_on(client.get(page(SUBMITTED)).get_data(as_text=True))
    auth.post(page(SUBMITTED) + "approve", {"version": stale, "reason": "已核对"}, token_from=page(SUBMITTED))
    response = auth.post(
        page(SUBMITTED) + "return", {"version": stale, "reason": "晚到的退回"}, token_from=page(SUBMITTED)
    )
    assert response.status_code == 409 and "已被他人修改" in response.get_data(as_text=True)
    assert village_period(db_session, SUBMITTED).state is WorkflowState.APPROVED


def test_unapprove_goes_back_to_submitted(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("township")
    version = version_on(client.get(page(APPROVED)).get_data(as_text=True))
    auth.post(page(APPROVED) + "unapprove", {"version": version, "reason": "名额需调整"}, token_from=page(APPROVED))
    assert village_period(db_session, APPROVED).state is WorkflowState.SUBMITTED


def quota_form(html: str) -> str:
    match = re.search(r'<form[^>]*/quotas".*?</form>', html, re.S)
    assert match, "page has no quota form"
    return match.group(0)


def test_quotas_below_the_floor_are_refused_naming_the_floor(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("township")
    html = client.get(page(DRAFT)).get_data(as_text=True)
    floor = int(re.search(r"下限：最清洁户 (\d+)", html).group(1))  # type: ignore[union-attr]
    response = auth.post(
        page(DRAFT) + "quotas",
        {"cleanest_quota": floor - 1, "clean_quota": 999, "version": "0"},
        token_from=page(DRAFT),
    )
    # the page comes back with the typed values and the reason next to the field
    assert response.status_code == 422
    form = quota_form(response.get_data(as_text=True))
    assert f'<p class="error">最清洁户名额 {floor - 1} 低于下限 {floor}</p>' in form
    assert f'value="{floor - 1}"' in form and 'value="999"' in form
    vp = village_period(db_session, DRAFT)
    assert db_session.scalar(sa.select(AwardQuota).where(AwardQuota.village_period_id == vp.id)) is None
    auth.post(
        page(DRAFT) + "quotas",
        {"cleanest_quota": floor + 1, "clean_quota": 999, "version": "0"},
        token_from=page(DRAFT),
    )
    db_session.rollback()
    quota = db_session.scalar(sa.select(AwardQuota).where(AwardQuota.village_period_id == vp.id))
    assert quota is not None and (quota.cleanest_quota, quota.clean_quota) == (floor + 1, 999)


@pytest.mark.parametrize("typed", ["٩٠", "9_0", "+90", ""])
def test_a_quota_is_read_as_strictly_as_a_score(
    client: FlaskClient, auth: Auth, db_session: Session, typed: str
) -> None:
    """RELIABILITY.md trap 3: int() would take '٩٠' and '9_0' as 90."""
    auth.login("township")
    response = auth.post(
        page(DRAFT) + "quotas", {"cleanest_quota": typed, "clean_quota": "999", "version": "0"}, token_from=page(DRAFT)
    )
    assert response.status_code == 422
    assert ("请填写名额" if not typed else "不是0–9999之间的整数") in quota_form(response.get_data(as_text=True))
    vp = village_period(db_session, DRAFT)
    assert db_session.scalar(sa.select(AwardQuota).where(AwardQuota.village_period_id == vp.id)) is None


def test_full_width_quotas_are_digits(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("township")
    html = client.get(page(DRAFT)).get_data(as_text=True)
    floor = int(re.search(r"下限：最清洁户 (\d+)", html).group(1))  # type: ignore[union-attr]
    full_width = str(floor + 1).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    auth.post(
        page(DRAFT) + "quotas",
        {"cleanest_quota": full_width, "clean_quota": "９９９", "version": "0"},
        token_from=page(DRAFT),
    )
    db_session.rollback()
    vp = village_period(db_session, DRAFT)
    quota = db_session.scalar(sa.select(AwardQuota).where(AwardQuota.village_period_id == vp.id))
    assert quota is not None and (quota.cleanest_quota, quota.clean_quota) == (floor + 1, 999)


def test_the_assessment_form_takes_full_width_digits_and_refuses_out_of_range(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("township")
    areas = {
        "hygiene_management": "２５",
        "public_places": "20.5",
        "courtyards_indoors": "18",
        "personal_hygiene": "16",
    }
    too_much = auth.post(
        page(SUBMITTED) + "assessment", areas | {"public_places": "26", "version": "0"}, token_from=page(SUBMITTED)
    )
    assert too_much.status_code == 422
    html = too_much.get_data(as_text=True)
    assert '<p class="error">不是0–25之间的分数</p>' in html and 'value="26"' in html
    vp = village_period(db_session, SUBMITTED)
    existing = db_session.scalar(sa.select(VillageAssessment).where(VillageAssessment.village_period_id == vp.id))
    version = str(existing.version) if existing else "0"
    auth.post(
        page(SUBMITTED) + "assessment",
        areas | {"version": version, "notes": "厕所整治到位"},
        token_from=page(SUBMITTED),
    )
    db_session.rollback()
    saved = db_session.scalar(sa.select(VillageAssessment).where(VillageAssessment.village_period_id == vp.id))
    assert saved is not None and saved.total_tenths() == 795 and saved.notes == "厕所整治到位"
    assert "未达80分" in client.get(page(SUBMITTED)).get_data(as_text=True)


def test_only_the_own_reviewer_may_post(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    for username in ("township2", "county", "inspector", "village"):
        auth.login(username)
        for action, data in (("approve", {"version": "1"}), ("quotas", {"cleanest_quota": 50, "clean_quota": 50})):
            response = auth.post(page(SUBMITTED) + action, data, token_from="/")
            assert response.status_code == 403, (username, action)
        auth.logout()
    assert village_period(db_session, SUBMITTED).state is WorkflowState.SUBMITTED


def test_viewers_see_no_review_forms(client: FlaskClient, auth: Auth) -> None:
    auth.login("county")
    html = client.get(page(SUBMITTED)).get_data(as_text=True)
    assert "农户评定结果" in html and "审核通过" not in html and 'name="cleanest_quota"' not in html


def test_an_unknown_move_is_not_found(client: FlaskClient, auth: Auth) -> None:
    auth.login("township")
    assert auth.post(page(SUBMITTED) + "finalize", {"version": "1"}, token_from="/").status_code == 404
