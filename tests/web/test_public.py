"""What residents see: Chinese pages with public data only (RULES.md §6)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.models import Household
from tests.web.conftest import Auth
from tests.web.test_township import version_on
from tests.web.test_village_reviews import submit

PUBLIC_PAGES = [
    "/",
    "/public/villages/5209990101",
    "/public/villages/5209990201",
    "/login",
    "/public/villages/5209990101/2026Q3",
    "/public/villages/5209990104/2026Q4",
]


def test_home_page_lists_the_demo_county_in_chinese(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    for name in ("示范县", "松林镇", "河坝乡", "白果街道", "青山村"):
        assert name in html
    assert "/public/villages/5209990101" in html


def test_village_page_lists_its_published_quarters(client: FlaskClient) -> None:
    html = client.get("/public/villages/5209990101").get_data(as_text=True)
    assert "2026Q3" in html and "已定档" in html


def test_unknown_village_is_not_found(client: FlaskClient) -> None:
    assert client.get("/public/villages/000").status_code == 404


def test_no_phone_or_poverty_status_on_any_public_page(client: FlaskClient, db_session: Session) -> None:
    phones = set(db_session.scalars(sa.select(Household.phone).where(Household.phone.is_not(None))))
    assert phones
    for url in PUBLIC_PAGES:
        html = client.get(url).get_data(as_text=True)
        assert not phones & set(re.findall(r"1\d{10}", html)), url
        assert "脱贫" not in html and "低收入" not in html, url


def test_static_assets_are_served_locally(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    with client.get("/static/app.css") as css:
        assert css.status_code == 200 and "font-family" in css.get_data(as_text=True)


def test_the_posted_list_shows_masked_names_and_no_private_data(client: FlaskClient, db_session: Session) -> None:
    html = client.get("/public/villages/5209990101/2026Q3").get_data(as_text=True)
    assert "红榜" in html and "黑榜" in html and "最清洁户" in html
    households = db_session.scalars(sa.select(Household).where(Household.code.like("5209990101%"))).all()
    for household in households:
        assert household.head_name not in html  # full names appear only on the printed village notice
        if household.phone:
            assert household.phone not in html
    assert "评议人" not in html and "组长" not in html  # no reviewers' identities


def test_the_posted_list_of_an_unpublished_period_is_not_found(client: FlaskClient) -> None:
    assert client.get("/public/villages/5209990101/2026Q4").status_code == 404  # draft
    assert client.get("/public/villages/5209990101/2026Q9").status_code == 404  # not a quarter


def test_the_favicon_is_served_without_a_cookie(client: FlaskClient) -> None:
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200 and response.data[:4] == b"\x00\x00\x01\x00"  # an ICO header
        assert "Set-Cookie" not in response.headers
    assert 'rel="icon" href="/favicon.ico"' in client.get("/").get_data(as_text=True)


def test_a_village_published_with_households_unrated_says_how_many_on_its_public_list(
    client: FlaskClient, auth: Auth
) -> None:
    """Issue 17's 青山村: 53 of 67 households without a group review, taken through on purpose."""
    publish_qingshan(client, auth)
    html = client.get("/public/villages/5209990101/2026Q4").get_data(as_text=True)
    assert "共 67 户，评定 14 户，<strong>53 户本季度未评定</strong>（没有复评，不在名单中）" in html


def publish_qingshan(client: FlaskClient, auth: Auth) -> None:
    """青山村 2026Q4 taken through submit, approve and publish (with reasons: 53 households unrated)."""
    village, township = "/village/5209990101/periods/2026Q4", "/township/52099901/periods/2026Q4/villages/5209990101/"
    auth.login("village")
    assert submit(auth, village, reason="其余农户外出务工").status_code == 302
    auth.logout()
    auth.login("township")
    for move in ("approve", "publish"):
        version = version_on(client.get(township).get_data(as_text=True))
        data = {"version": version, "reason": "村里说明了原因", "confirmed": "1"}
        moved = auth.post(township + move, data, token_from=township)
        assert moved.status_code == 303
    auth.logout()
