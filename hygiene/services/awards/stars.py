"""Stars and titles (星级激励, RULES.md §8): the county's catalogue, the stars households hold, the
hygiene star following the plaque, disqualifying events, tiers, five-plus and ten-star households.

The hygiene star is never granted or withdrawn by hand: ``follow_plaque`` is called by the plaque
service's one event writer (``plaques.add_event``) in the same transaction as every plaque event,
and holds the star exactly while the household holds a valid plaque and is not disqualified. The
other stars and the titles are granted and withdrawn by the village committee (the township may
reverse them), each with a date and reason, and audited on the household.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import naming
from hygiene.enums import PlaqueState, Role
from hygiene.models import (
    AwardGoodsMapping,
    County,
    Disqualification,
    Group,
    Household,
    HouseholdStar,
    Plaque,
    Star,
    StarSettings,
    Township,
    User,
    Village,
)
from hygiene.models._types import BEIJING_TIME, beijing_today
from hygiene.services import audit
from hygiene.services.awards.holdings import Catalogue, Holding, holding_rows, household_columns, scoped, tallies
from hygiene.services.errors import FieldErrors, NotFound, PermissionDenied, ServiceError
from hygiene.services.setup import household_moves

DEFAULT_STARS: tuple[tuple[str, str, bool], ...] = (
    ("hygiene", "卫生星", True),
    ("law", "守法星", True),
    ("filial", "孝老星", True),
    ("diligent", "勤劳星", True),
    ("harmony", "和睦星", True),
    ("study", "好学星", False),
    ("thrift", "节俭星", False),
    ("kindness", "诚信星", False),
    ("ecology", "生态星", False),
    ("service", "公益星", False),
)
BASE_STARS = 5
DISQUALIFYING_EVENTS = ("违法犯罪", "参与赌博或吸毒", "家庭暴力")
# 缺什么奖什么: the default goods for a household that lost points on each criterion (fen).
DEFAULT_GOODS: tuple[tuple[str, str, int], ...] = (
    ("c01", "洗漱用品", 3000),
    ("c02", "垃圾桶", 6000),
    ("c03", "扫帚和撮箕", 3000),
    ("c04", "置物架", 8000),
    ("c05", "厕刷和洁厕剂", 2000),
    ("c06", "扎线带和挂钩", 1000),
    ("c07", "圈舍消毒剂", 3000),
    ("c08", "环境卫生公约挂图", 1000),
    ("c09", "灶台清洁套装", 4000),
    ("c10", "污水沉淀桶", 8000),
)
REASON_MAX = 200
STAR_CODE = naming.HOUSEHOLD_CODE


# --- the catalogue ---------------------------------------------------------------------------------


def create_default_catalogue(session: Session, county: County) -> None:
    """A new county's catalogue (卫生星 and four other base stars, five others), its star settings
    and its criterion → goods mapping, all of which its administrator then edits."""
    if session.scalar(sa.select(Star.id).where(Star.county_id == county.id).limit(1)) is None:
        session.add_all(
            Star(county_id=county.id, code=code, name=name, is_base=base, is_hygiene=code == "hygiene", position=i)
            for i, (code, name, base) in enumerate(DEFAULT_STARS)
        )
    settings_of(session, county.id)
    if session.scalar(sa.select(AwardGoodsMapping.id).where(AwardGoodsMapping.county_id == county.id)) is None:
        session.add_all(
            AwardGoodsMapping(county_id=county.id, criterion_code=c, item=item, value_fen=fen)
            for c, item, fen in DEFAULT_GOODS
        )
    session.flush()


def catalogue(session: Session, county_id: int) -> list[Star]:
    """The county's stars in their order, then its titles (the default catalogue made if missing)."""
    query = sa.select(Star).where(Star.county_id == county_id).order_by(Star.is_title, Star.position, Star.id)
    found = list(session.scalars(query))
    if not found:
        create_default_catalogue(session, session.get_one(County, county_id))
        return catalogue(session, county_id)
    return found


def settings_of(session: Session, county_id: int) -> StarSettings:
    found = session.scalar(sa.select(StarSettings).where(StarSettings.county_id == county_id))
    if found is None:
        found = StarSettings(county_id=county_id, disqualifying_events="\n".join(DISQUALIFYING_EVENTS))
        session.add(found)
        session.flush()
    return found


