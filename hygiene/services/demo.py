"""The deterministic demo county: three townships of four villages, 3-4 villager groups each,
10-20 households a group, two quarters (the one before the load day's quarter final, the load day's
quarter with villages in every workflow state), reviews, quotas, assessments, the star catalogue,
the rollout plan, the budget, inspection teams holding the townships (the inspector on the first)
and one user per role. Loading it twice changes nothing the second time.

Its dates are placed relative to the day it is loaded (issue 30): whatever the date, two villages
are in 公示中 with five days of posting left, so a county trying the demo can file an objection.
Loaded on ``REFERENCE_DAY`` (the tests' seed) it is the 2026Q3/2026Q4 county the tests know."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA, AssessmentArea, LedgerKind, ReviewKind, Role, WorkflowState
from hygiene.models import (
    AwardQuota,
    County,
    CountyBudget,
    Group,
    Household,
    InspectionTeam,
    Period,
    Plaque,
    Review,
    RolloutPlanYear,
    Township,
    User,
    Village,
    VillageAssessment,
    VillagePeriod,
)
from hygiene.models._types import beijing_today
from hygiene.services import audit
from hygiene.services.awards import ledger, plaques, stars
from hygiene.services.awards.catalogue import CatalogueLine, save_catalogue
from hygiene.services.rating import rating, records
from hygiene.services.setup import accounts, periods
from hygiene.services.supervision import inspection_teams, inspections

SEED = 20170601  # the month Hezhang started 三定三评
COUNTY_CODE = "520999"
COUNTY_NAME = "示范县"
TOWNSHIPS = (
    ("52099901", "松林镇", ("青山村", "新华村", "红岩村", "大坪村")),
    ("52099902", "河坝乡", ("河东村", "河西村", "龙井村", "石板村")),
    ("52099903", "白果街道", ("白果社区", "草坪村", "金星村", "团结村")),
)
SURNAMES = "王李张刘陈杨黄赵吴周罗龙安禄陇杜蔡胡邓朱熊何高林郭马苏韦"
GIVEN = "文明华国永志兴发德成光富贵芳英秀兰梅琴丽红春云海军平林义忠学顺祥开福正强"
REVIEW_TEAMS = ("王组长、李委员", "陈组长、杨委员、罗委员", "张组长、安委员")
GROUP_NAMES = ("第一组", "第二组", "第三组", "第四组")
# The load day's quarter: the workflow state of each village, in village order, so every state is shown.
Q4_STATES = (
    WorkflowState.DRAFT,
    WorkflowState.SUBMITTED,
    WorkflowState.APPROVED,
    WorkflowState.PUBLISHED,
    WorkflowState.RETURNED,
    WorkflowState.FINAL,
    WorkflowState.DRAFT,
    WorkflowState.SUBMITTED,
    WorkflowState.PUBLISHED,
    WorkflowState.APPROVED,
    WorkflowState.DRAFT,
    WorkflowState.FINAL,
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: Role
    unit_code: str
    display_name: str


DEMO_USERS = (
    DemoUser("county", "demo-county-2026", Role.COUNTY_ADMIN, COUNTY_CODE, "县爱卫办管理员"),
    DemoUser("township", "demo-township-2026", Role.TOWNSHIP_REVIEWER, "52099901", "松林镇审核员"),
    DemoUser("village", "demo-village-2026", Role.VILLAGE_CLERK, "5209990101", "青山村文书"),
    DemoUser("village2", "demo-village-2026", Role.VILLAGE_CLERK, "5209990201", "河东村文书"),
    DemoUser("inspector", "demo-inspector-2026", Role.INSPECTOR, COUNTY_CODE, "县督查组"),
)


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    townships: int = 0
    villages: int = 0
    households: int = 0
    reviews: int = 0


# The day the demo's dates were first laid out around; loaded on it, the demo has 2026Q3 final and
# 2026Q4 in every state, the dates the tests read.
REFERENCE_DAY = dt.date(2026, 11, 24)


@dataclass(frozen=True)
class Calendar:
    """The demo's days, counted from the day it is loaded."""

    today: dt.date

    def at(self, days_before: int) -> dt.datetime:
        """09:00 UTC on the day ``days_before`` days before the load day."""
        return dt.datetime.combine(self.today - dt.timedelta(days=days_before), dt.time(9), tzinfo=dt.UTC)

    @property
    def current(self) -> str:
        """The load day's quarter: its villages are in every workflow state."""
        return f"{self.today.year}Q{(self.today.month - 1) // 3 + 1}"

    @property
    def previous(self) -> str:
        """The quarter before it, final everywhere."""
        year, quarter = self.today.year, (self.today.month - 1) // 3 + 1
        return f"{year - 1}Q4" if quarter == 1 else f"{year}Q{quarter - 1}"

    @property
    def year(self) -> int:
        """The year of the final quarter: the villages' programme years and the plan count from it."""
        return int(self.previous[:4])


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def _scores(rng: random.Random, quality: float, bias: float, noise: float) -> dict[str, int]:
    # Half points, as on paper sheets; tenths of a point, so 9.5 is 95.
    return {c: max(0, min(100, round((quality + bias + rng.gauss(0, noise)) * 2) * 5)) for c in CRITERIA}


