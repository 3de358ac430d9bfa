"""The village's PDF downloads (the printed notice, the certificates) and the public verification
page behind a certificate's QR code."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import PlaqueState
from hygiene.models import Household, Plaque, ResultRecordHousehold, User
from hygiene.services.awards import plaques
from hygiene.services.setup import units
from tests.hygiene.io.test_pdf import pdftotext, qr_codes
from tests.web.conftest import Auth

QINGSHAN = "/village/5209990101"
NOTICE = f"{QINGSHAN}/periods/2026Q3/notice.pdf"
BATCH = f"{QINGSHAN}/periods/2026Q3/certificates.pdf"


def valid_plaques(db_session: Session, village_code: str = "5209990101") -> list[Plaque]:
    village = units.get_village(db_session, village_code)
    rows = plaques.register(db_session, village.township.county, village=village)
    return [r.plaque for r in rows if r.plaque.state is PlaqueState.VALID]


def certificate_url(serial: str) -> str:
    return f"{QINGSHAN}/plaques/{serial}/certificate.pdf"


def test_the_clerk_prints_the_notice_with_full_names(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("village")
    response = client.get(NOTICE)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    text = pdftotext(response.data)
    assert "松林镇青山村2026年第三季度农户卫生评比结果公示" in text
    first = db_session.scalars(
        sa.select(ResultRecordHousehold.head_name)
        .join(Household, ResultRecordHousehold.household_id == Household.id)
        .where(ResultRecordHousehold.rank == 1, Household.code.startswith("5209990101"))
    ).first()
    assert first and first in text
    assert "最清洁户" in text and "2026年10月11日" in text and "2026年10月18日" in text
    assert "http://localhost/public/villages/5209990101" in text and "村委会（盖章）" in text
    a3 = client.get(NOTICE + "?size=A3")
    a4_box = pypdf.PdfReader(io.BytesIO(response.data)).pages[0].mediabox
    a3_box = pypdf.PdfReader(io.BytesIO(a3.data)).pages[0].mediabox
    assert a3.status_code == 200 and float(a3_box.width) > float(a4_box.width)
    assert client.get(NOTICE + "?size=B5").status_code == 404


def test_a_period_not_published_has_no_notice(client: FlaskClient, auth: Auth) -> None:
    auth.login("village")
    assert client.get(f"{QINGSHAN}/periods/2026Q4/notice.pdf").status_code == 404
    assert client.get(f"{QINGSHAN}/periods/1999Q1/notice.pdf").status_code == 404


def test_a_certificate_links_to_its_verification_page(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    plaque = valid_plaques(db_session)[0]
    name = plaque.household.head_name
    auth.login("village")
    response = client.get(certificate_url(plaque.serial))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdftotext(response.data)
    assert plaque.serial in text and name in text and plaque.level.label in text
    [url] = qr_codes(response.data)
    assert re.fullmatch(r"http://localhost/verify/[A-Za-z0-9_.\-]+", url)

    client.post("/logout", data={"csrf_token": auth.token("/")})
    page = client.get(url.removeprefix("http://localhost"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "有效" in html and plaque.serial in html
    assert name[:1] + "**" in html and name not in html  # the public sees the surname only
    assert "2026Q3" in html and plaque.level.label in html


def test_the_verification_page_shows_a_revocation(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    serial = valid_plaques(db_session)[0].serial
    auth.login("village")
    [url] = qr_codes(client.get(certificate_url(serial)).data)
    db_session.rollback()  # end the read snapshot: the requests wrote since
    plaque = db_session.scalars(sa.select(Plaque).where(Plaque.serial == serial)).one()
    inspector = db_session.scalars(sa.select(User).where(User.username == "inspector")).one()
    plaques.revoke(db_session, inspector, plaque, reason="督查抽查：厕所不洁", expected_version=plaque.version)
    db_session.commit()
    html = client.get(url.removeprefix("http://localhost")).get_data(as_text=True)
    assert "已摘牌" in html and "2026Q4" in html
    assert re.search(r"于 \d{4}-\d{2}-\d{2}（2026Q4）摘牌", html)
    assert client.get(certificate_url(plaque.serial)).status_code == 404  # no new certificate once revoked


@pytest.mark.parametrize("change", ["last", "payload", "guess"])
def test_an_altered_or_guessed_token_is_invalid_and_reveals_nothing(
    client: FlaskClient, auth: Auth, db_session: Session, change: str
) -> None:
    plaque = valid_plaques(db_session)[0]
    auth.login("village")
    [url] = qr_codes(client.get(certificate_url(plaque.serial)).data)
    token = url.rsplit("/", 1)[1]
    altered = {
        "last": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "payload": "X" + token[1:],
        "guess": plaque.serial,
    }[change]
    response = client.get(f"/verify/{altered}")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "无效" in html
    assert plaque.serial not in html and plaque.household.head_name[:1] + "**" not in html


def test_the_batch_prints_every_valid_plaque_of_the_period(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    serials = [p.serial for p in valid_plaques(db_session)]
    auth.login("township")
    response = client.get(BATCH)
    assert response.status_code == 200
    assert len(pypdf.PdfReader(io.BytesIO(response.data)).pages) == len(serials)
    assert serials[-1] in pdftotext(response.data, len(serials))
    assert client.get(f"{QINGSHAN}/periods/2026Q4/certificates.pdf").status_code == 404  # none issued


def test_the_pages_link_to_the_paper(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("village")
    register = client.get(f"{QINGSHAN}/plaques/").get_data(as_text=True)
    assert BATCH in register
    for plaque in valid_plaques(db_session):
        assert certificate_url(plaque.serial) in register
    revoked = db_session.scalars(sa.select(Plaque).where(Plaque.state == PlaqueState.REVOKED)).first()
    assert revoked is not None and certificate_url(revoked.serial) not in register
    board = client.get(f"{QINGSHAN}/periods/2026Q3/").get_data(as_text=True)
    assert "打印公示表" in board and f"{NOTICE}?size=A4" in board and f"{NOTICE}?size=A3" in board
    assert "打印公示表" not in client.get(f"{QINGSHAN}/periods/2026Q4/").get_data(as_text=True)


def test_who_may_download(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    serial = valid_plaques(db_session)[0].serial
    urls = [NOTICE, certificate_url(serial), BATCH]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), url
    for username, expected in (("village2", 403), ("township2", 403), ("county2", 403), ("county", 200)):
        auth.login(username)
        assert [client.get(url).status_code for url in urls] == [expected] * 3, username
        client.post("/logout", data={"csrf_token": auth.token("/")})
    other = valid_plaques(db_session, "5209990201")[0].serial
    auth.login("village")
    assert client.get(certificate_url(other)).status_code == 404  # another village's plaque


def test_a_server_without_the_cjk_font_says_which_package_is_missing(
    client: FlaskClient, auth: Auth, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from hygiene.io import pdf

    monkeypatch.setattr(pdf, "PRIMARY_FONT_FILE", tmp_path / "absent.ttc")
    pdf._fonts.cache_clear()
    try:
        auth.login("village")
        response = client.get("/village/5209990101/periods/2026Q3/notice.pdf")
        assert response.status_code == 503
        assert "请安装 Debian 软件包 fonts-wqy-zenhei" in response.get_data(as_text=True)
    finally:
        pdf._fonts.cache_clear()
