"""A county from nothing (RULES.md §1-2, INTERCHANGE.md §3): creating it with the default settings
and rubric, its settings (each defined once here: its meaning in Chinese, its unit and its bounds,
for the command and the administrator's form alike), and opening a period for its villages.

A setting changed here applies to periods opened afterwards, never to an open or past one: a period
copies the settings when it opens (``periods.open_period``). Every change is audited on the county
(who, when, old, new), which is the settings' history.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import naming
from hygiene.db import Base, lock_county_settings
from hygiene.enums import WorkflowState
from hygiene.io.scores import format_points, format_yuan, parse_score, parse_whole_number, parse_yuan
from hygiene.models import (
    AuditEntry,
    County,
    CountyBudget,
    Period,
    RubricCriterion,
    RubricVersion,
    User,
    Village,
    VillagePeriod,
    county_parents,
)
from hygiene.models._types import beijing_today, utcnow
from hygiene.services import audit
from hygiene.services.awards import stars
from hygiene.services.errors import FieldErrors, ServiceError, check_unchanged, state_digest
from hygiene.services.rating import rating
from hygiene.services.setup import periods, rollout

COUNTY_CODE = naming.HOUSEHOLD_CODE  # digits and letters, as the administrative codes are
MAX_BUDGET_YUAN = 10_000_000_000
_YES = {"是": True, "开": True, "on": True, "true": True, "1": True, "yes": True}
_NO = {"否": False, "关": False, "off": False, "false": False, "0": False, "no": False}


def _switch(text: str) -> bool:
    key = text.strip().lower()
    if key in _YES or key in _NO:
        return _YES.get(key, False)
    raise ValueError("须为 是 或 否")


@dataclass(frozen=True)
class Setting:
    """One county setting: its column on the county, its meaning (with its unit), how it is typed,
    and how it is shown (as it would be typed)."""

    key: str
    label: str
    parse: Callable[[str], int | bool | str]
    show: Callable[[Any], str]


def _whole(minimum: int, maximum: int) -> tuple[Callable[[str], int], Callable[[int | bool], str]]:
    return (lambda text: parse_whole_number(text, minimum, maximum)), str


def _points(maximum_tenths: int, minimum_tenths: int = 0) -> tuple[Callable[[str], int], Callable[[int | bool], str]]:
    def parse(text: str) -> int:
        tenths = parse_score(text, maximum_tenths)
        if tenths < minimum_tenths:
            raise ValueError(f"不能小于{format_points(minimum_tenths)}分")
        return tenths

    return parse, (lambda value: format_points(int(value)))


_WEIGHT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3})?", re.ASCII)


def _numbers(text: str, count: int) -> list[str]:
    parts = [p.strip() for p in text.replace("，", ",").replace("、", ",").split(",")]
    if len(parts) != count or not all(parts):
        raise ValueError(f"须为 {count} 个用逗号分隔的数")
    return parts


def parse_ranking_weights(text: str) -> str:
    """Three weights (assessment, agreement, coverage: RULES.md §9), each 0–1 with at most three
    decimals, summing to 1; kept as typed in their shortest form ("0.4,0.3,0.3")."""
    weights = []
    for part in _numbers(unicodedata.normalize("NFKC", text), 3):
        if not _WEIGHT.fullmatch(part) or not 0 <= Decimal(part) <= 1:
            raise ValueError(f"中 {part!r} 须为0–1之间、最多三位小数的数")
        weights.append(Decimal(part))
    if sum(weights) != 1:
        raise ValueError(f"三项权重之和须为1（现为{sum(weights)}）")
    return ",".join(_plain(w) for w in weights)


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def ranking_weights_of(stored: str) -> tuple[Decimal, Decimal, Decimal]:
    """The weights a county or period keeps (``parse_ranking_weights``'s form)."""
    a, g, c = (Decimal(part) for part in stored.split(","))
    return a, g, c


def parse_bonus_cuts(text: str) -> str:
    """The share of a township's period bonus a red and a yellow warning cut (percent, 0–100)."""
    red, yellow = (parse_whole_number(part, 0, 100) for part in _numbers(unicodedata.normalize("NFKC", text), 2))
    return f"{red},{yellow}"


def bonus_cuts_of(stored: str) -> dict[str, int]:
    """The bonus cut of each warning ("red", "yellow") in percent, as a county or period keeps it."""
    red, yellow = (int(part) for part in stored.split(","))
    return {"red": red, "yellow": yellow}


SETTINGS: tuple[Setting, ...] = (
    Setting("cleanest_floor_percent", "最清洁户占本村户数的最低比例（%，0–100）", *_whole(0, 100)),
    Setting("clean_floor_percent", "清洁户占本村户数的最低比例（%，0–100）", *_whole(0, 100)),
    Setting("gap_tenths", "自评、互评与复评相差多少分时提示（分）", *_points(1000, 1)),
    Setting("min_peers", "每户应有的互评户数，少于此数时提示（户）", *_whole(0, 20)),
    Setting("posting_days", "公示天数（天）", *_whole(1, 60)),
    Setting("plaque_wait_periods", "摘牌后多少期内再评上只表彰、不挂牌（期，按本县的评比周期计）", *_whole(0, 12)),
    Setting("red_black_list", "定档后公布红黑榜（是/否）", _switch, lambda value: "是" if value else "否"),
    Setting("notice_deadline_hours", "督办通知单整改时限（小时）", *_whole(1, 720)),
    Setting("assessment_area_max_tenths", "村级考核每项分值（分）", *_points(1000, 10)),
    Setting(
        "yearly_budget_fen",
        "每年奖励预算（元）：从修改当年起执行，往年保持原预算",
        lambda text: parse_yuan(text, MAX_BUDGET_YUAN),
        lambda value: format_yuan(int(value)),
    ),
    Setting(
        "ranking_weights",
        "乡镇排名权重：村考核、抽查一致率、覆盖（各0–1，合计1，如 0.4,0.3,0.3）",
        parse_ranking_weights,
        str,
    ),
    Setting(
        "warning_bonus_cut_percent",
        "红色、黄色预警扣减当期奖补的比例（%，如 100,50）",
        parse_bonus_cuts,
        str,
    ),
    Setting(
        "period_length",
        "评比周期：quarter（季度，如 2027Q1）或 month（月，如 2027-01），从下一个新开的期起执行",
        lambda text: _period_length(text),
        str,
    ),
    Setting("ladder_window_days", "问责阶梯：同一单位多少天内再次逾期未整改即升一级（天）", *_whole(1, 3660)),
    Setting(
        "unannounced_in_agreement",
        "暗访复评的农户计入乡镇排名的抽查一致率（是/否）",
        _switch,
        lambda value: "是" if value else "否",
    ),
    Setting(
        "sign_off_levels",
        "审核层级：乡镇审核算第1级，公示前另需县级复核、审核共几级（1–3）",
        *_whole(1, 3),
    ),
)
BY_KEY = {setting.key: setting for setting in SETTINGS}


def create_county(session: Session, actor: User | None, code: str, name: str) -> County:
    """A new county with the default settings, version 1 of the rubric and the "2332" rollout plan
    from this year (RULES.md)."""
    code, name = code.strip(), naming.clean(name)
    errors = {}
    if not COUNTY_CODE.fullmatch(code) or len(code) > 12:
        errors["code"] = "县代码只能包含数字和字母，最长12位"
    if reason := naming.name_problem(name, 60, "县名称"):
        errors["name"] = reason
    if errors:
        raise FieldErrors(errors)
    if session.scalar(sa.select(County.id).where(County.code == code)) is not None:
        raise ServiceError(f"县代码 {code} 已存在")
    county = County(code=code, name=name)
    session.add(county)
    session.flush()
    periods.create_default_rubric(session, county)
    rollout.create_default_plan(session, county, current_year())
    stars.create_default_catalogue(session, county)
    audit.record(session, actor, county, action="create", after={"code": code, "name": name})
    return county


def describe_period_settings(snapshot: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) lines of the rules a period keeps (``rating.settings_snapshot``), for its pages."""
    thresholds = "/".join(format_points(t) for t in snapshot["thresholds"])
    lines = [
        ("评分标准版本", f"第{snapshot['rubric_version']}版"),
        ("最清洁户、清洁户、较清洁户分数线（分）", thresholds),
    ]
    return lines + [(s.label, s.show(snapshot[s.key])) for s in SETTINGS if s.key in snapshot]


def settings_of(county: County) -> list[tuple[Setting, str]]:
    """Each setting with its value as people read it."""
    return [(setting, setting.show(getattr(county, setting.key))) for setting in SETTINGS]


def settings_state(county: County) -> str:
    """What the settings page showed (`check_unchanged`)."""
    return state_digest({setting.key: getattr(county, setting.key) for setting in SETTINGS})


def change_settings(
    session: Session, actor: User | None, county: County, typed: Mapping[str, str], shown_state: str | None = None
) -> dict[str, str]:
    """Change the settings named in ``typed`` (key → value as typed); all or nothing, every bad value
    named. Returns what changed as "old → new" by key; unchanged values are not recorded. A page
    passes the `settings_state` it showed: a save over someone else's is refused."""
    lock_county_settings(session, county.id)
    check_unchanged(shown_state, {setting.key: getattr(county, setting.key) for setting in SETTINGS}, "县设置")
    errors: dict[str, str] = {}
    values: dict[str, int | bool | str] = {}
    for key, text in typed.items():
        setting = BY_KEY.get(key)
        if setting is None:
            errors[key] = f"没有名为 {key} 的设置（可设：{'、'.join(BY_KEY)}）"
            continue
        try:
            values[key] = setting.parse(text)
        except ValueError as exc:
            errors[key] = f"{setting.label}：{text!r} {exc}"
    if errors:
        raise FieldErrors(errors)
    before = {key: getattr(county, key) for key in values}
    changed = {key: value for key, value in values.items() if before[key] != value}
    if not changed:
        return {}
    for key, value in changed.items():
        setattr(county, key, value)
    if "yearly_budget_fen" in changed:
        _record_budget(session, county, current_year())
    session.flush()
    audit.record(
        session,
        actor,
        county,
        action="settings",
        before={key: before[key] for key in changed},
        after=changed,
        reason="修改设置：只影响此后新开的季度",
    )
    return {key: f"{BY_KEY[key].show(before[key])} → {BY_KEY[key].show(value)}" for key, value in changed.items()}


def _recorded_budget(session: Session, county: County, year: int) -> CountyBudget | None:
    return session.scalar(sa.select(CountyBudget).where(CountyBudget.county_id == county.id, CountyBudget.year == year))


def _record_budget(session: Session, county: County, year: int) -> None:
    """This year's budget becomes the setting's; a year before it keeps the one recorded for it."""
    budget = _recorded_budget(session, county, year)
    if budget is None:
        session.add(CountyBudget(county_id=county.id, year=year, amount_fen=county.yearly_budget_fen))
    else:
        budget.amount_fen = county.yearly_budget_fen


def budget_for(session: Session, county: County, year: int) -> int:
    """The county's incentive budget for ``year`` in fen: the one recorded for that year, or the
    setting in force (RULES.md §8)."""
    recorded = _recorded_budget(session, county, year)
    return county.yearly_budget_fen if recorded is None else recorded.amount_fen


def current_year() -> int:
    """This year in Beijing time (UTC+8): a plan year after it has not come yet."""
    return beijing_today().year


def next_period_code(latest: str | None, length: str = "quarter") -> str:
    """The period to offer opening next: the first of the county's length after the latest, or the
    current quarter or month."""
    if latest is not None:
        return rating.first_period_after(latest, length)
    today = utcnow().date()
    return f"{today.year}-{today.month:02d}" if length == "month" else f"{today.year}Q{(today.month - 1) // 3 + 1}"


def _period_length(text: str) -> str:
    key = text.strip().lower()
    found = {"quarter": "quarter", "季度": "quarter", "季": "quarter", "month": "month", "月": "month"}.get(key)
    if found is None:
        raise ValueError("须为 quarter（季度）或 month（月）")
    return found


@dataclass(frozen=True)
class Opened:
    period: Period
    created: bool
    village_periods: int  # draft village periods opened now


def open_period(session: Session, actor: User | None, county: County, code: str) -> Opened:
    """Open period ``code`` for every village of the county in the programme (RULES.md §1: from the
    first period of its programme year on): the period keeps the rubric and settings in force now.
    Opening it again changes nothing but the villages that joined the programme since."""
    year, _ = rating.parse_period_code(code)
    existed = session.scalar(sa.select(Period.id).where(Period.county_id == county.id, Period.code == code))
    period = periods.open_period(session, county, code)
    villages = session.scalars(
        sa.select(Village)
        .where(Village.county_id == county.id, Village.programme_year.is_not(None), Village.programme_year <= year)
        .order_by(Village.code)
    ).all()
    have = set(session.scalars(sa.select(VillagePeriod.village_id).where(VillagePeriod.period_id == period.id)))
    new = [
        VillagePeriod(county_id=county.id, village_id=v.id, period_id=period.id) for v in villages if v.id not in have
    ]
    session.add_all(new)
    session.flush()
    if existed is None or new:
        audit.record(
            session,
            actor,
            county,
            action="period_open",
            after={"period": code, "villages": len(new)},
            reason=f"开启 {code}：{len(new)} 个村",
        )
    return Opened(period, existed is None, len(new))


def period_state_counts(session: Session, county: County) -> dict[int, Counter[WorkflowState]]:
    """Per period id, how many of the county's villages are in each workflow state."""
    counts: dict[int, Counter[WorkflowState]] = {}
    for period_id, state, n in session.execute(
        sa.select(VillagePeriod.period_id, VillagePeriod.state, sa.func.count(VillagePeriod.id))
        .join(Period, VillagePeriod.period_id == Period.id)
        .where(Period.county_id == county.id)
        .group_by(VillagePeriod.period_id, VillagePeriod.state)
    ):
        counts.setdefault(period_id, Counter())[state] = n
    return counts


@dataclass(frozen=True)
class SettingsChange:
    entry: AuditEntry
    lines: list[str]  # "公示天数（天）：7 → 10"


def settings_history(session: Session, county: County) -> list[SettingsChange]:
    """Every change of the county's settings, the newest first, in words."""
    history = []
    for entry in reversed(audit.history(session, "county", county.id, county_id=county.id)):
        if entry.action != "settings" or not entry.after:
            continue
        before = entry.before or {}
        lines = [
            f"{BY_KEY[key].label}：{BY_KEY[key].show(before.get(key, ''))} → {BY_KEY[key].show(value)}"
            for key, value in entry.after.items()
            if key in BY_KEY
        ]
        history.append(SettingsChange(entry, lines))
    return history


def new_rubric_version(
    session: Session,
    actor: User | None,
    county: County,
    criteria: Sequence[tuple[str, str, int]],
    thresholds: tuple[int, int, int],
) -> RubricVersion:
    """A new version of the county's rubric (labels and maxima of the ten criteria, in tenths, and
    the cleanest/clean/fairly-clean thresholds), for the periods opened from now on; periods already
    opened keep theirs (RULES.md §2). Checked by the engine's own rules; audited on the county."""
    labels = {code: naming.clean(label) for code, label, _ in criteria}
    errors = [
        f"{code} {reason}" for code, label in labels.items() if (reason := naming.name_problem(label, 60, "名称"))
    ]
    errors += rating.rubric_problems([(c, labels[c], m) for c, _, m in criteria], thresholds)
    if errors:
        raise ServiceError("；".join(errors))
    current = periods.current_rubric(session, county)
    version = RubricVersion(
        county_id=county.id,
        number=current.number + 1,
        cleanest_tenths=thresholds[0],
        clean_tenths=thresholds[1],
        fairly_clean_tenths=thresholds[2],
    )
    version.criteria = [RubricCriterion(code=c, label=labels[c], max_tenths=m) for c, _, m in criteria]
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor,
        county,
        action="rubric_version",
        before={"version": current.number},
        after={"version": version.number, "criteria": [list(c) for c in criteria], "thresholds": list(thresholds)},
        reason=f"评分标准第{version.number}版：此后新开的季度使用",
    )
    return version