def _reviews(
    rng: random.Random, period: Period, members: list[Household], quality: dict[int, float], *, complete: bool
) -> list[Review]:
    """Self, peer (2-4 from the same group, the next households cyclically) and group reviews.
    An incomplete village (still in draft) lacks some reviews, as a real one would."""
    out: list[Review] = []
    n = len(members)
    for i, household in enumerate(members):
        q = quality[household.id]
        if rng.random() < (0.95 if complete else 0.7):
            out.append(
                Review(
                    county_id=household.county_id,
                    period_id=period.id,
                    household_id=household.id,
                    kind=ReviewKind.SELF,
                    **_scores(rng, q, 0.5, 0.5),
                )
            )
        for k in range(1, min(n - 1, rng.choice((1, 2, 3, 3, 4)) if complete else rng.choice((0, 1, 2))) + 1):
            reviewer = members[(i + k) % n]
            out.append(
                Review(
                    county_id=household.county_id,
                    period_id=period.id,
                    household_id=household.id,
                    kind=ReviewKind.PEER,
                    reviewer_household_id=reviewer.id,
                    **_scores(rng, q, 0.2, 0.8),
                )
            )
        if complete or rng.random() < 0.4:
            out.append(
                Review(
                    county_id=household.county_id,
                    period_id=period.id,
                    household_id=household.id,
                    kind=ReviewKind.GROUP,
                    team_members=rng.choice(REVIEW_TEAMS),
                    **_scores(rng, q, 0.0, 0.3),
                )
            )
    return out


def _workflow(state: WorkflowState, county: County, days: Calendar) -> dict[str, object]:
    """Timestamps consistent with a state reached in the load day's quarter, counted back from the
    load day: a published list went up two days ago, so its posting period is still running."""
    fields: dict[str, object] = {"state": state}
    if state is WorkflowState.RETURNED:
        fields.update(submitted_at=days.at(14), return_reason="第三组互评不足两户，请补充后重新提交")
    if state in (WorkflowState.SUBMITTED, WorkflowState.APPROVED, WorkflowState.PUBLISHED, WorkflowState.FINAL):
        fields["submitted_at"] = days.at(14)
    if state in (WorkflowState.APPROVED, WorkflowState.PUBLISHED, WorkflowState.FINAL):
        fields["approved_at"] = days.at(12)
    if state is WorkflowState.FINAL:
        fields.update(
            published_at=days.at(11),
            finalized_at=days.at(4),
            posting_ends_at=days.at(11) + dt.timedelta(days=county.posting_days),
        )
    if state is WorkflowState.PUBLISHED:
        fields.update(published_at=days.at(2), posting_ends_at=days.at(2) + dt.timedelta(days=county.posting_days))
    return fields


def _final_previous(county: County, days: Calendar) -> dict[str, object]:
    return dict(
        state=WorkflowState.FINAL,
        submitted_at=days.at(47),
        approved_at=days.at(45),
        published_at=days.at(44),
        finalized_at=days.at(37),
        posting_ends_at=days.at(44) + dt.timedelta(days=county.posting_days),
    )


def _post_and_finalize(session: Session, in_order: tuple[Period, ...]) -> None:
    """The published and final village periods get their records, and the final ones their plaques,
    through the same services as a real county's (period by period, as time would have run)."""
    for period in in_order:
        village_periods = session.scalars(
            sa.select(VillagePeriod)
            .where(
                VillagePeriod.period_id == period.id,
                VillagePeriod.state.in_((WorkflowState.PUBLISHED, WorkflowState.FINAL)),
            )
            .order_by(VillagePeriod.village_id)
        ).all()
        for village_period in village_periods:
            records.post(session, None, village_period)
            if village_period.state is WorkflowState.FINAL:
                plaques.apply_final(session, village_period, now=village_period.finalized_at)


