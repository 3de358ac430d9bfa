"""Command line of the scoring engine.

    python -m scoring score --input IN_DIR --output OUT_DIR [--jobs J]
    python -m scoring bench [--households N] [--data DIR] [--jobs J]

`score` exits 0 when the results are written, 2 on invalid input (nothing written; one line per
problem on standard error, `FILE:ROW:COLUMN: VALUE: reason`, up to 100 then a count), 1 on any
other failure. A period of 50,000 households or more, in any layout (rows in any order, any
row-group size, Parquet or CSV), is scored in pieces of whole villages in J processes (default:
the CPUs) and streamed to the output; the bytes written are the same (scoring.parallel). `bench`
is described in scoring.bench.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scoring.engine import score_tables
from scoring.io import read_input, with_file_names, write_results
from scoring.parallel import plan_split, score_folder_split
from scoring.problems import InvalidInput

MAX_PRINTED = 100


def print_problems(error: InvalidInput, names: dict[str, str]) -> None:
    problems = with_file_names(error.problems, names)
    for problem in problems[:MAX_PRINTED]:
        print(problem, file=sys.stderr)
    if len(problems) > MAX_PRINTED:
        print(f"……另有{len(problems) - MAX_PRINTED}个问题（共{len(problems)}个）", file=sys.stderr)


def score_folder(input_dir: Path, output_dir: Path, jobs: int | None = None) -> int:
    """Score the tables of `input_dir` into `output_dir`; the exit status."""
    split = plan_split(input_dir)
    if split is not None and score_folder_split(split, output_dir, jobs) is not None:
        return 0
    names: dict[str, str] = {}
    try:
        folder = read_input(input_dir)
        names = folder.file_names
        household_results, village_results = score_tables(
            folder.households, folder.reviews, folder.quotas, folder.rubric, folder.settings
        )
    except InvalidInput as error:
        print_problems(error, names)
        return 2
    write_results(household_results, village_results, output_dir)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scoring", description="三定三评 scoring engine")
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="score a period's tables (INTERCHANGE.md §1)")
    score.add_argument("--input", type=Path, required=True)
    score.add_argument("--output", type=Path, required=True)
    score.add_argument("--jobs", type=int, default=0, help="processes for the county-by-county path (0: the CPUs)")
    bench = commands.add_parser("bench", help="time the engine on generated data")
    bench.add_argument("--households", type=int, default=200_000)
    bench.add_argument("--data", type=Path, default=None, help="data folder (generated if empty)")
    bench.add_argument("--jobs", type=int, default=0, help="score county by county in J processes")
    bench.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    bench.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "score":
        if not args.input.is_dir():
            print(f"{args.input}: not a folder", file=sys.stderr)
            return 1
        return score_folder(args.input, args.output, args.jobs or None)
    from scoring.bench import run_bench

    status: int = run_bench(args.households, args.data, args.jobs, args.format, args.output)
    return status


if __name__ == "__main__":
    sys.exit(main())
