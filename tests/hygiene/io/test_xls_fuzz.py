"""Malformed .xls uploads (OLE2 compound files) are refused quickly, never a hang or a crash
(issue 15): cyclic sector chains, truncated sectors, impossible counts, and random damage to the
header, the FAT and the directory of a good file. The OLE2 layer is olefile's; calamine reads the
BIFF8 workbook afterwards."""

from __future__ import annotations

import os
import signal
import struct
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hygiene.io.sheets import FORMAT_MISMATCH, UploadRejected, read_upload, roster_columns
from tests.hygiene.io.files import xls_file
from tests.sheets import ROSTER_HEADER

GOOD = xls_file([ROSTER_HEADER, ["松林镇", "青山村", "第一组", "0012", "王五", 3]])
HEADER, FAT, DIRECTORY = 0, 512, 1024  # a version 3 file: 512-byte sectors, FAT in sector 0, directory in 1
HANG_GUARD_SECONDS = 45  # a hang is a failure (beyond the reader's own 30 s limit); a guard, not a timing
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))  # more for a long local run


@contextmanager
def no_hang() -> Iterator[None]:
    def hung(*_: object) -> None:
        raise AssertionError(f"reading took over {HANG_GUARD_SECONDS} s: a hang")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG_GUARD_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def outcome(data: bytes) -> str:
    """'read' or the reason it was refused; anything else (an exception, a hang) fails the test."""
    with no_hang():
        try:
            read_upload(data, "花名册.xls", roster_columns())
        except UploadRejected as rejected:
            assert rejected.problems
            return rejected.problems[0].reason
    return "read"


def patched(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack("<I", value) + data[offset + 4 :]


def test_the_good_file_is_read() -> None:
    assert outcome(GOOD) == "read"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: patched(d, FAT + 4, 1), id="directory chain loops on itself"),
        pytest.param(lambda d: patched(d, FAT + 8, 2), id="workbook chain loops on itself"),
        pytest.param(lambda d: patched(d, FAT + 8, 0x7FFFFFFF), id="workbook chain leaves the file"),
        pytest.param(lambda d: patched(d, HEADER + 44, 0xFFFFFFFF), id="huge FAT sector count"),
        pytest.param(lambda d: patched(d, HEADER + 72, 0xFFFFFFFF), id="huge DIFAT sector count"),
        pytest.param(lambda d: patched(d, HEADER + 48, 0x7FFFFFFF), id="directory beyond the end"),
        pytest.param(lambda d: patched(d, DIRECTORY + 128 + 120, 0xFFFFFFF0), id="huge stream size"),
        pytest.param(lambda d: d[:600], id="truncated in the FAT"),
        pytest.param(lambda d: d[:1100], id="truncated in the directory"),
        pytest.param(lambda d: d[: len(d) - 700], id="truncated in the workbook"),
        pytest.param(lambda d: d[:8], id="nothing but the magic"),
    ],
)
def test_a_broken_compound_file_is_refused_as_not_a_workbook(damage) -> None:  # type: ignore[no-untyped-def]
    assert outcome(damage(GOOD)) == FORMAT_MISMATCH


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(st.tuples(st.integers(0, 1535), st.integers(0, 255)), min_size=1, max_size=24),
    cut=st.one_of(st.none(), st.integers(8, len(GOOD))),
)
def test_random_damage_to_header_fat_and_directory_is_refused_or_read(
    changes: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(GOOD)
    for offset, value in changes:
        data[offset] = value
    result = outcome(bytes(data[:cut] if cut else data))
    assert isinstance(result, str) and result


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(st.tuples(st.integers(1536, len(GOOD) - 1), st.integers(0, 255)), min_size=1, max_size=24))
def test_random_damage_to_the_workbook_stream_is_refused_or_read(changes: list[tuple[int, int]]) -> None:
    data = bytearray(GOOD)
    for offset, value in changes:
        data[offset] = value
    assert outcome(bytes(data))
