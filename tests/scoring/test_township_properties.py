"""Properties of township_scores (RULES.md §9), checked against a slow, obvious reference."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import TownshipWeights, township_scores

Township = tuple[list[int] | None, tuple[int, int] | None, tuple[int, int] | None]


def half_up(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)


@st.composite
def townships(draw: st.DrawFn, complete: bool = False) -> dict[str, Township]:
    """Township code → (assessment totals in tenths, (checked, agreeing), (coverage, plan) in ‰)."""
    world: dict[str, Township] = {}
    for i in range(draw(st.integers(1, 7))):
        totals = draw(st.lists(st.integers(0, 1000), min_size=1, max_size=4))
        checked = draw(st.integers(1, 8))
        agreement = (checked, draw(st.integers(0, checked)))
        cover = (draw(st.integers(0, 1000)), draw(st.integers(0, 1000)))
        if complete:
            world[f"T{i}"] = (totals, agreement, cover)
        else:
            world[f"T{i}"] = (
                draw(st.none() | st.just(totals)),
                draw(st.none() | st.just(agreement)),
                draw(st.none() | st.just(cover)),
            )
    return world


def frames(world: dict[str, Township]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    assessments = pd.DataFrame(
        [(t, f"{t}V{i}", f"{v / 10}") for t, (a, _, _) in world.items() for i, v in enumerate(a or [])],
        columns=["township_code", "village_code", "total"],
    )
    agreement = pd.DataFrame(
        [(t, g[0], g[1]) for t, (_, g, _) in world.items() if g], columns=["township_code", "checked", "agreeing"]
    )
    coverage = pd.DataFrame(
        [(t, f"{c[0] / 1000}", f"{c[1] / 1000}") for t, (_, _, c) in world.items() if c],
        columns=["township_code", "coverage", "planned_coverage"],
    )
    return assessments, agreement, coverage


def reference(township: Township) -> Fraction | None:
    """The §9 formula over the components with data, the default weights scaled to sum to 1."""
    totals, agreement, cover = township
    parts: list[tuple[Fraction, Fraction]] = []
    if totals:
        parts.append((Fraction(4, 10), Fraction(sum(totals), 10 * len(totals))))
    if agreement:
        parts.append((Fraction(3, 10), Fraction(100 * agreement[1], agreement[0])))
    if cover:
        parts.append(
            (
                Fraction(3, 10),
                Fraction(100) if cover[1] == 0 else min(Fraction(100), Fraction(100 * cover[0], cover[1])),
            )
        )
    if not parts:
        return None
    return sum((w * p for w, p in parts), Fraction(0)) / sum((w for w, _ in parts), Fraction(0))


@settings(max_examples=150, deadline=None)
@given(townships(complete=True))
def test_a_township_with_every_component_gets_the_plain_formula(world: dict[str, Township]) -> None:
    scores = township_scores(*frames(world))
    for code, score in zip(scores["township_code"], scores["score"], strict=True):
        totals, (checked, agreeing), (have, want) = world[code]  # type: ignore[misc]
        exact = (
            Fraction(4, 10) * Fraction(sum(totals), 10 * len(totals))
            + Fraction(3, 10) * 100 * Fraction(agreeing, checked)
            + Fraction(3, 10) * (100 if want == 0 else min(Fraction(100), Fraction(100 * have, want)))
        )
        assert score == half_up(exact)


@settings(max_examples=200, deadline=None)
@given(townships())
def test_missing_components_reweighted_order_ranks_and_warnings(world: dict[str, Township]) -> None:
    scores = township_scores(*frames(world), TownshipWeights(), townships=list(world))
    assert sorted(scores["township_code"]) == sorted(world)
    expected = {code: reference(t) for code, t in world.items()}
    ranked = scores[scores["score"].notna()]
    unranked = scores[scores["score"].isna()]
    assert sorted(unranked["township_code"]) == sorted(c for c, e in expected.items() if e is None)
    assert unranked["township_code"].tolist() == sorted(unranked["township_code"])
    assert (unranked["warning"] == "").all() and unranked["rank"].isna().all()
    # Order: the ranked first, by score then code; each score is the reference's.
    keys = list(zip(ranked["score"], ranked["township_code"], strict=True))
    assert keys == sorted(keys) and scores.index[: len(ranked)].tolist() == ranked.index.tolist()
    for score, code in keys:
        assert score == half_up(expected[code])  # type: ignore[arg-type]
    # Warnings on exactly the two lowest distinct scores, ties sharing; ranks from the top, ties sharing.
    distinct = sorted(set(ranked["score"]))
    for score, rank, warning in zip(ranked["score"], ranked["rank"], ranked["warning"], strict=True):
        assert warning == {0: "red", 1: "yellow"}.get(distinct.index(score), "")
        assert rank == 1 + sum(1 for s in ranked["score"] if s > score)
