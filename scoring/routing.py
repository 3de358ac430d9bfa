"""The routing step of the fast path (`scoring.parallel`, step 2): a worker reads one slice of an
input table (a run of Parquet row groups, some of the columns of a large row group, or a byte range
of a CSV file), turns review scores into integer tenths (any bad score stops the fast path), and
appends each row to its piece's Arrow IPC spill file, found from its household code.

When the household codes are ASCII digits of one width (`Split.width`), the reviews' codes are
handed to the pieces as their int64 numbers and their kinds as positions in KINDS
(`validate_inputs`'s `code_width`): gathering and writing text cost more than numbers, and each
piece cast the codes to numbers again to look them up. A CSV range of such reviews is then read by
the compiled `plain_csv.read_reviews`, which gives those numbers directly, unless some row is not
plain: then Arrow reads the range as before."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from scoring.arith import plain_tenths, score_column, text_array
from scoring.io import csv_header_names
from scoring.plain_csv import read_reviews
from scoring.rubric import CRITERIA, Rubric
from scoring.validate import digit_keys
from scoring.vocabulary import KIND_NAMES

if TYPE_CHECKING:
    from scoring.parallel import Source, Split

BATCH_ROWS = 262_144  # rows read at a time from a large row group
_SPELLINGS = pa.dictionary(pa.int32(), pa.binary())  # UTF-8 checked on the few spellings only
_KIND_NAMES = pa.array(list(KIND_NAMES), type=pa.string())
_Plain = tuple[tuple[int, ...], int]  # `plain_csv.read_reviews`'s score maxima and code width
_WAIT = 0.002  # seconds between looks for the first column part's piece numbers


def codes(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Codes as `text_array` gives them (missing → empty), without pandas when they are text."""
    if isinstance(column, pa.ChunkedArray):
        column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return pc.fill_null(column, "") if column.null_count else column
    return text_array(pa.chunked_array([column]).to_pandas())


def _csv_range(source: Source, keyed: bool, plain: _Plain | None) -> Iterator[tuple[pa.Table, bool]]:
    """The rows of a CSV file whose first byte lies in the source's byte range (header skipped); with
    `plain` (the reviews, keyed) read by `plain_csv` when every row is plain, already converted."""
    assert source.byte_range is not None
    start, end = source.byte_range
    names = csv_header_names(source.path)
    with source.path.open("rb") as handle:
        handle.seek(max(start - 1, 0))
        handle.readline()  # the header, or the end of the line before the range
        begin = handle.tell()
        if begin >= end:
            return
        data = handle.read(end - begin)
        if not data.endswith(b"\n"):
            data += handle.readline()  # the rest of the last line that starts in the range
    if plain is not None:
        converted = read_reviews(data, names, source.columns, *plain)
        if converted is not None:
            yield converted, True
            return
    yield arrow_csv(data, names, source.columns, keyed), False


def arrow_csv(data: bytes, names: list[str], columns: tuple[str, ...], keyed: bool) -> pa.Table:
    """Whole CSV lines of a file whose header is `names`, read by Arrow: the `columns`, scores (and
    with `keyed` kinds) as dictionaries, the rest as text, for `_as_tenths` and `_as_numbers`."""
    # Scores as dictionaries: a column holds a few dozen spellings ("6", "6.5"), read once each
    # by `_as_tenths` (0.04 s for the ten columns of a 32 MiB range, against 0.28 s as text;
    # parsing takes 0.05 s more). Their spellings are parsed as bytes and checked as UTF-8 once
    # each when read (`_spellings`): 175-187 ms for a 32 MiB range against 213-253 ms as text.
    types = {c: _SPELLINGS if c in CRITERIA or (keyed and c == "kind") else pa.string() for c in columns}
    options = pacsv.ConvertOptions(
        include_columns=list(columns),
        column_types=types,
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
    )
    read = pacsv.ReadOptions(column_names=names, use_threads=False)
    return pacsv.read_csv(pa.py_buffer(data), read_options=read, convert_options=options)


