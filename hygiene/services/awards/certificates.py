"""Paper (RULES.md §6-7): the data of the printed notice and of the plaque certificates, and the
signed links of the public verification page.

A certificate's QR code points to ``/verify/<token>``; the token is the plaque's serial signed with
the app's secret (itsdangerous), so that a serial cannot be guessed or forged into a valid link.
The signature says only which plaque it is: the page reads the plaque's current status, so a
certificate of a revoked plaque shows "revoked" although its link stays well signed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy.orm import Session

from hygiene.enums import AwardLevel, Grade, PlaqueState
from hygiene.io import pdf
from hygiene.models import Group, Household, HouseholdStar, Period, Plaque, Star, Village
from hygiene.models._types import BEIJING_TIME
from hygiene.services.awards import plaques
from hygiene.services.errors import NotFound
from hygiene.services.rating import rating, records, results
from hygiene.services.setup import periods

SALT = "plaque-verify"


def beijing_date(value: dt.datetime | None) -> dt.date | None:
    """The calendar date in Beijing of a stored (UTC) time."""
    return None if value is None else value.astimezone(BEIJING_TIME).date()


# --- signed links ---------------------------------------------------------------------------------


def sign(serial: str, secret: str) -> str:
    """The token of a plaque's verification link: its serial, signed."""
    return str(URLSafeSerializer(secret, salt=SALT).dumps(serial))


def read_token(token: str, secret: str) -> str | None:
    """The serial a token signs, or None for an altered, truncated or guessed token."""
    try:
        serial = URLSafeSerializer(secret, salt=SALT).loads(token)
    except BadData:
        return None
    return serial if isinstance(serial, str) else None


@dataclass(frozen=True)
class Verification:
    """What the public verification page shows: public data only (the head name masked)."""

    serial: str
    valid: bool
    level: AwardLevel
    county_name: str
    township_name: str
    village_name: str
    masked_name: str
    issued_period: str
    issued_on: dt.date | None
    revoked_period: str | None
    revoked_on: dt.date | None
    voided: bool = False  # issued by a finalisation a correction (更正) undid (issue 30)


def verify(session: Session, token: str, secret: str) -> Verification:
    """The current status of the plaque a token signs. Raises ``NotFound`` ("无效", nothing more)
    for a token that is not ours or a plaque that is not there."""
    serial = read_token(token, secret)
    plaque = session.scalar(sa.select(Plaque).where(Plaque.serial == serial)) if serial else None
    if plaque is None:
        raise NotFound("无效")
    village = plaque.household.group.village
    issued, revoked = _period_codes(session, plaque)
    return Verification(
        serial=plaque.serial,
        valid=plaque.state is PlaqueState.VALID,
        level=plaque.level,
        county_name=village.township.county.name,
        township_name=village.township.name,
        village_name=village.name,
        masked_name=records.mask_name(plaque.household.head_name),
        issued_period=issued,
        issued_on=beijing_date(plaque.issued_at),
        revoked_period=revoked,
        revoked_on=beijing_date(plaque.revoked_at),
        voided=plaque.state is PlaqueState.VOIDED,
    )


def _period_codes(session: Session, plaque: Plaque) -> tuple[str, str | None]:
    issued = session.get(Period, plaque.issued_period_id)
    assert issued is not None
    revoked = session.get(Period, plaque.revoked_period_id) if plaque.revoked_period_id else None
    return issued.code, revoked.code if revoked else None


# --- the printed notice ---------------------------------------------------------------------------


def notice(session: Session, village: Village, period_code: str, *, objection_url: str) -> pdf.Notice:
    """The printed notice of a published or final village period, from its current record, with
    full head names (RULES.md §6: only the printed notice shows them). Raises ``NotFound`` for a
    period that is not published."""
    posted = results.public_list(session, village, period_code)
    village_period = periods.village_period(session, village, posted.period)
    assert village_period is not None
    record = posted.record
    rated = sorted((r for r in record.rows if r.rank is not None), key=lambda r: r.rank or 0)
    return pdf.Notice(
        county_name=village.township.county.name,
        township_name=record.township_name,
        village_name=record.village_name,
        period_code=record.period_code,
        record_number=record.number,
        corrects=posted.corrects,
        rows=[
            pdf.NoticeRow(
                rank=row.rank or 0,
                household_code=row.household_code,
                head_name=row.head_name,
                group_name=row.group_name,
                grade=(row.grade or Grade.NOT_CLEAN).label,
                final_total=rating.total_text(row.final_total or 0),
                award=row.award.label if row.award else "",
            )
            for row in rated
        ],
        households=record.households,
        published_on=beijing_date(village_period.published_at),
        posting_ends_on=beijing_date(village_period.posting_ends_at),
        objection_url=objection_url,
        final=village_period.state.value == "final",
    )


