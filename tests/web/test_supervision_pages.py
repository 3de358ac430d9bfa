"""督查问责 in depth (issue 33), the pages: the ranking with the period's weights and the warnings'
consequences, the settings that set them, and the yearly roll-up (年度综合考核) with its workbook;
each for the county's inspectors and administrator only."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import WorkflowState
from hygiene.models import Township, Village, VillagePeriod
from hygiene.services.setup import periods, units
from hygiene.services.supervision import consistency, ranking, yearly
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


SIGN_OFFS = "/county/520999/sign-offs"
APPROVED_VILLAGE = "5209990103"  # 松林镇, approved in the demo's 2026Q4


def village_period_of(db: Session, village_code: str) -> VillagePeriod:
    county = units.get_county(db, "520999")
    found = periods.village_period(
        db,
        db.scalars(sa.select(Village).where(Village.code == village_code)).one(),
        periods.get_period(db, county.id, "2026Q4"),
    )
    assert found is not None
    return found


def two_levels(db: Session) -> VillagePeriod:
    county = units.get_county(db, "520999")
    periods.get_period(db, county.id, "2026Q4").sign_off_levels = 2
    db.commit()
    return village_period_of(db, APPROVED_VILLAGE)


def test_a_second_level_on_the_boards_the_county_page_and_publication(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    vp = two_levels(db_session)
    village_url = f"/township/52099901/periods/2026Q4/villages/{APPROVED_VILLAGE}"
    auth.login("township")
    board = client.get("/township/52099901/", query_string={"period": "2026Q4"}).get_data(as_text=True)
    assert "待县级复核（第2级）" in board
    page = client.get(village_url + "/").get_data(as_text=True)
    assert "县级签批全部通过后方可发布公示" in page and "发布公示</button>" not in page
    refused = auth.post(
        f"{village_url}/publish",
        {"version": vp.version, "reason": "已核对", "confirmed": "1"},
        token_from=village_url + "/",
    )
    assert "还需县级第2级签批" in client.get(refused.headers["Location"]).get_data(as_text=True)
    auth.logout()

    auth.login("county")
    listing = client.get(SIGN_OFFS, query_string={"period": "2026Q4"}).get_data(as_text=True)
    assert f'id="vp-{vp.id}"' in listing and "第2级（复核）" in listing
    stale = auth.post(f"{SIGN_OFFS}/{vp.id}/approve", {"version": vp.version + 5}, token_from=SIGN_OFFS)
    assert stale.status_code == 409
    done = auth.post(f"{SIGN_OFFS}/{vp.id}/approve", {"version": vp.version}, token_from=SIGN_OFFS)
    assert done.status_code == 303 and "已签批通过" in client.get(done.headers["Location"]).get_data(as_text=True)
    auth.logout()

    db_session.rollback()
    vp = village_period_of(db_session, APPROVED_VILLAGE)
    assert vp.sign_offs == 1
    auth.login("township")
    assert "发布公示</button>" in client.get(village_url + "/").get_data(as_text=True)
    published = auth.post(
        f"{village_url}/publish",
        {"version": vp.version, "reason": "已核对", "confirmed": "1"},
        token_from=village_url + "/",
    )
    assert published.status_code == 303
    db_session.rollback()
    assert village_period_of(db_session, APPROVED_VILLAGE).state is WorkflowState.PUBLISHED


def test_the_county_returns_with_a_reason_the_clerk_sees(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    vp = two_levels(db_session)
    auth.login("county")
    no_reason = auth.post(f"{SIGN_OFFS}/{vp.id}/return", {"version": vp.version, "reason": " "}, token_from=SIGN_OFFS)
    assert "退回必须填写原因" in client.get(no_reason.headers["Location"]).get_data(as_text=True)
    auth.post(f"{SIGN_OFFS}/{vp.id}/return", {"version": vp.version, "reason": "互评不足"}, token_from=SIGN_OFFS)
    db_session.rollback()
    vp = village_period_of(db_session, APPROVED_VILLAGE)
    assert vp.state is WorkflowState.RETURNED and vp.return_reason == "县级复核（第2级）退回：互评不足"
    assert f'id="vp-{vp.id}"' not in client.get(SIGN_OFFS).get_data(as_text=True)


@pytest.mark.parametrize("username", ["inspector", "township", "village", "county2"])
def test_only_the_countys_administrator_signs(
    client: FlaskClient, auth: Auth, db_session: Session, username: str
) -> None:
    vp = two_levels(db_session)
    auth.login(username)
    assert client.get(SIGN_OFFS).status_code == 403
    token_page = "/"
    assert auth.post(f"{SIGN_OFFS}/{vp.id}/approve", {"version": vp.version}, token_from=token_page).status_code == 403
    db_session.rollback()
    assert village_period_of(db_session, APPROVED_VILLAGE).sign_offs == 0


def test_another_countys_village_period_is_not_found(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    vp = two_levels(db_session)
    auth.login("county2")
    other = auth.post(f"/county/520998/sign-offs/{vp.id}/approve", {"version": vp.version}, token_from="/")
    assert other.status_code == 404


def test_the_townships_page_shows_each_peer_reviewers_consistency(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    township = db_session.scalars(sa.select(Township).where(Township.code == "52099901")).one()
    q3 = periods.get_period(db_session, units.get_county(db_session, "520999").id, "2026Q3")
    lines = consistency.reviewers(db_session, township, q3)
    auth.login("township")
    html = client.get("/township/52099901/", query_string={"period": "2026Q3"}).get_data(as_text=True)
    assert f"{q3.code}：{len(lines)} 户参与互评" in html
    table = re.search(r'<table class="cards reviewers">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert table
    codes = re.findall(r'<td class="card-name">(\d+) ', table[1])
    assert codes == [x.household_code for x in lines]
    assert f'data-label="平均偏离">{lines[0].mean_distance}' in table[1]
    auth.logout()
    auth.login("township2")
    assert client.get("/township/52099901/").status_code == 403


def test_a_monthly_county_opens_months_and_every_picker_takes_them(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("county")
    assert auth.post("/county/520999/settings", typed(period_length="month")).status_code == 303
    page = client.get("/county/520999/periods").get_data(as_text=True)
    assert 'value="2027-01"' in page and "月份（如 2027-01）" in page and "开启月份" in page
    refused = auth.post("/county/520999/periods", {"code": "2027Q1"})
    assert "按月评比，期别应为如 2027-01 的形式" in refused.get_data(as_text=True)
    opened = auth.post("/county/520999/periods", {"code": "2027-01"})
    assert opened.status_code == 303
    ranking_page = client.get(RANKING, query_string={"period": "2027-01"})
    assert ranking_page.status_code == 200 and "2027-01 乡镇排名" in ranking_page.get_data(as_text=True)
    assert client.get("/county/520999/dashboard", query_string={"period": "2027-01"}).status_code == 200
    assert client.get(YEARLY, query_string={"year": "2027"}).status_code == 200
    auth.logout()
    auth.login("township")
    board = client.get("/township/52099901/", query_string={"period": "2027-01"}).get_data(as_text=True)
    assert "2027-01：共" in board
