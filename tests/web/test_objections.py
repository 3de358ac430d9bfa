"""Objections through the browser's forms (RULES.md §6): a resident files one without logging in,
the township's reviewer answers it, and nothing of the objector reaches a public page."""

from __future__ import annotations

import hashlib
import hmac
import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import ObjectionState, WorkflowState
from hygiene.models import Objection, ObjectionThrottle, User, Village, VillagePeriod
from hygiene.services.rating import objections, records, workflow
from tests.web.conftest import Auth

QINGSHAN = "5209990101"  # 青山村, 2026Q4 draft: published by these tests, its posting running now
ENDED = "5209990104"  # 2026Q4 published on 2026-11-22: its posting period is over
CONTACT = "13912345678"
SECRET_REASON = "邻居家院子其实很脏"


def village_period(db: Session, village_code: str) -> VillagePeriod:
    db.rollback()  # a fresh snapshot: see what the requests committed
    return db.scalars(
        sa.select(VillagePeriod).join(Village).where(Village.code == village_code, VillagePeriod.period_id == 2)
    ).one()


def publish_now(db: Session) -> str:
    """Publish 青山村 2026Q4 (its posting period starts now); the code of a rated household."""
    period = village_period(db, QINGSHAN)
    clerk = db.scalars(sa.select(User).where(User.username == "village")).one()
    reviewer = db.scalars(sa.select(User).where(User.username == "township")).one()
    workflow.submit(db, clerk, period, period.version, override_reason="已核对")
    workflow.approve(db, reviewer, period, period.version, override_reason="已核对")
    workflow.publish(db, reviewer, period, period.version, override_reason="已核对")
    record = records.current_record(db, period)
    assert record is not None
    code = min(row.household_code for row in record.rows if row.rank)
    db.commit()
    return code


def form_url(code: str, village_code: str = QINGSHAN) -> str:
    return f"/public/villages/{village_code}/2026Q4/households/{code}/objection"


def stored(db: Session) -> list[Objection]:
    db.rollback()
    return list(db.scalars(sa.select(Objection).order_by(Objection.id)))