def _failed_spot_check(session: Session) -> None:
    """The county's inspector revokes one plaque of 青山村 outside the cycle (a failed spot check),
    through the same service as the register's 摘牌 form, so the demo's register shows a revocation."""
    inspector = session.scalars(sa.select(User).where(User.username == "inspector")).one()
    plaque = session.scalars(
        sa.select(Plaque)
        .join(Household, Plaque.household_id == Household.id)
        .join(Group, Household.group_id == Group.id)
        .join(Village, Group.village_id == Village.id)
        .where(Village.code == f"{TOWNSHIPS[0][0]}01")
        .order_by(Plaque.serial.desc())
        .limit(1)
    ).one()
    plaques.revoke(session, inspector, plaque, reason="督查抽查：厕所卫生不达标", expected_version=plaque.version)


def _inspection_duty(session: Session, county: County, in_order: tuple[Period, ...]) -> None:
    """Each township is held by one team in every period (the first township, 松林镇, by 第一督查组,
    the next by the next team; 第四督查组 holds none), and the demo's inspector is on 第一督查组."""
    teams = inspection_teams.teams(session, county)
    for period in in_order:
        inspections.assign(
            session, None, county, period, {code: teams[i].id for i, (code, _, _) in enumerate(TOWNSHIPS)}
        )
    inspector = session.scalars(sa.select(User).where(User.username == "inspector")).one()
    first = teams[0]
    inspection_teams.update_team(
        session, None, first, name=first.name, members=first.members, inspector_ids=[inspector.id]
    )


def _stars_titles_and_ledger(session: Session, county: County, days: Calendar) -> None:
    """Stars, titles, one disqualification and the award ledger (issue 29), through the same
    services as the pages: the village committees grant stars (most plaque holders most base
    stars), ten-star households get the 十星级文明户 title and industry support, and each township
    accepts the 缺什么奖什么 suggestions of its villages' final quarter into the ledger."""
    rng = random.Random(SEED + 29)
    lines = [CatalogueLine(s.code, s.name, s.position, s.is_base) for s in stars.catalogue(session, county.id)]
    save_catalogue(
        session,
        None,
        county,
        [
            *lines,
            CatalogueLine("tenstar", "十星级文明户", 20, title=True, certificate="十星级文明户证书"),
            CatalogueLine("goodmil", "好婆婆", 21, title=True, certificate="好婆婆荣誉证书"),
            CatalogueLine("goodnbr", "好邻居", 22, title=True, certificate="好邻居荣誉证书"),
        ],
    )
    catalogue = {s.code: s for s in stars.catalogue(session, county.id)}
    others = [s for s in catalogue.values() if not s.is_hygiene and not s.is_title]
    on = days.today
    households = session.scalars(
        sa.select(Household).where(Household.county_id == county.id).order_by(Household.code)
    ).all()
    holders = {h.household.id for h in stars.holdings(session, county) if h.hygiene}
    ten_star: list[Household] = []
    for household in households:
        chance = 0.8 if household.id in holders else 0.25
        granted = [s for s in others if rng.random() < (chance if s.is_base else chance * 0.6)]
        for star in granted:
            stars.grant(session, None, household, star, reason="村民代表会议评定", on=on)
        if household.id in holders and len(granted) == len(others):
            ten_star.append(household)
            stars.grant(session, None, household, catalogue["tenstar"], reason="十颗星全部获得", on=on)
        elif granted and rng.random() < 0.05:
            stars.grant(
                session, None, household, catalogue[rng.choice(("goodmil", "goodnbr"))], reason="群众推选", on=on
            )
    stars.disqualify(session, None, households[-1], event="家庭暴力", occurred_on=days.today)
    q3 = periods.get_period(session, county.id, days.previous)
    for village in session.scalars(sa.select(Village).where(Village.county_id == county.id).order_by(Village.code)):
        if any(s.goods and not s.accepted for s in ledger.suggestions(session, county, village, q3)):
            ledger.accept_suggestions(session, None, county, village, q3, on=days.today)
    ledger.add_many(
        session,
        None,
        county,
        [ledger.NewEntry(h, LedgerKind.INDUSTRY_SUPPORT, "特色养殖产业扶持", 300000, days.today) for h in ten_star[:3]],
    )


