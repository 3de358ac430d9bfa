"""Reading the sheets that village offices upload: household rosters and review sheets.

INTERCHANGE.md §2.1 decides what an upload must pass; this module is where it is enforced, the same
for the web app and the ``hygiene`` command. An upload is all-or-nothing, so the reader either
returns an `UploadTable` of trimmed text cells or raises `UploadRejected` carrying every problem it
found (capped at `MAX_PROBLEMS`, with the total kept), each located as Excel shows it: sheet, row
number with the header rows counted, column letter and the header as written.

The package is split by format: ``csv_files``, ``xlsx``, ``xls``; ``tables`` maps a sheet's grid to
the rows of its columns; ``base`` holds the limits and types; ``columns`` the two sheets' columns.

Why it is written the way it is:

- **The file type comes from the bytes, not the name.** A zip with ``[Content_Types].xml`` and
  ``xl/workbook.xml`` is an ``.xlsx``; an OLE compound file with a ``Workbook`` stream is a BIFF8
  ``.xls``; an OLE file holding ``EncryptionInfo``/``EncryptedPackage`` is an encrypted workbook
  ("文件加密"); anything else must decode as strict UTF-8 (with or without BOM), then strict
  GB18030, to be read as CSV. HTML pages renamed ``.xls``, PDFs, images and junk are "格式不符".
- **Nothing is parsed before it is bounded.** Uploads over 8 MiB are refused unread. A zip's entries
  are checked (count, total size, compression ratio, paths) *and* inflated once with the declared
  sizes enforced before any parser sees them. Both Excel readers allocate a sheet densely from A1 to
  its last cell, so the last used cell is found first (from the sheet XML, or from the BIFF cell
  records) and a sheet whose used area exceeds `MAX_SHEET_CELLS` is refused: a few bytes naming
  cell XFD1048576 cannot make the server allocate gigabytes.
- **Every cell is text** (RELIABILITY.md trap 4): calamine reads the values, integral numbers come
  out as ``"12"`` (not ``"12.0"``), dates as ISO text; a text cell ``0012`` stays ``0012`` and a
  name ``NA`` stays ``NA``. CSV goes through the `csv` module, never through a type-guessing reader.
- **Formula cells are refused** in the recognised columns, because the value a reader sees is the
  cached one, stale or missing when the file was never recalculated. calamine does not expose
  formulas, so they are found in the sheet XML (``<f>`` elements, array ranges included) for
  ``.xlsx`` and in the BIFF8 ``FORMULA`` records for ``.xls`` (a small compound-file reader below).
  A *text* cell that merely starts with ``=`` is data and is kept verbatim.
- **The header row is found by its names** within the first 10 rows (title rows above are fine);
  names match after NFKC, with whitespace, ``*`` markers and invisible characters removed, ASCII
  case-insensitively. Only the recognised columns are read; other columns (notes, a 合计 column
  with formulas) are ignored, and a row with nothing in any recognised column counts as blank and
  is skipped. In a workbook the sheet is the one visible worksheet whose header has every required
  column; two such sheets are refused rather than one silently ignored.
- **Cells are trimmed at the ends** (every Unicode space: U+0020, U+3000, NBSP, tabs, line breaks)
  and NFC-normalised; a control, format or zero-width character left inside (U+200B, U+FEFF, a line
  break typed inside a cell) is an error naming the character, since it would make a code or a name
  that looks right differ from the real one.
- **Merged cells below the header** are read as Excel shows them: every cell of the range takes the
  value of its top-left cell (a 村民组 merged down the rows of its households belongs to each row).
"""

from __future__ import annotations

from collections.abc import Sequence

import olefile

from hygiene.io.sheets.base import (
    COUNTY_SHEET_LIMITS,
    ENCRYPTED,
    FORMAT_MISMATCH,
    FORMULA_CELL,
    MAX_DATA_ROWS,
    MAX_PROBLEMS,
    MAX_SHEET_CELLS,
    MAX_UPLOAD_BYTES,
    ZIP_MAX_TOTAL_BYTES,
    Column,
    Grid,
    Problem,
    Refused,
    SheetRow,
    UploadRejected,
    UploadTable,
)
from hygiene.io.sheets.columns import criterion_header, review_columns, roster_columns, unit_columns
from hygiene.io.sheets.csv_files import _read_csv
from hygiene.io.sheets.tables import _table, column_letter
from hygiene.io.sheets.xls import _read_xls
from hygiene.io.sheets.xlsx import _read_xlsx

__all__ = [
    "COUNTY_SHEET_LIMITS",
    "ENCRYPTED",
    "FORMAT_MISMATCH",
    "FORMULA_CELL",
    "MAX_DATA_ROWS",
    "MAX_PROBLEMS",
    "MAX_UPLOAD_BYTES",
    "Column",
    "Problem",
    "SheetRow",
    "UploadRejected",
    "UploadTable",
    "column_letter",
    "criterion_header",
    "read_upload",
    "review_columns",
    "roster_columns",
    "unit_columns",
]


def read_upload(
    data: bytes,
    filename: str,
    columns: Sequence[Column],
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_rows: int = MAX_DATA_ROWS,
    zip_bytes: int = ZIP_MAX_TOTAL_BYTES,
    max_cells: int = MAX_SHEET_CELLS,
    defer_cell_problems: bool = False,
) -> UploadTable:
    """Read an uploaded ``.xlsx``, ``.xls`` or ``.csv`` (told apart by content; ``filename`` is only
    data) into the rows of ``columns``; raises `UploadRejected` listing every problem. With
    ``defer_cell_problems`` the cells refused as cells are returned in ``cell_problems`` instead,
    for the caller's row checks to list with theirs (`UploadTable.reject`, which it must call)."""
    del filename  # the type comes from the content (INTERCHANGE.md §2.1); the name proves nothing
    try:
        if len(data) > max_bytes:
            raise Refused(f"文件超过{_size_text(max_bytes)}上限")
        grids = _read_grids(data, zip_bytes, max_cells)
        table = _table(grids, columns, max_rows)
    except Refused as refused:
        raise UploadRejected([refused.problem]) from None
    if not defer_cell_problems:
        table.reject()
    return table


def _size_text(size: int) -> str:
    mib = size / (1024 * 1024)
    return f"{mib:g} MB" if mib >= 1 else f"{size / 1024:g} KB"


def _read_grids(data: bytes, zip_bytes: int, max_cells: int) -> list[Grid]:
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, zip_bytes, max_cells)
    if data.startswith(olefile.MAGIC):
        return _read_xls(data, max_cells)
    return [_read_csv(data)]
