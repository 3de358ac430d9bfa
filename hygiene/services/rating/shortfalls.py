"""What a village period lacks before it moves on (the workflow's guards, issue 17), read from a
village's result frames (``rating.result_frames``); ``rating`` re-exports both names."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd


def plain(record: Mapping[Hashable, Any]) -> dict[str, Any]:
    """A result row with pandas' missing values as None, for services and templates."""
    return {str(k): (None if pd.isna(v) else v) for k, v in record.items()}


@dataclass(frozen=True)
class Shortfalls:
    """What a village period lacks before it moves on (the workflow's guards, issue 17), read from
    the engine's live results: households without a group review (not rated, so not on the public list), the award
    ratios not met, households flagged for a look (RULES.md §3), or data the engine refuses."""

    households: int
    unrated: int
    flagged: int
    cleanest_short: int
    clean_short: int
    refused: str | None = None

    def lines(self) -> list[str]:
        lines = []
        if self.refused:
            lines.append(f"评分数据无法计算：{self.refused}")
        if self.unrated:
            lines.append(
                f"全村 {self.households} 户中有 {self.unrated} 户没有复评，不参加本季度评定，"
                f"公示名单将只列 {self.households - self.unrated} 户"
            )
        short = [
            f"{label}少 {count} 户"
            for label, count in (("最清洁户", self.cleanest_short), ("清洁户", self.clean_short))
            if count  # a level that reaches its floor is not a shortfall (issue 30)
        ]
        if short:
            lines.append("未达到比例下限：" + "，".join(short))
        if self.flagged:
            lines.append(f"{self.flagged} 户有提示（自评、互评与复评相差较大，或互评户数不足等），请核对")
        return lines

    @classmethod
    def from_results(cls, household_results: pd.DataFrame, village_results: pd.DataFrame) -> Shortfalls:
        """Read from one village's result frames (``result_frames``), column by column: a row
        dictionary per household took a guarded move 7 ms for 430 households (issue 34)."""
        rated = household_results["grade"].notna().to_numpy(dtype=bool)
        flags = household_results["flags"]
        flagged = flags.notna().to_numpy(dtype=bool) & (flags.fillna("").astype(str) != "").to_numpy(dtype=bool)
        village = plain(village_results.to_dict("records")[0]) if len(village_results) else {}
        return cls(
            households=len(household_results),
            unrated=int((~rated).sum()),
            flagged=int((rated & flagged).sum()),
            cleanest_short=int(village.get("cleanest_shortfall") or 0),
            clean_short=int(village.get("clean_shortfall") or 0),
        )

    @classmethod
    def refused_by(cls, reason: str) -> Shortfalls:
        return cls(0, 0, 0, 0, 0, refused=reason)
