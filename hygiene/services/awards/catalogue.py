"""The county administrator's management of the star catalogue (RULES.md §8, issue 29): renaming,
reordering and re-flagging the stars and titles, adding titles, and the tiers and disqualifying
events; each change audited on the county. The catalogue's readers are in ``stars``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hygiene import naming
from hygiene.models import County, Star, User
from hygiene.services import audit
from hygiene.services.awards.stars import BASE_STARS, STAR_CODE, _require_admin, catalogue, settings_of
from hygiene.services.errors import FieldErrors


@dataclass(frozen=True)
class CatalogueLine:
    """One line of the administrator's catalogue form (a star or a title)."""

    code: str
    name: str
    position: int
    base: bool = False
    title: bool = False
    certificate: str = ""


def save_catalogue(session: Session, actor: User | None, county: County, lines: Sequence[CatalogueLine]) -> int:
    """Rename, reorder and re-flag the county's stars and titles, and add titles (a line whose code is
    new). The stars stay as many as they are, five of them base stars, the hygiene star among them.
    Returns the number of entries changed or added; all or nothing."""
    _require_admin(actor, county)
    current = {star.code: star for star in catalogue(session, county.id)}
    errors: dict[str, str] = {}
    seen: set[str] = set()
    for line in lines:
        key = line.code or "(空)"
        if not STAR_CODE.fullmatch(line.code) or len(line.code) > 24:
            errors[key] = f"代码 {line.code!r} 只能包含数字和字母，最长24位"
        elif line.code in seen:
            errors[key] = f"代码 {line.code} 重复"
        seen.add(line.code)
        if problem := naming.name_problem(naming.clean(line.name), 30, "名称"):
            errors[key] = problem
        star = current.get(line.code)
        if star is None and not line.title:
            errors[key] = f"{line.code}：新增的只能是称号（本县星级为{_star_count(current.values())}颗）"
        if star is not None and star.is_title != line.title:
            errors[key] = f"{line.code}：星级和称号不能互换"
        if line.title and line.base:
            errors[key] = f"{line.code}：称号不能是基础星"
        if star is not None and star.is_hygiene and not line.base:
            errors[key] = "卫生星必须是基础星"
        if len(line.certificate) > 60:
            errors[key] = "证书名称最长60字"
    missing = set(current) - seen
    if missing:
        errors["missing"] = f"不能删除已有的星级或称号：{'、'.join(sorted(missing))}"
    bases = sum(1 for line in lines if line.base and not line.title)
    if bases != BASE_STARS:
        errors["base"] = f"基础星须为{BASE_STARS}颗（现为{bases}颗）"
    if errors:
        raise FieldErrors(errors)
    changed = 0
    for line in lines:
        star = current.get(line.code)
        values = {
            "name": naming.clean(line.name),
            "position": line.position,
            "is_base": line.base,
            "certificate": line.certificate.strip() or None,
        }
        if star is None:
            star = Star(county_id=county.id, code=line.code, is_title=True, is_hygiene=False, **values)
            session.add(star)
            before = None
        else:
            before = {k: getattr(star, k) for k in values}
            if before == values:
                continue
            for key, value in values.items():
                setattr(star, key, value)
        changed += 1
        audit.record(
            session,
            actor,
            county,
            action="star_catalogue",
            before=before and {"code": line.code} | before,
            after={"code": line.code, "title": line.title} | values,
        )
    session.flush()
    return changed


def save_star_settings(
    session: Session, actor: User | None, county: County, *, bronze: int, silver: int, gold: int, events: Iterable[str]
) -> bool:
    """The tiers by star count and the list of disqualifying events; audited. True if changed."""
    _require_admin(actor, county)
    stars = _star_count(catalogue(session, county.id))
    names = [e.strip() for e in events if e.strip()]
    if not 1 <= bronze < silver < gold <= stars:
        raise FieldErrors({"tiers": f"须满足 1 ≤ 铜 < 银 < 金 ≤ {stars}（现为 {bronze}/{silver}/{gold}）"})
    if not names or any(len(n) > 60 for n in names):
        raise FieldErrors({"events": "取消资格的情形至少一项，每项最长60字"})
    settings = settings_of(session, county.id)
    before = audit.snapshot(settings, ("bronze_stars", "silver_stars", "gold_stars", "disqualifying_events"))
    settings.bronze_stars, settings.silver_stars, settings.gold_stars = bronze, silver, gold
    settings.disqualifying_events = "\n".join(names)
    after = audit.snapshot(settings, ("bronze_stars", "silver_stars", "gold_stars", "disqualifying_events"))
    if after == before:
        return False
    session.flush()
    audit.record(session, actor, county, action="star_settings", before=before, after=after)
    return True


def _star_count(stars: Iterable[Star]) -> int:
    return sum(1 for s in stars if not s.is_title)