def _slice_tables(source: Source, keyed: bool, plain: _Plain | None) -> Iterator[tuple[pa.Table, bool]]:
    """The slice's rows, a table at a time, and whether they are converted already (`_csv_range`);
    with `keyed` the reviews' kinds as dictionaries (a few spellings, read once each:
    `_kind_numbers`)."""
    if source.byte_range is not None:
        yield from _csv_range(source, keyed, plain)
        return
    # Pages read through a 1 MiB buffer, not a column chunk at once: a row group of 9.6M reviews
    # held its columns' compressed chunks whole (the routing worker's peak 420-433 MiB against
    # 297-304 MiB buffered; the same CPU time).
    dictionaries = ["kind"] if keyed and "kind" in source.columns else None
    parquet = pq.ParquetFile(source.path, pre_buffer=False, buffer_size=1 << 20, read_dictionary=dictionaries)
    # Batches end at row-group boundaries: small row groups are gathered into tables of BATCH_ROWS
    # rows or more (row groups of 10,000 rows gave 960 tables, each converted, grouped by piece and
    # written in ten small batches on its own).
    gathered: list[pa.RecordBatch] = []
    rows = 0
    for batch in parquet.iter_batches(
        batch_size=BATCH_ROWS, row_groups=list(source.row_groups), columns=list(source.columns), use_threads=False
    ):
        gathered.append(batch)
        rows += batch.num_rows
        if rows >= BATCH_ROWS:
            yield pa.Table.from_batches(gathered), False
            gathered, rows = [], 0
    if gathered:
        yield pa.Table.from_batches(gathered), False


def _spellings(chunk: pa.DictionaryArray) -> pa.Array:
    """A dictionary chunk's spellings as text (a byte sequence that is not UTF-8 raises ArrowInvalid,
    as the parser does for a text column: the fast path stops and the whole period reports it)."""
    return chunk.dictionary if pa.types.is_string(chunk.dictionary.type) else chunk.dictionary.cast(pa.string())


def _as_text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dictionary-encoded text as plain text, for the exact path."""
    return pa.chunked_array([pc.take(_spellings(chunk), chunk.indices) for chunk in values.chunks], pa.string())


def _dictionary_tenths(values: pa.ChunkedArray, max_tenths: int) -> npt.NDArray[np.int16] | None:
    """`plain_tenths` of text read as dictionaries: each chunk's distinct spellings read once and
    looked up by index; None when some spelling is not plain (the exact path reads the text)."""
    parts = []
    known: dict[str, int] = {}  # the 1 MiB chunks share their spellings, each in its own order
    for chunk in values.chunks:
        if chunk.null_count:
            return None
        spellings = _spellings(chunk).to_pylist()
        new = [text for text in spellings if text not in known]
        if new:
            tenths = plain_tenths(pa.array(new, type=pa.string()), max_tenths)
            if tenths is None:
                return None
            known.update(zip(new, tenths.tolist(), strict=True))
        table = np.array([known[text] for text in spellings], dtype=np.int16)
        parts.append(table[chunk.indices.to_numpy()])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


def _as_tenths(table: pa.Table, rubric: Rubric) -> pa.Table | None:
    """The table with its score columns as int16 tenths, checked as the engine checks them;
    None if any score is bad (the whole period reports it)."""
    for column, max_tenths in zip(CRITERIA, rubric.max_tenths, strict=True):
        if column not in table.column_names:
            continue
        values = table.column(column)
        tenths: npt.NDArray[np.integer[Any]] | None
        if pa.types.is_dictionary(values.type):
            tenths = _dictionary_tenths(values, max_tenths)
            values = _as_text(values) if tenths is None else values
        else:
            tenths = plain_tenths(values, max_tenths) if pa.types.is_string(values.type) else None
        if tenths is None:  # Parquet's numbers, or text the exact path reads
            scores = score_column(values.to_pandas(), max_tenths)
            if len(scores.bad):
                return None
            tenths = scores.tenths
        at = table.column_names.index(column)
        table = table.set_column(at, column, pa.array(tenths.astype(np.int16)))
    return table


def _kind_numbers(column: pa.ChunkedArray) -> npt.NDArray[np.int8]:
    """Each review's kind as its position in KINDS (−1: no kind), each spelling looked up once."""
    parts = []
    for chunk in column.chunks:
        encoded = chunk if pa.types.is_dictionary(chunk.type) else pc.dictionary_encode(chunk)
        spellings = _spellings(encoded)
        found = pc.fill_null(pc.index_in(spellings, value_set=_KIND_NAMES), -1).to_numpy(zero_copy_only=False)
        number = np.r_[np.where(found >= 0, found % 3, -1), -1].astype(np.int8)  # the last: missing
        indices = pc.fill_null(encoded.indices, len(spellings)) if encoded.null_count else encoded.indices
        parts.append(number[indices.to_numpy(zero_copy_only=False)])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int8)


