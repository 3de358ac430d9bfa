"""Work in the field (issue 31), on the services: idempotency keys, photos checked by content with
their EXIF kept for inspectors only, and the household check sheet."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.orm import Session

from hygiene.enums import ReviewKind
from hygiene.models import IdempotencyKey, Photo, User
from hygiene.services import idempotency, photos
from hygiene.services.rating import check_sheets
from hygiene.services.setup import units
from tests.hygiene import factories

GPS = {1: "N", 2: (26.0, 52.0, 30.0), 3: "E", 4: (104.0, 43.0, 12.0)}


def jpeg_with_gps(size: tuple[int, int] = (640, 480), colour: tuple[int, int, int] = (90, 140, 60)) -> bytes:
    exif = Image.Exif()
    exif[photos.GPS_IFD] = GPS
    exif[photos.EXIF_IFD] = {photos.DATETIME_ORIGINAL: "2026:12:08 10:30:00"}
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", exif=exif)
    return out.getvalue()


def png_bomb() -> bytes:
    """50 megapixels of one colour: a few kilobytes that would take 50 MB and more to decode."""
    out = io.BytesIO()
    Image.new("1", (7072, 7072)).save(out, "PNG")
    return out.getvalue()


def user(db: Session, username: str) -> User:
    return db.scalars(sa.select(User).where(User.username == username)).one()


# --- idempotency ----------------------------------------------------------------------------------


def test_the_same_key_gives_the_first_answer_and_other_values_are_refused(db: Session) -> None:
    clerk = user(db, "village")
    key = "0b7d5c5e-8f7a-4c55-9a4b-1f0e2d3c4b5a"
    digest = idempotency.fingerprint("POST", "/x", [("c01", "9"), ("csrf_token", "a")], [])
    assert idempotency.lookup(db, clerk, key, digest) is None
    answer = idempotency.Answer(200, "/village/5209990101/", "已保存")
    idempotency.remember(db, clerk, factories.village(db).county_id, key, digest, answer)
    # a new CSRF token (after logging in again) does not change the save
    again = idempotency.fingerprint("POST", "/x", [("csrf_token", "b"), ("c01", "9")], [])
    assert idempotency.lookup(db, clerk, key, again) == answer
    other = idempotency.fingerprint("POST", "/x", [("c01", "8")], [])
    with pytest.raises(idempotency.KeyRejected, match="另一份内容不同"):
        idempotency.lookup(db, clerk, key, other)
    # keys are per account: another account's same key is new to it
    assert idempotency.lookup(db, user(db, "village2"), key, other) is None


def test_a_second_remember_of_one_key_is_refused_as_in_flight(db: Session) -> None:
    clerk = user(db, "village")
    county_id = factories.village(db).county_id
    answer = idempotency.Answer(200, "/", "已保存")
    idempotency.remember(db, clerk, county_id, "key-0123456789abcdef", "d" * 64, answer)
    with pytest.raises(idempotency.KeyInFlight):
        idempotency.remember(db, clerk, county_id, "key-0123456789abcdef", "d" * 64, answer)
    assert (
        db.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey).where(IdempotencyKey.user_id == clerk.id)) == 1
    )


def test_files_count_in_the_fingerprint_and_malformed_keys_are_refused() -> None:
    one = idempotency.fingerprint("POST", "/x", [], [("photo", b"a")])
    assert one != idempotency.fingerprint("POST", "/x", [], [("photo", b"b")])
    assert idempotency.check_key(" 0b7d5c5e-8f7a-4c55-9a4b-1f0e2d3c4b5a ") == "0b7d5c5e-8f7a-4c55-9a4b-1f0e2d3c4b5a"
    for bad in ("short", "x" * 81, "key with spaces 1234567", "<script>alert(1)</script>"):
        with pytest.raises(idempotency.KeyRejected, match="格式不对"):
            idempotency.check_key(bad)


# --- photos ---------------------------------------------------------------------------------------


def test_a_photo_is_checked_by_content_and_its_exif_read() -> None:
    checked = photos.check(jpeg_with_gps(), "IMG_0001.jpg")
    assert (checked.file_format, checked.width, checked.height) == ("jpeg", 640, 480)
    assert checked.taken_at == "2026:12:08 10:30:00"
    assert checked.latitude == pytest.approx(26.875)
    assert checked.longitude == pytest.approx(104.72)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<!doctype html><html><body><script>alert(1)</script></body></html>", "不是可以识别的照片"),
        (b"", "文件是空的"),
        (b"GIF89a" + b"\0" * 100, "不是可以识别的照片"),
    ],
)
def test_what_is_not_a_photo_is_refused_naming_the_file(content: bytes, message: str) -> None:
    with pytest.raises(photos.PhotoRejected, match=f"^evil.jpg：.*{message}"):
        photos.check(content, "evil.jpg")


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    bomb = png_bomb()
    assert len(bomb) < 20_000
    with pytest.raises(photos.PhotoRejected, match=r"bomb.png：图片尺寸过大（7072×7072，约 50 百万像素）"):
        photos.check(bomb, "bomb.png")


def test_a_truncated_or_oversized_file_is_refused() -> None:
    with pytest.raises(photos.PhotoRejected, match="已损坏或不完整"):
        photos.check(jpeg_with_gps()[:3000], "cut.jpg")
    with pytest.raises(photos.PhotoRejected, match="文件太大"):
        photos.check(b"\xff\xd8" + b"\0" * (photos.MAX_BYTES + 1), "big.jpg")


def test_the_original_keeps_its_gps_and_every_other_copy_has_none(db: Session, tmp_path: Path) -> None:
    village = factories.village(db)
    household = factories.households_of_group(db, factories.first_group(db))[0]
    review = factories.review(db, household, factories.period(db), ReviewKind.GROUP)
    clerk = user(db, "village")
    [photo] = photos.attach(db, tmp_path, clerk, [photos.check(jpeg_with_gps((3000, 2000)), "a.jpg")], review=review)
    assert (photo.county_id, photo.review_id, photo.latitude) == (village.county_id, review.id, pytest.approx(26.875))
    original = photos.file_path(tmp_path, photo.sha256, photo.file_format, photos.Variant.ORIGINAL)
    with Image.open(original) as image:
        assert image.getexif().get_ifd(photos.GPS_IFD)[2] == (26.0, 52.0, 30.0)
    for variant, side in ((photos.Variant.DISPLAY, photos.DISPLAY_SIDE), (photos.Variant.THUMB, photos.THUMB_SIDE)):
        copy = photos.file_path(tmp_path, photo.sha256, photo.file_format, variant)
        content = copy.read_bytes()
        with Image.open(copy) as image:
            assert max(image.size) == side
            assert not image.getexif()
            assert "exif" not in image.info
        assert b"Exif" not in content and b"GPS" not in content
    # the same photo again is not stored twice
    assert photos.attach(db, tmp_path, clerk, [photos.check(jpeg_with_gps((3000, 2000)), "b.jpg")], review=review) == []


def test_who_sees_a_photo_is_who_sees_its_record_and_only_inspectors_see_where(db: Session, tmp_path: Path) -> None:
    household = factories.households_of_group(db, factories.first_group(db))[0]
    review = factories.review(db, household, factories.period(db), ReviewKind.GROUP)
    [photo] = photos.attach(db, tmp_path, user(db, "village"), [photos.check(jpeg_with_gps(), "a.jpg")], review=review)
    seen = {
        name: photos.can_view(db, user(db, name), photo)
        for name in ("village", "village2", "township", "township2", "county", "inspector", "inspector2")
    }
    assert seen == {
        "village": True,
        "village2": False,
        "township": True,
        "township2": False,
        "county": True,
        "inspector": True,
        "inspector2": False,
    }
    assert [
        n
        for n in ("village", "township", "county", "inspector", "inspector2")
        if photos.can_see_location(user(db, n), photo)
    ] == ["inspector"]


def test_at_most_six_photos_a_record(db: Session, tmp_path: Path) -> None:
    household = factories.households_of_group(db, factories.first_group(db))[0]
    review = factories.review(db, household, factories.period(db), ReviewKind.GROUP)
    seven = [photos.check(jpeg_with_gps((64, 64), (i * 30, 0, 0)), f"{i}.jpg") for i in range(7)]
    with pytest.raises(photos.PhotoRejected, match="最多 6 张"):
        photos.attach(db, tmp_path, user(db, "village"), seven, review=review)
    assert db.scalar(sa.select(sa.func.count()).select_from(Photo).where(Photo.review_id == review.id)) == 0


# --- the check sheet ------------------------------------------------------------------------------


def test_the_check_sheet_has_a_page_per_household_with_its_full_name_and_ten_criteria(db: Session) -> None:
    village = factories.village(db)
    period = factories.period(db)
    group = factories.first_group(db)
    sheets = check_sheets.check_sheets(db, village, period, lambda code: f"https://example.org/e/{code}", group)
    living = [h for h in factories.households_of_group(db, group) if h.moved_away_on is None]
    assert [h.code for h in sheets.households] == [h.code for h in living] and living
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"],
        input=check_sheets.check_sheets_pdf(db, village, period, lambda code: f"https://example.org/e/{code}", group),
        capture_output=True,
        check=True,
    ).stdout.decode()
    pages = text.split("\f")[: len(living)]
    assert len(pages) == len(living)
    labels = [c.label for c in sorted(period.rubric_version.criteria, key=lambda c: c.code)]
    assert len(labels) == 10
    for household, page in zip(living, pages, strict=True):
        assert household.code in page and household.head_name in page and group.name in page
        assert all(label in page for label in labels), page
        assert "自评得分" in page and "复评得分" in page and "评比检查小组成员（签字）" in page
    whole = check_sheets.check_sheets(db, village, period, str)
    assert len(whole.households) == sum(
        1 for g in units.village_groups(db, village) for h in g.households if h.moved_away_on is None
    )


def test_the_check_sheet_qr_opens_the_households_entry_form(db: Session) -> None:
    import pypdfium2
    import zxingcpp

    group = factories.first_group(db)
    content = check_sheets.check_sheets_pdf(
        db, factories.village(db), factories.period(db), lambda code: f"https://example.org/e/{code}", group
    )
    page = pypdfium2.PdfDocument(content)[0].render(scale=2).to_pil()
    decoded = [r.text for r in zxingcpp.read_barcodes(page)]
    first = factories.households_of_group(db, group)[0]
    assert decoded == [f"https://example.org/e/{first.code}"]
