"""Golden-file tests of `python -m scoring score` (INTERCHANGE.md §1)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scoring import CRITERIA
from scoring.__main__ import main

GOLDEN = Path(__file__).parent / "golden"
OUTPUTS = ("household_results.csv", "village_results.csv")


def assert_same_files(output: Path, expected: Path) -> None:
    for name in OUTPUTS:
        assert (output / name).read_bytes() == (expected / name).read_bytes(), name


def test_valid_input_gives_the_golden_results(tmp_path: Path) -> None:
    assert main(["score", "--input", str(GOLDEN / "valid" / "input"), "--output", str(tmp_path / "out")]) == 0
    assert_same_files(tmp_path / "out", GOLDEN / "valid" / "expected")


def test_parquet_input_with_numeric_scores_gives_the_same_bytes(tmp_path: Path) -> None:
    source = GOLDEN / "valid" / "input"
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("households", "reviews", "quotas"):
        frame = pd.read_csv(source / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        if name == "reviews":
            frame = frame.astype(dict.fromkeys(CRITERIA, "float64"))
        if name == "quotas":
            frame = frame.replace("", None).astype({"cleanest_quota": "Int64", "clean_quota": "Int64"})
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / f"{name}.parquet")
    shutil.copy(source / "settings.json", folder)
    assert main(["score", "--input", str(folder), "--output", str(tmp_path / "out")]) == 0
    assert_same_files(tmp_path / "out", GOLDEN / "valid" / "expected")


def test_invalid_input_exits_2_prints_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    completed = subprocess.run(
        [sys.executable, "-m", "scoring", "score", "--input", str(GOLDEN / "invalid" / "input"), "--output", str(out)],
        capture_output=True,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert completed.returncode == 2
    assert completed.stderr.decode() == (GOLDEN / "invalid" / "expected_stderr.txt").read_text(encoding="utf-8")
    assert completed.stdout == b""
    assert not out.exists()


def test_at_most_100_problems_then_a_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(GOLDEN / "valid" / "input" / "households.csv", folder)
    lines = ["household_code,kind,reviewer," + ",".join(CRITERIA)]
    lines += [f"Z{i},group,," + ",".join(["9"] * 10) for i in range(150)]
    (folder / "reviews.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["score", "--input", str(folder), "--output", str(tmp_path / "out")]) == 2
    printed = capsys.readouterr().err.splitlines()
    assert len(printed) == 101
    assert printed[0] == "reviews.csv:1:household_code: Z0: 农户表中无此户号"
    assert printed[-1] == "……另有50个问题（共150个）"
    assert not (tmp_path / "out").exists()


def test_missing_required_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    assert main(["score", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "households.csv:0:: : 缺少必需的文件",
        "reviews.csv:0:: : 缺少必需的文件",
    ]


def test_unreadable_settings_and_non_utf8_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    shutil.copytree(GOLDEN / "valid" / "input", folder)
    (folder / "settings.json").write_text("{not json", encoding="utf-8")
    (folder / "quotas.csv").write_bytes("village_code,cleanest_quota,clean_quota\n村,1,2\n".encode("gb18030"))
    assert main(["score", "--input", str(folder), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in err] == ["quotas.csv", "settings.json"]
    assert "无法读取" in err[0] and "不是有效的JSON" in err[1]


def test_a_rubric_file_is_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    shutil.copytree(GOLDEN / "valid" / "input", folder)
    rubric = "criterion,label,max_points\n" + "".join(f"{c},{c},10\n" for c in CRITERIA[:9]) + "c10,c10,5\n"
    (folder / "rubric.csv").write_text(rubric, encoding="utf-8")
    assert main(["score", "--input", str(folder), "--output", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.splitlines() == ["rubric.csv:0:max_points: 95: 十项满分合计须为100"]


def test_a_missing_input_folder_is_exit_1(tmp_path: Path) -> None:
    assert main(["score", "--input", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out")]) == 1


def test_county_by_county_scoring_gives_the_same_bytes(tmp_path: Path) -> None:
    """Each Parquet row group (a county in gen.py's files) scored on its own, then merged and sorted."""
    from scoring.bench import score_by_county
    from scoring.io import write_results

    source = GOLDEN / "valid" / "input"
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("households", "reviews", "quotas"):
        frame = pd.read_csv(source / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        key = frame["village_code"] if "village_code" in frame else frame["household_code"].str[:4]
        table = pa.Table.from_pandas(frame, preserve_index=False)
        with pq.ParquetWriter(folder / f"{name}.parquet", table.schema) as writer:
            for village in ("0102", "0101"):  # counties need not come in code order
                writer.write_table(pa.Table.from_pandas(frame[key == village], preserve_index=False))
    write_results(*score_by_county(folder, jobs=1), tmp_path / "out")
    assert_same_files(tmp_path / "out", GOLDEN / "valid" / "expected")  # golden settings.json = the defaults
