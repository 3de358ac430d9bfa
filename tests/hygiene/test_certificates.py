"""Signed verification links, the verification status, and the data of the notice and the
certificates (RULES.md §6-7), on the seeded demo county."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import AwardLevel, PlaqueState
from hygiene.models import Household, Plaque, User
from hygiene.models._types import utcnow
from hygiene.services.awards import certificates, plaques
from hygiene.services.errors import NotFound
from hygiene.services.setup import units

SECRET = "a-test-secret-of-at-least-32-characters"
QINGSHAN = "5209990101"  # 青山村: 2026Q3 final with plaques, 2026Q4 not published


def first_valid_plaque(db: Session, village_code: str = QINGSHAN) -> Plaque:
    village = units.get_village(db, village_code)
    rows = plaques.register(db, village.township.county, village=village)
    return next(r.plaque for r in rows if r.plaque.state is PlaqueState.VALID)


def test_a_token_reads_back_only_unaltered_and_with_the_same_secret() -> None:
    token = certificates.sign("520999-2026-000001", SECRET)
    assert certificates.read_token(token, SECRET) == "520999-2026-000001"
    assert len(token) < 80  # a short payload keeps the QR code small
    assert certificates.read_token(token, "another-secret-of-at-least-32-chars!") is None
    assert certificates.read_token(token[:-1] + ("A" if token[-1] != "A" else "B"), SECRET) is None
    assert certificates.read_token("520999-2026-000001", SECRET) is None
    assert certificates.read_token("", SECRET) is None


def test_verify_shows_the_current_status_public_data_only(db: Session) -> None:
    plaque = first_valid_plaque(db)
    token = certificates.sign(plaque.serial, SECRET)
    found = certificates.verify(db, token, SECRET)
    assert found.valid and found.serial == plaque.serial and found.level is plaque.level
    assert found.village_name == "青山村" and found.issued_period == "2026Q3"
    assert found.masked_name == plaque.household.head_name[:1] + "**"
    assert found.revoked_on is None and found.revoked_period is None

    inspector = db.scalars(sa.select(User).where(User.username == "inspector")).one()
    plaques.revoke(db, inspector, plaque, reason="督查抽查：厕所不洁", expected_version=plaque.version)
    revoked = certificates.verify(db, token, SECRET)  # the same, still well signed, link
    assert not revoked.valid
    assert revoked.revoked_on == certificates.beijing_date(utcnow())
    assert revoked.revoked_period == "2026Q4"


def test_a_foreign_or_unknown_token_is_not_found(db: Session) -> None:
    plaque = first_valid_plaque(db)
    with pytest.raises(NotFound, match=r"^无效$"):
        certificates.verify(db, certificates.sign(plaque.serial, "another-secret-of-at-least-32-chars!"), SECRET)
    with pytest.raises(NotFound, match=r"^无效$"):
        certificates.verify(db, certificates.sign("520999-2026-999999", SECRET), SECRET)


def test_beijing_dates_cross_midnight() -> None:
    assert certificates.beijing_date(dt.datetime(2026, 10, 17, 16, 30, tzinfo=dt.UTC)) == dt.date(2026, 10, 18)
    assert certificates.beijing_date(None) is None


def test_the_notice_lists_full_names_in_ranking_order_with_beijing_dates(db: Session) -> None:
    village = units.get_village(db, QINGSHAN)
    notice = certificates.notice(db, village, "2026Q3", objection_url="https://x/public/villages/5209990101")
    assert notice.village_name == "青山村" and notice.township_name == "松林镇" and notice.county_name
    assert [r.rank for r in notice.rows] == sorted(r.rank for r in notice.rows)
    names = {code: name for code, name in db.execute(sa.select(Household.code, Household.head_name))}
    assert all(r.head_name == names[r.household_code] for r in notice.rows)
    assert notice.rows[0].award == AwardLevel.CLEANEST.label
    assert notice.published_on == dt.date(2026, 10, 11) and notice.posting_ends_on == dt.date(2026, 10, 18)
    assert notice.final and notice.objection_url.endswith("/public/villages/5209990101")


def test_the_notice_of_a_period_not_published_is_not_found(db: Session) -> None:
    village = units.get_village(db, QINGSHAN)
    with pytest.raises(NotFound):
        certificates.notice(db, village, "2026Q4", objection_url="https://x/")


def test_certificates_of_a_village_valid_plaques_only(db: Session) -> None:
    village = units.get_village(db, QINGSHAN)
    batch = certificates.period_plaques(db, village, "2026Q3")
    assert batch and all(p.state is PlaqueState.VALID for p in batch)
    assert [p.serial for p in batch] == sorted(p.serial for p in batch)
    revoked = db.scalars(
        sa.select(Plaque).where(Plaque.state == PlaqueState.REVOKED, Plaque.serial.startswith("520999-"))
    ).first()
    assert revoked is not None and revoked not in batch
    with pytest.raises(NotFound):
        certificates.village_plaque(db, village, revoked.serial)
    other = first_valid_plaque(db, "5209990201")
    with pytest.raises(NotFound):
        certificates.village_plaque(db, village, other.serial)
    plaque = certificates.village_plaque(db, village, batch[0].serial)
    cert = certificates.certificate(db, plaque, secret=SECRET, verify_url=lambda t: f"https://x/verify/{t}")
    assert cert.head_name == plaque.household.head_name and cert.issued_on == dt.date(2026, 10, 18)
    assert certificates.read_token(cert.verify_url.rsplit("/", 1)[1], SECRET) == plaque.serial
    assert certificates.issuing_periods(db, village) == ["2026Q3"]
