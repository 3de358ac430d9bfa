"""The sheets' limits, public types and the grid every format is read into."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from hygiene import naming

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
CHILD_SECONDS = 30  # an .xls that calamine cannot read in this time is refused
MAX_DATA_ROWS = 3000
MAX_PROBLEMS = 200
HEADER_SEARCH_ROWS = 10
ZIP_MAX_TOTAL_BYTES = 50 * 1024 * 1024
ZIP_MAX_ENTRIES = 200
ZIP_MAX_RATIO = 100
MAX_SHEET_CELLS = 2_000_000  # rows x columns from A1 to the last used cell; 3,000 rows x 666 columns
# A county administrator's unit sheet or county-wide roster may hold a whole county (INTERCHANGE.md §2.1).
COUNTY_SHEET_LIMITS = {
    "max_bytes": 64 * 1024 * 1024,
    "max_rows": 300_000,
    "zip_bytes": 400 * 1000 * 1000,
    "max_cells": 300_001 * 30,
}

FORMAT_MISMATCH = "格式不符：请上传 .xlsx、.xls 或 .csv（UTF-8 或 GB18030 编码）文件"
ENCRYPTED = "文件加密：请取消密码保护后重新上传"
FORMULA_CELL = "公式单元格不能导入，请粘贴为数值"


# --- the public types ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column the reader looks for. ``key`` is the English name used in code; ``aliases`` are the
    header texts accepted for it (Chinese first: the first alias is how problems name the column)."""

    key: str
    aliases: tuple[str, ...]
    required: bool = True
    # A range merged down a text column gives each row its value; one merged down or across a score
    # column is refused, since one number cannot be two scores (INTERCHANGE.md §2.1).
    is_score: bool = False

    @property
    def title(self) -> str:
        return self.aliases[0] if self.aliases else self.key


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an upload, located as the clerk sees the sheet.

    ``row`` is the row number Excel shows (header and title rows counted), ``column`` the column
    letter and ``header`` that column's header as written; all three are None for a problem with
    the file as a whole (its type, its size, a missing column)."""

    sheet: str | None
    row: int | None
    column: str | None
    header: str | None
    value: str | None
    reason: str

    def _place(self) -> str:
        parts = []
        if self.row is not None:
            parts.append(f"第{self.row}行")
        if self.column is not None:
            parts.append(f"{self.column}列({self.header or ''})")
        return " ".join(parts)

    def message(self) -> str:
        """``第12行 D列(c01): "九": 不是0–10之间的分数``; a file-level problem is just its reason."""
        place = self._place()
        if not place:
            return self.reason
        if self.value is None:
            return f"{place}: {self.reason}"
        return f'{place}: "{naming.visible(self.value)}": {self.reason}'

    def cli_line(self, file: str) -> str:
        """``FILE:ROW:COLUMN: VALUE: reason`` with COLUMN as ``D(c01)``; absent parts left empty."""
        row = "" if self.row is None else str(self.row)
        column = "" if self.column is None else f"{self.column}({self.header or ''})"
        value = "" if self.value is None else naming.visible(self.value)
        return f"{file}:{row}:{column}: {value}: {self.reason}"


class UploadRejected(Exception):
    """The upload breaks the rules: nothing of it may be written. ``problems`` holds the first
    `MAX_PROBLEMS` problems in sheet order, ``total`` how many there were in all."""

    def __init__(self, problems: Iterable[Problem], total: int | None = None) -> None:
        found = list(problems)
        self.total: int = len(found) if total is None else total
        self.problems: list[Problem] = found[:MAX_PROBLEMS]
        first = self.problems[0].message() if self.problems else "没有问题"
        super().__init__(f"上传的文件有 {self.total} 处问题，第一处：{first}")


@dataclass(frozen=True)
class SheetRow:
    """One data row: its row number as Excel shows it and every column's trimmed NFC text, keyed by
    `Column.key` (``""`` for a blank cell and for an optional column the file does not have)."""

    row: int
    values: dict[str, str]


@dataclass(frozen=True)
class UploadTable:
    """The rows of an accepted upload, with where each column was found so that later checks can
    name the cell (`problem`)."""

    sheet: str | None
    header_row: int
    rows: list[SheetRow]
    locations: Mapping[str, tuple[str | None, str]] = field(default_factory=dict, repr=False)
    # cells refused as cells (a formula, an invisible character), when the reader was asked to leave
    # them to the rows' checks (``read_upload(defer_cell_problems=True)``) so one list names them all
    cell_problems: tuple[Problem, ...] = ()

    def problem(self, row: SheetRow, key: str, reason: str) -> Problem:
        """A problem with ``key``'s cell in ``row``, located as the file has it."""
        column, header = self.locations.get(key, (None, key))
        return Problem(self.sheet, row.row, column, header, row.values.get(key, ""), reason)

    def reject(self, problems: Sequence[Problem] = ()) -> None:
        """Raise `UploadRejected` with the rows' ``problems`` and the cells' in one list, in sheet
        order, if there is any. A cell refused as a cell is named once: what the rows' checks made
        of its text is dropped."""
        refused = {(p.row, p.column) for p in self.cell_problems}
        merged = [*self.cell_problems, *(p for p in problems if (p.row, p.column) not in refused)]
        if merged:
            raise UploadRejected(sorted(merged, key=lambda p: p.row or 0))


class Refused(Exception):
    """Internal: the file as a whole is refused for ``problem``."""

    def __init__(self, reason: str, sheet: str | None = None) -> None:
        super().__init__(reason)
        self.problem = Problem(sheet, None, None, None, None, reason)


@dataclass
class Grid:
    """A sheet as text, indexed from A1: ``cells[r][c]`` is row r+1, column c+1."""

    name: str | None
    cells: list[list[str]]
    formulas: set[tuple[int, int]] = field(default_factory=set)
    formula_areas: list[tuple[int, int, int, int]] = field(default_factory=list)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)

    def is_formula(self, r: int, c: int) -> bool:
        return (r, c) in self.formulas or any(r0 <= r <= r1 and c0 <= c <= c1 for r0, c0, r1, c1 in self.formula_areas)

    def row_count(self) -> int:
        """Rows to read: calamine leaves out formula cells that have no cached value, so a formula
        below the last value would otherwise not be seen (and not be refused)."""
        last_rows = [r for r, _ in self.formulas] + [r1 for _, _, r1, _ in self.formula_areas]
        return max([len(self.cells), *(r + 1 for r in last_rows)])

    def value(self, r: int, c: int) -> str:
        row = self.cells[r] if r < len(self.cells) else []
        return row[c] if c < len(row) else ""
