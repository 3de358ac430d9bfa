"""Properties of score_period, checked against a slow, obvious reference written with Decimal."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import CRITERIA, score_period

GRADE_ORDER = {"cleanest": 0, "clean": 1, "fairly_clean": 2, "not_clean": 3}


@dataclass
class World:
    households: pd.DataFrame
    reviews: pd.DataFrame
    quotas: pd.DataFrame


def score_text(tenths: int) -> str:
    return f"{tenths // 10}.{tenths % 10}" if tenths % 10 else str(tenths // 10)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    households = []
    reviews = []
    quotas = []
    tenths = st.integers(0, 100)
    for v in range(draw(st.integers(1, 2))):
        village = f"V{v}"
        codes = [f"{village}H{i:02d}" for i in range(draw(st.integers(1, 12)))]
        groups = {c: f"G{draw(st.integers(0, 1))}" for c in codes}
        households += [(c, "T1", village, groups[c], "李") for c in codes]
        for code in codes:
            for kind in ("self", "group"):
                if draw(st.booleans()) or (kind == "group" and draw(st.booleans())):
                    reviews.append((code, kind, "", *(score_text(draw(tenths)) for _ in CRITERIA)))
            mates = [c for c in codes if c != code and groups[c] == groups[code]]
            for mate in draw(st.lists(st.sampled_from(mates), unique=True, max_size=4)) if mates else []:
                reviews.append((code, "peer", mate, *(score_text(draw(tenths)) for _ in CRITERIA)))
        floors = (math.ceil(len(codes) / 10), math.ceil(len(codes) / 5))
        cells = [str(f + draw(st.integers(0, 3))) if draw(st.booleans()) else "" for f in floors]
        quotas.append((village, *cells))
    columns = ["household_code", "kind", "reviewer", *CRITERIA]
    return World(
        pd.DataFrame(
            households,
            columns=["household_code", "township_code", "village_code", "group_code", "head_name"],
            dtype="str",
        ),
        pd.DataFrame(reviews, columns=columns, dtype="str"),
        pd.DataFrame(quotas, columns=["village_code", "cleanest_quota", "clean_quota"], dtype="str"),
    )


def grade(total: Decimal) -> str:
    return "cleanest" if total >= 90 else "clean" if total >= 80 else "fairly_clean" if total >= 60 else "not_clean"


def reference(world: World) -> dict[str, tuple[object, ...]]:
    """household → (self, peer, peer count, final, grade, rank, award), computed row by row."""
    totals: dict[tuple[str, str], list[Decimal]] = {}
    for row in world.reviews.itertuples(index=False):
        totals.setdefault((row.household_code, row.kind), []).append(
            sum((Decimal(getattr(row, c)) for c in CRITERIA), Decimal(0))
        )
    out: dict[str, tuple[object, ...]] = {}
    by_village: dict[str, list[str]] = {}
    for row in world.households.itertuples(index=False):
        code = row.household_code
        own = totals.get((code, "self"))
        peers = totals.get((code, "peer"), [])
        group = totals.get((code, "group"))
        peer = (sum(peers, Decimal(0)) / len(peers)).quantize(Decimal("0.1"), ROUND_HALF_UP) if peers else None
        final = group[0] if group else None
        out[code] = (own[0] if own else None, peer, len(peers), final, grade(final) if final is not None else None)
        if final is not None:
            by_village.setdefault(row.village_code, []).append(code)
    ranks: dict[str, int] = {}
    awards: dict[str, str] = {}
    for row in world.quotas.itertuples(index=False):
        members = by_village.get(row.village_code, [])
        count = int((world.households["village_code"] == row.village_code).sum())
        quota_c = int(row.cleanest_quota) if row.cleanest_quota else math.ceil(count / 10)
        quota_k = int(row.clean_quota) if row.clean_quota else math.ceil(count / 5)

        def key(code: str) -> tuple[Decimal, Decimal, Decimal, str]:
            own, peer, _, final, _ = out[code][:5]
            low = Decimal(-1)
            return (-final, -(peer if peer is not None else low), -(own if own is not None else low), code)  # type: ignore[operator]

        ordered = sorted(members, key=key)
        for position, code in enumerate(ordered, start=1):
            ranks[code] = position
        for code in [c for c in ordered if out[c][4] == "cleanest"][:quota_c]:
            awards[code] = "cleanest"
        for code in [c for c in ordered if out[c][4] in ("cleanest", "clean") and c not in awards][:quota_k]:
            awards[code] = "clean"
    return {code: (*row, ranks.get(code), awards.get(code)) for code, row in out.items()}


def engine(world: World) -> dict[str, tuple[object, ...]]:
    results, _ = score_period(world.households, world.reviews, world.quotas)
    out = {}
    for row in results.to_dict("records"):
        values = [row[c] for c in ("self_total", "peer_total", "peer_count", "final_total", "grade", "rank", "award")]
        out[row["household_code"]] = tuple(
            None if v is pd.NA or (isinstance(v, float) and v != v) else v for v in values
        )
    return out


@settings(max_examples=80, deadline=None)
@given(worlds())
def test_engine_agrees_with_the_row_by_row_reference(world: World) -> None:
    assert engine(world) == reference(world)


@settings(max_examples=60, deadline=None)
@given(worlds())
def test_no_award_above_the_grade_or_twice_and_never_above_quota(world: World) -> None:
    results, villages = score_period(world.households, world.reviews, world.quotas)
    awarded = results[results["award"].notna()]
    assert awarded["household_code"].is_unique
    assert all(GRADE_ORDER[g] <= GRADE_ORDER[a] for g, a in zip(awarded["grade"], awarded["award"], strict=True))
    for village in villages.to_dict("records"):
        mine = awarded[awarded["village_code"] == village["village_code"]]
        assert (mine["award"] == "cleanest").sum() == village["cleanest_awarded"] <= village["cleanest_quota"]
        assert (mine["award"] == "clean").sum() == village["clean_awarded"] <= village["clean_quota"]
        assert village["cleanest_shortfall"] == max(0, village["cleanest_floor"] - village["cleanest_awarded"])
        assert village["clean_shortfall"] == max(0, village["clean_floor"] - village["clean_awarded"])
        assert village["meets_ratios"] == (village["cleanest_shortfall"] == 0 and village["clean_shortfall"] == 0)


@settings(max_examples=60, deadline=None)
@given(worlds(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_input_row_order(world: World, random: object) -> None:
    shuffle = random.sample  # type: ignore[attr-defined]
    households = world.households.iloc[shuffle(range(len(world.households)), len(world.households))]
    reviews = world.reviews.iloc[shuffle(range(len(world.reviews)), len(world.reviews))]
    quotas = world.quotas.iloc[::-1]
    first = score_period(world.households, world.reviews, world.quotas)
    second = score_period(households, reviews, quotas)
    pd.testing.assert_frame_equal(first[0], second[0])
    pd.testing.assert_frame_equal(first[1], second[1])


@settings(max_examples=60, deadline=None)
@given(worlds(), st.data())
def test_a_grade_depends_only_on_the_households_own_group_review(world: World, data: st.DataObject) -> None:
    code = data.draw(st.sampled_from(world.households["household_code"].tolist()))
    others = world.reviews.copy()
    changed = ~((others["household_code"] == code) & (others["kind"] == "group"))
    for criterion in CRITERIA:
        others.loc[changed, criterion] = data.draw(st.sampled_from(["0", "5.5", "10"]))
    before = score_period(world.households, world.reviews, world.quotas)[0].set_index("household_code")
    after = score_period(world.households, others, world.quotas)[0].set_index("household_code")
    for column in ("final_total", "grade"):
        old, new = before.loc[code, column], after.loc[code, column]
        assert (pd.isna(old) and pd.isna(new)) or old == new
