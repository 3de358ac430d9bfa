"""Reading the engine's input folder and writing its result files (INTERCHANGE.md §1).

The only module of `scoring` that touches files, used by the command line. Each input table is
`NAME.parquet` or `NAME.csv` (UTF-8, BOM or not; when both exist the Parquet file is read). CSV
cells are read as text exactly as written, so codes keep their leading zeros and a blank stays
blank. Results are written as CSV with Arrow: UTF-8 without BOM, `\\n` line ends, no quoting unless
a value needs it, empty cells for missing values.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from scoring.engine import HOUSEHOLD_RESULT_COLUMNS, VILLAGE_RESULT_COLUMNS
from scoring.problems import InvalidInput, Problem
from scoring.validate import HOUSEHOLD_COLUMNS, QUOTA_COLUMNS, REVIEW_COLUMNS

TABLES: dict[str, tuple[str, ...]] = {
    "households": HOUSEHOLD_COLUMNS,
    "reviews": REVIEW_COLUMNS,
    "quotas": QUOTA_COLUMNS,
    "rubric": ("criterion", "label", "max_points"),
}
REQUIRED = ("households", "reviews")
OUTPUTS = ("household_results.csv", "village_results.csv")


@dataclass(frozen=True)
class InputFolder:
    """The tables of an input folder as DataFrames (absent optional tables are None)."""

    households: pd.DataFrame
    reviews: pd.DataFrame
    quotas: pd.DataFrame | None
    rubric: pd.DataFrame | None
    settings: dict[str, Any] | None
    file_names: dict[str, str]


def find_table(folder: Path, name: str) -> Path | None:
    """NAME.parquet or NAME.csv in `folder`, the Parquet file first; None if neither exists."""
    for suffix in (".parquet", ".csv"):
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def csv_header_names(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(io.StringIO(handle.readline())), [])


def read_csv_text(path: Path) -> pd.DataFrame:
    """A CSV file with every cell as text (blank = empty string, never NaN)."""
    names = csv_header_names(path)
    options = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
    )
    frame: pd.DataFrame = pacsv.read_csv(path, convert_options=options).to_pandas()
    return frame


def read_parquet(path: Path, wanted: tuple[str, ...]) -> pd.DataFrame:
    """The wanted columns of a Parquet file (those present; others are ignored)."""
    present = set(pq.read_schema(path).names)
    columns = [c for c in wanted if c in present]
    frame: pd.DataFrame = pq.read_table(path, columns=columns).to_pandas()
    return frame


def read_table(path: Path, wanted: tuple[str, ...]) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return read_parquet(path, wanted)
    return read_csv_text(path)


def read_input(folder: Path, only: tuple[str, ...] | None = None) -> InputFolder:
    """Read every table of an input folder (or `only` those named, the others left empty, and
    settings.json); InvalidInput if a required one is missing or unreadable."""
    problems: list[Problem] = []
    frames: dict[str, pd.DataFrame | None] = {}
    names: dict[str, str] = {}
    for name, wanted in TABLES.items():
        if only is not None and name not in only:
            frames[name] = pd.DataFrame() if name in REQUIRED else None
            continue
        path = find_table(folder, name)
        if path is None:
            frames[name] = None
            if name in REQUIRED:
                problems.append(Problem(f"{name}.csv", 0, "", "", "缺少必需的文件"))
            continue
        names[name] = path.name
        try:
            frames[name] = read_table(path, wanted)
        except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as error:
            problems.append(Problem(path.name, 0, "", "", f"无法读取（须为UTF-8编码的CSV或Parquet）：{error}"))
    settings: dict[str, Any] | None = None
    settings_path = folder / "settings.json"
    if settings_path.is_file():
        names["settings"] = settings_path.name
        try:
            loaded = json.loads(settings_path.read_text(encoding="utf-8-sig"), parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as error:
            problems.append(Problem(settings_path.name, 0, "", "", f"不是有效的JSON：{error}"))
        else:
            if isinstance(loaded, dict):
                settings = loaded
            else:
                problems.append(Problem(settings_path.name, 0, "", "", "须为JSON对象"))
    if problems:
        raise InvalidInput(problems)
    households, reviews = frames["households"], frames["reviews"]
    assert households is not None and reviews is not None
    return InputFolder(households, reviews, frames["quotas"], frames["rubric"], settings, names)


def with_file_names(problems: list[Problem], names: dict[str, str]) -> list[Problem]:
    """Problems naming the actual files (reviews → reviews.csv)."""
    return [replace(p, file=names.get(p.file, p.file)) for p in problems]


def _as_text(table: pa.Table) -> pa.Table:
    return pa.table(
        {name: column.cast(pa.large_string()) for name, column in zip(table.column_names, table.columns, strict=True)}
    )


_QUOTED = (b",", b'"', b"\r", b"\n")


def _text_needs_quotes(chunk: pa.Array) -> bool:
    """Whether a text value holds a comma, a quote or a line break: a byte search over the values'
    data buffer (between the first and the last offset of the chunk), not a regex per value."""
    _, offsets, data = chunk.buffers()[:3]
    if data is None or len(chunk) == 0:
        return False
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    at = np.frombuffer(offsets, dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1]
    values = data.to_pybytes()[int(at[0]) : int(at[-1])]
    return any(byte in values for byte in _QUOTED)


def needs_quotes(table: pa.Table) -> bool:
    return any(
        _text_needs_quotes(chunk)
        for column in table.columns
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        for chunk in column.chunks
    )


_SPELT_AT_MOST = 1 << 16  # distinct decimals spelt once each (the totals: 0.0…100.0, 1,001 values)


def _decimal_text(chunk: pa.Array) -> pa.Array:
    """A decimal128 column of at most 18 digits as the text Arrow's CSV writer gives it, each value in
    its range spelt once by Arrow's own cast and then looked up: 36 ms instead of 52 ms for a
    piece's household lines (200,000 rows, three totals). Wider ranges are left as they are."""
    if len(chunk) == 0 or chunk.null_count == len(chunk) or chunk.type.precision > 18:
        return chunk
    words = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[2 * chunk.offset : 2 * (chunk.offset + len(chunk))]
    unscaled = words[0::2]  # the low word holds the whole value below 10**18 (the high word its sign)
    valid = None if chunk.null_count == 0 else chunk.is_valid().to_numpy(zero_copy_only=False)
    present = unscaled if valid is None else unscaled[valid]
    low, high = int(present.min()), int(present.max())
    if high - low >= _SPELT_AT_MOST:
        return chunk
    every = np.arange(low, high + 1, dtype=np.int64)
    words_of_every = np.stack([every, np.where(every < 0, -1, 0)], axis=1).ravel()
    spelt = pa.Array.from_buffers(chunk.type, len(every), [None, pa.py_buffer(words_of_every)]).cast(pa.string())
    at = pa.array(unscaled - low, mask=None if valid is None else ~valid)
    return pc.take(spelt, at)


