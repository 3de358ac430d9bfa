"""Issue 30 item 8, one test each: the dashboard's last period name inside the chart, labelled
grade and award on phone cards, villager groups in number order, the inspector's sample with head,
group and plaque, no "少 0 户" shortfall, hints kept apart, the group screen logged as what it is,
phone numbers checked, and a posted version that is not a number refused (400, not 500)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA
from hygiene.models import AuditEntry, Household
from hygiene.naming import natural_key, phone_problem
from hygiene.services.rating import rating
from tests.web.conftest import Auth
from tests.web.test_village_reviews import GROUP_ENTRY, H1, V1, group_cells
from web import charts
from web.presentation import ACTION_LABELS

CHARACTER_WIDTH = 7  # a digit or letter at the chart's 12 px numbers, rounded up


def test_the_last_period_name_fits_inside_the_chart() -> None:
    periods = ["2025Q4", "2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    svg = str(
        charts.line_chart("c", "t", "d", periods, [charts.Line(charts.Series("达标率", "line-a"), [1, 2, 3, 4, 5])])
    )
    x = float(re.search(r'<text x="([0-9.]+)"[^>]*>2026Q4</text>', svg).group(1))
    assert x + len("2026Q4") * CHARACTER_WIDTH / 2 <= charts.WIDTH


def test_phone_cards_label_grade_and_award(client: FlaskClient) -> None:
    response = client.get("/static/app.css")
    css = response.get_data(as_text=True)
    response.close()
    assert 'table.public-list td:nth-child(5)::before { content: "等级："' in css
    assert 'table.public-list td:nth-child(6)::before { content: "表彰："' in css


def test_the_township_results_cards_label_grade_and_award(client: FlaskClient, auth: Auth) -> None:
    auth.login("township")
    html = client.get("/township/52099901/periods/2026Q4/villages/5209990104/").get_data(as_text=True)
    assert 'class="card-grade" data-label="等级"' in html and 'class="card-award" data-label="表彰"' in html


def test_groups_sort_by_their_number_not_as_text(client: FlaskClient) -> None:
    assert sorted(["第一组", "第三组", "第二组", "第十组", "第十一组"], key=natural_key) == [
        "第一组", "第二组", "第三组", "第十组", "第十一组",
    ]  # fmt: skip
    html = client.get("/public/villages/5209990101/2026Q3").get_data(as_text=True)
    options = re.findall(r"<option(?: selected)?>(第.组)</option>", html)
    assert len(options) >= 3 and options == sorted(options, key=natural_key)


def test_the_inspectors_sample_names_head_group_and_plaque(client: FlaskClient, auth: Auth) -> None:
    auth.login("inspector")
    html = client.get("/inspection/520999/townships/52099901/sample?period=2026Q4").get_data(as_text=True)
    assert "<th>户主</th>" in html and "<th>村民组</th>" in html and "<th>牌匾</th>" in html
    assert re.search(r'data-label="村民组">第.组</td>', html)
    assert re.search(r'data-label="牌匾">520999-2026-\d{6}（', html)


def test_a_level_at_its_floor_is_not_listed_as_short() -> None:
    lines = rating.Shortfalls(households=20, unrated=0, flagged=0, cleanest_short=0, clean_short=2).lines()
    assert lines == ["未达到比例下限：清洁户少 2 户"]
    assert rating.Shortfalls(households=20, unrated=0, flagged=0, cleanest_short=0, clean_short=0).lines() == []


def test_hints_are_kept_apart_on_the_board(client: FlaskClient, auth: Auth) -> None:
    auth.login("village")
    html = client.get(f"{V1}/").get_data(as_text=True)
    assert '</span><span class="flag">' not in html  # two hints never touch
    assert re.search(r'<span class="flag">[^<]+</span>、<span class="flag">', html)


def test_a_group_screen_save_is_logged_as_group_entry(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("village")
    cells = group_cells(client.get(GROUP_ENTRY).get_data(as_text=True))
    assert auth.post(GROUP_ENTRY, cells | {f"s_{H1}_{c}": "9" for c in CRITERIA}).status_code == 303
    db_session.rollback()
    actions = db_session.scalars(sa.select(AuditEntry.action).where(AuditEntry.actor == "village")).all()
    assert "group_entry" in actions and "review_group_entry" in actions and "import_reviews" not in actions
    assert ACTION_LABELS["group_entry"] == ACTION_LABELS["review_group_entry"] == "按组录入复评"


def test_phone_numbers_are_checked(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    assert phone_problem("12345") and phone_problem("1380000000") and phone_problem("23812345678")
    assert phone_problem("13812345678") is None and phone_problem("0851-12345678") is None
    household = db_session.scalars(sa.select(Household).where(Household.code == "520999010101002")).one()
    auth.login("village")
    url = f"/village/5209990101/households/{household.code}/edit"
    data = {
        "head_name": household.head_name,
        "group_id": household.group_id,
        "members": household.members,
        "phone": "12345",
        "version": household.version,
        "reason": "改电话",
    }
    refused = auth.post(url, data)
    assert refused.status_code != 302 and "手机号11位" in refused.get_data(as_text=True)


def test_a_version_that_is_not_a_number_is_a_400_not_a_500(client: FlaskClient, auth: Auth) -> None:
    auth.login("village")
    url = "/village/5209990101/households/520999010101002/edit"
    response = auth.post(url, {"head_name": "某", "members": "3", "version": "x", "reason": "x"})
    assert response.status_code == 400
