"""督查问责 in depth (issue 33), the pages: the ranking with the period's weights and the warnings'
consequences, the settings that set them, and the yearly roll-up (年度综合考核) with its workbook;
each for the county's inspectors and administrator only."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.services.setup import periods, units
from hygiene.services.supervision import ranking, yearly
from tests.web.conftest import Auth
from tests.web.test_county import typed
from tests.web.test_ranking_page import ranking_rows

RANKING = "/inspection/520999/ranking"
YEARLY = "/inspection/520999/yearly"


def test_the_ranking_shows_the_periods_weights_and_each_warnings_consequence(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    county = units.get_county(db_session, "520999")
    q3 = periods.get_period(db_session, county.id, "2026Q3")
    q3.ranking_weights, q3.warning_bonus_cut_percent = "0.5,0.25,0.25", "90,45"
    db_session.commit()
    auth.login("inspector")
    html = client.get(RANKING, query_string={"period": "2026Q3"}).get_data(as_text=True)
    assert "村考核均分（50%）" in html and "抽查一致率（25%）" in html and "覆盖得分（25%）" in html
    assert "红色预警扣减当期奖补 90%，黄色预警扣减 45%" in html
    expected = ranking.ranking(db_session, county, q3)
    rows = ranking_rows(html)
    assert [r[2] for r in rows] == [str(t.score) for t in expected.townships]
    assert [r[7] for r in rows] == ["", "扣减本期奖补 45%", "扣减本期奖补 90%"]
    q4 = client.get(RANKING, query_string={"period": "2026Q4"}).get_data(as_text=True)
    assert "村考核均分（40%）" in q4 and "红色预警扣减当期奖补 100%，黄色预警扣减 50%" in q4


def test_the_administrator_sets_the_weights_and_cuts_on_the_settings_page(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("county")
    page = client.get("/county/520999/settings").get_data(as_text=True)
    assert "乡镇排名权重" in page and 'value="0.4,0.3,0.3"' in page and 'value="100,50"' in page
    refused = auth.post(
        "/county/520999/settings", typed(ranking_weights="0.5,0.5,0.5", warning_bonus_cut_percent="100")
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "三项权重之和须为1（现为1.5）" in html and "须为 2 个用逗号分隔的数" in html
    saved = auth.post("/county/520999/settings", typed(ranking_weights="0.5, 0.2, 0.3"))
    assert saved.status_code == 303
    db_session.rollback()
    assert units.get_county(db_session, "520999").ranking_weights == "0.5,0.2,0.3"


def test_the_yearly_roll_up_page_and_workbook(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("county")
    html = client.get(YEARLY).get_data(as_text=True)
    review = yearly.yearly(db_session, units.get_county(db_session, "520999"), 2026)
    assert "示范县 · 2026 年度综合考核" in html and 'href="?year=2026" aria-current="page"' in html
    for line in review.townships:
        row = re.search(rf'<tr id="y-{line.code}">(.*?)</tr>', html, re.S)
        assert row and line.name in row[1] and str(line.mean_score) in row[1]
        for consequence in line.consequences:
            assert consequence in row[1]
    assert "扣减本期奖补 100%" in html and "2026Q3" in html and "2026Q4" in html
    got = client.get(YEARLY + ".xlsx", query_string={"year": "2026"})
    assert got.status_code == 200 and got.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(got.data))
    assert book.sheetnames == ["年度综合考核", "各期得分"]
    sheet = book["年度综合考核"]
    assert sheet.cell(1, 1).value == "示范县2026年度乡镇综合考核"
    assert tuple(c.value for c in sheet[2]) == yearly.HEADER
    assert [row[0] for row in sheet.iter_rows(min_row=3, values_only=True)] == [t.code for t in review.townships]
    assert sheet.max_row == 2 + len(review.townships)
    assert book["各期得分"].max_row == 2 + 2 * len(review.townships)
    assert client.get(YEARLY, query_string={"year": "2031"}).status_code == 404
    assert client.get(YEARLY, query_string={"year": "２０２６"}).status_code == 404
    assert client.get(YEARLY + ".xlsx", query_string={"year": "1999"}).status_code == 404


@pytest.mark.parametrize(
    ("username", "status"),
    [("inspector", 200), ("county", 200), ("township", 403), ("village", 403), ("county2", 403), ("inspector2", 403)],
)
def test_only_the_countys_inspectors_and_administrator_see_the_roll_up(
    client: FlaskClient, auth: Auth, username: str, status: int
) -> None:
    auth.login(username)
    assert client.get(YEARLY).status_code == status
    assert client.get(YEARLY + ".xlsx").status_code == status


def test_the_roll_up_needs_a_login(client: FlaskClient) -> None:
    assert client.get(YEARLY).status_code == 302
