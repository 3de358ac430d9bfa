"""Roster and review sheets as clerks make them, for the import tests of every layer."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from hygiene.enums import CRITERIA

ROSTER_HEADER = ["乡镇", "村", "村民组", "户编号", "户主姓名", "人口", "联系电话", "是否脱贫户/低收入户"]
REVIEW_HEADER = ["户编号", "评议类型", "评议人", *CRITERIA]
TEAM = "王组长、李委员"


def csv_file(header: Sequence[str], rows: Sequence[Sequence[object]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def roster_row(
    code: str,
    head: str = "张三",
    group: str = "第一组",
    members: str = "4",
    phone: str = "",
    poor: str = "否",
    township: str = "松林镇",
    village: str = "青山村",
) -> list[str]:
    return [township, village, group, code, head, members, phone, poor]


def review_row(code: str, kind: str, reviewer: str = "", score: str = "9", **overrides: str) -> list[str]:
    """One review line; ``score`` for every criterion unless overridden, e.g. ``c03="９"``."""
    return [code, kind, reviewer, *(overrides.get(c, score) for c in CRITERIA)]