def disqualifying_events(session: Session, county_id: int) -> list[str]:
    return [line.strip() for line in settings_of(session, county_id).disqualifying_events.splitlines() if line.strip()]


def hygiene_star(session: Session, county_id: int) -> Star:
    return next(star for star in catalogue(session, county_id) if star.is_hygiene)


def get_star(session: Session, county_id: int, code: str) -> Star:
    star = next((s for s in catalogue(session, county_id) if s.code == code.strip()), None)
    if star is None:
        raise NotFound(f"本县星级目录中没有 {code}")
    return star


def _require_admin(actor: User | None, county: County) -> None:
    if actor is not None and not (actor.role is Role.COUNTY_ADMIN and actor.county_id == county.id):
        raise PermissionDenied("只有本县管理员可以修改星级目录")


# --- holdings --------------------------------------------------------------------------------------


def catalogue_bits(session: Session, county_id: int) -> Catalogue:
    """The catalogue and tiers a list reads once: each entry has a bit of a holding's mask."""
    entries = tuple(catalogue(session, county_id))

    def bits(keep: Callable[[Star], bool]) -> int:
        return sum(1 << i for i, star in enumerate(entries) if keep(star))

    return Catalogue(
        entries,
        settings_of(session, county_id),
        star_bits=bits(lambda s: not s.is_title),
        base_bits=bits(lambda s: s.is_base),
        title_bits=bits(lambda s: s.is_title),
        hygiene_bits=bits(lambda s: s.is_hygiene),
    )


def holdings(
    session: Session,
    county: County,
    *,
    township: Township | None = None,
    village: Village | None = None,
    households: Sequence[Household] | None = None,
    with_none: bool = False,
) -> list[Holding]:
    """Each household of the county (or of one township, village or list) holding a star or title,
    sorted by household code; ``with_none`` adds the households that hold nothing. Column reads:
    the stars are summed per household in the database."""
    cat = catalogue_bits(session, county.id)
    within = None
    if township is not None or village is not None or households is not None:
        ids = sa.select(Household.id).join(Group, Household.group_id == Group.id)
        within = scoped(ids, township=township, village=village, households=households)
    tally = tallies(county.id, cat, within)
    query = household_columns(tally).where(Household.county_id == county.id).order_by(Household.code)
    query = scoped(query, township=township, village=village, households=households)
    if not with_none and households is None:
        query = query.where(tally.c.household_id.is_not(None))
    return holding_rows(session, query, cat)


def holding_of(session: Session, household: Household) -> Holding:
    county = session.get_one(County, household.county_id)
    return holdings(session, county, households=[household])[0]


# --- grants and withdrawals ------------------------------------------------------------------------


def can_grant(user: User, village: Village) -> bool:
    """The village committee grants and withdraws its households' stars; its township may reverse them."""
    if user.role is Role.VILLAGE_CLERK:
        return user.village_id == village.id
    return user.role is Role.TOWNSHIP_REVIEWER and user.township_id == village.township_id


def _village(session: Session, household: Household) -> Village:
    return session.get_one(Group, household.group_id).village


def _active(session: Session, household: Household, star: Star) -> HouseholdStar | None:
    return session.scalar(
        sa.select(HouseholdStar).where(
            HouseholdStar.household_id == household.id,
            HouseholdStar.star_id == star.id,
            HouseholdStar.withdrawn_on.is_(None),
        )
    )


def disqualification_of(session: Session, household_id: int) -> Disqualification | None:
    return session.scalar(
        sa.select(Disqualification)
        .where(Disqualification.household_id == household_id, Disqualification.lifted_on.is_(None))
        .order_by(Disqualification.id)
        .limit(1)
    )


def _checked(reason: str, on: dt.date | None) -> tuple[str, dt.date]:
    reason = reason.strip()
    errors = {}
    if not reason:
        errors["reason"] = "必须填写原因"
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"原因最长{REASON_MAX}字"
    day = on or beijing_today()
    if day > beijing_today():
        errors["on"] = f"日期 {day.isoformat()} 不能晚于今天"
    if errors:
        raise FieldErrors(errors)
    return reason, day


