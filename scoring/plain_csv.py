"""A compiled reader of plain CSV reviews (the routing step's CSV form, `scoring.routing`).

Arrow's CSV parser spent about 0.18 s of CPU time on a 33 MiB range of the 2M quarter's reviews, and
turning its text into numbers another 0.09 s: most of the engine's time on the CSV form. This reader
does both in one pass over the bytes, compiled (Cython, scoring/_plain_csv.pyx): each household code and reviewer as its
int64 number (−1: not `width` ASCII digits), each kind as its position in KINDS, each score as int16
tenths, exactly what the Arrow path makes of the same rows.

It reads only what it can read exactly as the Arrow path does. Any row outside that plain shape (a
quote inside a field, a line break inside quotes, a missing or extra field, an unknown kind, a score
not written as `plain_tenths` reads it or above its line's maximum, invalid UTF-8 in a reviewer, a
code with any byte that is not ASCII) makes it answer None, and the caller reads the range with
Arrow, which accepts, converts or reports it as before. So the two paths can only differ in speed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from scoring._plain_csv import CODE, KIND, PLAIN, REVIEWER, SCORE, SKIP, parse
from scoring.rubric import CRITERIA
from scoring.vocabulary import KIND_NAMES, KINDS


def _roles(names: list[str], columns: tuple[str, ...]) -> npt.NDArray[np.int8]:
    known = {"household_code": CODE, "kind": KIND, "reviewer": REVIEWER}
    known.update({name: SCORE + k for k, name in enumerate(CRITERIA)})
    return np.array([known[name] if name in columns else SKIP for name in names], dtype=np.int8)


_ENCODED = [spelling.encode() for spelling in KIND_NAMES]
_SPELLINGS = np.frombuffer(b"".join(_ENCODED), dtype=np.uint8)
_SPELLING_ENDS = np.cumsum([0, *map(len, _ENCODED)], dtype=np.int64)
_SPELLING_KINDS = np.array([KINDS.index(kind) for kind in KIND_NAMES.values()], dtype=np.int8)


def read_reviews(
    data: bytes, names: list[str], columns: tuple[str, ...], max_tenths: tuple[int, ...], width: int
) -> pa.Table | None:
    """The reviews rows in `data` (whole lines of a file whose header is `names`) as the routing
    step's table of `columns`: household_code and reviewer as int64 numbers, kind as int8, scores as
    int16 tenths; None when some row is not plain (the caller reads the range with Arrow)."""
    if not data or len(set(names)) != len(names):
        return None  # Arrow reports an empty range or a name twice
    buffer = np.frombuffer(data, dtype=np.uint8)
    roles = _roles(names, columns)
    capacity = data.count(b"\n") + 1  # a plain row has no line break inside it
    codes = np.empty(capacity, dtype=np.int64)
    kinds = np.empty(capacity, dtype=np.int8)
    reviewers = np.empty(capacity, dtype=np.int64)
    scores = np.empty((len(CRITERIA), capacity), dtype=np.int16)
    limits = np.array(max_tenths, dtype=np.int16)
    answer, rows = parse(
        buffer, roles, limits, width, _SPELLINGS, _SPELLING_ENDS, _SPELLING_KINDS, codes, kinds, reviewers, scores
    )
    if answer != PLAIN:
        return None
    arrays = {"household_code": codes[:rows], "kind": kinds[:rows], "reviewer": reviewers[:rows]}
    arrays.update({name: scores[k, :rows] for k, name in enumerate(CRITERIA)})
    return pa.table({name: pa.array(arrays[name]) for name in columns})
