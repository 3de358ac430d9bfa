"""From grids to a table: the header row found by its names, merged cells filled, every cell
checked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hygiene import naming
from hygiene.io.sheets.base import (
    FORMULA_CELL,
    HEADER_SEARCH_ROWS,
    Column,
    Grid,
    Problem,
    Refused,
    SheetRow,
    UploadRejected,
    UploadTable,
)

# --- from grids to a table -----------------------------------------------------------------------

_HEADER_NOISE = re.compile(r"[\s*]+")


def _header_key(text: str) -> str:
    """How header texts are compared: NFKC, no spaces, ``*`` or invisible characters, ASCII casefold."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    return _HEADER_NOISE.sub("", text).lower()


def _alias_index(columns: Sequence[Column]) -> dict[str, str]:
    index: dict[str, str] = {}
    for column in columns:
        for alias in (*column.aliases, column.key):
            key = _header_key(alias)
            if index.setdefault(key, column.key) != column.key:
                raise ValueError(f"表头“{alias}”同时指向 {index[key]} 和 {column.key}")
    return index


def column_letter(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass
class _Header:
    grid: Grid
    row: int  # 0-based
    found: dict[str, list[int]]  # key -> the columns headed by one of its aliases

    def required_found(self, columns: Sequence[Column]) -> int:
        return sum(1 for c in columns if c.required and c.key in self.found)


def _invisible_reason(text: str) -> str | None:
    reason = naming.invisible_problem(text)
    return f"{reason}后重新上传" if reason else None


def _find_header(grid: Grid, aliases: Mapping[str, str]) -> _Header | None:
    best: _Header | None = None
    for r in range(min(HEADER_SEARCH_ROWS, len(grid.cells))):
        found: dict[str, list[int]] = {}
        for c, text in enumerate(grid.cells[r]):
            key = aliases.get(_header_key(text))
            if key is not None:
                found.setdefault(key, []).append(c)
        if found and (best is None or len(found) > len(best.found)):
            best = _Header(grid, r, found)
    return best


def _choose_header(grids: Sequence[Grid], columns: Sequence[Column]) -> _Header:
    aliases = _alias_index(columns)
    headers = [h for h in (_find_header(g, aliases) for g in grids) if h is not None]
    required = sum(1 for c in columns if c.required)
    complete = [h for h in headers if h.required_found(columns) == required]
    if len(complete) > 1:
        names = "、".join(f"“{h.grid.name}”" for h in complete)
        raise Refused(f"工作簿中有多个工作表（{names}）都有完整的表头，请每次只上传一个工作表")
    if complete:
        return complete[0]
    if not headers:
        wanted = "、".join(c.title for c in columns if c.required)
        sheet = grids[0].name if len(grids) == 1 else None
        raise Refused(f"前{HEADER_SEARCH_ROWS}行中找不到表头：应有 {wanted} 等列", sheet)
    return max(headers, key=lambda h: (h.required_found(columns), len(h.found)))


def _header_problems(header: _Header, columns: Sequence[Column]) -> list[Problem]:
    grid, problems = header.grid, []
    for column in columns:
        places = header.found.get(column.key, [])
        if not places and column.required:
            accepted = "、".join(dict.fromkeys((*column.aliases, column.key)))
            problems.append(
                Problem(grid.name, None, None, None, None, f"缺少“{column.title}”列（表头可写作：{accepted}）")
            )
        for c in places[1:]:
            problems.append(
                Problem(
                    grid.name,
                    header.row + 1,
                    column_letter(c),
                    grid.value(header.row, c),
                    None,
                    f"与{column_letter(places[0])}列重复，“{column.title}”列只能有一列",
                )
            )
    return problems


def _merged_score_problems(
    grid: Grid,
    below: int,
    columns: Sequence[Column],
    places: Mapping[str, int],
    locations: Mapping[str, tuple[str | None, str]],
) -> list[Problem]:
    """A merged range below the header that touches a score column, named as Excel names it."""
    scores = {places[c.key]: c.key for c in columns if c.is_score and c.key in places}
    problems = []
    for r0, c0, r1, c1 in sorted(grid.merged):
        touched = [scores[c] for c in range(c0, c1 + 1) if c in scores]
        if r0 <= below or not touched:
            continue
        cells = f"{column_letter(c0)}{r0 + 1}:{column_letter(c1)}{r1 + 1}"
        column, header_text = locations[touched[0]]
        problems.append(
            Problem(
                grid.name,
                r0 + 1,
                column,
                header_text,
                grid.value(r0, c0),
                f"合并单元格 {cells} 含分数列：一个分数不能当两个分数用，请取消合并后逐格填写",
            )
        )
    return problems


def _fill_merged(grid: Grid, below: int) -> None:
    """Give every cell of a merged range below row ``below`` the value of its top-left cell."""
    for r0, c0, r1, c1 in grid.merged:
        if r0 <= below:
            continue
        value = grid.value(r0, c0)
        for r in range(r0, min(r1, len(grid.cells) - 1) + 1):
            row = grid.cells[r]
            for c in range(c0, min(c1, len(row) - 1) + 1):
                row[c] = value


clean_cell = naming.clean


def _column_cells(grid: Grid, c: int, first: int, last: int) -> list[str]:
    """Column ``c`` of rows ``first`` to ``last`` (0-based, end excluded), "" where a row is short."""
    cells = [row[c] if c < len(row) else "" for row in grid.cells[first:last]]
    return cells + [""] * (last - first - len(cells))


def _clean_column(cells: list[str]) -> list[str]:
    """``clean_cell`` of each cell: when the column's trimmed cells, joined by spaces, are already
    NFC (a space composes with nothing, so that holds just when each cell is), NFC changes none."""
    trimmed = [cell.strip() for cell in cells]
    if unicodedata.is_normalized("NFC", " ".join(trimmed)):
        return trimmed
    return [unicodedata.normalize("NFC", cell) for cell in trimmed]


def _formula_cells(grid: Grid, c: int, first: int, last: int) -> list[bool]:
    if not grid.formulas and not grid.formula_areas:
        return [False] * (last - first)
    return [grid.is_formula(r, c) for r in range(first, last)]


def _table(grids: Sequence[Grid], columns: Sequence[Column], max_rows: int) -> UploadTable:
    if not grids:
        raise Refused("工作簿中没有可见的工作表")
    header = _choose_header(grids, columns)
    problems = _header_problems(header, columns)
    if problems:
        raise UploadRejected(problems)
    grid, places = header.grid, {key: cols[0] for key, cols in header.found.items()}
    locations: dict[str, tuple[str | None, str]] = {c.key: (None, c.title) for c in columns}
    locations.update({key: (column_letter(c), grid.value(header.row, c)) for key, c in places.items()})
    problems = _merged_score_problems(grid, header.row, columns, places, locations)
    if problems:
        raise UploadRejected(problems)
    _fill_merged(grid, header.row)
    first, last = header.row + 1, grid.row_count()
    keys = list(places)
    # Column by column (issue 34: a county's roster has 198,500 rows): each column's cells cleaned,
    # and checked for invisible characters and formulas at once; only a column where one is found
    # is looked at cell by cell, in the same order as before (row by row, column by column).
    texts = [_clean_column(_column_cells(grid, c, first, last)) for c in places.values()]
    formulas = [_formula_cells(grid, c, first, last) for c in places.values()]
    suspect = [(n, key) for n, key in enumerate(keys) if any(formulas[n]) or not " ".join(texts[n]).isprintable()]
    blank = dict.fromkeys((c.key for c in columns), "")
    rows: list[SheetRow] = []
    for i, row_texts in enumerate(zip(*texts, strict=True)):
        in_formula = [key for n, key in suspect if formulas[n][i]] if suspect else []
        if not in_formula and not any(row_texts):
            continue
        if len(rows) == max_rows:
            raise Refused(f"超过{max_rows}行上限（表头以下的非空行不能多于{max_rows}行）", grid.name)
        values = blank.copy()
        values.update(zip(keys, row_texts, strict=True))
        rows.append(SheetRow(first + i + 1, values))
        for n, key in suspect:
            text = row_texts[n]
            reason = FORMULA_CELL if key in in_formula else _invisible_reason(text)
            if reason is not None:
                problems.append(
                    Problem(
                        grid.name,
                        first + i + 1,
                        locations[key][0],
                        locations[key][1],
                        naming.visible(text, 200),
                        reason,
                    )
                )
    if not rows:  # most likely the wrong file, or the sheet was saved before it was filled in
        raise Refused(f"表头（第{header.row + 1}行）以下没有任何数据行", grid.name)
    return UploadTable(grid.name, header.row + 1, rows, locations, tuple(problems))
