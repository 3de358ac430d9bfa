"""Photo evidence (issue 31): photos of a review, a spot check or a rectification report, taken on
a phone and checked here by their content, not their name or declared type.

A photo is read with Pillow: only JPEG, PNG and HEIF (when Pillow has a HEIF reader) are taken; its
size in bytes and in pixels is bounded before it is decoded, so a decompression bomb (a small file
that claims millions of pixels) is refused without being unpacked; then it is decoded whole, so a
truncated or corrupt file is refused too. Three files are kept, named by the content hash: the
original as sent (with its EXIF: the time and place the camera recorded, for inspectors only), a
display copy and a thumbnail, re-encoded without any metadata, made once. Photos are never public;
who may see one is who may see the record it belongs to.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import sqlalchemy as sa
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from hygiene import permissions
from hygiene.enums import Role
from hygiene.models import Household, InspectionAssignment, Notice, Photo, Review, SpotCheck, Township, User
from hygiene.services.errors import ServiceError

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 24_000_000  # a 24-megapixel camera; the phone's page resizes to about 2 before sending
MAX_SIDE = 12_000
DISPLAY_SIDE = 1600
THUMB_SIDE = 320
MAX_PER_SUBJECT = 6
# Pillow's format names and what we call them; HEIF only where a plugin registered a reader.
FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "HEIF": "heif"}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "heif": "heic"}
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATETIME_ORIGINAL, DATETIME = 0x9003, 0x0132


class PhotoRejected(ServiceError):
    """The file is not a photo we take; the message names the file and why."""


class Variant(StrEnum):
    ORIGINAL = "original"  # as sent, EXIF and all: inspectors only
    DISPLAY = "display"  # re-encoded, no metadata
    THUMB = "thumb"  # re-encoded, no metadata


@dataclass(frozen=True)
class CheckedPhoto:
    content: bytes
    sha256: str
    file_format: str
    width: int
    height: int
    taken_at: str | None
    latitude: float | None
    longitude: float | None


def _degrees(value: object, ref: object) -> float | None:
    try:
        d, m, s = (float(part) for part in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60 + s / 3600
    return round(-degrees if str(ref).upper() in ("S", "W") else degrees, 7)


def check(content: bytes, file_name: str) -> CheckedPhoto:
    """Check a photo by its content; raises ``PhotoRejected`` with a Chinese message naming the file."""
    name = file_name or "照片"
    if not content:
        raise PhotoRejected(f"{name}：文件是空的")
    if len(content) > MAX_BYTES:
        raise PhotoRejected(f"{name}：文件太大（{len(content) / 1048576:.1f} MB），照片最大 {MAX_BYTES // 1048576} MB")
    Image.init()
    readable = [f for f in FORMATS if f in Image.OPEN]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(content), formats=readable)
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError):
            raise PhotoRejected(f"{name}：不是可以识别的照片（只收 JPEG、PNG 格式的照片）") from None
        width, height = image.size
        if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
            raise PhotoRejected(
                f"{name}：图片尺寸过大（{width}×{height}，约 {width * height / 1e6:.0f} 百万像素），"
                f"最多 {MAX_PIXELS // 1_000_000} 百万像素"
            )
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise PhotoRejected(f"{name}：照片文件已损坏或不完整，请重新拍摄") from None
    exif = image.getexif()
    taken = exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL) or exif.get(DATETIME)
    gps = exif.get_ifd(GPS_IFD)
    latitude = _degrees(gps.get(2), gps.get(1)) if 2 in gps else None
    longitude = _degrees(gps.get(4), gps.get(3)) if 4 in gps else None
    return CheckedPhoto(
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        file_format=FORMATS[str(image.format)],
        width=width,
        height=height,
        taken_at=str(taken)[:19] if taken else None,
        latitude=latitude,
        longitude=longitude,
    )


def file_path(root: Path, sha256: str, file_format: str, variant: Variant) -> Path:
    extension = EXTENSIONS[file_format] if variant is Variant.ORIGINAL else "jpg"
    return root / variant.value / sha256[:2] / f"{sha256}.{extension}"


def _write(path: Path, content: bytes) -> None:
    """Write a file whole or not at all (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _reencoded(content: bytes, side: int) -> bytes:
    """A copy turned upright and no larger than ``side``, as a JPEG with no metadata at all."""
    with Image.open(io.BytesIO(content)) as image:
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((side, side))
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGBA").convert("RGB") if "A" in upright.mode else upright.convert("RGB")
        out = io.BytesIO()
        upright.save(out, "JPEG", quality=80, optimize=True)  # no exif= passed: none is written
    return out.getvalue()


def store(root: Path, photo: CheckedPhoto) -> None:
    """Put the three files on disk, once: a photo already stored (the same content) is not redone."""
    original = file_path(root, photo.sha256, photo.file_format, Variant.ORIGINAL)
    if not original.exists():
        _write(original, photo.content)
    for variant, side in ((Variant.DISPLAY, DISPLAY_SIDE), (Variant.THUMB, THUMB_SIDE)):
        target = file_path(root, photo.sha256, photo.file_format, variant)
        if not target.exists():
            _write(target, _reencoded(photo.content, side))


def attach(
    session: Session,
    root: Path,
    actor: User,
    checked: Sequence[CheckedPhoto],
    *,
    review: Review | None = None,
    spot_check: SpotCheck | None = None,
    notice: Notice | None = None,
) -> list[Photo]:
    """Store the photos and record them on their subject (exactly one of the three). The files are
    written before the transaction commits; a rolled-back save leaves files no row names, harmless
    (named by content, reused if the same photo comes again)."""
    subjects = [s for s in (review, spot_check, notice) if s is not None]
    if len(subjects) != 1:
        raise ValueError("a photo belongs to exactly one review, spot check or notice")
    subject = subjects[0]
    existing = {p.sha256 for p in photos_of(session, review=review, spot_check=spot_check, notice=notice)}
    fresh = [c for c in {c.sha256: c for c in checked}.values() if c.sha256 not in existing]
    if len(existing) + len(fresh) > MAX_PER_SUBJECT:
        raise PhotoRejected(f"每条记录最多 {MAX_PER_SUBJECT} 张照片，已有 {len(existing)} 张")
    added = []
    for photo in fresh:
        store(root, photo)
        row = Photo(
            county_id=subject.county_id,
            review_id=review.id if review else None,
            spot_check_id=spot_check.id if spot_check else None,
            notice_id=notice.id if notice else None,
            uploaded_by_id=actor.id,
            sha256=photo.sha256,
            file_format=photo.file_format,
            byte_size=len(photo.content),
            width=photo.width,
            height=photo.height,
            taken_at=photo.taken_at,
            latitude=photo.latitude,
            longitude=photo.longitude,
        )
        session.add(row)
        added.append(row)
    session.flush()
    return added


def photos_of(
    session: Session,
    *,
    review: Review | None = None,
    spot_check: SpotCheck | None = None,
    notice: Notice | None = None,
) -> list[Photo]:
    if review is not None:
        where = Photo.review_id == review.id
    elif spot_check is not None:
        where = Photo.spot_check_id == spot_check.id
    elif notice is not None:
        where = Photo.notice_id == notice.id
    else:
        return []
    return list(session.scalars(sa.select(Photo).where(where).order_by(Photo.id)))


def photos_of_reviews(session: Session, review_ids: Sequence[int]) -> dict[int, list[Photo]]:
    """The photos of several reviews at once, by review id."""
    found: dict[int, list[Photo]] = {}
    if review_ids:
        query = sa.select(Photo).where(Photo.review_id.in_(list(review_ids))).order_by(Photo.id)
        for photo in session.scalars(query):
            found.setdefault(photo.review_id or 0, []).append(photo)
    return found


def can_view(session: Session, user: User, photo: Photo) -> bool:
    """Whoever may see the record the photo belongs to; nobody else (photos are never public)."""
    if photo.review_id is not None:
        review = session.get(Review, photo.review_id)
        household = session.get(Household, review.household_id) if review else None
        return household is not None and permissions.can_view_village(user, household.group.village)
    if photo.spot_check_id is not None:
        check_row = session.get(SpotCheck, photo.spot_check_id)
        assignment = session.get(InspectionAssignment, check_row.assignment_id) if check_row else None
        return (
            assignment is not None
            and user.role is Role.INSPECTOR
            and permissions.can_inspect_township(user, session.get_one(Township, assignment.township_id))
        )  # any level's inspectors of the township (issue 33)
    notice = session.get(Notice, photo.notice_id)
    if notice is None or (user.county_id is not None and user.county_id != notice.county_id):
        return False
    if user.role is Role.INSPECTOR:
        return permissions.can_inspect_township(user, session.get_one(Township, notice.township_id))
    if user.role is Role.COUNTY_ADMIN:
        return user.county_id == notice.county_id
    if user.role is Role.TOWNSHIP_REVIEWER:
        return user.township_id == notice.township_id
    return notice.village_id is not None and user.village_id == notice.village_id


def can_see_location(user: User, photo: Photo) -> bool:
    """The original with its EXIF time and place, and those values: the county's inspectors only."""
    return user.role is Role.INSPECTOR and user.county_id == photo.county_id


def waive_report_photo(session: Session, actor: User, notice: Notice, expected_version: int, waived: bool) -> Notice:
    """The inspector lets the addressee report a notice rectified without a photo (or asks for one
    again). Audited on the notice; a stale version is a ``Conflict``."""
    from hygiene.models import County
    from hygiene.services import audit
    from hygiene.services.errors import Conflict, PermissionDenied

    if not permissions.can_inspect_county(actor, session.get_one(County, notice.county_id)):
        raise PermissionDenied("只有本县督查员可以免除整改照片")
    if notice.version != expected_version:
        raise Conflict()
    before = {"photo_waived": notice.photo_waived}
    notice.photo_waived = waived
    session.flush()
    audit.record(
        session,
        actor,
        notice,
        action="waive_photo" if waived else "require_photo",
        before=before,
        after={"photo_waived": waived},
        reason="督查员免除整改照片" if waived else "督查员要求整改照片",
    )
    return notice
