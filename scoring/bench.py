"""Benchmark of the engine on generated data (`python -m scoring bench`).

    python -m scoring bench --households 2000000 [--data DIR] [--jobs J] [--format parquet|csv]

Generates a county, prefecture or province with shared/bench/gen.py into DIR (default
/tmp/scoring-bench/N; an existing DIR is reused), scores it, writes the results (to DIR/out by
default), and prints for each step (read, validate, aggregate, rank, write) the wall time,
households per second, and the peak resident memory so far.

With `--jobs J` (J ≥ 1 and Parquet input) the period is scored county by county: gen.py writes
each county as one row group of each file, and the rules never cross a county, so row group i of
households, reviews and quotas is scored on its own, in J worker processes; the results are
concatenated, sorted by household code, and written once. The default `--jobs 0` scores the whole
period in one piece, step by step.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from scoring.engine import (
    aggregate,
    code_order,
    coerce_rubric,
    coerce_settings,
    household_table,
    rank_and_award,
    score_tables,
    village_table,
)
from scoring.io import TABLES, find_table, read_input, read_table, write_results
from scoring.problems import InvalidInput
from scoring.validate import validate_inputs

T = TypeVar("T")
GEN = Path(__file__).resolve().parents[2] / "shared" / "bench" / "gen.py"


def peak_rss_mib() -> float:
    """Peak resident memory of this process (and of finished worker processes), MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


class Timer:
    """Prints one line per step: seconds, households/s, peak RSS."""

    def __init__(self, households: int) -> None:
        self.households = households
        self.started = time.perf_counter()
        self.total = 0.0

    def step(self, name: str, work: Callable[[], T]) -> T:
        began = time.perf_counter()
        result = work()
        took = time.perf_counter() - began
        self.total += took
        rate = self.households / took if took > 0 else float("inf")
        print(f"{name:<10} {took:7.2f} s  {rate:14,.0f} households/s  peak RSS {peak_rss_mib():8,.0f} MiB", flush=True)
        return result

    def done(self) -> None:
        wall = time.perf_counter() - self.started
        rate = self.households / wall
        print(f"{'total':<10} {wall:7.2f} s  {rate:14,.0f} households/s  peak RSS {peak_rss_mib():8,.0f} MiB")


def ensure_data(households: int, folder: Path, fmt: str) -> None:
    """Generate the data with gen.py unless `folder` already holds it."""
    if find_table(folder, "households") is not None and find_table(folder, "reviews") is not None:
        print(f"reusing {folder}")
        return
    if not GEN.is_file():
        raise FileNotFoundError(f"generator not found: {GEN}")
    command = [sys.executable, str(GEN), "--households", str(households), "--out", str(folder), "--format", fmt]
    print("generating:", " ".join(command), flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - our own generator


def run_steps(folder: Path, output: Path, households: int) -> None:
    timer = Timer(households)
    data = timer.step("read", lambda: read_input(folder))
    rubric = coerce_rubric(data.rubric)
    settings = coerce_settings(data.settings)
    prepared = timer.step(
        "validate", lambda: validate_inputs(data.households, data.reviews, data.quotas, rubric, settings)
    )
    totals = timer.step("aggregate", lambda: aggregate(prepared))

    def rank() -> tuple[pa.Table, pa.Table]:
        order = code_order(prepared)
        ranked = rank_and_award(prepared, totals, settings, order)
        return household_table(prepared, totals, ranked, order), village_table(prepared, ranked)

    tables = timer.step("rank", rank)
    timer.step("write", lambda: write_results(*tables, output))
    timer.done()


def _score_row_group(folder: Path, group: int, offsets: dict[str, int]) -> tuple[pa.Table, pa.Table]:
    frames = {}
    for name in ("households", "reviews", "quotas"):
        path = folder / f"{name}.parquet"
        if path.is_file():
            wanted = [c for c in TABLES[name] if c in pq.read_schema(path).names]
            frames[name] = pq.ParquetFile(path).read_row_group(group, columns=wanted).to_pandas()
    try:
        return score_tables(frames["households"], frames["reviews"], frames.get("quotas"))
    except InvalidInput as error:  # rows of this county → rows of the whole file
        raise InvalidInput([replace(p, row=p.row + offsets[p.file] if p.row else 0) for p in error.problems]) from None


def score_by_county(folder: Path, jobs: int) -> tuple[pa.Table, pa.Table]:
    """Score each row group (a county in gen.py's files) on its own in `jobs` processes."""
    files = {name: pq.ParquetFile(folder / f"{name}.parquet") for name in ("households", "reviews", "quotas")}
    groups = {name: f.metadata.num_row_groups for name, f in files.items()}
    if len(set(groups.values())) != 1:
        raise ValueError(f"row groups differ between files: {groups}; score without --jobs")
    count = groups["households"]
    offsets = []
    for g in range(count):
        offsets.append({name: sum(f.metadata.row_group(i).num_rows for i in range(g)) for name, f in files.items()})
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("fork")) as pool:
        parts = list(pool.map(_score_row_group, [folder] * count, range(count), offsets))
    households = pa.concat_tables([p[0] for p in parts])
    villages = pa.concat_tables([p[1] for p in parts])
    households = households.take(pc.sort_indices(households["household_code"]))
    villages = villages.take(pc.sort_indices(villages["village_code"]))
    return households, villages


def run_by_county(folder: Path, output: Path, households: int, jobs: int) -> None:
    timer = Timer(households)
    tables = timer.step("score", lambda: score_by_county(folder, jobs))
    timer.step("write", lambda: write_results(*tables, output))
    timer.done()


def run_bench(households: int, data: Path | None, jobs: int, fmt: str, output: Path | None) -> int:
    folder = data or Path("/tmp/scoring-bench") / str(households)  # noqa: S108 - benchmark data, never the repo
    ensure_data(households, folder, fmt)
    count = len(read_table(find_table(folder, "households") or folder, ("household_code",)))
    out = output or folder / "out"
    print(f"{count:,} households, {os.cpu_count()} CPUs, jobs={jobs}", flush=True)
    if jobs > 0:
        run_by_county(folder, out, count, jobs)
    else:
        run_steps(folder, out, count)
    return 0
