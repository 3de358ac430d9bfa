"""Types of the compiled module built from _plain_csv.pyx."""

import numpy as np
import numpy.typing as npt

SKIP: int
CODE: int
KIND: int
REVIEWER: int
SCORE: int
PLAIN: int
NOT_PLAIN: int
FULL: int

def parse(
    buffer: npt.NDArray[np.uint8],
    roles: npt.NDArray[np.int8],
    max_tenths: npt.NDArray[np.int16],
    width: int,
    spellings: npt.NDArray[np.uint8],
    spelling_ends: npt.NDArray[np.int64],
    spelling_kinds: npt.NDArray[np.int8],
    codes: npt.NDArray[np.int64],
    kinds: npt.NDArray[np.int8],
    reviewers: npt.NDArray[np.int64],
    scores: npt.NDArray[np.int16],
) -> tuple[int, int]: ...
