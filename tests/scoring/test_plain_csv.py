"""The compiled reader of plain CSV reviews (`scoring.plain_csv`, issue 34): on any bytes it either
declines (None) or gives exactly the table the Arrow path gives, and on plain rows it reads."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scoring import routing
from scoring.__main__ import main
from scoring.io import OUTPUTS
from scoring.plain_csv import read_reviews
from scoring.rubric import CRITERIA, Criterion, Rubric
from scoring.validate import digit_keys
from scoring.vocabulary import DEFAULT_LABELS, KIND_NAMES
from tests.scoring.test_parallel import GOLDEN, golden_frames, write_layout

WIDTH = 11
COLUMNS = ("household_code", "kind", "reviewer", *CRITERIA)
# c06 worth 5 points and c07 15: each column is held to its own line's maximum
RUBRIC = Rubric(
    tuple(
        Criterion(code, label, Decimal({"c06": 5, "c07": 15}.get(code, 10)))
        for code, label in zip(CRITERIA, DEFAULT_LABELS, strict=True)
    )
)
MAX_TENTHS = RUBRIC.max_tenths


def arrow_path(data: bytes, names: list[str], columns: tuple[str, ...]) -> pa.Table | None:
    """What the routing step makes of the same bytes through Arrow; None where it stops."""
    try:
        table = routing._as_tenths(routing.arrow_csv(data, names, columns, keyed=True), RUBRIC)
        if table is None:
            return None
        keys = digit_keys(routing.codes(table.column("household_code")), WIDTH)
        return routing._as_numbers(table, keys, WIDTH)
    except (ValueError, pa.ArrowException):
        return None


plain_codes = st.integers(0, 10**WIDTH - 1).map(lambda n: f"{n:0{WIDTH}d}")


def plain_scores(max_tenths: int) -> st.SearchStrategy[str]:
    return st.integers(0, max_tenths).map(lambda t: f"{t // 10}" if t % 10 == 0 else f"{t // 10}.{t % 10}")


plain_reviewers = st.one_of(st.just(""), plain_codes, st.sampled_from(["张组长", "王组长、李委员"]))
plain_kinds = st.sampled_from(list(KIND_NAMES))
awkward_codes = st.sampled_from(["", "0123", "0100000000a", "０１００００００００１", "01000000001 ", "1e10", "中文"])
awkward_scores = st.sampled_from(
    ["", " 9", "9 ", "9.55", "-1", "+1", "1e1", "16", ".5", "5.", "10.0", "005.5", "0005", "9,5", "九", "NaN", "6.0"]
)
awkward_kinds = st.sampled_from(["", "Self", "自 评", "group ", "other"])
awkward_reviewers = st.sampled_from(["\udcff", "a,b", 'a"b', "a\nb", "a\rb", "0100000000"])


def _field(text: str, quoted: bool) -> bytes:
    raw = text.encode("utf-8", errors="surrogateescape")  # "\udcff" is the invalid byte 0xFF
    if quoted:
        return b'"' + raw.replace(b'"', b'""') + b'"'
    return raw


AWKWARD = {
    "household_code": awkward_codes,
    "kind": awkward_kinds,
    "reviewer": awkward_reviewers,
    **dict.fromkeys(CRITERIA, awkward_scores),
    "note": st.sampled_from(["a\nb", 'a"b', "\udcff"]),
}


@st.composite
def csv_lines(draw: st.DrawFn, plain: bool) -> tuple[bytes, list[str], tuple[str, ...]]:
    """Whole lines of a reviews file: its header's names (any order, perhaps a column the engine does
    not read) and plain rows, each field perhaps quoted; unless `plain`, with a few awkward
    spellings, a field too few or too many, an empty line or CRLF line ends mixed in."""
    names = draw(st.permutations([*COLUMNS, *(["note"] if draw(st.booleans()) else [])]))
    rows: list[dict[str, str]] = []
    for _ in range(draw(st.integers(1, 8))):
        values = {
            "household_code": draw(plain_codes),
            "kind": draw(plain_kinds),
            "reviewer": draw(plain_reviewers),
            "note": draw(st.sampled_from(["", "ok", "a,b", "备注"])),
        }
        values.update({c: draw(plain_scores(m)) for c, m in zip(CRITERIA, MAX_TENTHS, strict=True)})
        rows.append(values)
    if not plain:
        for _ in range(draw(st.integers(0, 2))):
            column = draw(st.sampled_from(names))
            draw(st.sampled_from(rows))[column] = draw(AWKWARD[column])
    lines = []
    for values in rows:
        fields = []
        for name in names:
            text = values[name]
            must_quote = any(c in text for c in ',"\n\r')
            fields.append(_field(text, quoted=must_quote or draw(st.booleans())))
        lines.append(b",".join(fields))
    if not plain and draw(st.integers(0, 5)) == 0:
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] = draw(st.sampled_from([lines[at].rsplit(b",", 1)[0], lines[at] + b",x", b""]))
    ending = b"\n" if plain else draw(st.sampled_from([b"\n", b"\n", b"\r\n"]))
    data = ending.join(lines)
    if plain or draw(st.booleans()):
        data += ending  # a range's last line may end the file without a line break
    columns = tuple(name for name in names if name != "note")
    return data, list(names), columns


@settings(max_examples=400, deadline=None)
@given(csv_lines(plain=False))
@example((b'"01000000001","self","",9,9.5,10,0,0.5,5,7,7,7,7\n', list(COLUMNS), COLUMNS))
@example((b"01000000001,self,,9,9.5,10,0,0.5,5.5,7,7,7,7\n", list(COLUMNS), COLUMNS))  # c06 above 5
@example((b"01000000001,self,,9,9.5,10,0,0.5,5,7,7,7,7\n\n", list(COLUMNS), COLUMNS))  # an empty line
@example((b'01000000001,"self,",,9,9.5,10,0,0.5,5,7,7,7,7\n', list(COLUMNS), COLUMNS))
def test_any_bytes_are_declined_or_read_as_the_arrow_path_reads_them(
    case: tuple[bytes, list[str], tuple[str, ...]],
) -> None:
    data, names, columns = case
    compiled = read_reviews(data, names, columns, MAX_TENTHS, WIDTH)
    if compiled is not None:
        expected = arrow_path(data, names, columns)
        assert expected is not None, data
        assert compiled.schema == expected.schema
        assert compiled.equals(expected), data


@settings(max_examples=200, deadline=None)
@given(csv_lines(plain=True))
def test_plain_rows_are_read(case: tuple[bytes, list[str], tuple[str, ...]]) -> None:
    data, names, columns = case
    compiled = read_reviews(data, names, columns, MAX_TENTHS, WIDTH)
    assert compiled is not None, data
    expected = arrow_path(data, names, columns)
    assert expected is not None and compiled.equals(expected)


def test_what_arrow_reads_but_the_compiled_reader_declines_is_still_read_by_arrow() -> None:
    # A quoted comma inside a reviewer's name, an escaped quote, CRLF line ends: all plain to Arrow.
    data = b'01000000001,group,"\xe5\xbc\xa0,""\xe6\x9d\x8e""",9,9,9,9,9,5,9,9,9,9\r\n'
    assert read_reviews(data, list(COLUMNS), COLUMNS, MAX_TENTHS, WIDTH) is None
    table = arrow_path(data, list(COLUMNS), COLUMNS)
    assert table is not None and table.column("reviewer").to_pylist() == [-1]