def load_demo(session: Session, *, today: dt.date | None = None) -> DemoSummary:
    """Load the demo county, its dates placed relative to ``today`` (by default the day in Beijing)."""
    if session.scalar(sa.select(County.id).where(County.code == COUNTY_CODE)) is not None:
        return DemoSummary(created=False)
    days = Calendar(today or beijing_today())
    year = days.year
    rng = random.Random(SEED)
    county = County(code=COUNTY_CODE, name=COUNTY_NAME)
    session.add(county)
    session.flush()
    periods.create_default_rubric(session, county)
    q3 = periods.open_period(session, county, days.previous)
    q4 = periods.open_period(session, county, days.current)

    session.add_all(
        [
            RolloutPlanYear(county_id=county.id, year=y, share_percent=s)
            for y, s in ((year - 1, 20), (year, 30), (year + 1, 30), (year + 2, 20))
        ]
    )
    session.add_all(
        CountyBudget(county_id=county.id, year=y, amount_fen=county.yearly_budget_fen)
        for y in sorted({year, int(days.current[:4])})
    )
    stars.create_default_catalogue(session, county)
    session.add_all(
        [
            InspectionTeam(county_id=county.id, name=f"第{n}督查组", members=f"{_name(rng)}、{_name(rng)}")
            for n in "一二三四"
        ]
    )

    village_index = 0
    household_count = review_count = 0
    for t_code, t_name, village_names in TOWNSHIPS:
        township = Township(county_id=county.id, code=t_code, name=t_name)
        session.add(township)
        session.flush()
        for v_number, v_name in enumerate(village_names, 1):
            village = Village(
                county_id=county.id,
                township_id=township.id,
                code=f"{t_code}{v_number:02d}",
                name=v_name,
                programme_year=year - 1 if v_number <= 2 else year,
            )
            session.add(village)
            session.flush()
            members_by_group: list[list[Household]] = []
            for g_number in range(1, rng.choice((3, 4)) + 1):
                group = Group(
                    county_id=county.id,
                    village_id=village.id,
                    code=f"{village.code}{g_number:02d}",
                    name=GROUP_NAMES[g_number - 1],
                )
                session.add(group)
                session.flush()
                households = [
                    Household(
                        county_id=county.id,
                        group_id=group.id,
                        code=f"{group.code}{h:03d}",
                        head_name=_name(rng),
                        members=rng.randint(1, 7),
                        phone=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}" if rng.random() < 0.6 else None,
                        is_poor=rng.random() < 0.15,
                    )
                    for h in range(1, rng.randint(10, 20) + 1)
                ]
                session.add_all(households)
                members_by_group.append(households)
            session.flush()
            all_households = [h for g in members_by_group for h in g]
            household_count += len(all_households)
            village_effect = rng.gauss(0, 0.7)
            quality = {h.id: max(0.0, min(10.0, rng.betavariate(6, 2) * 10 + village_effect)) for h in all_households}

            q4_state = Q4_STATES[village_index]
            village_index += 1
            for period, fields in ((q3, _final_previous(county, days)), (q4, _workflow(q4_state, county, days))):
                vp = VillagePeriod(county_id=county.id, village_id=village.id, period_id=period.id, **fields)
                session.add(vp)
                session.flush()
                complete = period is q3 or q4_state is not WorkflowState.DRAFT
                reviews = [r for g in members_by_group for r in _reviews(rng, period, g, quality, complete=complete)]
                session.add_all(reviews)
                review_count += len(reviews)
                floor_cleanest, floor_clean = rating.floors(session, village, period)
                if period is q3 or rng.random() < 0.6:
                    extra = rng.choice((0, 0, 1, 2))
                    session.add(
                        AwardQuota(
                            county_id=county.id,
                            village_period_id=vp.id,
                            cleanest_quota=floor_cleanest + extra,
                            clean_quota=floor_clean + extra,
                        )
                    )
                if vp.state in (WorkflowState.APPROVED, WorkflowState.PUBLISHED, WorkflowState.FINAL):
                    session.add(
                        VillageAssessment(
                            county_id=county.id,
                            village_period_id=vp.id,
                            notes=None,
                            **{area.value: rng.randrange(150, 251, 5) for area in AssessmentArea},
                        )
                    )
                audit.record(
                    session,
                    None,
                    vp,
                    action="demo_seed",
                    after={"village": village.code, "period": period.code, "state": vp.state, "reviews": len(reviews)},
                    reason="演示数据",
                )
    session.flush()
    _post_and_finalize(session, (q3, q4))
    for user in DEMO_USERS:
        accounts.create_user(
            session,
            username=user.username,
            password=user.password,
            role=user.role,
            unit_code=user.unit_code,
            display_name=user.display_name,
        )
    _inspection_duty(session, county, (q3, q4))
    _failed_spot_check(session)
    _stars_titles_and_ledger(session, county, days)
    return DemoSummary(
        created=True, townships=len(TOWNSHIPS), villages=village_index, households=household_count, reviews=review_count
    )
