"""Validation problems: what is wrong, where, in words a village clerk can act on.

Every check of the engine collects `Problem`s instead of stopping at the first one; a caller gets
all of them at once in one `InvalidInput` exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One invalid cell (or a missing column, or a whole-table problem).

    `row` is the 1-based data row (the first row under the header is 1); 0 means the header or
    the table as a whole (a missing column, a bad setting).
    """

    file: str
    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.value}: {self.reason}"


class InvalidInput(ValueError):
    """The input tables break the rules; `problems` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        first = str(self.problems[0]) if self.problems else "no problems"
        super().__init__(f"{len(self.problems)} problem(s) in the input; first: {first}")
