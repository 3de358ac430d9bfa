"""Builders of small input tables for the scoring tests (a plain module: tests import it by name)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from scoring import CRITERIA

Review = dict[str, str]


def scores_for(total_tenths: int) -> list[str]:
    """Ten decimal strings summing exactly to `total_tenths` (each at most 10)."""
    base, extra = divmod(total_tenths, 10)
    tenths = [base + (1 if i < extra else 0) for i in range(10)]
    return [f"{t // 10}.{t % 10}" for t in tenths]


def review(code: str, kind: str, total: int, reviewer: str = "") -> Review:
    """One review row: `total` in tenths, spread over the ten criteria."""
    if kind == "group" and not reviewer:
        reviewer = "王组长、李委员"
    return {
        "household_code": code,
        "kind": kind,
        "reviewer": reviewer,
        **dict(zip(CRITERIA, scores_for(total), strict=False)),
    }


def households_frame(
    codes: Sequence[str], village: str = "V1", township: str = "T1", group: str = "G1"
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_code": list(codes),
            "township_code": township,
            "village_code": village,
            "group_code": group,
            "head_name": [f"张{i}" for i in range(len(codes))],
        },
        dtype="str",
    )


def reviews_frame(rows: Sequence[Review]) -> pd.DataFrame:
    columns = ["household_code", "kind", "reviewer", *CRITERIA]
    return pd.DataFrame(list(rows), columns=columns, dtype="str")
