"""A second peer for the CSV layout of `benchmarks/engine_vs_duckdb.py`: ../shared/bench/duckdb_reference.py
run unchanged except that its SQL reads the CSV form of the interchange (`read_csv`) in place of the
Parquet files (`read_parquet`), so that DuckDB parses the same text the engine parses.

    .venv/bin/python benchmarks/duckdb_reference_csv.py --input DIR --output DIR [--threads 2]

The codes are read as text (a code's leading zeros are kept) and the scores and quotas with the types
gen.py's Parquet files give them (DOUBLE, BIGINT), which is what the reference's SQL expects. The
official reference (Parquet) stays the issue's peer; this one is printed beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "bench" / "duckdb_reference.py"
SCORES = ", ".join(f"'c{i:02d}': 'DOUBLE'" for i in range(1, 11))
READS = {
    "read_parquet('{i}/households.parquet')": "read_csv('{i}/households.csv', header = true, all_varchar = true)",
    "read_parquet('{i}/reviews.parquet')": (
        "read_csv('{i}/reviews.csv', header = true, types = {{'household_code': 'VARCHAR', 'kind': 'VARCHAR',"
        f" 'reviewer': 'VARCHAR', {SCORES}}}}})"
    ),
    "read_parquet('{i}/quotas.parquet')": (
        "read_csv('{i}/quotas.csv', header = true,"
        " types = {{'village_code': 'VARCHAR', 'cleanest_quota': 'BIGINT', 'clean_quota': 'BIGINT'}})"
    ),
}


def main() -> None:
    source = REFERENCE.read_text(encoding="utf-8")
    for parquet, csv in READS.items():
        if source.count(parquet) != 1:
            raise SystemExit(f"{REFERENCE} no longer reads {parquet} once: this wrapper needs updating")
        source = source.replace(parquet, csv)
    sys.argv[0] = str(REFERENCE)
    exec(compile(source, str(REFERENCE), "exec"), {"__name__": "__main__"})  # noqa: S102 - the project's own reference


if __name__ == "__main__":
    main()
