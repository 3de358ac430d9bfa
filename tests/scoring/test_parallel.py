"""The piece-by-piece fast path of `python -m scoring score` (issues 20 and 34): taken on any layout
of the files (rows in any order, any row-group size, Parquet or CSV), with pieces of whole villages
found from the household codes, and byte-for-byte the output of scoring the whole period at once."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from random import Random

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import InvalidInput, Rubric, Settings, parallel, score_period
from scoring.__main__ import main
from scoring.engine import score_tables, to_frame
from scoring.io import OUTPUTS, csv_body
from scoring.parallel import plan_split, score_frames_split
from tests.scoring.test_properties import World, worlds

GOLDEN = Path(__file__).parent / "golden"


def read_golden(name: str, kind: str = "valid") -> pd.DataFrame:
    return pd.read_csv(GOLDEN / kind / "input" / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def write_layout(
    frames: dict[str, pd.DataFrame], folder: Path, layout: str, seed: int | None = 34, rows: int = 7
) -> None:
    """Each table with its rows shuffled (unless `seed` is None), as Parquet with row groups of `rows` rows (`parquet`),
    one row group (`one`), or as CSV (`csv`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        shuffled = frame if seed is None else frame.sample(frac=1, random_state=seed).reset_index(drop=True)
        if layout == "csv":
            shuffled.to_csv(folder / f"{name}.csv", index=False)
            continue
        table = pa.Table.from_pandas(shuffled, preserve_index=False)
        pq.write_table(table, folder / f"{name}.parquet", row_group_size=rows if layout == "parquet" else 1 << 30)


def golden_frames(kind: str = "valid") -> dict[str, pd.DataFrame]:
    return {name: read_golden(name, kind) for name in ("households", "reviews", "quotas")}


def whole(folder: Path, out: Path) -> dict[str, bytes]:
    assert main(["score", "--input", str(folder), "--output", str(out), "--jobs", "1"]) == 0
    return {name: (out / name).read_bytes() for name in OUTPUTS}


@pytest.mark.parametrize("layout", ["parquet", "one", "csv"])
@pytest.mark.usefixtures("split_any_size")
def test_golden_input_in_any_layout_takes_the_fast_path_with_the_same_bytes(tmp_path: Path, layout: str) -> None:
    write_layout(golden_frames(), tmp_path / "in", layout)
    (tmp_path / "in" / "settings.json").write_bytes((GOLDEN / "valid" / "input" / "settings.json").read_bytes())
    split = plan_split(tmp_path / "in", 2)
    assert split is not None and split.pieces >= 2
    assert split.width == 7  # the golden codes are seven digits: compared as numbers
    assert main(["score", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]) == 0
    for name in OUTPUTS:
        assert (tmp_path / "out" / name).read_bytes() == (GOLDEN / "valid" / "expected" / name).read_bytes(), name
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(OUTPUTS)  # no partial file left


@pytest.mark.usefixtures("split_any_size")
def test_csv_scores_spelt_otherwise_are_read_by_the_exact_path_inside_the_fast_path(tmp_path: Path) -> None:
    frames = golden_frames()
    reviews = frames["reviews"].copy()
    reviews.loc[0, "c01"] = f" {reviews.loc[0, 'c01']} "  # not plain: the range's column is read as text
    write_layout({**frames, "reviews": reviews}, tmp_path / "in", "csv", seed=None)
    (tmp_path / "in" / "settings.json").write_bytes((GOLDEN / "valid" / "input" / "settings.json").read_bytes())
    split = plan_split(tmp_path / "in", 2)
    assert split is not None
    assert parallel.score_folder_split(split, tmp_path / "out", 2) is not None  # not sent to the whole period
    for name in OUTPUTS:
        assert (tmp_path / "out" / name).read_bytes() == (GOLDEN / "valid" / "expected" / name).read_bytes(), name


@pytest.mark.usefixtures("split_any_size")
def test_a_score_that_is_not_utf8_stops_the_fast_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # CSV scores are parsed as bytes and their spellings checked as UTF-8 when read: a byte that is
    # not UTF-8 stops the fast path, and the whole period reports the file as unreadable
    write_layout(golden_frames(), tmp_path / "in", "csv", seed=None)
    split = plan_split(tmp_path / "in", 2)  # planned first: the plan reads the header's 8 KiB as text
    assert split is not None
    path = tmp_path / "in" / "reviews.csv"
    lines = path.read_bytes().split(b"\n")
    lines[5] = lines[5][: lines[5].rindex(b",") + 1] + b"\xff"
    path.write_bytes(b"\n".join(lines))
    assert parallel.score_folder_split(split, tmp_path / "out", 2) is None
    assert not (tmp_path / "out").exists()
    assert main(["score", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]) == 2
    assert "reviews.csv" in capsys.readouterr().err


@pytest.mark.usefixtures("split_any_size")
def test_the_pieces_are_whole_villages_cut_only_between_code_ranges(tmp_path: Path) -> None:
    frames = golden_frames()
    households = frames["households"]
    write_layout(frames, tmp_path / "apart", "parquet")
    split = plan_split(tmp_path / "apart", 1)
    assert split is not None
    first = pa.array(households["household_code"].tolist(), pa.large_string())
    piece, _ = split.pieces_and_keys(first)
    by_village = pd.Series(piece).groupby(households["village_code"].to_numpy()).nunique()
    assert (by_village == 1).all()  # no village in two pieces
    # One village's codes reach over the other's: a single range, nothing to cut.
    villages = sorted(households["village_code"].unique())
    mixed = households.copy()
    mixed.loc[mixed["household_code"] == mixed["household_code"].max(), "village_code"] = villages[0]
    mixed.loc[mixed["household_code"] == mixed["household_code"].min(), "village_code"] = villages[-1]
    write_layout({**frames, "households": mixed}, tmp_path / "mixed", "parquet")
    assert plan_split(tmp_path / "mixed", 2) is None


@pytest.mark.usefixtures("split_any_size")
def test_a_large_row_group_read_in_column_parts_reads_its_codes_once(tmp_path: Path) -> None:
    write_layout(golden_frames(), tmp_path / "in", "one")
    (tmp_path / "in" / "settings.json").write_bytes((GOLDEN / "valid" / "input" / "settings.json").read_bytes())
    split = plan_split(tmp_path / "in", 3)
    assert split is not None
    reviews = [s for s in split.sources if s.table == "reviews"]
    assert [(s.part, s.parts) for s in reviews] == [(0, 3), (1, 3), (2, 3)]
    # only the first part reads the code; the others take its piece numbers
    assert ["household_code" in s.columns for s in reviews] == [True, False, False]
    assert sorted(c for s in reviews for c in s.columns) == sorted(parallel.TABLES["reviews"])
    assert parallel.score_folder_split(split, tmp_path / "out", 3) is not None
    for name in OUTPUTS:
        assert (tmp_path / "out" / name).read_bytes() == (GOLDEN / "valid" / "expected" / name).read_bytes(), name


def test_a_small_period_is_scored_in_one_piece(tmp_path: Path) -> None:
    write_layout(golden_frames(), tmp_path / "in", "parquet")
    assert plan_split(tmp_path / "in", 2) is None  # fewer than MIN_HOUSEHOLDS households


@pytest.mark.usefixtures("split_any_size")
def test_a_quota_of_no_village_falls_back_to_the_whole_period(tmp_path: Path) -> None:
    frames = golden_frames()
    quotas = pd.concat(
        [frames["quotas"], pd.DataFrame({"village_code": ["9999"], "cleanest_quota": [""], "clean_quota": [""]})]
    )
    write_layout({**frames, "quotas": quotas}, tmp_path / "in", "csv")
    assert plan_split(tmp_path / "in", 2) is None


@pytest.mark.parametrize("layout", ["parquet", "one", "csv"])
@pytest.mark.usefixtures("split_any_size")
def test_invalid_input_in_any_layout_reports_as_the_whole_period_and_writes_nothing(
    tmp_path: Path, layout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = golden_frames("invalid")
    write_layout(frames, tmp_path / "split", layout, seed=None, rows=1)  # the golden rows in their order
    whole_status = main(["score", "--input", str(GOLDEN / "invalid" / "input"), "--output", str(tmp_path / "o1")])
    whole_err = capsys.readouterr().err
    assert plan_split(tmp_path / "split", 2) is not None
    split_status = main(["score", "--input", str(tmp_path / "split"), "--output", str(tmp_path / "o2")])
    split_err = capsys.readouterr().err
    assert whole_status == split_status == 2
    assert not (tmp_path / "o2").exists()
    assert split_err.replace(".parquet:", ".csv:") == whole_err  # the same problems, rows and values


def in_digits(world: World, chinese_kinds: bool) -> World:
    """The world with its household codes as three ASCII digits ("V1H07" → "207"), which the fast
    path routes as numbers, and its kinds spelt in Chinese or not."""

    def digits(codes: pd.Series) -> pd.Series:
        return codes.map(lambda code: f"{int(code[1]) + 1}{code[3:]}" if code else code)

    reviews = world.reviews.assign(household_code=digits(world.reviews["household_code"]))
    reviews["reviewer"] = digits(reviews["reviewer"])
    if chinese_kinds:
        reviews["kind"] = reviews["kind"].map({"self": "自评", "peer": "互评", "group": "复评"})
    households = world.households.assign(household_code=digits(world.households["household_code"]))
    return World(households, reviews, world.quotas)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    worlds(),
    st.randoms(use_true_random=False),
    st.integers(1, 40),
    st.sampled_from(["parquet", "one", "csv"]),
    st.sampled_from(["text", "digits", "digits, kinds in Chinese"]),
)
def test_any_permutation_and_row_group_size_gives_the_bytes_of_the_whole(
    tmp_path_factory: pytest.TempPathFactory, world: World, random: Random, rows: int, layout: str, codes: str
) -> None:
    base = tmp_path_factory.mktemp("layout")
    if codes != "text":
        world = in_digits(world, chinese_kinds="Chinese" in codes)
    frames = {"households": world.households, "reviews": world.reviews, "quotas": world.quotas}
    write_layout(frames, base / "whole", "one", seed=0)
    expected = whole(base / "whole", base / "out-whole")
    write_layout(frames, base / "any", layout, seed=random.randrange(1 << 30), rows=rows)
    saved = parallel.MIN_HOUSEHOLDS
    parallel.MIN_HOUSEHOLDS = 1
    try:
        split = plan_split(base / "any", 2)
        assert (split is not None) == (world.households["village_code"].nunique() >= 2)
        assert split is None or split.width == (0 if codes == "text" else 3)
        assert main(["score", "--input", str(base / "any"), "--output", str(base / "out-any"), "--jobs", "2"]) == 0
    finally:
        parallel.MIN_HOUSEHOLDS = saved
    assert {name: (base / "out-any" / name).read_bytes() for name in OUTPUTS} == expected


@settings(max_examples=25, deadline=None)
@given(worlds())
def test_score_period_on_a_large_period_gives_the_results_of_one_piece(world: World) -> None:
    whole_households, whole_villages = score_tables(world.households, world.reviews, world.quotas)
    with large_from(1):
        split = score_frames_split(world.households, world.reviews, world.quotas, Rubric.default(), Settings(), 2)
        households, villages = score_period(world.households, world.reviews, world.quotas)
    assert split is not None  # the piece-by-piece path was taken
    assert split[0].equals(whole_households) and split[1].equals(whole_villages)
    pd.testing.assert_frame_equal(households, to_frame(whole_households))
    pd.testing.assert_frame_equal(villages, to_frame(whole_villages))


def test_a_large_period_with_problems_reports_them_as_one_piece() -> None:
    frames = golden_frames("invalid")
    with pytest.raises(InvalidInput) as whole_error:
        score_tables(frames["households"], frames["reviews"], frames["quotas"])
    with large_from(1), pytest.raises(InvalidInput) as split_error:
        score_period(frames["households"], frames["reviews"], frames["quotas"])
    assert split_error.value.problems == whole_error.value.problems


@contextmanager
def large_from(households: int) -> Iterator[None]:
    """Lower the size from which score_period splits (the real threshold is 400,000 households)."""
    saved = parallel.LARGE
    parallel.LARGE = households
    try:
        yield
    finally:
        parallel.LARGE = saved


def test_a_value_with_a_comma_quote_or_line_break_is_quoted_and_only_then() -> None:
    table = pa.table({"household_code": pa.array(["1", "2", "3,4"], pa.large_string()), "n": [1, 2, 3]})
    assert csv_body(table) == b'1,1\n2,2\n"3,4",3\n'
    assert csv_body(table.slice(0, 2)) == b"1,1\n2,2\n"  # the comma lies outside the slice's values
    for text, quoted in (('a"b', '"a""b"'), ("a\nb", '"a\nb"')):
        one = pa.table({"head_name": pa.array([text], pa.string())})
        assert csv_body(one) == f"{quoted}\n".encode()
    parts = pa.concat_tables([table.slice(0, 1), table.slice(2, 1)])  # two chunks
    assert csv_body(parts) == b'1,1\n"3,4",3\n'


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 999), st.integers(0, 7)), min_size=1, max_size=60, unique_by=lambda t: t[0]),
    st.integers(2, 6),
)
def test_digit_codes_are_cut_as_their_text_would_be(rows: list[tuple[int, int]], pieces: int) -> None:
    # the numbers' per-village ranges (NumPy) cut where the text's (Arrow's group_by) do
    digits = pa.array([f"{code:03d}" for code, _ in rows], pa.large_string())
    texts = pa.array([f"x{code:03d}" for code, _ in rows], pa.large_string())
    villages = pa.array([f"v{village}" for _, village in rows], pa.large_string())
    by_number, by_text = parallel._cut(digits, villages, pieces), parallel._cut(texts, villages, pieces)
    assert (by_number is None) == (by_text is None)
    if by_number is None or by_text is None:
        return
    assert by_number[0] == 3 and by_text[0] == 0
    assert [f"x{key:03d}" for key in by_number[1].tolist()] == list(by_text[2])
    pieces_by_number = dict(zip(by_number[3].to_pylist(), by_number[4].tolist(), strict=True))
    assert pieces_by_number == dict(zip(by_text[3].to_pylist(), by_text[4].tolist(), strict=True))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 10**11 - 1), min_size=1, max_size=80, unique=True),
    st.lists(st.integers(0, 10**11 - 1), max_size=200),
)
def test_a_code_number_finds_its_piece_by_comparisons_as_by_a_binary_search(firsts: list[int], keys: list[int]) -> None:
    # up to SCAN_PIECES pieces by one comparison a piece, beyond by a binary search: the same pieces
    first_keys = np.array(sorted(firsts), dtype=np.int64)
    split = parallel.Split(Path("."), len(first_keys) + 1, 11, first_keys, (), (), (), 0)
    numbers = np.array(keys, dtype=np.int64)
    expected = np.searchsorted(first_keys, numbers, side="right")
    assert split.pieces_of_keys(numbers).dtype == np.int16
    assert split.pieces_of_keys(numbers).tolist() == expected.tolist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(-(10**6), 10**6), st.integers(-(10**17), 10**17)), max_size=40),
    st.integers(0, 5),
    st.sampled_from([(6, 1), (18, 2), (5, 0), (20, 1)]),
)
def test_decimals_are_written_as_arrow_spells_them(
    values: list[int | None], offset: int, shape: tuple[int, int]
) -> None:
    # write_csv spells each decimal of a column once and looks the rest up: the same bytes as
    # Arrow's writer given the decimals (nulls, negatives, a slice of a longer array, wide ranges)
    precision, scale = shape
    bound = 10**precision - 1
    numbers = [None if v is None else Decimal(max(-bound, min(bound, v))).scaleb(-scale) for v in values]
    column = pa.array([Decimal(0)] * offset + numbers, pa.decimal128(precision, scale)).slice(offset)
    table = pa.table({"code": pa.array([str(i) for i in range(len(column))], pa.large_string()), "total": column})
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    direct = io.BytesIO()
    pacsv.write_csv(table, direct, options)
    assert csv_body(table) == direct.getvalue()
