"""The township ranking page (issue 19, RULES.md §9): scores and warnings, each component traced to its
numbers, the history as a table and a server-drawn chart, the CSV; for the county's inspectors and
administrator only."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import AssessmentArea
from hygiene.io.exports import csv_bytes
from hygiene.models import Household, Township, Village, VillageAssessment, VillagePeriod
from hygiene.services.setup import periods, units
from hygiene.services.supervision import ranking
from tests.hygiene.test_ranking import TOTAL_OF_GRADE, posted_lines, spot_check
from tests.web.conftest import Auth
from web.inspection.ranking import history_chart

PAGE = "/inspection/520999/ranking"
CSV = "/inspection/520999/ranking.csv"


def service_ranking(db: Session, period_code: str) -> ranking.Ranking:
    county = units.get_county(db, "520999")
    return ranking.ranking(db, county, periods.get_period(db, county.id, period_code))


def ranking_rows(html: str) -> list[list[str]]:
    """The cells of the ranking table, tags stripped."""
    table = re.search(r'<table class="cards ranking">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert table
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", table[1], re.S)
    ]


def details(html: str, township_code: str) -> str:
    found = re.search(rf'<details class="card ranking-detail" id="t-{township_code}">(.*?)</details>', html, re.S)
    assert found, township_code
    return found[1]


@pytest.fixture
def inspector(client: FlaskClient, auth: Auth) -> Iterator[FlaskClient]:
    auth.login("inspector")
    yield client


def test_the_ranking_shows_each_component_with_its_weight_and_the_warnings(
    inspector: FlaskClient, db_session: Session
) -> None:
    html = inspector.get(PAGE, query_string={"period": "2026Q3"}).get_data(as_text=True)
    assert "村考核均分（40%）" in html and "抽查一致率（30%）" in html and "覆盖得分（30%）" in html
    expected = service_ranking(db_session, "2026Q3")
    rows = ranking_rows(html)
    assert [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        (str(t.rank), t.name, str(t.score), str(t.mean_assessment), "无数据", str(t.coverage_points))
        for t in expected.townships
    ]
    assert [r[6] for r in rows] == ["", "黄色预警", "红色预警"]
    assert '<td><span class="badge badge-red">红色预警</span></td>' in html
    assert '<td><span class="badge badge-yellow">黄色预警</span></td>' in html


def test_the_details_trace_each_component_to_its_numbers(inspector: FlaskClient, db_session: Session) -> None:
    """Assessments by village, coverage against the plan, and the missing agreement reweighted."""
    html = inspector.get(PAGE, query_string={"period": "2026Q3"}).get_data(as_text=True)
    for line in service_ranking(db_session, "2026Q3").townships:
        block = details(html, line.code)
        for village in line.villages:
            assert re.search(
                rf"<td[^>]*>{village.code}</td><td[^>]*>{village.name}</td><td[^>]*>{village.total}</td>", block
            ), village
        assert f"{len(line.villages)} 个村考核，平均 {line.mean_assessment} 分" in block
        assert f"已评定过的户 {line.rated} / {line.households} 户" in block
        assert f"推进计划 {line.plan_year} 年累计 {line.planned_percent}%" in block
        assert f"= {line.coverage_points}。" in block
        assert "无数据，按其余权重折算" in block  # no spot check in the demo
        assert f"÷ 0.7 = {line.score}" in block


def test_spot_checks_appear_with_their_grades_and_the_agreement(inspector: FlaskClient, db_session: Session) -> None:
    rated = [line for line in posted_lines(db_session, "2026Q3", "5209990101") if line.grade is not None]
    same, other = rated[0], rated[1]
    spot_check(db_session, "2026Q3", db_session.get(Household, same.household_id), TOTAL_OF_GRADE[same.grade.value])  # type: ignore[arg-type, union-attr]
    wrong = "not_clean" if other.grade.value != "not_clean" else "cleanest"  # type: ignore[union-attr]
    spot_check(db_session, "2026Q3", db_session.get(Household, other.household_id), TOTAL_OF_GRADE[wrong])  # type: ignore[arg-type]
    db_session.commit()
    html = inspector.get(PAGE, query_string={"period": "2026Q3"}).get_data(as_text=True)
    line = next(t for t in service_ranking(db_session, "2026Q3").townships if t.code == "52099901")
    row = next(r for r in ranking_rows(html) if r[1] == "松林镇")
    assert row[2] == str(line.score) and row[4] == "50.00%"
    block = details(html, "52099901")
    assert "抽查已评定的 2 户，等级一致 1 户，一致率 50.00%" in block
    for check in line.checks:
        assert check.code in block
        assert f'<td class="card-detail" data-label="抽查得分">{check.spot_total}</td>' in block
    assert block.count('<td class="card-grade">一致</td>') == 1
    assert block.count('<td class="card-grade">不一致</td>') == 1
    assert "÷" not in block.split("<h3>")[0]  # every component present: the plain formula
    assert "无数据，按其余权重折算" not in block
    assert "无数据，按其余权重折算" in details(html, "52099902")


def test_ties_share_the_rank_and_the_warning(inspector: FlaskClient, db_session: Session) -> None:
    period = periods.get_period(db_session, units.get_county(db_session, "520999").id, "2026Q3")
    for assessment, code in db_session.execute(
        sa.select(VillageAssessment, Township.code)
        .join(VillagePeriod, VillageAssessment.village_period_id == VillagePeriod.id)
        .join(Village, VillagePeriod.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .where(VillagePeriod.period_id == period.id)
    ):
        for area in AssessmentArea:
            setattr(assessment, area.value, 250 if code == "52099903" else 200)
    db_session.commit()
    rows = ranking_rows(inspector.get(PAGE, query_string={"period": "2026Q3"}).get_data(as_text=True))
    assert [(r[0], r[1], r[6]) for r in rows] == [
        ("1", "白果街道", "黄色预警"),
        ("2（并列）", "松林镇", "红色预警"),
        ("2（并列）", "河坝乡", "红色预警"),
    ]


def test_the_history_is_a_table_and_a_chart_with_one_line_per_township(
    inspector: FlaskClient, db_session: Session
) -> None:
    html = inspector.get(PAGE, query_string={"period": "2026Q4"}).get_data(as_text=True)
    svg = re.search(r'<svg viewBox="0 0 360 200" role="img"[^>]*>(.*?)</svg>', html, re.S)
    assert svg and '<title id="history-title">示范县各乡镇历季得分</title>' in svg[1]
    series = re.findall(r'<g class="series" data-township="(\d+)">\s*<title>([^<]*)</title>(.*?)</g>', svg[1], re.S)
    assert [code for code, _, _ in series] == ["52099901", "52099902", "52099903"]
    every = ranking.history(db_session, units.get_county(db_session, "520999"))
    history = {r.period.code: {t.code: t for t in r.townships} for r in every}
    for code, title, body in series:
        q3, q4 = history["2026Q3"][code], history["2026Q4"][code]
        assert title == f"{q3.name}：2026Q3 {q3.score} 分，2026Q4 {q4.score} 分"
        assert body.count("<polyline") == 1 and body.count("<circle") == 2
        points = re.search(r'<polyline points="([^"]+)"', body)
        assert points
        (x1, y1), (x2, y2) = (tuple(map(float, p.split(","))) for p in points[1].split())
        assert 0 < x1 < x2 < 360 and 0 < y1 < 200 and 0 < y2 < 200
        assert (y2 < y1) == (q4.score > q3.score)  # higher score, higher on the chart
    table = re.search(r'<table class="board ranking-history-table">(.*?)</table>', html, re.S)
    assert table and "<th>2026Q3</th><th>2026Q4</th>" in table[1]
    for code in ("52099901", "52099902", "52099903"):
        for period_code in ("2026Q3", "2026Q4"):
            line = history[period_code][code]
            assert f'{line.score}<br><span class="hint">第 {line.rank} 名</span>' in table[1]


def test_the_csv_download_is_the_services_rows(inspector: FlaskClient, db_session: Session) -> None:
    response = inspector.get(CSV, query_string={"period": "2026Q3"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    expected = service_ranking(db_session, "2026Q3")
    assert response.data == csv_bytes(ranking.CSV_HEADER, ranking.csv_rows(expected))
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == list(ranking.CSV_HEADER)
    assert [r[0] for r in rows[1:]] == ["52099901", "52099902", "52099903"]
    assert [r[7] for r in rows[1:]] == ["", "yellow", "red"]
    html = inspector.get(PAGE, query_string={"period": "2026Q3"}).get_data(as_text=True)
    assert f'href="{CSV}?period=2026Q3"' in html


@pytest.mark.parametrize("url", [PAGE, CSV])
def test_only_the_countys_inspectors_and_administrator_see_the_ranking(
    client: FlaskClient, auth: Auth, url: str
) -> None:
    for username, status in (
        ("inspector", 200),
        ("county", 200),
        ("village", 403),
        ("township", 403),
        ("township2", 403),
        ("inspector2", 403),
        ("county2", 403),
    ):
        auth.login(username)
        assert client.get(url, query_string={"period": "2026Q3"}).status_code == status, username
        auth.logout()
    assert client.get(url).status_code == 302  # not signed in: to the login page
    auth.login("inspector")
    assert client.get(url, query_string={"period": "2031Q1"}).status_code == 404
    assert client.get(url.replace("520999", "000000")).status_code == 404


def test_the_county_administrator_sees_no_link_to_the_inspectors_home(client: FlaskClient, auth: Auth) -> None:
    auth.login("county")
    html = client.get(PAGE).get_data(as_text=True)
    assert "示范县 · 2026Q4 乡镇排名" in html and "/inspection/520999/?" not in html
    auth.logout()
    auth.login("inspector")
    assert "/inspection/520999/?period=2026Q4" in client.get(PAGE).get_data(as_text=True)


def test_a_township_without_data_is_unranked_and_has_an_empty_series(
    inspector: FlaskClient, db_session: Session
) -> None:
    db_session.add(Township(county_id=units.get_county(db_session, "520999").id, code="52099909", name="新设镇"))
    db_session.commit()
    html = inspector.get(PAGE, query_string={"period": "2026Q3"}).get_data(as_text=True)
    assert ranking_rows(html)[-1][:3] == ["未排名", "新设镇", "—"]
    block = details(html, "52099909")
    assert "无任何数据，未排名" in block and block.count("无数据，按其余权重折算") == 3
    series = re.search(r'<g class="series" data-township="52099909">\s*<title>([^<]*)</title>(.*?)</g>', html, re.S)
    assert series and series[1] == "新设镇：无得分" and "<polyline" not in series[2] and "<circle" not in series[2]


def test_the_chart_breaks_a_line_where_a_period_has_no_score_and_thins_its_labels() -> None:
    """Ten periods, the township unranked in the fourth: two line segments, at most eight labels."""
    codes = [f"{2026 + q // 4}Q{q % 4 + 1}" for q in range(10)]
    history = [
        SimpleNamespace(
            period=SimpleNamespace(code=code),
            townships=[SimpleNamespace(code="1", name="甲镇", score=None if i == 3 else Decimal(80 + i))],
        )
        for i, code in reversed(list(enumerate(codes)))  # newest first, as ranking.history gives them
    ]
    chart = history_chart(history)  # type: ignore[arg-type]
    (series,) = chart.series
    assert [p.period_code for p in series.points] == [c for i, c in enumerate(codes) if i != 3]
    assert [len(s.split()) for s in series.segments] == [3, 6]
    assert len(chart.x_labels) <= 8 and chart.x_labels[0][1] == "2026Q1"
    assert [v for _, v in chart.y_ticks] == [70, 75, 80, 85, 90, 95, 100]
    xs = [p.x for p in series.points]
    assert xs == sorted(xs) and chart.left < xs[0] and xs[-1] < chart.right
    assert series.points[0].y > series.points[-1].y  # 80 sits lower than 89
