"""The audit chain's canonical hash (issue 32) computed without copying a value that is already
canonical (issue 34) gives the same hash as the canonical copy, whatever the value holds."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hygiene import digests
from hygiene.enums import Grade, ReviewKind


class Mixed(str, enum.Enum):  # noqa: UP042 (str() of a member is "Mixed.A", its JSON text "a")
    A = "a"


def reference(value: Any) -> str:
    """The hash as issue 32 defined it: always through the canonical copy."""
    text = json.dumps(digests._canonical(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.sampled_from([Grade.CLEAN, ReviewKind.SELF, Mixed.A])
    | st.datetimes(timezones=st.just(dt.UTC))
    | st.dates()
)
KEYS = st.text(max_size=3) | st.integers(-20, 20) | st.booleans() | st.none() | st.just(Mixed.A)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        | st.dictionaries(KEYS, inner, max_size=3)
    ),
    max_leaves=12,
)


@given(VALUES)
def test_a_value_hashes_as_its_canonical_copy_does(value: Any) -> None:
    try:
        expected = reference(value)
    except TypeError:  # keys that stringify alike, or unorderable: refused both ways
        return
    assert digests._sha256(value) == expected


@given(st.dictionaries(st.text(max_size=4), VALUES, max_size=4), st.text(max_size=64) | st.none())
def test_an_audit_entrys_hash_is_the_one_issue_32_defined(extra: dict[str, Any], prev: str | None) -> None:
    fields = {
        "county_id": 7, "at": dt.datetime(2026, 12, 7, 16, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        "user_id": None, "actor": "system", "entity": "household", "entity_id": "12", "action": "import",
        "before": extra or None, "after": {"head_name": "张三", "members": 4, "nested": [extra]}, "reason": "导入",
    }  # fmt: skip
    try:
        expected = reference({"prev": prev or "", **fields})
    except TypeError:
        return
    assert digests.entry_hash(prev, fields) == expected


@given(st.lists(st.datetimes(timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8))])), min_size=1))
def test_entries_that_share_or_change_their_time_hash_as_issue_32_defined(times: list[dt.datetime]) -> None:
    # entry_hash remembers the last time object it made canonical: a batch's entries share one
    # object, and any other object (equal or not) is made canonical afresh
    shared = times[0]
    for at in [shared, *times, shared, shared]:
        fields = {
            "county_id": 7, "at": at, "user_id": None, "actor": "system", "entity": "household",
            "entity_id": "12", "action": "create", "before": None, "after": {"n": 1}, "reason": None,
        }  # fmt: skip
        assert digests.entry_hash("p", fields) == reference({"prev": "p", **fields})


@given(
    st.fixed_dictionaries({f: VALUES for f in digests.RECORD_FIELDS}),
    st.lists(st.fixed_dictionaries({f: VALUES for f in digests.ROW_FIELDS}), max_size=4),
    st.lists(st.fixed_dictionaries({f: SCALARS for f in digests.ROW_FIELDS}), max_size=4),
)
def test_a_records_digest_is_the_one_issue_32_defined(
    record: dict[str, Any], rows: list[dict[str, Any]], plain_rows: list[dict[str, Any]]
) -> None:
    """The record's fields are made canonical apart from its rows (issue 34): the same digest, for
    rows as read (their own canonical form) and for rows of any value."""
    for table in (rows, plain_rows):
        for i, row in enumerate(table):
            row["household_code"] = f"{i:04d}"  # the rows' order: by code, as stored codes are distinct
        try:
            expected = reference(
                {
                    "record": {f: record[f] for f in digests.RECORD_FIELDS},
                    "rows": [[row[f] for f in digests.ROW_FIELDS] for row in table],
                }
            )
        except TypeError:
            continue
        assert digests.record_digest(record, table) == expected