def _with_decimals_as_text(table: pa.Table) -> pa.Table:
    for at, column in enumerate(table.columns):
        if pa.types.is_decimal128(column.type):
            chunks = [_decimal_text(chunk) for chunk in column.chunks]
            if all(pa.types.is_string(chunk.type) for chunk in chunks):
                table = table.set_column(at, table.field(at).name, pa.chunked_array(chunks, pa.string()))
    return table


def write_csv(table: pa.Table, path: Path | BinaryIO, *, header: bool = True) -> None:
    """Write a result table: no quotes unless a value contains a comma, quote or line break.
    Decided before writing, so that nothing (a header) is written twice. Without `header`, the
    lines of a part of the table (the parts written one after another make the whole file)."""
    if needs_quotes(table):
        _as_text(table).to_pandas().to_csv(path, index=False, header=header, lineterminator="\n", na_rep="")
        return
    options = pacsv.WriteOptions(include_header=header, quoting_style="none", quoting_header="none")
    pacsv.write_csv(_with_decimals_as_text(table), path, options)


def csv_body(table: pa.Table) -> bytes:
    """A part of a result table as CSV lines without the header."""
    buffer = io.BytesIO()
    write_csv(table, buffer, header=False)
    return buffer.getvalue()


def csv_header(kind: str) -> bytes:
    """The header line of household_results.csv (`households`) or village_results.csv (`villages`)."""
    columns = HOUSEHOLD_RESULT_COLUMNS if kind == "households" else VILLAGE_RESULT_COLUMNS
    return (",".join(columns) + "\n").encode()


def csv_bytes(table: pa.Table) -> bytes:
    """A result table as the CSV bytes that `write_results` would write."""
    buffer = io.BytesIO()
    write_csv(table, buffer)
    return buffer.getvalue()


def write_results(household_results: pa.Table, village_results: pa.Table, folder: Path) -> None:
    """Write household_results.csv and village_results.csv into `folder` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(household_results, folder / OUTPUTS[0])
    write_csv(village_results, folder / OUTPUTS[1])