def _as_numbers(table: pa.Table, keys: npt.NDArray[np.int64] | None, width: int) -> pa.Table:
    """The reviews' codes as int64 numbers (−1: not `width` ASCII digits) and kinds as positions in
    KINDS, those of the columns the table has (`validate_inputs`'s `code_width`)."""
    for name in ("household_code", "kind", "reviewer"):
        if name not in table.column_names:
            continue
        if name == "kind":
            numbers: npt.NDArray[np.integer[Any]] = _kind_numbers(table.column(name))
        elif name == "household_code" and keys is not None:
            numbers = keys
        else:
            numbers = digit_keys(codes(table.column(name)), width)
        table = table.set_column(table.column_names.index(name), name, pa.array(numbers))
    return table


def _share(source: Source, spill: Path, row: int, piece: npt.NDArray[np.int16]) -> None:
    """Leave the piece numbers of the rows from `row` on for the slice's other column parts."""
    path = source.shared_pieces(spill, row)
    partial = path.with_suffix(".partial")
    piece.tofile(partial)
    os.replace(partial, path)  # whole or not there


def _shared(source: Source, spill: Path, row: int, rows: int) -> npt.NDArray[np.int16] | None:
    """The first column part's piece numbers of rows `row`…`row + rows − 1`, once it has left them;
    None if it stopped (or read its rows in other batches, which it does not)."""
    path, stopped = source.shared_pieces(spill, row), source.shared_pieces(spill, -1)
    while not path.exists():
        if stopped.exists():
            return None
        time.sleep(_WAIT)
    piece = np.fromfile(path, dtype=np.int16)
    return piece if len(piece) == rows else None


def _write_pieces(
    split: Split,
    source: Source,
    spill: Path,
    writers: dict[int, ipc.RecordBatchFileWriter],
    table: pa.Table,
    piece: npt.NDArray[np.int16],
) -> None:
    """Append the table's rows to their pieces' spill files (opened on a piece's first rows)."""
    # Grouped by piece, each piece's rows in the order read: the engine finds a review's household
    # by hashing codes, which does not need code order (sorting the rows by code here cost 0.9 s of
    # CPU time more for the 2M quarter than the pieces then saved). Gathered from one chunk per
    # column (21 ms for 262,144 review rows, against 35 ms from the table's columns).
    order, counts = split.by_piece(piece)
    columns = [column.combine_chunks() for column in table.columns]
    ordered = pa.record_batch(columns, names=table.column_names).take(pa.array(order))
    at = 0
    for p in np.flatnonzero(counts).tolist():
        if p not in writers:
            writers[p] = ipc.new_file(source.spill(spill, p), ordered.schema)
        writers[p].write_batch(ordered.slice(at, int(counts[p])))
        at += int(counts[p])


def route(source: Source, split: Split, rubric: Rubric, spill: Path) -> bool:
    """Route one source's rows into its pieces' spill files (in `spill`); False if the fast path
    must stop.

    A slice's first column part finds each row's piece from its household code and, when the slice
    has other parts, leaves the piece numbers in `spill` for them; the other parts wait for them
    batch by batch while they read their own columns. The pool hands out the tasks in order, so a
    first part is always running (or done) when another part of its slice waits for it."""
    writers: dict[int, ipc.RecordBatchFileWriter] = {}
    keyed = source.table == "reviews" and split.width > 0
    plain = (rubric.max_tenths, split.width) if keyed and source.part == 0 and source.parts == 1 else None
    row, done = 0, False
    try:
        for read, converted in _slice_tables(source, keyed, plain):
            if converted:
                table = read
                keys = table.column("household_code").to_numpy()
                piece = split.pieces_of_keys(keys)
                row += table.num_rows
                _write_pieces(split, source, spill, writers, table, piece)
                continue
            table = _as_tenths(read, rubric) if source.table == "reviews" else read
            if table is None:
                return False
            keys = None
            if source.part == 0:
                piece, keys = split.pieces_and_keys(codes(table.column("household_code")))
                if source.parts > 1:
                    _share(source, spill, row, piece)
            else:
                shared = _shared(source, spill, row, table.num_rows)
                if shared is None:
                    return False
                piece = shared
            row += table.num_rows
            if keyed:
                table = _as_numbers(table, keys, split.width)
            _write_pieces(split, source, spill, writers, table, piece)
        done = True
    except (OSError, UnicodeDecodeError, ValueError, pa.ArrowException):
        return False  # unreadable: the whole period says so
    finally:
        for writer in writers.values():
            writer.close()
        if not done and source.part == 0 and source.parts > 1:
            source.shared_pieces(spill, -1).touch()  # the other parts stop waiting
    return True
