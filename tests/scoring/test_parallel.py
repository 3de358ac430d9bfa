"""The county-by-county fast path of `python -m scoring score` (issue 20): taken only when the
files say it is safe, and byte-for-byte the output of scoring the whole period at once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings

from scoring import InvalidInput, Rubric, Settings, parallel, score_period
from scoring.__main__ import main
from scoring.engine import score_tables, to_frame
from scoring.io import OUTPUTS, csv_body
from scoring.parallel import plan_split, score_frames_split
from tests.scoring.test_properties import World, worlds

GOLDEN = Path(__file__).parent / "golden"


def read_golden(name: str, kind: str = "valid") -> pd.DataFrame:
    return pd.read_csv(GOLDEN / kind / "input" / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def write_in_groups(frames: dict[str, pd.DataFrame], folder: Path, groups: list[list[str]]) -> None:
    """Each table as Parquet with one row group per list of villages (households and reviews by their
    household's village, quotas by village), every row group present in every file."""
    folder.mkdir(parents=True, exist_ok=True)
    village_of = dict(zip(frames["households"]["household_code"], frames["households"]["village_code"], strict=True))
    for name, frame in frames.items():
        villages = frame["village_code"] if "village_code" in frame else frame["household_code"].map(village_of)
        table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        with pq.ParquetWriter(folder / f"{name}.parquet", table.schema) as writer:
            for members in groups:
                writer.write_table(table.filter(pa.array(villages.isin(members).to_numpy())), row_group_size=1 << 30)


def golden_frames(kind: str = "valid") -> dict[str, pd.DataFrame]:
    return {name: read_golden(name, kind) for name in ("households", "reviews", "quotas")}


def villages_in_order(frames: dict[str, pd.DataFrame]) -> list[str]:
    return sorted(frames["households"]["village_code"].unique())


def whole(folder: Path, out: Path) -> dict[str, bytes]:
    assert main(["score", "--input", str(folder), "--output", str(out), "--jobs", "1"]) == 0
    return {name: (out / name).read_bytes() for name in OUTPUTS}


def test_golden_input_in_row_groups_takes_the_fast_path_with_the_same_bytes(tmp_path: Path) -> None:
    frames = golden_frames()
    villages = villages_in_order(frames)
    assert len(villages) >= 2
    write_in_groups(frames, tmp_path / "in", [[v] for v in villages])
    (tmp_path / "in" / "settings.json").write_bytes((GOLDEN / "valid" / "input" / "settings.json").read_bytes())
    assert plan_split(tmp_path / "in") is not None
    assert main(["score", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]) == 0
    for name in OUTPUTS:
        assert (tmp_path / "out" / name).read_bytes() == (GOLDEN / "valid" / "expected" / name).read_bytes(), name
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(OUTPUTS)  # no partial file left


def test_overlapping_or_unsorted_row_groups_are_scored_in_one_piece(tmp_path: Path) -> None:
    frames = golden_frames()
    villages = villages_in_order(frames)
    write_in_groups(frames, tmp_path / "reversed", [[v] for v in reversed(villages)])
    assert plan_split(tmp_path / "reversed") is None
    write_in_groups(frames, tmp_path / "one", [villages])
    assert plan_split(tmp_path / "one") is None  # a single row group: nothing to split
    assert plan_split(GOLDEN / "valid" / "input") is None  # CSV input
    # Still the same results, through the whole-period path.
    assert main(["score", "--input", str(tmp_path / "reversed"), "--output", str(tmp_path / "out")]) == 0
    for name in OUTPUTS:
        assert (tmp_path / "out" / name).read_bytes() == (GOLDEN / "valid" / "expected" / name).read_bytes(), name


def test_a_review_stored_with_another_county_falls_back_to_the_whole_period(tmp_path: Path) -> None:
    frames = golden_frames()
    villages = villages_in_order(frames)
    write_in_groups(frames, tmp_path / "in", [[v] for v in villages])
    # The first village's first household's reviews move into the last row group of reviews.
    reviews = frames["reviews"]
    village_of = dict(zip(frames["households"]["household_code"], frames["households"]["village_code"], strict=True))
    first = frames["households"].loc[frames["households"]["village_code"] == villages[0], "household_code"].iloc[0]
    moved = reviews["household_code"] == first
    assert moved.any()
    schema = pq.read_schema(tmp_path / "in" / "reviews.parquet")
    with pq.ParquetWriter(tmp_path / "in" / "reviews.parquet", schema) as writer:
        for index, village in enumerate(villages):
            rows = (reviews["household_code"].map(village_of) == village) & ~moved
            if index == len(villages) - 1:
                rows |= moved
            writer.write_table(pa.Table.from_pandas(reviews[rows].reset_index(drop=True), preserve_index=False))
    assert plan_split(tmp_path / "in") is not None
    assert main(["score", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]) == 0
    for name in OUTPUTS:
        assert (tmp_path / "out" / name).read_bytes() == (GOLDEN / "valid" / "expected" / name).read_bytes(), name


def test_invalid_input_in_row_groups_reports_as_the_whole_period_and_writes_nothing(tmp_path: Path) -> None:
    frames = golden_frames("invalid")
    villages = [v for v in villages_in_order(frames) if v]
    write_in_groups(frames, tmp_path / "split", [[v] for v in villages])
    write_in_groups(frames, tmp_path / "whole", [villages])
    runs = {}
    for name in ("split", "whole"):
        runs[name] = subprocess.run(
            [
                sys.executable,
                "-m",
                "scoring",
                "score",
                "--input",
                str(tmp_path / name),
                "--output",
                str(tmp_path / f"out-{name}"),
            ],
            capture_output=True,
            check=False,
            cwd=Path(__file__).parents[2],
        )
        assert runs[name].returncode == 2, runs[name].stderr.decode()
        assert not (tmp_path / f"out-{name}").exists()
    assert runs["split"].stderr == runs["whole"].stderr


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(worlds())
def test_any_period_split_by_village_gives_the_bytes_of_the_whole(tmp_path_factory: object, world: World) -> None:
    base = tmp_path_factory.mktemp("split")  # type: ignore[attr-defined]
    frames = {"households": world.households, "reviews": world.reviews, "quotas": world.quotas}
    villages = villages_in_order(frames)
    write_in_groups(frames, base / "whole", [villages])
    expected = whole(base / "whole", base / "out-whole")
    if len(villages) < 2:
        return
    write_in_groups(frames, base / "split", [[v] for v in villages])
    assert plan_split(base / "split") is not None
    assert main(["score", "--input", str(base / "split"), "--output", str(base / "out-split"), "--jobs", "2"]) == 0
    assert {name: (base / "out-split" / name).read_bytes() for name in OUTPUTS} == expected


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