# --- certificates ---------------------------------------------------------------------------------


def _village_plaques(village: Village) -> sa.Select[Plaque]:
    return (
        sa.select(Plaque)
        .join(Household, Plaque.household_id == Household.id)
        .join(Group, Household.group_id == Group.id)
        .where(Group.village_id == village.id)
    )


def village_plaque(session: Session, village: Village, serial: str) -> Plaque:
    """A valid plaque of this village; another village's serial or a revoked plaque is "not found"
    (a revoked plaque gets no new certificate)."""
    plaque = plaques.get_plaque(session, village.township.county, serial)
    if plaque.household.group.village_id != village.id:
        raise NotFound(f"{village.name}没有牌匾 {serial}")
    if plaque.state is not PlaqueState.VALID:
        raise NotFound(f"牌匾 {serial} 已摘牌，不再打印证书")
    return plaque


def period_plaques(session: Session, village: Village, period_code: str) -> list[Plaque]:
    """The village's plaques issued in the period and still valid, by serial: the batch to print."""
    period = periods.get_period(session, village.township.county_id, period_code)
    return list(
        session.scalars(
            _village_plaques(village)
            .where(Plaque.issued_period_id == period.id, Plaque.state == PlaqueState.VALID)
            .order_by(Plaque.serial)
        )
    )


def issuing_periods(session: Session, village: Village) -> list[str]:
    """The periods in which the village's valid plaques were issued, newest first (batch links)."""
    codes = session.scalars(
        sa.select(Period.code)
        .join(Plaque, Plaque.issued_period_id == Period.id)
        .join(Household, Plaque.household_id == Household.id)
        .join(Group, Household.group_id == Group.id)
        .where(Group.village_id == village.id, Plaque.state == PlaqueState.VALID)
        .distinct()
    )
    return sorted(codes, reverse=True)


def certificate(session: Session, plaque: Plaque, *, secret: str, verify_url: Callable[[str], str]) -> pdf.Certificate:
    """A plaque's certificate; ``verify_url`` turns a token into the absolute verification URL."""
    village = plaque.household.group.village
    issued, _ = _period_codes(session, plaque)
    issued_on = beijing_date(plaque.issued_at)
    assert issued_on is not None
    return pdf.Certificate(
        serial=plaque.serial,
        household_code=plaque.household.code,
        head_name=plaque.household.head_name,
        county_name=village.township.county.name,
        township_name=village.township.name,
        village_name=village.name,
        level=plaque.level.label,
        issued_period=issued,
        issued_on=issued_on,
        verify_url=verify_url(sign(plaque.serial, secret)),
    )


# --- title certificates (RULES.md §8) --------------------------------------------------------------


def title_certificate(session: Session, household: Household, code: str) -> pdf.TitleCertificate:
    """The certificate of a star or title the household holds now (好婆婆, 十星级文明户, ...): a
    star or title it does not hold, or the hygiene star (its paper is the plaque certificate), is
    "not found"."""
    star = session.scalar(sa.select(Star).where(Star.county_id == household.county_id, Star.code == code.strip()))
    held = None if star is None else session.scalar(
        sa.select(HouseholdStar).where(
            HouseholdStar.household_id == household.id,
            HouseholdStar.star_id == star.id,
            HouseholdStar.withdrawn_on.is_(None),
        )
    )  # fmt: skip
    if star is None or held is None:
        raise NotFound(f"户 {household.code} 未持有 {code}，不能打印证书")
    if star.is_hygiene:
        raise NotFound("卫生星随牌匾授予，其证书即牌匾证书")
    village = household.group.village
    return pdf.TitleCertificate(
        household_code=household.code,
        head_name=household.head_name,
        county_name=village.township.county.name,
        township_name=village.township.name,
        village_name=village.name,
        title=star.name,
        certificate_name=star.certificate or f"{star.name}证书",
        granted_on=held.granted_on,
        reason=held.grant_reason,
    )
