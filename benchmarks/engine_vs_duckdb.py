"""The engine's `python -m scoring score` side by side with the DuckDB SQL peer, interleaved in one run.

    .venv/bin/python benchmarks/engine_vs_duckdb.py [--households 2000000] [--runs 3] [--data DIR]

Generates the period with ../shared/bench/gen.py (Parquet, a row group per county) unless DIR holds
it, writes it again in the layouts of issue 34 (`--layouts`: rows shuffled in row groups of 1,000,000
rows, in one row group, in row groups of 10,000 rows, and as CSV) beside it, then for each layout runs,
`--runs` times in turn, the engine's command and ../shared/bench/duckdb_reference.py
on the same files, each in its own process tree, and prints for each run the wall time, the CPU time
(user + system of the process and of every child it waited for), the peak
memory of the largest process (exact: the kernel's maximum resident set of the process and of every
child it waited for) and the peak of the sum over the process tree (sampled every 20 ms). It checks
that both wrote the same bytes, and prints the medians and the engine's time as a share of DuckDB's.
The reference reads Parquet only, so in the `csv` layout it reads the shuffled Parquet files; a second
peer, `duckdb-csv` (benchmarks/duckdb_reference_csv.py: the reference's SQL reading the same CSV files),
is run beside it there and printed as a second ratio.
Needs `duckdb` (the `bench` extra: `pip install -e .[bench]`).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from scoring.bench import ensure_data

SHARED_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
PAGE = os.sysconf("SC_PAGE_SIZE")
OUTPUTS = ("household_results.csv", "village_results.csv")


@dataclass(frozen=True)
class Run:
    tool: str
    seconds: float
    cpu_seconds: float
    largest_mib: float
    sum_mib: float


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def _tree_rss(root: int) -> int:
    tree, total, pending = _children(), 0, [root]
    while pending:
        pid = pending.pop()
        pending += tree.get(pid, [])
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * PAGE
        except OSError:
            continue
    return total


def measure(tool: str, command: list[str]) -> Run:
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603 - our own commands
    peak_sum = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_sum
        while not done.is_set():
            peak_sum = max(peak_sum, _tree_rss(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    done.set()
    sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{tool} failed: {' '.join(command)}")
    return Run(tool, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, peak_sum / 2**20)


LAYOUTS = ("generator", "shuffled", "one-group", "small-groups", "csv")


def write_layout(source: Path, folder: Path, layout: str) -> None:
    """The generator's period in another layout (INTERCHANGE.md §1 promises no order): every table's
    rows shuffled (seed 34), as Parquet in row groups of 1,000,000 rows (`shuffled`), one row group
    (`one-group`) or 10,000 rows (`small-groups`), or as CSV (`csv`, gen.py's CSV form)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if (folder / "households.parquet").exists() or (folder / "households.csv").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    rows = {"shuffled": 1_000_000, "one-group": 1 << 40, "small-groups": 10_000}
    for name in ("households", "reviews", "quotas"):
        table = pq.read_table(source / f"{name}.parquet")
        table = table.take(pa.array(np.random.default_rng(34).permutation(len(table))))
        if layout == "csv":
            pacsv.write_csv(table, folder / f"{name}.csv")
        else:
            pq.write_table(table, folder / f"{name}.parquet", row_group_size=rows[layout])


def _in_child(work: Callable[..., None], *args: object) -> None:
    """Run `work` in a spawned process: this process stays small, so the commands it starts do
    not inherit a large maximum resident set (the kernel keeps it across fork and exec)."""
    child = get_context("spawn").Process(target=work, args=args)
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"writing a layout failed: {args}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--jobs", type=int, default=0, help="the engine's processes (0: the CPUs)")
    parser.add_argument("--layouts", nargs="+", choices=LAYOUTS, default=list(LAYOUTS))
    args = parser.parse_args()
    folder = args.data or Path("/tmp/scoring-bench") / str(args.households)  # noqa: S108 - benchmark data
    ensure_data(args.households, folder, "parquet")
    print(f"{args.households:,} households in {folder}, {os.cpu_count()} CPUs", flush=True)
    header = f"{'layout':<13}{'run':>3}  {'tool':<10}{'seconds':>9}{'CPU s':>8}{'largest MiB':>13}{'sum MiB':>10}"
    print(header, flush=True)
    all_same = True
    summary = []
    for layout in args.layouts:
        data = folder if layout == "generator" else folder.parent / f"{folder.name}-{layout}"
        _in_child(write_layout, folder, data, layout)
        # DuckDB's reference reads Parquet only: for the CSV layout it reads the shuffled Parquet.
        peer_data = folder.parent / f"{folder.name}-shuffled" if layout == "csv" else data
        if layout == "csv":
            _in_child(write_layout, folder, peer_data, "shuffled")
        out = folder.parent / f"{folder.name}-out-{layout}"
        threads = ["--threads", str(os.cpu_count() or 1)]
        commands = {
            "engine": [sys.executable, "-m", "scoring", "score", "--input", str(data), "--output", str(out / "engine")]
            + (["--jobs", str(args.jobs)] if args.jobs else []),
            "duckdb": [
                sys.executable,
                str(SHARED_BENCH / "duckdb_reference.py"),
                "--input",
                str(peer_data),
                "--output",
                str(out / "duckdb"),
                *threads,
            ],
        }
        if layout == "csv":
            reader = Path(__file__).with_name("duckdb_reference_csv.py")
            peer_csv = ["--input", str(data), "--output", str(out / "duckdb-csv"), *threads]
            commands["duckdb-csv"] = [sys.executable, str(reader), *peer_csv]
        runs: list[Run] = []
        for number in range(1, args.runs + 1):
            for tool in list(commands) if number % 2 else list(commands)[::-1]:
                run = measure(tool, commands[tool])
                runs.append(run)
                figures = f"{run.seconds:>9.2f}{run.cpu_seconds:>8.2f}{run.largest_mib:>13,.0f}{run.sum_mib:>10,.0f}"
                print(f"{layout:<13}{number:>3}  {tool:<10}{figures}", flush=True)
        peers = [tool for tool in commands if tool != "engine"]
        same = all(
            filecmp.cmp(out / "engine" / name, out / peer / name, shallow=False) for peer in peers for name in OUTPUTS
        )
        all_same &= same
        median = {tool: statistics.median(r.seconds for r in runs if r.tool == tool) for tool in commands}
        cpu = {tool: statistics.median(r.cpu_seconds for r in runs if r.tool == tool) for tool in commands}
        peak = {tool: max(r.sum_mib for r in runs if r.tool == tool) for tool in commands}
        summary.append(
            f"{layout:<13} engine {median['engine']:6.2f} s (CPU {cpu['engine']:6.2f} s) {peak['engine']:7,.0f} MiB"
            f" | duckdb {median['duckdb']:6.2f} s (CPU {cpu['duckdb']:6.2f} s) {peak['duckdb']:7,.0f} MiB"
            f" | engine/duckdb time {median['engine'] / median['duckdb']:.2f}, CPU {cpu['engine'] / cpu['duckdb']:.2f}"
            f" | byte-identical: {'yes' if same else 'NO'}"
        )
        if "duckdb-csv" in commands:
            summary.append(
                f"{'':<13} beside DuckDB reading the same CSV files: duckdb-csv {median['duckdb-csv']:6.2f} s"
                f" (CPU {cpu['duckdb-csv']:6.2f} s) {peak['duckdb-csv']:7,.0f} MiB"
                f" | engine/duckdb-csv time {median['engine'] / median['duckdb-csv']:.2f},"
                f" CPU {cpu['engine'] / cpu['duckdb-csv']:.2f}"
            )
    print("medians (time) and peak sums over the process tree (memory):")
    for line in summary:
        print(line)
    return 0 if all_same else 1


if __name__ == "__main__":
    sys.exit(main())
