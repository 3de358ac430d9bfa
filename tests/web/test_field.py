"""Work in the field on the pages (issue 31): saves sent twice write once, the same key with other
values is refused; photos on spot checks and group reviews with their EXIF place for inspectors
only; a renamed HTML file and a pixel bomb refused with a clear message; the check sheet; the
offline queue's session check and a logout that clears what the phone holds."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA, ReviewKind
from hygiene.models import Household, IdempotencyKey, Period, Photo, Review, SpotCheck
from hygiene.services import photos
from tests.hygiene.test_field import jpeg_with_gps, png_bomb
from tests.web.conftest import Auth, csrf_token
from tests.web.test_spot_checks import check_url, without_plaque

PERIOD = "2026Q4"
V1 = f"/village/5209990101/periods/{PERIOD}"
H1 = "520999010101001"  # no review in 2026Q4
KEY = "5f0c7e52-1c1b-4a7e-9d1e-7f3c2a9b8e61"
JSON = {"Accept": "application/json"}


@pytest.fixture
def app(app: Flask, tmp_path: Path) -> Flask:
    app.config["MEDIA_PATH"] = str(tmp_path / "media")
    return app


def review_url(code: str = H1) -> str:
    return f"{V1}/households/{code}/review?kind=group"


def form_of(client: FlaskClient, url: str) -> dict[str, object]:
    page = client.get(url).get_data(as_text=True)
    return {"csrf_token": csrf_token(page), "version": "0", "team_members": "王组长"}


def group_reviews(db: Session, code: str = H1) -> list[Review]:
    db.rollback()
    return list(
        db.scalars(
            sa.select(Review)
            .join(Household, Review.household_id == Household.id)
            .join(Period)
            .where(Household.code == code, Review.kind == ReviewKind.GROUP, Period.code == PERIOD)
        )
    )


def test_a_save_replayed_ten_times_writes_one_review_and_answers_alike(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("village")
    data = form_of(client, review_url()) | dict.fromkeys(CRITERIA, "9")
    answers = [client.post(review_url(), data=data, headers=JSON | {"Idempotency-Key": KEY})]
    version = group_reviews(db_session)[0].version
    answers += [client.post(review_url(), data=data, headers=JSON | {"Idempotency-Key": KEY}) for _ in range(9)]
    assert {(a.status_code, a.get_json()["location"], a.get_json()["message"]) for a in answers} == {
        (200, f"{V1}/households/{H1}/", f"已保存 {H1} {group_reviews(db_session)[0].household.head_name} 的小组复评")
    }
    assert len(group_reviews(db_session)) == 1 and group_reviews(db_session)[0].version == version
    assert db_session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 1
    # the same key with another score: 422, nothing written
    other = client.post(review_url(), data=data | {"c01": "5"}, headers=JSON | {"Idempotency-Key": KEY})
    assert other.status_code == 422 and "另一份内容不同" in other.get_json()["message"]
    [review] = group_reviews(db_session)
    assert (review.c01, review.version) == (90, version)


def test_a_double_tap_without_script_posts_the_hidden_key_twice_and_writes_once(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("village")
    page = client.get(review_url()).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert key, "the form carries a key for pages without script"
    data = {"csrf_token": csrf_token(page), "version": "0", "idempotency_key": key[1], "team_members": "王组长"}
    data |= dict.fromkeys(CRITERIA, "8")
    first, second = client.post(review_url(), data=data), client.post(review_url(), data=data)
    assert first.status_code == second.status_code == 302, (first.status_code, second.get_data(as_text=True)[-3000:])
    assert first.headers["Location"] == second.headers["Location"]
    assert len(group_reviews(db_session)) == 1


def test_a_queued_save_against_a_changed_review_is_a_conflict(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("village")
    data = form_of(client, review_url()) | dict.fromkeys(CRITERIA, "9")
    assert client.post(review_url(), data=data, headers=JSON | {"Idempotency-Key": KEY}).status_code == 200
    stale = client.post(review_url(), data=data | {"c01": "7"}, headers=JSON | {"Idempotency-Key": KEY + "-2"})
    assert stale.status_code == 409
    assert group_reviews(db_session)[0].c01 == 90


def test_a_group_review_photo_is_seen_in_its_village_without_its_place(
    app: Flask, client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("village")
    data = form_of(client, review_url()) | dict.fromkeys(CRITERIA, "9")
    response = client.post(review_url(), data=data | {"photo": (io.BytesIO(jpeg_with_gps()), "IMG_1.jpg")})
    assert response.status_code == 302
    db_session.rollback()
    [photo] = db_session.scalars(sa.select(Photo)).all()
    assert photo.review_id == group_reviews(db_session)[0].id and photo.latitude is not None
    for variant in ("display", "thumb"):
        copy = client.get(f"/photos/{photo.id}/{variant}")
        assert copy.status_code == 200 and "no-store" in copy.headers["Cache-Control"]
        assert b"Exif" not in copy.data and b"GPS" not in copy.data
    assert client.get(f"/photos/{photo.id}/original").status_code == 403
    auth.logout()
    assert client.get(f"/photos/{photo.id}/thumb").status_code == 302  # to the login page
    auth.login("village2")
    assert client.get(f"/photos/{photo.id}/thumb").status_code == 404


def test_a_spot_check_with_a_photo_keeps_its_gps_for_the_inspector_only(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    code = without_plaque(db_session)
    auth.login("inspector")
    page = client.get(check_url(code)).get_data(as_text=True)
    assert 'accept="image/*" capture="environment"' in page and "data-offline" in page
    data = {"csrf_token": csrf_token(page), "version": "0", "members": "王组长"} | dict.fromkeys(CRITERIA, "9")
    response = client.post(check_url(code), data=data | {"photo": (io.BytesIO(jpeg_with_gps()), "IMG_2.jpg")})
    assert response.status_code == 303
    db_session.rollback()
    check = db_session.scalars(sa.select(SpotCheck).join(Household).where(Household.code == code)).one()
    [photo] = db_session.scalars(sa.select(Photo).where(Photo.spot_check_id == check.id)).all()
    shown = client.get(check_url(code)).get_data(as_text=True)
    assert "位置 26.87500, 104.72000" in shown and "拍摄于 2026:12:08 10:30:00" in shown
    original = client.get(f"/photos/{photo.id}/original")
    with Image.open(io.BytesIO(original.data)) as image:
        assert image.getexif().get_ifd(photos.GPS_IFD)[2] == (26.0, 52.0, 30.0)
    for variant in ("display", "thumb"):
        assert b"GPS" not in client.get(f"/photos/{photo.id}/{variant}").data
    auth.logout()
    auth.login("county")  # the county's administrator does not read spot checks' photos
    assert client.get(f"/photos/{photo.id}/display").status_code == 404


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"<!doctype html><html><script>alert(1)</script></html>", "photo.jpg", "photo.jpg：不是可以识别的照片"),
        (None, "bomb.png", "bomb.png：图片尺寸过大（7072×7072，约 50 百万像素）"),
    ],
)
def test_a_renamed_html_file_and_a_pixel_bomb_are_refused_and_nothing_is_saved(
    client: FlaskClient, auth: Auth, db_session: Session, content: bytes | None, name: str, message: str
) -> None:
    code = without_plaque(db_session)
    auth.login("inspector")
    page = client.get(check_url(code)).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "version": "0", "members": "王组长"} | dict.fromkeys(CRITERIA, "9")
    upload = io.BytesIO(content if content is not None else png_bomb())
    response = client.post(check_url(code), data=data | {"photo": (upload, name)})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    queued = client.post(
        check_url(code),
        data=data | {"photo": (io.BytesIO(content if content is not None else png_bomb()), name)},
        headers=JSON | {"Idempotency-Key": KEY},
    )
    assert queued.status_code == 422 and message in queued.get_json()["message"]
    db_session.rollback()
    assert (
        db_session.scalar(
            sa.select(sa.func.count()).select_from(SpotCheck).join(Household).where(Household.code == code)
        )
        == 0
    )
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 0


def test_the_check_sheet_page_prints_every_household_of_a_group(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("village")
    board = client.get(f"{V1}/").get_data(as_text=True)
    assert f"{V1}/check-sheets.pdf?group=52099901010" in board.replace("&amp;", "&")
    response = client.get(f"{V1}/check-sheets.pdf?group=520999010101")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = subprocess.run(["pdftotext", "-", "-"], input=response.data, capture_output=True, check=True).stdout.decode()
    households = db_session.scalars(
        sa.select(Household).where(Household.code.like("520999010101%"), Household.moved_away_on.is_(None))
    ).all()
    assert households and all(h.head_name in text and h.code in text for h in households)
    assert text.count("\f") == len(households)
    auth.logout()
    auth.login("village2")
    assert client.get(f"{V1}/check-sheets.pdf").status_code == 403


def test_the_queue_asks_who_is_signed_in_and_logout_clears_the_phone(client: FlaskClient, auth: Auth) -> None:
    assert client.get("/field/session").status_code == 401
    auth.login("village")
    answer = client.get("/field/session").get_json()
    assert answer["ok"] and answer["csrf"] and answer["user"]
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.headers["Cache-Control"] in ("no-cache", "no-store")
    worker.close()
    page = client.get(review_url())
    assert page.headers["X-Offline-Page"] == "1" and page.headers["X-Offline-User"] == str(answer["user"])
    assert "X-Offline-Page" not in client.get("/village/5209990101/").headers
    assert auth.logout().headers["Clear-Site-Data"] == '"cache", "storage"'


GROUP_ENTRY = f"{V1}/groups/520999010101/review"
H3 = "520999010101003"


def group_form(client: FlaskClient) -> tuple[str, dict[str, object]]:
    """The group entry page and its form as posted from it: H1 and H3 scored, the other rows as shown."""
    from tests.web.test_village_reviews import group_cells

    page = client.get(GROUP_ENTRY).get_data(as_text=True)
    cells = group_cells(page) | {f"s_{code}_{c}": "9" for code in (H1, H3) for c in CRITERIA}
    return page, {"csrf_token": csrf_token(page), **cells}


def test_the_group_entry_screen_is_queued_saves_once_per_key_and_takes_a_photo_per_household(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("village")
    page, data = group_form(client)
    assert "data-offline" in page and 'name="idempotency_key"' in page
    assert f'name="photo-{H1}" accept="image/*" capture="environment"' in page
    photo = {f"photo-{H1}": (io.BytesIO(jpeg_with_gps()), "IMG_3.jpg")}
    first = client.post(GROUP_ENTRY, data=data | photo, headers=JSON | {"Idempotency-Key": KEY})
    assert first.status_code == 200, first.get_data(as_text=True)[-2000:]
    assert first.get_json()["location"] == f"{V1}/" and "1 张照片" in first.get_json()["message"]
    [h1] = group_reviews(db_session, H1)
    [h3] = group_reviews(db_session, H3)
    for _ in range(3):  # sent again (the answer was lost): the first answer, nothing written
        photo = {f"photo-{H1}": (io.BytesIO(jpeg_with_gps()), "IMG_3.jpg")}
        again = client.post(GROUP_ENTRY, data=data | photo, headers=JSON | {"Idempotency-Key": KEY})
        assert again.get_json() == first.get_json()
    assert [r.version for r in group_reviews(db_session, H1) + group_reviews(db_session, H3)] == [
        h1.version,
        h3.version,
    ]
    [shot] = db_session.scalars(sa.select(Photo)).all()
    assert shot.review_id == h1.id
    # the household's reviews page shows it to the village, without the camera's place
    shown = client.get(f"{V1}/households/{H1}/").get_data(as_text=True)
    assert f"/photos/{shot.id}/thumb" in shown and "小组复评现场照片" in shown and "位置" not in shown
    assert f"/photos/{shot.id}/thumb" not in client.get(f"{V1}/households/{H3}/").get_data(as_text=True)


def test_a_group_entry_photo_of_a_household_left_blank_is_refused_and_nothing_is_saved(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("village")
    _, data = group_form(client)
    data |= {f"s_{H1}_{c}": "" for c in CRITERIA}  # H1 has no review yet
    before = [(r.id, r.version) for r in group_reviews(db_session, H3)]
    photo = {f"photo-{H1}": (io.BytesIO(jpeg_with_gps()), "IMG_4.jpg")}
    page = client.post(GROUP_ENTRY, data=data | photo)
    assert page.status_code == 422 and "拍了照片但没有评分" in page.get_data(as_text=True)
    queued = client.post(
        GROUP_ENTRY, data=data | {f"photo-{H1}": (io.BytesIO(jpeg_with_gps()), "IMG_4.jpg")}, headers=JSON
    )
    assert queued.status_code == 422 and "拍了照片但没有评分" in queued.get_json()["message"]
    assert group_reviews(db_session, H1) == [] and [(r.id, r.version) for r in group_reviews(db_session, H3)] == before
    assert db_session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 0
    assert db_session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 0


def test_a_queued_group_entry_against_a_changed_row_is_a_conflict(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("village")
    _, data = group_form(client)
    assert client.post(GROUP_ENTRY, data=data, headers=JSON | {"Idempotency-Key": KEY}).status_code == 200
    # the phone's queued copy still carries the versions the page showed before that save
    stale = client.post(GROUP_ENTRY, data=data | {f"s_{H1}_c01": "5"}, headers=JSON | {"Idempotency-Key": KEY + "-2"})
    assert stale.status_code == 409
    assert group_reviews(db_session, H1)[0].c01 == 90
