"""How stored values read on the pages: Beijing time, and history entries in words."""

from __future__ import annotations

import datetime as dt

from hygiene.enums import CRITERIA
from web.presentation import audit_changes, local_time


def test_stored_utc_times_read_as_beijing_time() -> None:
    late_evening_utc = dt.datetime(2026, 11, 30, 16, 22, tzinfo=dt.UTC)
    assert local_time(late_evening_utc) == "2026-12-01 00:22"  # already the next day in the county
    assert local_time(late_evening_utc, "%Y-%m-%d") == "2026-12-01"
    assert local_time(None) == ""


def test_a_new_review_reads_as_its_total_scores_kind_and_reviewer() -> None:
    after = {"kind": "peer", "reviewer_household_id": 7, "team_members": None, **dict.fromkeys(CRITERIA, 80)}
    after["c10"] = 95
    rows = audit_changes(None, after | {"period": "2026Q4", "review_id": 3}, {7: "520999010101002 刘秀"})
    assert rows == [
        ("总分", "", "81.5"),
        ("十项得分", "", "8/8/8/8/8/8/8/8/8/9.5"),
        ("评议类型", "", "群众互评"),
        ("评议户", "", "520999010101002 刘秀"),
    ]


def test_a_changed_review_shows_only_what_changed() -> None:
    before = {"kind": "group", "team_members": "王组长", **dict.fromkeys(CRITERIA, 90)}
    after = before | {"team_members": "王组长、李委员"}
    assert audit_changes(before, after) == [("评比检查小组", "王组长", "王组长、李委员")]
    after = before | {"c01": 100}
    assert [label for label, _, _ in audit_changes(before, after)] == ["总分", "十项得分"]
    assert audit_changes(before, after)[0] == ("总分", "90.0", "91.0")


def test_a_deleted_review_and_a_household_move_read_in_words() -> None:
    review = {"kind": "self", "reviewer_household_id": None, **dict.fromkeys(CRITERIA, 70)}
    assert audit_changes(review, None)[:3] == [
        ("总分", "70.0", ""),
        ("十项得分", "7/7/7/7/7/7/7/7/7/7", ""),
        ("评议类型", "农户自评", ""),
    ]
    moved = audit_changes(
        {"group_id": 1, "group": "第一组", "is_poor": False}, {"group_id": 3, "group": "第三组", "is_poor": True}
    )
    assert moved == [("村民组", "第一组", "第三组"), ("脱贫户/低收入户", "否", "是")]