def rubric_versions(session: Session, county: County) -> list[tuple[RubricVersion, list[str]]]:
    """Every rubric version of the county, the newest first, with the periods scored by it."""
    used: dict[int, list[str]] = {}
    for version_id, code in session.execute(
        sa.select(Period.rubric_version_id, Period.code).where(Period.county_id == county.id).order_by(Period.code)
    ):
        used.setdefault(version_id, []).append(code)
    versions = session.scalars(
        sa.select(RubricVersion).where(RubricVersion.county_id == county.id).order_by(RubricVersion.number.desc())
    )
    return [(v, used.get(v.id, [])) for v in versions]


def county_mismatches(session: Session) -> dict[str, int]:
    """For each table of ``county_parents`` with a parent, how many of its rows name another county
    than one of their parents does (a review and its household, a record row and its record …),
    and for ``audit_log``, whose entity is no foreign key, how many entries name another county than
    their entity's (``audit.entity_county``; an entity not found counts too): all 0 when no row joins
    two counties' rows (issue 20). One query per table."""
    found: dict[str, int] = {}
    for name, parents in county_parents().items():
        if not parents:
            continue
        table = Base.metadata.tables[name]
        joined: sa.FromClause = table
        differs = []
        for column, parent_name in parents:
            parent = Base.metadata.tables[parent_name].alias(f"parent_{column}")
            joined = joined.outerjoin(parent, parent.c.id == table.c[column])
            differs.append(parent.c.county_id != table.c.county_id)
        found[name] = session.scalar(sa.select(sa.func.count()).select_from(joined).where(sa.or_(*differs))) or 0
    differs_from_entity = audit.entity_county().is_distinct_from(AuditEntry.county_id)
    found[AuditEntry.__tablename__] = (
        session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(differs_from_entity)) or 0
    )
    return found