def test_a_resident_objects_without_logging_in(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    code = publish_now(db_session)
    page = client.get(form_url(code))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "提交异议" in html and 'name="website"' in html and "<div hidden" in html
    filed = auth.post(form_url(code), {"reason": SECRET_REASON, "contact": CONTACT, "website": ""})
    assert filed.status_code == 303
    assert "已收到您的异议" in client.get(filed.headers["Location"]).get_data(as_text=True)
    (objection,) = stored(db_session)
    assert (objection.reason, objection.contact, objection.record_number) == (SECRET_REASON, CONTACT, 1)
    expected = hmac.new(b"test-secret-key", b"objection-client:127.0.0.1", hashlib.sha256).hexdigest()
    assert objection.client_hash == expected and "127.0.0.1" not in (objection.client_hash or "")


def test_a_post_without_the_csrf_token_is_refused(client: FlaskClient, db_session: Session) -> None:
    code = publish_now(db_session)
    response = client.post(form_url(code), data={"reason": SECRET_REASON})
    assert response.status_code == 400 and "安全令牌" in response.get_data(as_text=True)
    assert stored(db_session) == []


def test_a_filled_honeypot_looks_accepted_and_stores_nothing(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    code = publish_now(db_session)
    filed = auth.post(form_url(code), {"reason": "买药加微信", "website": "http://spam.example"})
    assert filed.status_code == 303
    assert "已收到您的异议" in client.get(filed.headers["Location"]).get_data(as_text=True)
    assert stored(db_session) == []
    assert db_session.scalar(sa.select(sa.func.count()).select_from(ObjectionThrottle)) == 0


def test_a_blank_or_long_reason_comes_back_with_the_field_named(auth: Auth, db_session: Session) -> None:
    code = publish_now(db_session)
    blank = auth.post(form_url(code), {"reason": "   ", "contact": CONTACT})
    assert blank.status_code == 422 and "请填写异议理由" in blank.get_data(as_text=True)
    long = auth.post(form_url(code), {"reason": "脏" * 501})
    assert long.status_code == 422 and "异议理由不能超过500个字" in long.get_data(as_text=True)
    assert stored(db_session) == []


def test_the_sixth_objection_of_a_client_within_the_hour_is_refused(app, auth: Auth, db_session: Session) -> None:  # type: ignore[no-untyped-def]
    code = publish_now(db_session)
    for _ in range(objections.RATE_LIMIT):
        assert auth.post(form_url(code), {"reason": "评分偏高"}).status_code == 303
    refused = auth.post(form_url(code), {"reason": "评分偏高"})
    assert refused.status_code == 429 and "提交异议过于频繁" in refused.get_data(as_text=True)
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert Auth(other).post(form_url(code), {"reason": "评分偏高"}).status_code == 303
    assert len(stored(db_session)) == objections.RATE_LIMIT + 1


def test_outside_the_posting_period_no_form_and_a_post_is_refused(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    period = village_period(db_session, ENDED)
    record = records.current_record(db_session, period)
    assert record is not None
    url = form_url(record.rows[0].household_code, ENDED)
    page = client.get(url).get_data(as_text=True)
    assert "不在公示期内" in page and 'name="reason"' not in page
    refused = auth.post(url, {"reason": "评分偏高"}, token_from="/login")
    assert refused.status_code == 403 and "现在不在公示期内，不能提出异议" in refused.get_data(as_text=True)
    assert stored(db_session) == []


def test_a_list_not_published_or_a_household_not_on_it_is_not_found(client: FlaskClient, db_session: Session) -> None:
    assert client.get(form_url("520999010101001")).status_code == 404  # 青山村 2026Q4 is a draft
    publish_now(db_session)
    assert client.get(form_url("520999020101001")).status_code == 404  # a household of another village
    assert client.get("/public/villages/5209990101/1999Q1/households/520999010101001/objection").status_code == 404


def _file_one(auth: Auth, db_session: Session) -> tuple[str, Objection]:
    code = publish_now(db_session)
    assert auth.post(form_url(code), {"reason": SECRET_REASON, "contact": CONTACT}).status_code == 303
    auth.client.get("/")  # the flash is read
    (objection,) = stored(db_session)
    return code, objection


def test_the_reviewer_dismisses_and_the_public_sees_the_reply_but_not_the_objector(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    code, objection = _file_one(auth, db_session)
    auth.login("township")
    listing = client.get("/township/52099901/objections").get_data(as_text=True)
    assert SECRET_REASON in listing and CONTACT in listing  # the reviewer sees both
    assert "待处理异议（1）" in client.get("/township/52099901/").get_data(as_text=True)
    blank = auth.post(
        f"/township/52099901/objections/{objection.id}",
        {"version": str(objection.version), "reply": " ", "decision": "dismiss"},
        token_from="/township/52099901/objections",
    )
    assert blank.status_code == 303 and "请填写答复" in client.get(blank.headers["Location"]).get_data(as_text=True)
    assert stored(db_session)[0].state is ObjectionState.PENDING
    answered = auth.post(
        f"/township/52099901/objections/{objection.id}",
        {"version": str(objection.version), "reply": "经复核评分无误", "decision": "dismiss"},
        token_from="/township/52099901/objections",
    )
    assert answered.status_code == 303 and answered.headers["Location"].endswith("/township/52099901/objections")
    assert stored(db_session)[0].state is ObjectionState.DISMISSED
    auth.logout()
    public = client.get(form_url(code)).get_data(as_text=True)
    assert "经复核评分无误" in public and "不予采纳" in public and code in public
    hashed = stored(db_session)[0].client_hash
    assert hashed
    for private in (CONTACT, SECRET_REASON, hashed, "127.0.0.1", "松林镇审核员"):
        assert private not in public, private


def test_the_public_partial_shows_only_public_fields(app, db_session: Session) -> None:  # type: ignore[no-untyped-def]
    publish_now(db_session)
    period = village_period(db_session, QINGSHAN)
    client_key = objections.client_hash("test-secret-key", "10.0.0.9")
    record = records.current_record(db_session, period)
    assert record is not None
    code = next(row.household_code for row in record.rows if row.rank)
    objections.file_objection(db_session, period, code, reason=SECRET_REASON, contact=CONTACT, client=client_key)
    db_session.commit()
    with app.test_request_context("/"):
        from flask import render_template

        html = render_template(
            "public/_objections.html", public_objections=objections.public_objections(db_session, period)
        )
    assert code in html and "待处理" in html
    for private in (CONTACT, SECRET_REASON, client_key, "10.0.0.9"):
        assert private not in html


def test_upholding_through_the_village_page_returns_the_period(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    code, objection = _file_one(auth, db_session)
    auth.login("township")
    village_page = "/township/52099901/periods/2026Q4/villages/5209990101/"
    html = client.get(village_page).get_data(as_text=True)
    assert "1 条待处理" in html and SECRET_REASON in html
    upheld = auth.post(
        f"/township/52099901/objections/{objection.id}",
        {"version": str(objection.version), "reply": "情况属实，重新复评", "decision": "uphold", "back": "village"},
        token_from=village_page,
    )
    assert upheld.status_code == 303 and upheld.headers["Location"].endswith(village_page)
    after = client.get(village_page).get_data(as_text=True)
    assert "已采纳对" in after and f"异议成立：{code}：{SECRET_REASON}" in after
    period = village_period(db_session, QINGSHAN)
    assert period.state is WorkflowState.RETURNED and period.posting_ends_at is None
    assert stored(db_session)[0].state is ObjectionState.UPHELD


def test_a_stale_answer_is_a_conflict(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    _, objection = _file_one(auth, db_session)
    auth.login("township")
    url = f"/township/52099901/objections/{objection.id}"
    first = {"version": str(objection.version), "reply": "无误", "decision": "dismiss"}
    assert auth.post(url, first, token_from="/township/52099901/objections").status_code == 303
    late = auth.post(url, first | {"decision": "uphold"}, token_from="/township/52099901/objections")
    assert late.status_code == 409
    assert stored(db_session)[0].state is ObjectionState.DISMISSED


def test_only_the_own_township_reviewer_answers(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    _, objection = _file_one(auth, db_session)
    data = {"version": str(objection.version), "reply": "改判", "decision": "uphold"}
    for username, url, status in (
        ("township2", f"/township/52099901/objections/{objection.id}", 403),
        ("township2", f"/township/52099902/objections/{objection.id}", 404),
        ("village", f"/township/52099901/objections/{objection.id}", 403),
        ("county", f"/township/52099901/objections/{objection.id}", 403),
        ("township", "/township/52099901/objections/999999", 404),
    ):
        auth.login(username)
        assert auth.post(url, data, token_from="/").status_code == status, (username, url)
        auth.logout()
    assert stored(db_session)[0].state is ObjectionState.PENDING
    auth.login("township2")
    html = client.get("/township/52099902/objections").get_data(as_text=True)
    assert SECRET_REASON not in html and "暂无待处理异议" in html
    auth.logout()
    auth.login("county")  # may look, sees no contact and no answer form
    html = client.get("/township/52099901/objections").get_data(as_text=True)
    assert SECRET_REASON in html and CONTACT not in html and 'name="decision"' not in html
    assert re.search(r"采纳（退回", html) is None
