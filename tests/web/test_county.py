"""The county administrator's settings and periods pages (issue 16): each setting with its meaning,
validated, audited, reaching only periods opened later; opening the next quarter."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.models import County, Period, VillagePeriod
from hygiene.services import counties
from tests.web.conftest import Auth

C = "/county/520999"


DEFAULTS = (10, 20, 100, 2, 7, 1, True, 24, 250)  # RULES.md's defaults, in SETTINGS order


def typed(**changes: str) -> dict[str, str]:
    """The settings form as the page shows it, with these fields changed."""
    return {s.key: s.show(value) for s, value in zip(counties.SETTINGS, DEFAULTS, strict=True)} | changes


def test_the_administrator_changes_a_setting_and_only_later_periods_take_it(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("county")
    page = client.get(f"{C}/settings").get_data(as_text=True)
    assert "公示天数（天）" in page and "尚未修改过" in page and 'value="7"' in page
    refused = auth.post(f"{C}/settings", typed(posting_days="七天", gap_tenths="10.55"))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "公示天数（天）：&#39;七天&#39; 不是1–60之间的整数" in html
    saved = auth.post(f"{C}/settings", typed(posting_days="10"))
    assert saved.status_code == 303
    page = client.get(f"{C}/settings").get_data(as_text=True)
    assert "已修改 1 项设置，只影响此后新开的季度" in page and "公示天数（天）：7 → 10" in page
    db_session.rollback()
    county = db_session.scalars(sa.select(County).where(County.code == "520999")).one()
    q4 = db_session.scalars(sa.select(Period).where(Period.county_id == county.id, Period.code == "2026Q4")).one()
    assert county.posting_days == 10 and q4.posting_days == 7
    opened = auth.post(f"{C}/periods", {"code": "2027Q1"})
    assert opened.status_code == 303
    assert "已开启 2027Q1：新开 12 个村的评比" in client.get(f"{C}/periods").get_data(as_text=True)
    db_session.rollback()
    q1 = db_session.scalars(sa.select(Period).where(Period.county_id == county.id, Period.code == "2027Q1")).one()
    assert q1.posting_days == 10
    drafts = db_session.scalar(sa.select(sa.func.count(VillagePeriod.id)).where(VillagePeriod.period_id == q1.id))
    assert drafts == 12


def test_the_periods_page_offers_the_next_quarter_and_refuses_a_bad_one(client: FlaskClient, auth: Auth) -> None:
    auth.login("county")
    html = client.get(f"{C}/periods").get_data(as_text=True)
    assert 'value="2027Q1"' in html and "2026Q4" in html and "2026Q3" in html
    refused = auth.post(f"{C}/periods", {"code": "2027Q5"})
    assert refused.status_code == 200 and "季度格式不正确" in refused.get_data(as_text=True)
    again = auth.post(f"{C}/periods", {"code": "2026Q4"})
    assert "已存在 2026Q4：新开 0 个村的评比" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_only_the_countys_administrator_reaches_these_pages(client: FlaskClient, auth: Auth) -> None:
    for username in ("township", "inspector", "county2"):
        auth.login(username)
        assert client.get(f"{C}/settings").status_code == 403
        assert client.get(f"{C}/periods").status_code == 403
        auth.logout()
