"""The accountability ladder's pages (issue 33, RULES.md §9): the county keeps the cadres and decides
the system's proposals; the township's page and the problem ledger show each unit's rung; only the
county's administrator decides."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import AccountabilityRung, CaseState
from hygiene.models import AccountabilityCase, Cadre, Township, User
from hygiene.services import tick
from hygiene.services.setup import units
from hygiene.services.supervision import accountability, notices
from tests.hygiene.factories import period as period_of
from tests.hygiene.factories import village
from tests.web.conftest import Auth

PAGE = "/county/520999/accountability"
T0 = dt.datetime(2026, 10, 1, 1, tzinfo=dt.UTC)


def proposal(db: Session, failures: int = 1) -> AccountabilityCase:
    """``failures`` notices to 青山村 left unanswered (a frozen clock, 30 days apart), the last proposal returned."""
    county = units.get_county(db, "520999")
    inspector = db.scalars(sa.select(User).where(User.username == "inspector")).one()
    township = db.scalars(sa.select(Township).where(Township.code == "52099901")).one()
    for n in range(failures):
        at = T0 + dt.timedelta(days=30 * n)
        notices.issue(
            db, inspector, county, period=period_of(db, "2026Q4"), township=township, village=village(db),
            responsible_person="李主任", problem=f"垃圾未清运{n}", now=at,
        )  # fmt: skip
        done = tick.run(db, now=at + dt.timedelta(hours=25))
    db.commit()
    return done.proposed[-1]


def test_the_administrator_keeps_cadres_and_decides_a_proposal(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    case = proposal(db_session, failures=2)
    seen = case.version
    auth.login("county")
    refused = auth.post(PAGE, {"unit_code": "5209980101", "name": "张包保"})
    assert refused.status_code == 422 and "本县没有编码为 &#39;5209980101&#39; 的乡镇或村" in refused.get_data(
        as_text=True
    )
    assert auth.post(PAGE, {"unit_code": "5209990101", "name": "张包保", "title": "站长"}).status_code == 303
    html = client.get(PAGE).get_data(as_text=True)
    assert f'id="case-{case.id}"' in html and "青山村：建议约谈" in html and "张包保" in html
    cadre = db_session.scalars(sa.select(Cadre).where(Cadre.name == "张包保")).one()
    url = f"{PAGE}/{case.id}/decide"
    no_note = auth.post(url, {"version": case.version, "rung": "warning", "cadre_id": cadre.id}, token_from=PAGE)
    assert "不能超过阶梯应到的约谈" in client.get(no_note.headers["Location"]).get_data(as_text=True)
    done = auth.post(url, {"version": case.version, "rung": "talk", "cadre_id": cadre.id, "note": ""}, token_from=PAGE)
    assert done.status_code == 303
    db_session.rollback()
    db_session.expire_all()
    decided = db_session.get(AccountabilityCase, case.id)
    assert (decided.state, decided.rung, decided.cadre_id) == (CaseState.DECIDED, AccountabilityRung.TALK, cadre.id)
    page = client.get(PAGE).get_data(as_text=True)
    assert "已决定问责" in page and '<td data-label="决定">约谈</td>' in page
    stale = auth.post(f"{PAGE}/{case.id}/dismiss", {"version": seen, "note": "晚了"}, token_from=PAGE)
    assert stale.status_code == 409
    again = auth.post(f"{PAGE}/{case.id}/dismiss", {"version": decided.version, "note": "晚了"}, token_from=PAGE)
    assert "该问责记录已决定" in client.get(again.headers["Location"]).get_data(as_text=True)
    auth.logout()
    auth.login("township")
    township_page = client.get("/township/52099901/").get_data(as_text=True)
    assert "问责阶梯" in township_page and '<td class="card-grade" data-label="当前问责">约谈</td>' in township_page
    auth.logout()
    auth.login("inspector")
    ledger = client.get("/inspection/520999/notices").get_data(as_text=True)
    assert '<td class="card-grade" data-label="当前问责">约谈</td>' in ledger


def test_a_dismissal_needs_a_reason_and_a_cadre_can_be_retired(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    case = proposal(db_session)
    admin = db_session.scalars(sa.select(User).where(User.username == "county")).one()
    cadre = accountability.add_cadre(
        db_session, admin, units.get_county(db_session, "520999"), unit_code="52099901", name="王分管"
    )
    db_session.commit()
    auth.login("county")
    dismissed = auth.post(
        f"{PAGE}/{case.id}/dismiss", {"version": case.version, "note": "停电无法清运"}, token_from=PAGE
    )
    assert "已决定不予问责" in client.get(dismissed.headers["Location"]).get_data(as_text=True)
    retired = auth.post(
        f"/county/520999/cadres/{cadre.id}/retire", {"version": cadre.version, "reason": "调任"}, token_from=PAGE
    )
    assert retired.status_code == 303
    db_session.rollback()
    db_session.expire_all()
    assert db_session.get(AccountabilityCase, case.id).state is CaseState.DISMISSED
    assert db_session.get(Cadre, cadre.id).active is False
    assert "已不再担任" in client.get(PAGE).get_data(as_text=True)


@pytest.mark.parametrize("username", ["inspector", "township", "village", "county2"])
def test_only_the_countys_administrator(client: FlaskClient, auth: Auth, db_session: Session, username: str) -> None:
    case = proposal(db_session)
    auth.login(username)
    assert client.get(PAGE).status_code == 403
    decided = auth.post(f"{PAGE}/{case.id}/decide", {"version": case.version, "rung": "statement"}, token_from="/")
    assert decided.status_code == 403
    assert auth.post(PAGE, {"unit_code": "5209990101", "name": "某"}, token_from="/").status_code == 403
    db_session.rollback()
    db_session.expire_all()
    assert db_session.get(AccountabilityCase, case.id).state is CaseState.PROPOSED


def test_another_countys_case_is_not_found(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    case = proposal(db_session)
    auth.login("county2")
    other = auth.post(
        f"/county/520998/accountability/{case.id}/dismiss", {"version": case.version, "note": "x"}, token_from="/"
    )
    assert other.status_code == 404
