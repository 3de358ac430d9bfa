"""The county dashboard page (issue 19): who sees it, its charts and the numbers under them, and that
it is one self-contained page (no script, nothing fetched from elsewhere)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.models import User
from hygiene.services.setup import periods, units
from hygiene.services.supervision import dashboard, notices
from tests.web.conftest import Auth

PAGE = "/county/520999/dashboard"
CHART_IDS = (
    "chart-grades",
    "chart-trend",
    "chart-coverage",
    "chart-shortfalls",
    "chart-warnings",
    "chart-notices",
    "chart-lag",
    "chart-health",
)


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("county", 200),
        ("inspector", 200),
        ("township", 403),
        ("township2", 403),
        ("village", 403),
        ("village2", 403),
        ("inspector2", 403),
        ("county2", 403),
    ],
)
def test_the_countys_administrator_and_inspectors_only(
    client: FlaskClient, auth: Auth, username: str, status: int
) -> None:
    auth.login(username)
    assert client.get(PAGE).status_code == status


def test_an_unknown_county_or_period_is_not_found(client: FlaskClient, auth: Auth) -> None:
    auth.login("county")
    assert client.get("/county/123456/dashboard").status_code == 404
    assert client.get(PAGE, query_string={"period": "2019Q1"}).status_code == 404


def test_signed_out_is_sent_to_the_login(client: FlaskClient) -> None:
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_every_chart_is_drawn_with_its_title_and_description(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    """The demo has no notice: one is issued (now: open, not overdue) so that every chart has data."""
    county = units.get_county(db_session, "520999")
    inspector = db_session.scalars(sa.select(User).where(User.username == "inspector")).one()
    notices.issue(
        db_session,
        inspector,
        county,
        period=periods.get_period(db_session, county.id, "2026Q3"),
        township=units.get_township(db_session, "52099902"),
        responsible_person="李主任",
        problem="垃圾池满溢",
    )
    db_session.commit()
    auth.login("inspector")
    html = client.get(PAGE, query_string={"period": "2026Q3"}).get_data(as_text=True)
    for chart_id in CHART_IDS:
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in html, chart_id
        assert f'<title id="{chart_id}-title">' in html and f'<desc id="{chart_id}-desc">' in html
    assert html.count("<details>") == 7  # a table under each section
    assert "2026Q3 各乡镇农户等级分布" in html
    assert re.search(
        r'<td class="card-name">河坝乡</td><td data-label="待整改">1</td>\s*<td data-label="其中逾期">0</td>', html
    )


def test_the_tables_show_the_services_numbers(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    county = units.get_county(db_session, "520999")
    q3 = periods.get_period(db_session, county.id, "2026Q3")
    auth.login("county")
    html = client.get(PAGE, query_string={"period": "2026Q3"}).get_data(as_text=True)
    for t in dashboard.grade_distribution(db_session, county, q3):
        row = re.search(
            rf'<td class="card-name">{t.name}</td><td data-label="已公示村">(\d+)</td>(.*?)</tr>', html, re.S
        )
        assert row, t.name
        cells = re.findall(r'<td data-label="[^"]+">(\d+)</td>', row[2])
        assert [int(row[1]), *map(int, cells)] == [
            t.villages_posted, t.cleanest, t.clean, t.fairly_clean, t.not_clean, t.unrated, t.households
        ]  # fmt: skip
    (health,) = dashboard.method_health(db_session, county, q3)
    assert f'<td data-label="审核用时（小时）">{health.approval_lag_hours}</td>' in html  # 48.0 in the demo
    assert f'<td data-label="一次通过率">{health.first_pass_percent}%</td>' in html
    for w in dashboard.warnings(db_session, county, q3):
        if w.warning:
            assert f"{w.warning_label}</span>{w.name}" in html


def test_the_newest_period_by_default_and_the_picker(client: FlaskClient, auth: Auth) -> None:
    auth.login("county")
    html = client.get(PAGE).get_data(as_text=True)
    assert "示范县 · 2026Q4" in html
    assert '<a href="?period=2026Q3">2026Q3</a>' in html
    # 2026Q4: the inspector's revocation counts in the newest period
    assert '<td data-label="本季度摘牌">1</td>' in html


def test_the_page_stands_alone_no_script_no_outside_address(client: FlaskClient, auth: Auth) -> None:
    auth.login("county")
    html = client.get(PAGE).get_data(as_text=True)
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href|xlink:href)\s*=\s*["']?(https?:)?//""", html)
    assert "http://" not in html and "https://" not in html


def test_a_county_with_nothing_posted_says_so_instead_of_drawing(client: FlaskClient, auth: Auth) -> None:
    auth.login("county2")
    html = client.get("/county/520998/dashboard").get_data(as_text=True)
    assert "本季度尚无公示结果" in html and "没有未达比例下限的村" in html and "本季度没有未销号的通知" in html
    assert 'aria-labelledby="chart-grades-title' not in html


def test_the_county_home_links_to_the_dashboard(client: FlaskClient, auth: Auth) -> None:
    auth.login("county")
    assert 'href="/county/520999/dashboard"' in client.get("/county/520999/").get_data(as_text=True)