def grant(
    session: Session, actor: User | None, household: Household, star: Star, *, reason: str, on: dt.date | None = None
) -> HouseholdStar:
    """The village committee grants a star or title (not the hygiene star: it follows the plaque)."""
    village = _village(session, household)
    if actor is not None and not can_grant(actor, village):
        raise PermissionDenied("只有本村村委会或所属乡镇可以授予星级")
    if star.county_id != household.county_id:
        raise NotFound("本县星级目录中没有此星")
    if star.is_hygiene:
        raise ServiceError("卫生星随牌匾授予和摘除，不能手工授予")
    reason, day = _checked(reason, on)
    if (event := disqualification_of(session, household.id)) is not None:
        raise ServiceError(f"户 {household.code} 因“{event.event}”被取消评星资格，县里解除前不能授星")
    if _active(session, household, star) is not None:
        raise ServiceError(f"户 {household.code} 已持有{star.name}")
    held = HouseholdStar(
        county_id=household.county_id, household_id=household.id, star_id=star.id, granted_on=day, grant_reason=reason
    )
    session.add(held)
    session.flush()
    _audit(session, actor, household, "star_grant", None, held, star, reason)
    return held


def withdraw(
    session: Session, actor: User | None, household: Household, star: Star, *, reason: str, on: dt.date | None = None
) -> HouseholdStar:
    """The village committee withdraws a star or title (not the hygiene star: it follows the plaque)."""
    village = _village(session, household)
    if actor is not None and not can_grant(actor, village):
        raise PermissionDenied("只有本村村委会或所属乡镇可以摘除星级")
    if star.is_hygiene:
        raise ServiceError("卫生星随牌匾授予和摘除，不能手工摘除")
    reason, day = _checked(reason, on)
    held = _active(session, household, star)
    if held is None:
        raise ServiceError(f"户 {household.code} 未持有{star.name}")
    if day < held.granted_on:
        raise FieldErrors({"on": f"摘除日期不能早于授予日期 {held.granted_on.isoformat()}"})
    before = _snapshot(held)
    held.withdrawn_on, held.withdraw_reason = day, reason
    session.flush()
    _audit(session, actor, household, "star_withdraw", before, held, star, reason)
    return held


def _snapshot(held: HouseholdStar) -> dict[str, object]:
    return audit.snapshot(held, ("granted_on", "grant_reason", "withdrawn_on", "withdraw_reason", "plaque_id"))


def _audit(
    session: Session,
    actor: User | None,
    household: Household,
    action: str,
    before: dict[str, object] | None,
    held: HouseholdStar,
    star: Star,
    reason: str,
) -> None:
    audit.record(
        session,
        actor,
        household,
        action=action,
        before=before and {"star": star.code} | before,
        after={"star": star.code, "household_star_id": held.id} | _snapshot(held),
        reason=reason,
    )


# --- the hygiene star follows the plaque -----------------------------------------------------------


def follow_plaque(session: Session, actor: User | None, plaque: Plaque, *, at: dt.datetime, reason: str) -> None:
    """The plaque service's hook, called with every plaque event in its transaction: the household
    holds the hygiene star exactly while it holds a valid plaque and is not disqualified."""
    sync_hygiene_star(session, actor, plaque.household_id, plaque.county_id, on=_local_date(at), reason=reason)


def _local_date(at: dt.datetime) -> dt.date:
    return at.astimezone(BEIJING_TIME).date()


def sync_hygiene_star(
    session: Session, actor: User | None, household_id: int, county_id: int, *, on: dt.date, reason: str
) -> None:
    star = hygiene_star(session, county_id)
    household = session.get_one(Household, household_id)
    held = _active(session, household, star)
    plaque = session.scalar(
        sa.select(Plaque).where(Plaque.household_id == household_id, Plaque.state == PlaqueState.VALID)
    )
    should = plaque is not None and disqualification_of(session, household_id) is None
    if should and held is None:
        assert plaque is not None
        held = HouseholdStar(
            county_id=county_id,
            household_id=household_id,
            star_id=star.id,
            granted_on=on,
            grant_reason=f"持有有效牌匾 {plaque.serial}：{reason}"[:REASON_MAX],
            plaque_id=plaque.id,
        )
        session.add(held)
        session.flush()
        _audit(session, actor, household, "star_grant", None, held, star, reason)
    elif not should and held is not None:
        before = _snapshot(held)
        held.withdrawn_on = max(on, held.granted_on)
        held.withdraw_reason = reason[:REASON_MAX] or "牌匾失效"
        session.flush()
        _audit(session, actor, household, "star_withdraw", before, held, star, held.withdraw_reason)
    elif should and held is not None and plaque is not None and held.plaque_id != plaque.id:
        held.plaque_id = plaque.id
        session.flush()