def test_invalid_utf8_in_a_reviewer_is_left_to_arrow_which_stops() -> None:
    data = b"01000000001,group,\xe5\xbc,9,9,9,9,9,5,9,9,9,9\n"  # a cut-off character
    assert read_reviews(data, list(COLUMNS), COLUMNS, MAX_TENTHS, WIDTH) is None
    assert arrow_path(data, list(COLUMNS), COLUMNS) is None


@pytest.mark.usefixtures("split_any_size")
def test_the_golden_csv_is_routed_by_the_compiled_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every reviews range of the fast path is read by the compiled reader (the routing workers are
    # forked: each leaves its answers in a file), and the bytes are the golden ones.
    write_layout(golden_frames(), tmp_path / "in", "csv", seed=None)
    (tmp_path / "in" / "settings.json").write_bytes((GOLDEN / "valid" / "input" / "settings.json").read_bytes())
    answers = tmp_path / "answers"

    def spy(data: bytes, names: list[str], columns: tuple[str, ...], *plain: Any) -> pa.Table | None:
        table = read_reviews(data, names, columns, *plain)
        with answers.open("a") as handle:
            handle.write("read\n" if table is not None else "declined\n")
        return table

    monkeypatch.setattr(routing, "read_reviews", spy)
    assert main(["score", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]) == 0
    assert set(answers.read_text().split()) == {"read"}
    for name in OUTPUTS:
        assert (tmp_path / "out" / name).read_bytes() == (GOLDEN / "valid" / "expected" / name).read_bytes(), name
