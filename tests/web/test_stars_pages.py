"""The pages of stars, benefits and the award ledger (issue 29): each page and each permission;
the benefits list never reachable anonymously nor from the public site."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import PlaqueState
from hygiene.models import AwardLedgerEntry, Disqualification, Household, Plaque, Star
from hygiene.models._types import beijing_today
from hygiene.services.awards import stars
from tests.web.conftest import Auth

VILLAGE = "5209990101"
TODAY = beijing_today().isoformat()


def bare_holder(db_session: Session, village: str = VILLAGE) -> Household:
    """A plaque holder of the village, its stars other than the hygiene star withdrawn (committed)."""
    household = db_session.scalars(
        sa.select(Household)
        .join(Plaque, Plaque.household_id == Household.id)
        .where(Plaque.state == PlaqueState.VALID, Household.code.startswith(village))
        .order_by(Household.code)
    ).first()
    held = stars.holding_of(db_session, household)
    for star in held.stars + held.titles:
        if not star.is_hygiene:
            stars.withdraw(db_session, None, household, star, reason="测试前清空")
    db_session.commit()
    return household


def star_page(household: Household) -> str:
    return f"/village/{household.code[:10]}/stars/{household.code}"


def grant(auth: Auth, household: Household, code: str, reason: str = "村民代表会议评定"):  # type: ignore[no-untyped-def]
    return auth.post(star_page(household), {"change": f"grant:{code}", "reason": reason, "on": ""})


def test_the_clerk_grants_stars_until_five_plus_and_withdraws_one(auth: Auth, db_session: Session) -> None:
    household = bare_holder(db_session)
    auth.login("village")
    page = auth.client.get(star_page(household)).get_data(as_text=True)
    assert "随牌匾" in page and "授予守法星" in page and 'value="grant:hygiene"' not in page
    for code in ("law", "filial", "diligent", "harmony"):
        response = grant(auth, household, code)
        assert response.status_code == 303, response.get_data(as_text=True)
    assert "5+X户" not in auth.client.get(star_page(household)).get_data(as_text=True)
    grant(auth, household, "study")
    page = auth.client.get(star_page(household)).get_data(as_text=True)
    assert "5+X户" in page and "已授予好学星" in page
    response = auth.post(star_page(household), {"change": "withdraw:study", "reason": "复核不符"})
    assert response.status_code == 303
    assert [s.code for s in stars.holding_of(db_session, household).stars] == [
        "hygiene",
        "law",
        "filial",
        "diligent",
        "harmony",
    ]


def test_refusals_are_shown_and_write_nothing(auth: Auth, db_session: Session) -> None:
    household = bare_holder(db_session)
    auth.login("village")
    blank = grant(auth, household, "law", reason=" ")
    assert blank.status_code == 422 and "必须填写原因" in blank.get_data(as_text=True)
    hygiene = auth.post(star_page(household), {"change": "withdraw:hygiene", "reason": "手工"})
    assert hygiene.status_code == 200 and "随牌匾" in hygiene.get_data(as_text=True)
    unknown = auth.post(star_page(household), {"change": "grant:nosuch", "reason": "x"})
    assert unknown.status_code == 404
    db_session.expire_all()
    assert [s.code for s in stars.holding_of(db_session, household).stars] == ["hygiene"]


@pytest.mark.parametrize(
    ("username", "status"),
    [("village", 303), ("township", 303), ("village2", 403), ("township2", 403), ("county", 403), ("inspector", 403)],
)
def test_who_may_grant_in_the_first_village(auth: Auth, db_session: Session, username: str, status: int) -> None:
    household = bare_holder(db_session)
    auth.login(username)
    response = auth.client.get(star_page(household))
    expected_view = 403 if username in ("village2", "township2") else 200
    assert response.status_code == expected_view
    if expected_view == 200:
        assert grant(auth, household, "law").status_code == status
    else:
        token_page = auth.client.get("/").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', token_page)
        data = {"change": "grant:law", "reason": "x", **({"csrf_token": token[1]} if token else {})}
        assert auth.client.post(star_page(household), data=data).status_code == 403
    db_session.expire_all()
    held = "law" in [s.code for s in stars.holding_of(db_session, household).stars]
    assert held is (status == 303)


def test_the_village_list_and_its_workbook(auth: Auth) -> None:
    auth.login("village")
    page = auth.client.get(f"/village/{VILLAGE}/stars").get_data(as_text=True)
    assert "5+X户" in page and "十星级文明户" in page
    response = auth.client.get(f"/village/{VILLAGE}/stars?format=xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames[:2] == ["5+X户", "十星级文明户"]


BENEFIT_PAGES = (
    "/county/520999/benefits",
    "/township/52099901/benefits",
    "/county/520999/benefits?format=xlsx",
    "/county/520999/stars.xlsx",
    "/township/52099901/stars.xlsx",
)


def test_benefits_never_anonymously_and_only_to_the_county_and_its_township(auth: Auth) -> None:
    for url in BENEFIT_PAGES:
        response = auth.client.get(url)
        assert response.status_code in (302, 401) and "/login" in response.headers.get("Location", "/login")
    auth.login("village")
    assert all(auth.client.get(url).status_code == 403 for url in BENEFIT_PAGES)
    auth.logout()
    auth.login("township")
    assert auth.client.get("/township/52099901/benefits").status_code == 200
    tiers = openpyxl.load_workbook(io.BytesIO(auth.client.get("/township/52099901/stars.xlsx").data))
    assert tiers.sheetnames == ["5+X户", "十星级文明户", "金星户", "银星户", "铜星户"]
    assert auth.client.get("/township/52099902/benefits").status_code == 403
    assert auth.client.get("/county/520999/benefits").status_code == 403
    auth.logout()
    auth.login("county")
    page = auth.client.get("/county/520999/benefits").get_data(as_text=True)
    assert "惠民政策优先名单" in page and "脱贫户" in page
    book = openpyxl.load_workbook(io.BytesIO(auth.client.get(BENEFIT_PAGES[2]).data))
    rows = [[c.value for c in r] for r in book.active.iter_rows()]
    poor = rows[1].index("脱贫户/低收入户")
    assert any(row[poor] == "是" for row in rows[2:])  # poor households marked
    auth.logout()
    auth.login("county2")
    assert auth.client.get("/county/520999/benefits").status_code == 403


def test_a_crawl_of_the_public_site_finds_no_benefits_data(client: FlaskClient, db_session: Session) -> None:
    poor_names = set(db_session.scalars(sa.select(Household.head_name).where(Household.is_poor)))
    star_names = {s.name for s in db_session.scalars(sa.select(Star)) if not s.is_hygiene}
    seen, queue = set(), ["/"]
    while queue and len(seen) < 400:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200 or not response.content_type.startswith("text/html"):
            response.close()
            continue
        html = response.get_data(as_text=True)
        assert "惠民政策" not in html and "5+X" not in html and "脱贫户" not in html, url
        assert not any(name in html for name in star_names), url
        queue.extend(
            link
            for link in re.findall(r'href="(/[^"#?]*)"', html)
            if link not in seen and not link.startswith(("/static", "/login"))
        )
    assert len(seen) > 20
    assert poor_names  # the demo has poor households, none of them marked as such anywhere public


def test_the_county_stats_ledger_and_catalogue_pages(auth: Auth, db_session: Session) -> None:
    auth.login("county")
    page = auth.client.get("/county/520999/award-stats").get_data(as_text=True)
    assert "5星级及以上“文明户”" in page and "<svg" in page and "合计" in page
    household = bare_holder(db_session, "5209990201")
    before = db_session.scalar(sa.select(sa.func.count(AwardLedgerEntry.id)))
    add = {"household": household.code, "kind": "industry_support", "item": "养殖", "value": "3000", "on": ""}
    refused = auth.post("/county/520999/ledger", add)
    assert refused.status_code == 422 and "不是十星级文明户" in refused.get_data(as_text=True)
    low = auth.post("/county/520999/ledger", add | {"kind": "award_goods", "value": "六十"})
    assert low.status_code == 422
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count(AwardLedgerEntry.id))) == before
    ok = auth.post("/county/520999/ledger", add | {"kind": "award_goods", "item": "垃圾桶", "value": "60"})
    assert ok.status_code == 303
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count(AwardLedgerEntry.id))) == before + 1
    catalogue = auth.client.get("/county/520999/stars/catalogue").get_data(as_text=True)
    assert "卫生星" in catalogue and "缺什么奖什么" in catalogue
    title = {
        "title-code": "goodwife",
        "title-name": "好媳妇",
        "title-certificate": "好媳妇荣誉证书",
        "title-submit": "1",
    }
    assert auth.post("/county/520999/stars/catalogue", title).status_code == 303
    db_session.rollback()
    assert db_session.scalar(sa.select(Star.name).where(Star.code == "goodwife")) == "好媳妇"
    tiers = {
        "tiers-bronze": "6",
        "tiers-silver": "6",
        "tiers-gold": "10",
        "tiers-events": "家庭暴力",
        "tiers-submit": "1",
    }
    assert auth.post("/county/520999/stars/catalogue", tiers).status_code == 422
    auth.logout()
    auth.login("township")
    assert auth.client.get("/county/520999/award-stats").status_code == 403
    assert auth.client.get("/county/520999/stars/catalogue").status_code == 403


def test_the_county_disqualifies_and_lifts(auth: Auth, db_session: Session) -> None:
    household = bare_holder(db_session)
    auth.login("county")
    form = {"household": household.code, "event": "家庭暴力", "occurred_on": TODAY, "note": ""}
    assert auth.post("/county/520999/disqualifications", form).status_code == 303
    db_session.rollback()
    assert stars.holding_of(db_session, household).count == 0
    found = db_session.scalars(sa.select(Disqualification).where(Disqualification.household_id == household.id)).one()
    assert auth.post("/county/520999/disqualifications", {"lift": str(found.id)}).status_code == 303
    db_session.rollback()
    assert stars.holding_of(db_session, household).hygiene
    auth.logout()
    auth.login("village")
    assert auth.client.get("/county/520999/disqualifications").status_code == 403


def test_the_township_accepts_suggestions_per_village(auth: Auth, db_session: Session) -> None:
    auth.login("township")
    page = auth.client.get("/township/52099901/awards?period=2026Q3").get_data(as_text=True)
    assert "缺什么奖什么" in page and "已登记" in page  # the demo's township accepted them
    assert auth.post("/township/52099901/awards?period=2026Q3", {"accept": "5209990101"}).status_code == 200
    assert auth.post("/township/52099901/awards?period=2026Q3", {"accept": "5209990201"}).status_code == 403
    auth.logout()
    auth.login("township2")
    assert auth.client.get("/township/52099901/awards").status_code == 403


def certificate_url(household: Household, code: str) -> str:
    return f"{star_page(household)}/{code}/certificate.pdf"


def test_a_held_title_prints_its_certificate(auth: Auth, db_session: Session) -> None:
    from tests.hygiene.io.test_pdf import pdftotext

    household = bare_holder(db_session)
    good = stars.get_star(db_session, household.county_id, "goodmil")
    stars.grant(db_session, None, household, good, reason="孝敬公婆，邻里称道")
    db_session.commit()
    auth.login("village")
    page = auth.client.get(star_page(household)).get_data(as_text=True)
    assert certificate_url(household, "goodmil") in page and "打印好婆婆荣誉证书" in page
    assert certificate_url(household, "goodnbr") not in page  # not held: no certificate offered
    response = auth.client.get(certificate_url(household, "goodmil"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = pdftotext(response.data)
    assert household.head_name in text and household.code in text
    assert "好婆婆荣誉证书" in text and "“好婆婆”" in text and "孝敬公婆，邻里称道" in text
    assert "颁发单位（盖章）" in text
    # a star held prints too, named after the star when the catalogue names no certificate
    stars.grant(db_session, None, household, stars.get_star(db_session, household.county_id, "law"), reason="守法")
    db_session.commit()
    assert "守法星证书" in pdftotext(auth.client.get(certificate_url(household, "law")).data)


def test_who_may_print_a_title_certificate(auth: Auth, db_session: Session) -> None:
    household = bare_holder(db_session)
    stars.grant(db_session, None, household, stars.get_star(db_session, household.county_id, "goodmil"), reason="x")
    db_session.commit()
    url = certificate_url(household, "goodmil")
    response = auth.client.get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    for username, expected in (
        ("village", 200),
        ("township", 200),
        ("county", 200),
        ("village2", 403),
        ("township2", 403),
        ("county2", 403),
    ):
        auth.login(username)
        assert auth.client.get(url).status_code == expected, username
        auth.logout()
    auth.login("village")
    for code in ("goodnbr", "hygiene", "nosuch"):  # not held, the plaque's own paper, not in the catalogue
        assert auth.client.get(certificate_url(household, code)).status_code == 404, code
    other = bare_holder(db_session, "5209990201")
    assert auth.client.get(f"/village/{VILLAGE}/stars/{other.code}/goodmil/certificate.pdf").status_code == 404
    # withdrawn: no certificate any more
    stars.withdraw(db_session, None, household, stars.get_star(db_session, household.county_id, "goodmil"), reason="y")
    db_session.commit()
    assert auth.client.get(url).status_code == 404


def test_the_benefits_and_star_lists_come_a_page_at_a_time(auth: Auth, monkeypatch: pytest.MonkeyPatch) -> None:
    from hygiene.services.awards import benefits
    from web.village import stars as village_stars

    monkeypatch.setattr(benefits, "PER_PAGE", 3)
    monkeypatch.setattr(village_stars, "PER_PAGE", 2)
    auth.login("county")
    first = auth.client.get("/county/520999/benefits").get_data(as_text=True)
    second = auth.client.get("/county/520999/benefits?page=2").get_data(as_text=True)
    numbers = [re.findall(r'data-label="序号">(\d+)<', html) for html in (first, second)]
    assert numbers == [["1", "2", "3"], ["4", "5", "6"]]
    assert 'href="/county/520999/benefits?page=2"' in first and 'aria-current="page">2<' in second
    total = int(re.search(r"共 <strong>(\d+)</strong> 户持星农户", first)[1])
    book = openpyxl.load_workbook(io.BytesIO(auth.client.get("/county/520999/benefits?format=xlsx").data))
    assert book.active.max_row == total + 2 > 5  # a title row, the header, every household
    assert auth.client.get("/county/520999/benefits?page=abc").status_code == 200  # the first page
    auth.logout()
    auth.login("village")
    page = auth.client.get(f"/village/{VILLAGE}/stars?page=2").get_data(as_text=True)
    assert len(re.findall(r'data-label="户编号"><a', page)) == 2 and f"/village/{VILLAGE}/stars?page=1" in page


def ten_star(db_session: Session, village: str = VILLAGE) -> Household:
    household = bare_holder(db_session, village)
    for star in stars.catalogue(db_session, household.county_id):
        if not star.is_hygiene and not star.is_title:
            stars.grant(db_session, None, household, star, reason="评定")
    db_session.commit()
    return household


def test_the_county_and_township_mark_households_that_wish_to_develop(auth: Auth, db_session: Session) -> None:
    from hygiene.models import AuditEntry

    household = ten_star(db_session)
    other = ten_star(db_session, "5209990201")  # another township's
    auth.login("township")
    mark = {"household": household.code, "wish": "yes", "reason": "有养殖技术，愿扩大规模"}
    assert auth.post("/township/52099901/industry-support", mark | {"reason": " "}).status_code == 422
    refused = auth.post("/township/52099901/industry-support", mark | {"household": other.code})
    assert refused.status_code == 422 and "本乡镇无此户号" in refused.get_data(as_text=True)
    saved = auth.post("/township/52099901/industry-support", mark)
    assert saved.status_code == 303, saved.get_data(as_text=True)
    db_session.rollback()
    marked = sa.select(Household.industry_wish, Household.industry_wish_reason).where(Household.id == household.id)
    assert tuple(db_session.execute(marked).one()) == (True, "有养殖技术，愿扩大规模"), household.code
    entry = db_session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "industry_wish").order_by(AuditEntry.id.desc())
    ).first()
    assert entry.actor == "township" and entry.before["industry_wish"] is False and entry.after["industry_wish"]
    page = auth.client.get("/township/52099901/industry-support").get_data(as_text=True)
    first_row = re.search(r'<tbody>\s*<tr><td data-label="户编号">([^<]+)<', page)
    assert first_row and first_row[1] == household.code  # the one wishing to develop heads the list
    benefits = auth.client.get("/township/52099901/benefits").get_data(as_text=True)
    assert "产业意愿" in benefits and 'data-label="产业意愿">有<' in benefits
    auth.logout()
    auth.login("county")
    assert auth.post("/county/520999/industry-support", mark | {"household": other.code}).status_code == 303
    book = openpyxl.load_workbook(io.BytesIO(auth.client.get("/county/520999/benefits?format=xlsx").data))
    rows = [[c.value for c in r] for r in book.active.iter_rows()]
    assert rows[1][-1] == "有产业发展意愿"
    assert {row[1] for row in rows[2:] if row[-1] == "是"} >= {household.code, other.code}
    auth.logout()
    for username in ("village", "township2", "county2", "inspector"):
        auth.login(username)
        assert auth.client.get("/county/520999/industry-support").status_code == 403, username
        assert auth.client.get("/township/52099901/industry-support").status_code == 403, username
        auth.logout()
    response = auth.client.get("/county/520999/industry-support")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
