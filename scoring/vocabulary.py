"""The engine's vocabulary (RULES.md §2, INTERCHANGE.md §1-2): criteria codes, the default rubric's
labels, grade names and labels, review kinds and the words a sheet may use for them.

Plain constants, no pandas: `hygiene.enums` reads them when any command starts, and a command that
never scores should not pay for importing the engine.
"""

from __future__ import annotations

CRITERIA: tuple[str, ...] = tuple(f"c{i:02d}" for i in range(1, 11))
DEFAULT_LABELS: tuple[str, ...] = (
    "家庭个人卫生",
    "垃圾放置处理",
    "房前屋后卫生（搭建、种植）",
    "室内室外物品摆放",
    "厕所卫生",
    "户外线路和广告牌",
    "家畜和家禽养殖",
    "履行村环境卫生公约",
    "厨房卫生",
    "生活污水排放",
)
# Each line of the default rubric is worth 10 points (RULES.md §2).
DEFAULT_MAX_POINTS = 10
GRADES: tuple[str, ...] = ("cleanest", "clean", "fairly_clean", "not_clean")
GRADE_LABELS: dict[str, str] = {
    "cleanest": "最清洁户",
    "clean": "清洁户",
    "fairly_clean": "较清洁户",
    "not_clean": "不清洁户",
}
KINDS: tuple[str, ...] = ("self", "peer", "group")
# How a review's kind may be written (INTERCHANGE.md §1-2): the English name or the sheet's Chinese.
KIND_NAMES: dict[str, str] = {
    "self": "self", "peer": "peer", "group": "group", "自评": "self", "互评": "peer", "复评": "group",
}  # fmt: skip
