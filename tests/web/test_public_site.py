"""The residents' site (issue 18): the posting period's dates, search, a household's page, the list
as a file, and pages served from memory by version with strong ETags, gzip and cache headers."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import re
import time

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import PlaqueState, ReviewKind
from hygiene.models import Household, Period, Plaque, ResultRecord, ResultRecordHousehold, Review, VillagePeriod
from hygiene.models._types import utcnow
from hygiene.services.awards import certificates
from hygiene.services.rating import records
from tests.web.conftest import Auth
from tests.web.test_public import publish_qingshan
from tests.web.test_township import version_on
from web.public.cache import Page, PageCache

FINAL = "/public/villages/5209990101/2026Q3"  # 青山村 2026Q3: final, with plaques
POSTED = "/public/villages/5209990104/2026Q4"  # 大坪村 2026Q4: published, its posting period running


def rated_rows(db: Session, village_code: str, period_code: str) -> list[ResultRecordHousehold]:
    return list(
        db.scalars(
            sa.select(ResultRecordHousehold)
            .join(ResultRecord, ResultRecordHousehold.record_id == ResultRecord.id)
            .where(
                ResultRecord.village_code == village_code,
                ResultRecord.period_code == period_code,
                ResultRecord.superseded_at.is_(None),
                ResultRecordHousehold.rank.is_not(None),
            )
            .order_by(ResultRecordHousehold.rank)
        )
    )


def posted_period(db: Session) -> VillagePeriod:
    found = db.scalars(
        sa.select(VillagePeriod)
        .join(ResultRecord)
        .where(ResultRecord.village_code == "5209990104", ResultRecord.period_code == "2026Q4")
    ).first()
    assert found is not None
    return found


def listed_codes(html: str) -> list[str]:
    return re.findall(r'<td><a href="households/(\d+)">\1</a>', html)


def test_a_posted_list_says_when_its_posting_ends_and_how_many_days_are_left(
    client: FlaskClient, db_session: Session
) -> None:
    html = client.get(POSTED).get_data(as_text=True)  # the demo's posting ended; the tick has not run
    assert "2026-11-22 起公示，2026-11-29 止" in html and "公示期已结束，结果即将生效" in html
    village_period = posted_period(db_session)
    village_period.posting_ends_at = utcnow() + dt.timedelta(days=3, hours=2)
    db_session.commit()
    html = client.get(POSTED).get_data(as_text=True)  # a new version of the page, not the one in memory
    assert "<strong>公示期还剩 4 天</strong>，对结果有异议的可在公示期内提出" in html
    final = client.get(FINAL).get_data(as_text=True)
    assert "公示期已结束，结果已生效" in final and "公示期还剩" not in final


def test_residents_find_a_household_by_code_surname_or_group(client: FlaskClient, db_session: Session) -> None:
    rows = rated_rows(db_session, "5209990101", "2026Q3")
    whole = listed_codes(client.get(FINAL).get_data(as_text=True))
    assert whole == [r.household_code for r in rows]
    target = rows[5]
    # the tail of the code, typed with full-width digits from a phone's Chinese keyboard
    tail = target.household_code[-6:].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    found = client.get(FINAL, query_string={"q": tail}).get_data(as_text=True)
    assert target.household_code in listed_codes(found) and "找到 " in found
    surname = target.head_name[0]
    by_name = listed_codes(client.get(FINAL, query_string={"q": f"{surname}**"}).get_data(as_text=True))
    assert by_name == [r.household_code for r in rows if r.head_name.startswith(surname)]
    by_group = listed_codes(client.get(FINAL, query_string={"group": target.group_name}).get_data(as_text=True))
    assert by_group == [r.household_code for r in rows if r.group_name == target.group_name]
    nothing = client.get(FINAL, query_string={"q": "不存在"}).get_data(as_text=True)
    assert listed_codes(nothing) == [] and "没有找到符合条件的农户" in nothing


def test_a_households_page_shows_its_criteria_against_the_village_and_its_history(
    client: FlaskClient, db_session: Session
) -> None:
    rows = rated_rows(db_session, "5209990101", "2026Q3")
    row = next(r for r in rows if r.peer_means)
    html = client.get(f"/public/villages/5209990101/households/{row.household_code}").get_data(as_text=True)
    assert f"{row.head_name[0]}**户（{row.household_code}）" in html and row.head_name not in html
    cells = re.findall(
        r'<td class="card-name">([^<]+)</td><td class="card-grade" data-label="得分">([\d.]+)</td>\s*'
        r'<td class="card-detail" data-label="满分">([\d.]+)</td>'
        r'<td class="card-detail" data-label="本村平均">([\d.]+)</td>'
        r'<td class="card-detail" data-label="互评平均">([\d.]+)</td>',
        html,
    )
    assert len(cells) == 10
    assert row.group_scores is not None and row.peer_means is not None
    reviewed = [r.group_scores for r in rows if r.group_scores]
    for i, (label, score, maximum, average, peer) in enumerate(cells):
        assert float(score) == row.group_scores[i] / 10 and maximum == "10.0"
        assert float(average) == pytest.approx(sum(s[i] for s in reviewed) / len(reviewed) / 10, abs=0.051)
        assert float(peer) == pytest.approx(row.peer_means[i] / 10, abs=0.051)
        below = f'<tr class="below-average"><td class="card-name">{label}</td>' in html
        assert below == (row.group_scores[i] < sum(s[i] for s in reviewed) / len(reviewed))
    assert "2026Q3" in html and (row.grade.label if row.grade else "") in html
    assert client.get("/public/villages/5209990101/households/000000").status_code == 404
    # a household of another village is not found through this village
    other = rated_rows(db_session, "5209990104", "2026Q4")[0].household_code
    assert client.get(f"/public/villages/5209990101/households/{other}").status_code == 404


def test_a_households_page_shows_its_plaque_or_when_it_was_taken_down(client: FlaskClient, db_session: Session) -> None:
    plaque = db_session.scalars(sa.select(Plaque).where(Plaque.state == PlaqueState.VALID)).first()
    assert plaque is not None, "the demo's final 2026Q3 issued plaques"
    household = db_session.get(Household, plaque.household_id)
    assert household is not None
    url = f"/public/villages/{household.code[:10]}/households/{household.code}"
    assert f"现挂 <strong>{plaque.level.label}</strong> 牌（2026Q3 授牌）" in client.get(url).get_data(as_text=True)
    plaque.state, plaque.revoke_reason = PlaqueState.REVOKED, "抽查不合格"
    plaque.revoked_period_id, plaque.revoked_at = plaque.issued_period_id, plaque.issued_at
    db_session.commit()
    assert re.search(r"已于 \d{4}-\d\d-\d\d 摘牌", client.get(url).get_data(as_text=True))


def test_a_posted_list_downloads_as_excel_and_csv_with_surnames_only_and_no_formulas(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    # a hostile head name, posted as it is: the files must not run it
    [hostile] = db_session.scalars(
        sa.select(Household)
        .join(Review, Review.household_id == Household.id)
        .join(Period, Review.period_id == Period.id)
        .where(Household.code.like("5209990101%"), Review.kind == ReviewKind.GROUP, Period.code == "2026Q4")
        .order_by(Household.code)
        .limit(1)
    ).all()
    hostile.head_name = "=HYPERLINK(1)"
    db_session.commit()
    publish_qingshan(client, auth)
    url = "/public/villages/5209990101/2026Q4"
    with client.get(f"{url}.csv") as response:
        assert response.status_code == 200 and response.mimetype == "text/csv"
        lines = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0] == ["名次", "户编号", "户主", "村民组", "得分", "等级", "表彰"]
    by_code = {line[1]: line for line in lines[1:]}
    assert by_code[hostile.code][2] == "'=**"
    assert len(by_code) == len(rated_rows(db_session, "5209990101", "2026Q4")) == 14
    with client.get(f"{url}.xlsx") as response:
        sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert sheet is not None
    names = [row[2] for row in sheet.iter_rows() if isinstance(row[0].value, int)]
    assert len(names) == 14 and all(str(c.value).endswith("**") for c in names)
    [cell] = [c for c in names if c.value == "=**"]
    assert cell.data_type == "s" and cell.quotePrefix  # text shown as typed, never a formula
    assert client.get("/public/villages/5209990102/2026Q4.csv").status_code == 404  # not posted


def test_no_public_page_or_file_carries_private_data(client: FlaskClient, db_session: Session) -> None:
    """The public pages and files of every posted list, every listed household's page, a plaque's
    verification page and an objection page: no phone, poverty status, full name or reviewer
    (RULES.md §6)."""
    households = db_session.scalars(sa.select(Household)).all()
    full_names = {h.head_name for h in households if len(h.head_name) >= 2}
    phones = {h.phone for h in households if h.phone}
    teams = {t for t in db_session.scalars(sa.select(Review.team_members).where(Review.team_members.is_not(None)))}
    urls = [FINAL, POSTED, f"{FINAL}.csv", f"{POSTED}.csv", f"{FINAL}?q=张", "/public/villages/5209990101"]
    for village, period in (("5209990101", "2026Q3"), ("5209990104", "2026Q4")):
        urls += [
            f"/public/villages/{village}/households/{r.household_code}" for r in rated_rows(db_session, village, period)
        ]
    # a plaque's verification page and a household's objection page are public too
    plaque = db_session.scalars(sa.select(Plaque).where(Plaque.state == PlaqueState.VALID)).first()
    assert plaque is not None
    urls.append("/verify/" + certificates.sign(plaque.serial, client.application.config["SECRET_KEY"]))
    urls.append(f"{POSTED}/households/{rated_rows(db_session, '5209990104', '2026Q4')[0].household_code}/objection")
    for url in [*urls, f"{FINAL}.xlsx"]:
        response = client.get(url)
        assert response.status_code == 200, url
        if url.endswith(".xlsx"):
            sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
            assert sheet is not None
            text = "\n".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None)
        else:
            text = response.get_data(as_text=True)
        assert not phones & set(re.findall(r"1\d{10}", text)), url
        assert not [name for name in full_names if name in text], url
        assert not [team for team in teams if team in text], url
        assert "脱贫" not in text and "低收入" not in text, url


def test_a_posted_list_is_served_by_version_with_a_strong_etag_gzip_and_cache_headers(
    client: FlaskClient, auth: Auth
) -> None:
    first = client.get(FINAL)
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)  # strong: no W/
    assert first.headers["Cache-Control"] == "public, max-age=60"
    assert "Accept-Encoding" in first.headers["Vary"] and "Set-Cookie" not in first.headers
    assert len(first.data) < 100_000
    again = client.get(FINAL, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    zipped = client.get(FINAL, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.data) == first.data
    assert len(zipped.data) < len(first.data) / 3
    # a logged-in user's page carries their name: never shared, never stored
    auth.login("township")
    staff = client.get(FINAL)
    assert "no-store" in staff.headers["Cache-Control"] and "public" not in staff.headers["Cache-Control"]
    assert "松林镇审核员" in staff.get_data(as_text=True)
    auth.logout()
    assert "松林镇审核员" not in client.get(FINAL).get_data(as_text=True)


def test_a_withdrawn_posting_is_gone_from_the_public_site_at_once_and_a_new_one_shows_its_version(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    assert client.get(POSTED).status_code == 200  # now in the page cache
    township = "/township/52099901/periods/2026Q4/villages/5209990104/"
    auth.login("township")
    version = version_on(client.get(township).get_data(as_text=True))
    withdrawn = auth.post(
        township + "withdraw",
        {"version": version, "reason": "名单有误，撤回核实", "confirmed": "1"},
        token_from=township,
    )
    assert withdrawn.status_code == 303
    auth.logout()
    assert client.get(POSTED).status_code == 404
    db_session.rollback()
    assert records.current_record(db_session, posted_period(db_session)) is None


def test_the_page_cache_renders_once_per_version_and_keeps_the_most_recent_pages() -> None:
    one_page = len(Page.of("a" * 1000).gzipped)
    cache = PageCache(max_bytes=2 * one_page)  # room for two pages
    rendered: list[str] = []

    def render(text: str):  # type: ignore[no-untyped-def]
        return lambda: rendered.append(text) or text * 1000

    first = cache.get(("list", 1), render("a"))
    assert cache.get(("list", 1), render("a")) is first and rendered == ["a"]
    cache.get(("list", 2), render("b"))
    cache.get(("list", 1), render("a"))  # used again: now the most recent
    cache.get(("list", 3), render("c"))  # the least recently used (2) goes
    cache.get(("list", 2), render("b"))
    assert rendered == ["a", "b", "c", "b"] and cache.size <= 2 * one_page
    assert Page.of("页").etag == Page.of("页").etag != Page.of("页面").etag


def test_an_anonymous_list_reuses_its_version_for_a_second_without_the_database(
    app: Flask, client: FlaskClient, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 34: under load a cached list is served without a query; a change shows once the
    worker's second is up (phones may keep a page 60 s anyway), and a signed-in user reads it at once."""
    app.config["PUBLIC_VERSION_SECONDS"] = 1
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    statements: list[str] = []
    engine = app.extensions["hygiene.engine"]
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    first = client.get(POSTED)
    assert first.status_code == 200 and statements
    statements.clear()
    again = client.get(POSTED)
    assert again.status_code == 200 and again.get_etag() == first.get_etag()
    assert statements == []  # no session, no query
    village_period = posted_period(db_session)
    village_period.posting_ends_at = utcnow() + dt.timedelta(days=3, hours=2)
    db_session.commit()
    assert client.get(POSTED).get_etag() == first.get_etag()  # within the second: the page as it was
    clock[0] += 1.5
    assert client.get(POSTED).get_etag() != first.get_etag()  # then the new version
    assert client.get("/public/villages/5209990101/2099Q1").status_code == 404  # unknown: never remembered
