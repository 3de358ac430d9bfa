"""Corrections (更正) and reinstatement as a county office meets them on the pages: a plaque revoked
by a wrong spot check reinstated; 青山村's final 2026Q3 sent back after a confirmation step naming
what it changes, published again as version 2 saying 更正 on the public list and the printed
notice, and final again with the register as it was."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import PlaqueState, WorkflowState
from hygiene.models import AuditEntry, County, Period, Plaque, Village, VillagePeriod
from hygiene.services.awards import certificates, plaques
from hygiene.services.rating import workflow
from tests.web.conftest import Auth
from tests.web.test_township import version_on
from tests.web.test_village_reviews import submit

T1 = "/township/52099901"
Q3 = f"{T1}/periods/2026Q3/villages/5209990101/"
PUBLIC_Q3 = "/public/villages/5209990101/2026Q3"


def fresh(db: Session) -> Session:
    db.rollback()
    return db


def qingshan_q3(db: Session) -> VillagePeriod:
    return (
        fresh(db)
        .scalars(
            sa.select(VillagePeriod)
            .join(Village)
            .join(Period, VillagePeriod.period_id == Period.id)
            .where(Village.code == "5209990101", Period.code == "2026Q3")
        )
        .one()
    )


def register(db: Session) -> list[tuple[str, str, str, str]]:
    """青山村's plaques on the register."""
    county = fresh(db).scalars(sa.select(County).where(County.code == "520999")).one()
    return [
        (r.plaque.serial, r.household.code, r.plaque.level.value, r.plaque.state.value)
        for r in plaques.register(db, county)
        if r.village.code == "5209990101"
    ]


def test_a_wrong_revocation_is_reinstated_and_a_final_period_corrected_ends_as_before(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    # 1. the demo's inspector revoked a plaque of 青山村 by mistake: reinstated on its page
    revoked = fresh(db_session).scalars(sa.select(Plaque).where(Plaque.state == PlaqueState.REVOKED)).one()
    url = f"{T1}/plaques/{revoked.serial}"
    auth.login("township")
    assert "恢复牌匾" not in client.get(url).get_data(as_text=True)
    denied = auth.post(url + "/reinstate", {"version": revoked.version, "reason": "抽错户"}, token_from=url)
    assert denied.status_code == 303 and fresh(db_session).get(Plaque, revoked.id).state is PlaqueState.REVOKED
    auth.logout()
    auth.login("inspector")
    assert "恢复原因" in client.get(url).get_data(as_text=True)
    done = auth.post(url + "/reinstate", {"version": revoked.version, "reason": "抽错户：应为邻户"}, token_from=url)
    assert done.status_code == 303 and "已恢复牌匾" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert fresh(db_session).get(Plaque, revoked.id).state is PlaqueState.VALID
    auth.logout()
    before = register(db_session)

    # 2. the township reviewer cannot correct; the county administrator can, after confirming
    auth.login("township")
    assert "退回更正" not in client.get(Q3).get_data(as_text=True)
    assert auth.post(Q3 + "reopen", {"version": 1, "reason": "x"}, token_from=Q3).status_code == 403
    auth.logout()
    auth.login("county")
    page = client.get(Q3).get_data(as_text=True)
    assert "退回更正（县管理员）" in page
    data = {"version": version_on(page), "reason": "第二组复评分录错"}
    asked = auth.post(Q3 + "reopen", data, token_from=Q3)
    asked_html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "请确认：退回更正" in asked_html
    assert "第1版公示结果存档保留，标为已更正" in asked_html and "作废牌匾" in asked_html
    assert qingshan_q3(db_session).state is WorkflowState.FINAL
    reopened = auth.post(Q3 + "reopen", data | {"confirmed": "1"}, token_from=Q3)
    assert reopened.status_code == 303
    village_period = qingshan_q3(db_session)
    assert village_period.state is WorkflowState.RETURNED and village_period.return_reason == "更正：第二组复评分录错"
    assert client.get(PUBLIC_Q3).status_code == 404
    assert before and register(db_session) == []  # all issued by 2026Q3: void until it is final again
    auth.logout()

    # 3. corrected, approved and published again: version 2, saying it corrects version 1
    auth.login("village")
    assert submit(auth, "/village/5209990101/periods/2026Q3", reason="已更正").status_code == 302
    auth.logout()
    auth.login("township")
    for move in ("approve", "publish"):
        version = version_on(client.get(Q3).get_data(as_text=True))
        moved = auth.post(Q3 + move, {"version": version, "reason": "已核对", "confirmed": "1"}, token_from=Q3)
        assert moved.status_code == 303
    auth.logout()
    public = client.get(PUBLIC_Q3).get_data(as_text=True)
    assert "更正" in public and "本名单为第2版，更正第1版公示的结果" in public
    db = fresh(db_session)
    notice = certificates.notice(db, qingshan_q3(db).village, "2026Q3", objection_url="http://x")
    assert notice.record_number == 2 and notice.corrects == 1

    # 4. final again when the posting period is over: the register is as it was before the mistake
    later = qingshan_q3(db_session).posting_ends_at + dt.timedelta(hours=1)
    done_, failed = workflow.finalize_due(db_session, now=later)
    assert not failed and any(f.village_period.village.code == "5209990101" for f in done_)
    db_session.commit()
    assert register(db_session) == before
    actions = set(fresh(db_session).scalars(sa.select(AuditEntry.action)))
    assert {"plaque_reinstate", "reopen", "record_supersede", "plaque_void", "plaque_issue"} <= actions
