"""The fast path of `python -m scoring score`: a period cut into pieces of whole villages, each
piece scored in one of J processes, and the results streamed to the output files.

The rules never cross a village (a village's ranking, awards and quotas; a group's peer reviews),
so a period can be scored a piece at a time when every piece holds whole villages with their
reviews and quotas. The cut is found from the data, whatever the layout of the files: rows in any
order, row groups of any size, Parquet or the CSV form of INTERCHANGE.md §1.

1. Plan (parent): read the households' `household_code` and `village_code`; per village the
   smallest and largest household code (an Arrow hash aggregation); villages whose code ranges
   overlap are merged, and the pieces are ranges of household codes cut between merged ranges,
   about PIECE_HOUSEHOLDS households each and at least two per process. Codes that are all ASCII
   digits of one width are compared as int64 numbers (the same order as the text), others as text.
2. Route (workers, in parallel; `scoring.routing`): each task reads a slice of a table (a run of row groups, some of
   the columns of a large row group, or a byte range of a CSV file), finds each row's piece from
   its household code by a search among the pieces' first codes, turns review scores into integer
   tenths (any bad score stops the fast path), and appends the rows, grouped by piece in their own
   order, to one Arrow IPC file per piece in a temporary folder.
3. Score (workers): each piece's files are read (memory mapped) and scored with `score_tables`;
   the worker formats its household lines, and the parent appends them in piece order, which is
   household code order. The villages (a few thousand rows) are gathered and written, sorted by
   code, at the end.

A piece finds exactly the problems the whole period has in its villages: a household code is in one
piece only, so a repeated code meets its twin there; a review goes with the code it names, so one
naming no household is unknown in its piece too; a peer reviewer of another piece is in another
village, which the whole period refuses as well. Quotas are small: the parent reads them and gives
each piece its villages' rows. Any problem in any piece, a quota of an unknown village, an
unreadable slice, or a household line that needs CSV quoting sends the period back to the
whole-period path, which reports problems exactly as before and writes nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import math
import os
import resource
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from scoring.arith import text_array
from scoring.engine import coerce_rubric, coerce_settings, score_tables
from scoring.io import (
    OUTPUTS,
    TABLES,
    csv_body,
    csv_header,
    csv_header_names,
    find_table,
    needs_quotes,
    read_input,
    read_table,
    write_csv,
)
from scoring.problems import InvalidInput
from scoring.routing import codes as _codes
from scoring.routing import route
from scoring.rubric import Rubric, Settings
from scoring.validate import digit_keys, digit_width

PIECE_HOUSEHOLDS = 200_000  # about a county: the size each worker scores fastest
MIN_HOUSEHOLDS = 50_000  # below this one process is as fast as the fork, the routing and the gathering
ROUTE_TASKS = 6  # runs of row groups routed per process (at most)
CSV_BLOCK = 32 << 20  # bytes of a CSV file routed by one task (at least)
SPLIT_TABLES = ("households", "reviews")
SCAN_PIECES = 32  # pieces up to which a code's piece is found by comparisons, not a binary search


@dataclass(frozen=True)
class Source:
    """A slice of one input table that one task routes: some row groups (and some of the columns)
    of a Parquet file, or a byte range of a CSV file."""

    table: str
    path: Path
    columns: tuple[str, ...]
    row_groups: tuple[int, ...] = ()
    byte_range: tuple[int, int] | None = None
    slice_id: int = 0  # the slices of one table; column parts of one slice share it
    part: int = 0
    parts: int = 1  # column parts of the slice: the first finds each row's piece for all of them

    def spill(self, folder: Path, piece: int) -> Path:
        return folder / f"{self.table}-{self.slice_id}-{self.part}-{piece}.arrow"

    def shared_pieces(self, folder: Path, row: int) -> Path:
        """Where the first column part leaves the piece numbers of its rows from `row` on."""
        return folder / f"{self.table}-{self.slice_id}-pieces-{row}.int16"


@dataclass(frozen=True)
class Split:
    """How an input folder is cut: pieces of household codes, the slices to route, each piece's quotas."""

    folder: Path
    pieces: int
    width: int  # codes are this many ASCII digits (compared as int64), or 0: compared as text
    first_keys: npt.NDArray[np.int64]  # width > 0: the first code of pieces 1…P−1, as numbers
    first_codes: tuple[str, ...]  # width == 0: the same as text
    sources: tuple[Source, ...]
    quotas: tuple[pd.DataFrame | None, ...]  # per piece (None: no quotas table)
    households: int

    @property
    def groups(self) -> int:
        return self.pieces

    def by_piece(self, piece: npt.NDArray[np.int16]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Positions of the rows grouped by piece (the rows' own order kept within a piece), and the
        number of rows in each piece. A counting sort of int16 piece numbers: 1.7 ms for 262,144
        rows, where a sort by code took 21 ms (the engine does not need its rows in code order)."""
        return np.argsort(piece, kind="stable"), np.bincount(piece, minlength=self.pieces)

    def pieces_and_keys(self, codes: pa.Array) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int64] | None]:
        """Each household code's piece as int16 (a code of no household goes to some piece, which reports
        it), and the codes' numbers when they are compared as such."""
        if self.width:
            keys = digit_keys(codes, self.width)
            return self.pieces_of_keys(keys), keys
        piece = np.zeros(len(codes), dtype=np.int16)
        for first in self.first_codes:
            piece += pc.greater_equal(codes, first).to_numpy(zero_copy_only=False)
        return piece, None

    def pieces_of_keys(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int16]:
        """Each code number's piece: how many pieces' first codes it reaches. One comparison a piece
        while there are few (0.6 ms for 262,144 codes and ten pieces, against 4.5 ms for a binary
        search, which mispredicts a branch at every step); a binary search beyond."""
        if len(self.first_keys) > SCAN_PIECES:
            return np.searchsorted(self.first_keys, keys, side="right").astype(np.int16)
        piece = np.zeros(len(keys), dtype=np.int16)
        for first in self.first_keys.tolist():
            piece += keys >= first
        return piece


@dataclass(frozen=True)
class Part:
    """One piece's household lines (CSV without header), its villages, and its worker's peak memory."""

    households: bytes
    villages: pa.Table
    worker: int  # process id
    peak_rss_kib: int


def _present_columns(path: Path, name: str) -> list[str] | None:
    """The columns of TABLES[name] that the file holds once each, or None if one is missing or twice."""
    try:
        names = pq.read_schema(path).names if path.suffix == ".parquet" else csv_header_names(path)
    except (OSError, UnicodeDecodeError, pa.ArrowException):
        return None
    wanted = TABLES[name]
    if any(names.count(c) != 1 for c in wanted if name != "quotas"):
        return None
    return [c for c in wanted if c in names]


def _slices(name: str, path: Path, columns: list[str], workers: int) -> list[Source]:
    """The tasks that route a table: runs of row groups, a large row group's columns in parts, or
    byte ranges of a CSV file."""
    if path.suffix != ".parquet":
        size = path.stat().st_size
        count = max(1, min(max(2 * workers, size // CSV_BLOCK), size // (1 << 16) or 1))
        bounds = [size * k // count for k in range(count + 1)]
        return [
            Source(name, path, tuple(columns), byte_range=(bounds[k], bounds[k + 1]), slice_id=k) for k in range(count)
        ]
    metadata = pq.ParquetFile(path).metadata
    groups = metadata.num_row_groups
    if groups >= workers:
        rows = np.cumsum([metadata.row_group(g).num_rows for g in range(groups)])
        tasks = min(groups, ROUTE_TASKS * workers)  # small tasks: the workers finish routing together
        ends = np.unique(np.searchsorted(rows, rows[-1] * np.arange(1, tasks + 1) / tasks, side="left"))
        starts = np.r_[0, ends[:-1] + 1]
        return [
            Source(name, path, tuple(columns), row_groups=tuple(range(s, e + 1)), slice_id=k)
            for k, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True))
        ]
    # Fewer row groups than processes: each row group's columns in parts. The first part reads the
    # household code and leaves its rows' piece numbers for the others (`routing.route`), which
    # read their own columns meanwhile: reading and converting the codes in every part cost about
    # 0.5 s of CPU time a part for 9.6M reviews.
    others = [c for c in columns if c != "household_code"]
    parts = max(1, min(workers, len(others)))
    chunks = [others[len(others) * k // parts : len(others) * (k + 1) // parts] for k in range(parts)]
    return [
        Source(name, path, (*(("household_code",) if k == 0 else ()), *chunk), (g,), None, g, k, parts)
        for g in range(groups)
        for k, chunk in enumerate(chunks)
    ]


def _household_keys(folder: Path, path: Path) -> tuple[pa.Array, pa.Array]:
    wanted = ["household_code", "village_code"]
    if path.suffix == ".parquet":
        table = pq.read_table(path, columns=wanted)
    else:
        options = pacsv.ConvertOptions(
            include_columns=wanted,
            column_types=dict.fromkeys(wanted, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
        )
        table = pacsv.read_csv(path, convert_options=options)
    return _codes(table.column("household_code")), _codes(table.column("village_code"))


def _cut(
    codes: pa.Array, villages: pa.Array, pieces: int
) -> tuple[int, npt.NDArray[np.int64], tuple[str, ...], pa.Array, npt.NDArray[np.int32]] | None:
    """The pieces' first codes (as numbers or text), the villages and each one's piece; None when the
    villages' code ranges leave fewer than two pieces."""
    width = digit_width(codes)
    low: pa.Array | None = None
    if width:  # per village in NumPy: 0.1 s for 2M households, against 0.35 s for Arrow's group_by
        encoded = pc.dictionary_encode(villages)
        village_codes = encoded.dictionary
        village_of = encoded.indices.to_numpy()
        keys = digit_keys(codes, width)
        low_n = np.full(len(village_codes), np.iinfo(np.int64).max, dtype=np.int64)
        high_n = np.full(len(village_codes), -1, dtype=np.int64)
        np.minimum.at(low_n, village_of, keys)
        np.maximum.at(high_n, village_of, keys)
        count = np.bincount(village_of, minlength=len(village_codes))
    else:  # text: the ranks of the codes among all the smallest and largest ones
        grouped = (
            pa.table({"village": villages, "key": codes})
            .group_by("village")
            .aggregate([("key", "min"), ("key", "max"), ("key", "count")])
        )
        low, high = grouped["key_min"].combine_chunks(), grouped["key_max"].combine_chunks()
        ranks = pc.rank(pa.concat_arrays([low, high]), sort_keys="ascending", tiebreaker="dense").to_numpy()
        low_n, high_n = ranks[: len(low)], ranks[len(low) :]
        count = grouped["key_count"].to_numpy()
        village_codes = grouped["village"].combine_chunks()
    order = np.argsort(low_n, kind="stable")
    low_s, high_s, count_s = low_n[order], high_n[order], count[order]
    reach = np.maximum.accumulate(high_s)
    starts = np.flatnonzero(np.r_[False, low_s[1:] > reach[:-1]])  # a merged range begins here
    before = np.cumsum(count_s) - count_s
    total = int(count_s.sum())
    shares = (np.arange(1, pieces) * total) // pieces
    if len(starts) == 0:
        return None  # one range of codes: nothing to cut
    cuts = np.unique(starts[np.minimum(np.searchsorted(before[starts], shares), len(starts) - 1)])
    piece_sorted = np.zeros(len(order), dtype=np.int32)
    piece_sorted[cuts] = 1
    piece_of_village = np.empty(len(order), dtype=np.int32)
    piece_of_village[order] = np.cumsum(piece_sorted)
    if low is None:
        return width, low_n[order[cuts]], (), village_codes, piece_of_village
    first = pc.take(low, pa.array(order[cuts]))
    return 0, np.zeros(0, np.int64), tuple(first.to_pylist()), village_codes, piece_of_village


def plan_split(folder: Path, jobs: int | None = None) -> Split | None:
    """The piece-by-piece plan of `folder`, or None when the period must be scored in one piece
    (small, in one village range, a required table or column missing, or a quota of no village)."""
    workers = max(1, jobs or os.cpu_count() or 1)
    paths = {name: find_table(folder, name) for name in (*SPLIT_TABLES, "quotas")}
    columns: dict[str, list[str]] = {}
    for name in SPLIT_TABLES:
        path = paths[name]
        present = None if path is None else _present_columns(path, name)
        if path is None or present is None or len(present) != len(TABLES[name]):
            return None  # the whole-period path says what is wrong
        columns[name] = present
    households_path = paths["households"]
    assert households_path is not None
    try:
        codes, villages = _household_keys(folder, households_path)
        if len(codes) < MIN_HOUSEHOLDS:
            return None
        pieces = max(2 * workers, math.ceil(len(codes) / PIECE_HOUSEHOLDS))
        cut = _cut(codes, villages, pieces)
        if cut is None:
            return None
        width, first_keys, first_codes, village_codes, piece_of_village = cut
        households = len(codes)
        del codes, villages
        # The workers fork from this process, and each counts the pages it keeps: give back what
        # the codes took (about 10 MiB for 2M households, 30 MiB summed over parent and workers).
        pa.default_memory_pool().release_unused()
        quotas: tuple[pd.DataFrame | None, ...] = (None,) * (len(first_keys) + len(first_codes) + 1)
        quotas_path = paths["quotas"]
        if quotas_path is not None:
            frame = read_table(quotas_path, TABLES["quotas"])
            at = pc.index_in(text_array(frame["village_code"]), value_set=village_codes)
            if at.null_count:
                return None  # a quota of no village: the whole period reports it
            quota_piece = piece_of_village[at.to_numpy(zero_copy_only=False)]
            quotas = tuple(frame.iloc[np.flatnonzero(quota_piece == p)] for p in range(len(quotas)))
    except (KeyError, OSError, UnicodeDecodeError, pa.ArrowException):
        return None
    sources = [s for name in ("reviews", "households") for s in _slices(name, paths[name], columns[name], workers)]  # type: ignore[arg-type]
    return Split(folder, len(quotas), width, first_keys, first_codes, tuple(sources), quotas, households)


def _start_worker() -> None:
    """Pool initializer: one thread per worker, and a C heap that keeps what it frees.

    There is one worker per CPU already, so Arrow's own thread pool would only make the workers
    compete for the same CPUs. glibc returns each large freed block to the kernel at once (mmap
    above 128 KiB-32 MiB, trimming the heap top above twice that), so every county faulted its
    arrays' pages in afresh: about 13,000 page faults and 0.1-0.35 s of system time a county,
    1.2 s for the first. Raising the two thresholds keeps the pages in the process for the next
    county; the peak is that of the largest county either way. Other C libraries: nothing to do.

    NumPy asks the kernel for transparent huge pages for every array of 4 MiB or more; when the
    kernel compacts memory to find them, a worker's first county took 0.7-1.3 s of system time
    instead of 0.1 s. Without the hint: 4.6-5.7 s against 4.8-6.4 s for the 2M quarter, four runs
    each, interleaved (NUMPY_MADVISE_HUGEPAGE=0 or 1 on the command)."""
    pa.set_cpu_count(1)
    # the setting behind NUMPY_MADVISE_HUGEPAGE, which is read only when NumPy is imported
    multiarray = importlib.import_module("numpy._core.multiarray")
    set_madvise_hugepage = getattr(multiarray, "_set_madvise_hugepage", None)
    if set_madvise_hugepage is not None:
        set_madvise_hugepage(False)
    with suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
        libc.mallopt(m_mmap_threshold, 512 * 1024 * 1024)
        libc.mallopt(m_trim_threshold, 1024 * 1024 * 1024)


@dataclass(frozen=True)
class _Job:
    """What the workers share, set in the parent before they fork (not pickled per task)."""

    split: Split
    rubric: Rubric
    settings: Settings
    spill: Path


_job: _Job | None = None


def _route(index: int) -> bool:
    """Route one source's rows into its pieces' spill files; False if the fast path must stop."""
    assert _job is not None
    return route(_job.split.sources[index], _job.split, _job.rubric, _job.spill)


def _read_piece(table: str, piece: int) -> pa.Table | None:
    """A piece's rows of one table from its spill files (column parts put side by side)."""
    assert _job is not None
    slices: dict[int, pa.Table] = {}
    for source in _job.split.sources:
        path = source.spill(_job.spill, piece)
        if source.table != table or not path.exists():
            continue
        part = ipc.open_file(pa.memory_map(str(path))).read_all()
        if source.slice_id not in slices:
            slices[source.slice_id] = part
            continue
        joined = slices[source.slice_id]
        for name in part.column_names:
            if name not in joined.column_names:
                joined = joined.append_column(name, part.column(name))
        slices[source.slice_id] = joined
    if not slices:
        return None
    first = next(iter(slices.values()))
    ordered = [t.select(first.column_names) for t in slices.values()]
    return pa.concat_tables(ordered)


def _frame(table: pa.Table | None, columns: tuple[str, ...]) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    frame: pd.DataFrame = table.to_pandas(split_blocks=True, self_destruct=True, use_threads=False)
    return frame


def _score_piece_files(piece: int) -> Part | None:
    """Score one piece from its spill files; None on any problem or a line that needs quoting."""
    assert _job is not None
    households = _frame(_read_piece("households", piece), TABLES["households"])
    reviews = _frame(_read_piece("reviews", piece), TABLES["reviews"])
    split = _job.split
    try:
        household_results, village_results = score_tables(
            households,
            reviews,
            split.quotas[piece],
            _job.rubric,
            _job.settings,
            scores_in_tenths=True,
            code_width=split.width,  # routing hands the reviews' codes and kinds over as numbers
        )
    except InvalidInput:
        return None
    if needs_quotes(household_results):
        return None  # the whole file decides its quoting at once: scored in one piece
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return Part(csv_body(household_results), village_results, os.getpid(), peak)


def score_parts(split: Split, rubric: Rubric, settings: Settings, jobs: int | None = None) -> Iterator[Part | None]:
    """Route the split's sources, then yield each piece's result in piece order (None: a problem),
    in `jobs` processes (default: the CPUs). The spill folder is removed at the end."""
    global _job
    workers = max(1, min(jobs or os.cpu_count() or 1, max(split.pieces, len(split.sources))))
    spill = Path(tempfile.mkdtemp(prefix="scoring-split-"))
    _job = _Job(split, rubric, settings, spill)
    try:
        with get_context("fork").Pool(workers, initializer=_start_worker) as pool:
            if not all(pool.imap_unordered(_route, range(len(split.sources)), chunksize=1)):
                yield None
                return
            yield from pool.imap(_score_piece_files, range(split.pieces), chunksize=1)
    finally:
        _job = None
        shutil.rmtree(spill, ignore_errors=True)


@dataclass(frozen=True)
class Streamed:
    """What a split run did: the pieces written and the workers' peak memory."""

    groups: int
    workers: int
    largest_worker_kib: int
    sum_of_worker_peaks_kib: int


def score_folder_split(split: Split, output: Path, jobs: int | None = None) -> Streamed | None:
    """Score `split` into `output`, streaming; None (and nothing written) if any piece has a
    problem, so that the caller scores the whole period and reports its problems."""
    try:
        folder = read_input(split.folder, only=("rubric",))
        rubric, settings = coerce_rubric(folder.rubric), coerce_settings(folder.settings)
    except InvalidInput:
        return None
    created = not output.exists()
    output.mkdir(parents=True, exist_ok=True)
    partial = [output / f"{name}.partial" for name in OUTPUTS]
    peaks: dict[int, int] = {}
    villages: list[pa.Table] = []
    complete = False
    try:
        with partial[0].open("wb") as households_out:
            households_out.write(csv_header("households"))
            for part in score_parts(split, rubric, settings, jobs):
                if part is None:
                    return None  # the whole-period path reports the problems
                households_out.write(part.households)
                villages.append(part.villages)
                peaks[part.worker] = max(peaks.get(part.worker, 0), part.peak_rss_kib)
        every = pa.concat_tables(villages)
        write_csv(every.take(pc.sort_indices(every["village_code"])), partial[1])
        for done, name in zip(partial, OUTPUTS, strict=True):
            done.replace(output / name)
        complete = True
    finally:
        for leftover in partial:
            with suppress(FileNotFoundError):
                leftover.unlink()
        if created and not complete:
            output.rmdir()  # nothing written: as the whole-period path leaves it
    return Streamed(len(villages), len(peaks), max(peaks.values(), default=0), sum(peaks.values()))


# --- score_period on large DataFrames ------------------------------------------------------------

LARGE = 400_000  # households: below this one process is as fast as the fork and the gathering


@dataclass(frozen=True)
class _Frames:
    households: pd.DataFrame
    reviews: pd.DataFrame
    quotas: pd.DataFrame | None
    rubric: Rubric
    settings: Settings
    parts: tuple[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64] | None], ...]


_frames: _Frames | None = None  # set in the parent before the workers fork


def _partition(
    households: pd.DataFrame, reviews: pd.DataFrame, quotas: pd.DataFrame | None, pieces: int
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64] | None]] | None:
    """Row positions of each piece: whole villages, about the same number of households each, with
    every review going with its household and every quota with its village. None when a review or a
    quota names no household or village of the table (the whole period reports it as a problem)."""
    villages = text_array(households["village_code"])
    unique = pc.unique(villages).sort()
    village_of = pc.index_in(villages, value_set=unique).to_numpy(zero_copy_only=False)
    sizes = np.bincount(village_of, minlength=len(unique))
    # Cut the villages (in code order) where the running count passes each share.
    piece_of_village = np.minimum((np.cumsum(sizes) - sizes) * pieces // max(1, len(households)), pieces - 1)
    piece_of_household = piece_of_village[village_of]
    found = pc.index_in(text_array(reviews["household_code"]), value_set=text_array(households["household_code"]))
    review_household = pc.fill_null(found, -1).to_numpy(zero_copy_only=False)
    if (review_household < 0).any():
        return None
    piece_of_review = piece_of_household[review_household]
    piece_of_quota = None
    if quotas is not None:
        at = pc.fill_null(pc.index_in(text_array(quotas["village_code"]), value_set=unique), -1)
        quota_village = at.to_numpy(zero_copy_only=False)
        if (quota_village < 0).any():
            return None
        piece_of_quota = piece_of_village[quota_village]
    return [
        (
            np.flatnonzero(piece_of_household == p),
            np.flatnonzero(piece_of_review == p),
            None if piece_of_quota is None else np.flatnonzero(piece_of_quota == p),
        )
        for p in range(pieces)
    ]


def _score_piece(index: int) -> tuple[pa.Table, pa.Table] | InvalidInput:
    assert _frames is not None
    rows, review_rows, quota_rows = _frames.parts[index]
    quotas = None if _frames.quotas is None or quota_rows is None else _frames.quotas.iloc[quota_rows]
    try:
        return score_tables(
            _frames.households.iloc[rows],
            _frames.reviews.iloc[review_rows],
            quotas,
            _frames.rubric,
            _frames.settings,
        )
    except InvalidInput as error:
        return error


def score_frames_split(
    households: pd.DataFrame,
    reviews: pd.DataFrame,
    quotas: pd.DataFrame | None,
    rubric: Rubric,
    settings: Settings,
    jobs: int | None = None,
) -> tuple[pa.Table, pa.Table] | None:
    """`score_tables` of a large period, whole villages at a time in `jobs` forked processes (default:
    the CPUs); None when the period is small, the machine has one CPU, or a piece finds a problem (the
    caller then scores the whole period, which reports every problem with its row)."""
    global _frames
    workers = jobs or os.cpu_count() or 1
    if workers < 2 or len(households) < LARGE:
        return None
    try:
        parts = _partition(households, reviews, quotas, 2 * workers)
    except (KeyError, pa.ArrowException):
        return None  # a missing column or an unreadable code: the whole period says what is wrong
    if parts is None:
        return None
    _frames = _Frames(households, reviews, quotas, rubric, settings, tuple(parts))
    try:
        with get_context("fork").Pool(workers, initializer=_start_worker) as pool:
            results = pool.map(_score_piece, range(len(parts)), chunksize=1)
    finally:
        _frames = None
    if any(isinstance(r, InvalidInput) for r in results):
        return None
    pieces = [r for r in results if not isinstance(r, InvalidInput)]
    household_results = pa.concat_tables([h for h, _ in pieces])
    village_results = pa.concat_tables([v for _, v in pieces])  # villages are cut in code order
    return household_results.take(pc.sort_indices(household_results["household_code"])), village_results
