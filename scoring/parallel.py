"""The fast path of `python -m scoring score`: a period scored county by county, in parallel, with
its results streamed to the output files.

The rules never cross a village (a village's ranking, awards and quotas; a group's peer reviews),
so a period whose Parquet files hold whole counties per row group, in code order, can be scored
one row group at a time in as many processes as the machine has cores. Each worker formats its own
lines of the two result files; the parent appends them in row-group order as they arrive, so it
never holds the province. The bytes written are those of scoring the whole period at once.

The fast path is taken when it is safe to decide from the files' metadata alone:
- every input table is Parquet, and households, reviews and quotas (when present) have the same
  number of row groups, more than one;
- the households' row groups carry min/max statistics of household_code and village_code, and the
  ranges ascend without overlapping, so no household and no village spans two row groups and the
  concatenated results are in code order.
A review or quota stored in another county's row group is not found there and is reported by the
engine as a problem; any problem sends the period back to the whole-period path, which reports the
problems of the whole files exactly as before (and writes nothing).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import itertools
import os
import resource
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
import pyarrow.parquet as pq

from scoring.arith import text_array
from scoring.engine import score_tables
from scoring.io import OUTPUTS, TABLES, InputFolder, csv_body, csv_header, read_input
from scoring.problems import InvalidInput
from scoring.rubric import Rubric, Settings

SPLIT_TABLES = ("households", "reviews", "quotas")


@dataclass(frozen=True)
class Split:
    """The row groups of an input folder that can be scored one at a time."""

    folder: Path
    groups: int
    tables: tuple[str, ...]  # households, reviews and quotas when present


@dataclass(frozen=True)
class Part:
    """One row group's result lines (CSV without header) and its worker's peak memory."""

    households: bytes
    villages: bytes
    worker: int  # process id
    peak_rss_kib: int


def _ascending_disjoint(ranges: list[tuple[object, object]]) -> bool:
    return all(str(prev[1]) < str(nxt[0]) for prev, nxt in itertools.pairwise(ranges))


def _column_ranges(metadata: pq.FileMetaData, column: str) -> list[tuple[object, object]] | None:
    index = metadata.schema.names.index(column) if column in metadata.schema.names else -1
    if index < 0:
        return None
    ranges = []
    for group in range(metadata.num_row_groups):
        stats = metadata.row_group(group).column(index).statistics
        if stats is None or not stats.has_min_max or metadata.row_group(group).num_rows == 0:
            return None
        ranges.append((stats.min, stats.max))
    return ranges


def plan_split(folder: Path) -> Split | None:
    """The county-by-county split of `folder`, or None when the period must be scored in one piece."""
    tables = []
    counts = set()
    for name in SPLIT_TABLES:
        parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
        if parquet.is_file():
            tables.append(name)
            counts.add(pq.ParquetFile(parquet).metadata.num_row_groups)
        elif csv.is_file() or name != "quotas":
            return None  # CSV input, or a required table missing: the whole-period path says what is wrong
    if len(counts) != 1 or (groups := counts.pop()) < 2:
        return None
    metadata = pq.ParquetFile(folder / "households.parquet").metadata
    for column in ("household_code", "village_code"):
        ranges = _column_ranges(metadata, column)
        if ranges is None or not _ascending_disjoint(ranges):
            return None
    return Split(folder, groups, tuple(tables))


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


# The folder's rubric and settings, set in the parent before the workers fork (not pickled per task).
_shared: InputFolder | None = None


def _score_group(split: Split, group: int) -> Part | InvalidInput:
    assert _shared is not None
    frames = {}
    for name in split.tables:
        path = split.folder / f"{name}.parquet"
        wanted = [c for c in TABLES[name] if c in pq.read_schema(path).names]
        table = pq.ParquetFile(path).read_row_group(group, columns=wanted, use_threads=False)
        # One block per column: the score columns stay Arrow's buffers instead of being copied into
        # one 2-D block, and the table's memory is released as the frame takes it over.
        frames[name] = table.to_pandas(split_blocks=True, self_destruct=True, use_threads=False)
        del table
    try:
        households, villages = score_tables(
            frames["households"], frames["reviews"], frames.get("quotas"), _shared.rubric, _shared.settings
        )
    except InvalidInput as error:
        return error
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return Part(csv_body(households), csv_body(villages), os.getpid(), peak)


def _score_one(args: tuple[Split, int]) -> Part | InvalidInput:
    return _score_group(*args)


def score_parts(split: Split, settings_folder: InputFolder, jobs: int | None = None) -> Iterator[Part | InvalidInput]:
    """Each row group's result, in row-group order, scored in `jobs` processes (default: the CPUs)."""
    global _shared
    _shared = settings_folder
    workers = max(1, min(jobs or os.cpu_count() or 1, split.groups))
    with get_context("fork").Pool(workers, initializer=_start_worker) as pool:
        yield from pool.imap(_score_one, [(split, g) for g in range(split.groups)], chunksize=1)


@dataclass(frozen=True)
class Streamed:
    """What a split run did: the row groups written and the workers' peak memory."""

    groups: int
    workers: int
    largest_worker_kib: int
    sum_of_worker_peaks_kib: int


def score_folder_split(split: Split, output: Path, jobs: int | None = None) -> Streamed | None:
    """Score `split` into `output`, streaming; None (and nothing written) if any row group has a
    problem, so that the caller scores the whole period and reports its problems."""
    rubric_and_settings = read_input_light(split.folder)
    created = not output.exists()
    output.mkdir(parents=True, exist_ok=True)
    partial = [output / f"{name}.partial" for name in OUTPUTS]
    peaks: dict[int, int] = {}
    written = 0
    complete = False
    try:
        with partial[0].open("wb") as households_out, partial[1].open("wb") as villages_out:
            households_out.write(csv_header("households"))
            villages_out.write(csv_header("villages"))
            for part in score_parts(split, rubric_and_settings, jobs):
                if isinstance(part, InvalidInput):
                    return None  # the whole-period path reports the problems
                households_out.write(part.households)
                villages_out.write(part.villages)
                peaks[part.worker] = max(peaks.get(part.worker, 0), part.peak_rss_kib)
                written += 1
        for done, name in zip(partial, OUTPUTS, strict=True):
            done.replace(output / name)
        complete = True
    finally:
        for leftover in partial:
            with suppress(FileNotFoundError):
                leftover.unlink()
        if created and not complete:
            output.rmdir()  # nothing written: as the whole-period path leaves it
    return Streamed(written, len(peaks), max(peaks.values(), default=0), sum(peaks.values()))


def read_input_light(folder: Path) -> InputFolder:
    """The folder's rubric and settings (the big tables are read by the workers, a row group each)."""
    return read_input(folder, only=("rubric",))


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