# --- disqualifying events --------------------------------------------------------------------------


def disqualify(
    session: Session,
    actor: User | None,
    household: Household,
    *,
    event: str,
    occurred_on: dt.date,
    note: str = "",
) -> Disqualification:
    """A disqualifying event of the county's list: every star and title the household holds is
    withdrawn, and none is granted until the county lifts it."""
    county = session.get_one(County, household.county_id)
    _require_admin(actor, county)
    events = disqualifying_events(session, county.id)
    if event.strip() not in events:
        raise FieldErrors({"event": f"“{event}”不在本县取消资格的情形中（{'、'.join(events)}）"})
    if occurred_on > beijing_today():
        raise FieldErrors({"occurred_on": "日期不能晚于今天"})
    if disqualification_of(session, household.id) is not None:
        raise ServiceError(f"户 {household.code} 已被取消评星资格")
    found = Disqualification(
        county_id=county.id,
        household_id=household.id,
        event=event.strip(),
        occurred_on=occurred_on,
        note=note.strip() or None,
    )
    session.add(found)
    session.flush()
    reason = f"取消评星资格：{found.event}"
    for held in session.scalars(
        sa.select(HouseholdStar).where(HouseholdStar.household_id == household.id, HouseholdStar.withdrawn_on.is_(None))
    ).all():
        before = _snapshot(held)
        held.withdrawn_on, held.withdraw_reason = max(occurred_on, held.granted_on), reason
        session.flush()
        _audit(session, actor, household, "star_withdraw", before, held, held.star, reason)
    audit.record(
        session,
        actor,
        household,
        action="disqualify",
        after={"event": found.event, "occurred_on": occurred_on.isoformat(), "note": found.note},
        reason=reason,
    )
    return found


def lift(session: Session, actor: User | None, found: Disqualification, *, on: dt.date | None = None) -> None:
    """The county lifts a disqualification; the hygiene star comes back with a valid plaque, the
    other stars are granted again by the village committee."""
    county = session.get_one(County, found.county_id)
    _require_admin(actor, county)
    if found.lifted_on is not None:
        raise ServiceError("已解除")
    day = on or beijing_today()
    if day < found.occurred_on:
        raise FieldErrors({"on": "解除日期不能早于事件日期"})
    found.lifted_on = day
    session.flush()
    audit.record(
        session,
        actor,
        kind="household",
        entity_id=found.household_id,
        county_id=county.id,
        action="lift",
        before={"event": found.event, "lifted_on": None},
        after={"event": found.event, "lifted_on": day.isoformat()},
        reason="县里解除取消评星资格",
    )
    sync_hygiene_star(session, actor, found.household_id, county.id, on=day, reason="解除取消评星资格")


def disqualifications(session: Session, county: County) -> list[tuple[Disqualification, Household]]:
    rows = session.execute(
        sa.select(Disqualification, Household)
        .join(Household, Disqualification.household_id == Household.id)
        .where(Disqualification.county_id == county.id)
        .order_by(Disqualification.lifted_on.is_not(None), Disqualification.occurred_on.desc())
    )
    return [(found, household) for found, household in rows]


def history(session: Session, household: Household) -> list[HouseholdStar]:
    """Every star the household held or holds, latest first."""
    return list(
        session.scalars(
            sa.select(HouseholdStar)
            .where(HouseholdStar.household_id == household.id)
            .order_by(HouseholdStar.granted_on.desc(), HouseholdStar.id.desc())
        )
    )


def household_by_code(session: Session, code: str, county: County | None = None) -> Household:
    """A household by its code (unique in its county; a code two counties share needs the county)."""
    query = sa.select(Household).where(Household.code == code.strip())
    if county is not None:
        query = query.where(Household.county_id == county.id)
    found = session.scalars(query.limit(2)).all()
    if not found and county is not None:  # a code the household had before a correction or a move
        former = household_moves.by_former_code(session, county.id, code)
        found = [former] if former is not None else []
    if not found:
        raise NotFound(f"找不到户编号 {code}")
    if len(found) > 1:
        raise ServiceError(f"户编号 {code} 在多个县都有，请指明县")
    return found[0]
