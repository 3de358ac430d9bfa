"""Reading the sheets that village offices upload: household rosters and review sheets.

INTERCHANGE.md §2.1 decides what an upload must pass; this module is where it is enforced, the same
for the web app and the ``hygiene`` command. An upload is all-or-nothing, so the reader either
returns an `UploadTable` of trimmed text cells or raises `UploadRejected` carrying every problem it
found (capped at `MAX_PROBLEMS`, with the total kept), each located as Excel shows it: sheet, row
number with the header rows counted, column letter and the header as written.

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

import csv
import io
import json
import re
import struct
import subprocess
import sys
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from xml.parsers import expat

import olefile
import python_calamine

from hygiene import naming
from hygiene.io import calamine_child

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


# --- the columns of the two sheets (INTERCHANGE.md §2) -------------------------------------------


def unit_columns() -> list[Column]:
    """The unit sheet: one row per villager group, with its village and township, codes and names."""
    return [
        Column("township_code", ("乡镇代码", "乡镇（街道）代码", "township_code")),
        Column("township", ("乡镇", "乡镇（街道）", "乡镇街道", "街道", "township")),
        Column("village_code", ("村代码", "村（居）代码", "village_code")),
        Column("village", ("村", "村（居）", "村居", "行政村", "village")),
        Column("group_code", ("村民组代码", "组代码", "group_code")),
        Column("group", ("村民组", "村民小组", "组", "group")),
        Column("programme_year", ("纳入年度", "纳入评比年度", "programme_year"), required=False),
    ]


def roster_columns() -> list[Column]:
    """The household roster: township and village by name or code, then the household."""
    return [
        Column("township", ("乡镇", "乡镇（街道）", "乡镇街道", "街道", "township")),
        Column("village", ("村", "村（居）", "村居", "行政村", "village")),
        Column("group", ("村民组", "村民小组", "组", "group")),
        Column("household_code", ("户编号", "户号", "household_code")),
        Column("head_name", ("户主姓名", "户主", "head_name")),
        Column("members", ("人口", "家庭人口", "人口数", "members")),
        Column("phone", ("联系电话", "电话", "手机号码", "phone"), required=False),
        Column("poor", ("是否脱贫户/低收入户", "是否脱贫户", "是否低收入户", "poor"), required=False),
    ]


def review_columns(rubric: Sequence[tuple[str, str, int]]) -> list[Column]:
    """The review sheet: household, kind, reviewer, then one column per rubric line
    ``(code, label, max_tenths)``, headed by its code (``c01``), its label (``家庭个人卫生``) or both
    as the template writes them (``家庭个人卫生(c01)``)."""
    columns = [
        Column("household_code", ("户编号", "户号", "household_code")),
        Column("kind", ("评议类型", "kind")),
        Column("reviewer", ("评议人", "reviewer")),
    ]
    columns += [Column(code, (label, code, criterion_header(code, label)), is_score=True) for code, label, _ in rubric]
    _alias_index(columns)  # refuses a rubric whose labels collide with each other or a column
    return columns


def criterion_header(code: str, label: str) -> str:
    """The header the review template writes for a criterion, one of `review_columns`' aliases."""
    return f"{label}({code})"


# --- reading -------------------------------------------------------------------------------------


class _Refused(Exception):
    """Internal: the file as a whole is refused for ``problem``."""

    def __init__(self, reason: str, sheet: str | None = None) -> None:
        super().__init__(reason)
        self.problem = Problem(sheet, None, None, None, None, reason)


@dataclass
class _Grid:
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
            raise _Refused(f"文件超过{_size_text(max_bytes)}上限")
        grids = _read_grids(data, zip_bytes, max_cells)
        table = _table(grids, columns, max_rows)
    except _Refused as refused:
        raise UploadRejected([refused.problem]) from None
    if not defer_cell_problems:
        table.reject()
    return table


def _size_text(size: int) -> str:
    mib = size / (1024 * 1024)
    return f"{mib:g} MB" if mib >= 1 else f"{size / 1024:g} KB"


def _read_grids(data: bytes, zip_bytes: int, max_cells: int) -> list[_Grid]:
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, zip_bytes, max_cells)
    if data.startswith(olefile.MAGIC):
        return _read_xls(data, max_cells)
    return [_read_csv(data)]


# --- CSV -----------------------------------------------------------------------------------------

_BINARY_MAGICS = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf", b"{\\rtf", b"PK")
_MARKUP = re.compile(r"\A\s*<(?:!doctype|html|\?xml|head|body|table|meta|!--)", re.IGNORECASE)


def _read_csv(data: bytes) -> _Grid:
    if data.startswith(_BINARY_MAGICS) or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _Refused(FORMAT_MISMATCH)
    text = _decode(data)
    if "\x00" in text or _MARKUP.match(text[:1024]):
        raise _Refused(FORMAT_MISMATCH)
    cells: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        cells.extend(reader)
    except csv.Error:
        raise UploadRejected(
            [Problem(None, len(cells) + 1, None, None, None, "CSV格式有误（引号不成对或单元格过长）")]
        ) from None
    return _Grid(None, cells)


def _decode(data: bytes) -> str:
    """Strict UTF-8 (a BOM is dropped), then strict GB18030; never a replacement character."""
    if data.startswith(b"\xef\xbb\xbf"):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding, errors="strict")
        except UnicodeDecodeError:
            continue
    raise _Refused(FORMAT_MISMATCH)


# --- xlsx ----------------------------------------------------------------------------------------

_NS_SPLIT = " "


def _check_zip(data: bytes, zip_bytes: int) -> zipfile.ZipFile:
    """Open a zip only if unpacking it is bounded, and inflate every entry once, so that a lying
    size in the directory or a corrupt entry is found before any parser sees the file."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, struct.error):
        raise _Refused(FORMAT_MISMATCH) from None
    if len(entries) > ZIP_MAX_ENTRIES:
        raise _Refused(f"压缩包条目超过{ZIP_MAX_ENTRIES}个，拒绝解析")
    names = [e.filename for e in entries]
    if len(set(names)) != len(names):
        raise _Refused(FORMAT_MISMATCH)
    for name in names:
        parts = re.split(r"[/\\]", name)
        if name.startswith(("/", "\\")) or ".." in parts or re.match(r"[A-Za-z]:", name):
            raise _Refused("压缩包含有不安全的路径（..或绝对路径），拒绝解析")
    if sum(e.file_size for e in entries) > zip_bytes:
        raise _Refused(f"压缩包解压后超过{zip_bytes // (1024 * 1024)} MB，拒绝解析")
    for entry in entries:
        if entry.file_size > ZIP_MAX_RATIO * entry.compress_size:
            raise _Refused(f"压缩包中 {entry.filename} 的压缩比超过{ZIP_MAX_RATIO}:1，拒绝解析")
    try:
        for entry in entries:
            with archive.open(entry) as stream:
                while stream.read(1 << 16):
                    pass
    except RuntimeError:  # zipfile's "File is encrypted, password required"
        raise _Refused(ENCRYPTED) from None
    except (zipfile.BadZipFile, NotImplementedError, zlib.error, EOFError, OSError, ValueError):
        raise _Refused(FORMAT_MISMATCH) from None
    return archive


@dataclass
class _SheetScan:
    """What the sheet XML says that calamine does not: formula cells and the used area."""

    formulas: set[tuple[int, int]] = field(default_factory=set)
    formula_areas: list[tuple[int, int, int, int]] = field(default_factory=list)
    last_row: int = -1
    last_col: int = -1


def _parse_xml(
    data: bytes,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None] | None = None,
) -> None:
    """Stream ``data`` through expat, with element names reduced to their local part. A DOCTYPE
    (never in OOXML, the vehicle of entity-expansion attacks) refuses the file."""
    parser = expat.ParserCreate(namespace_separator=_NS_SPLIT)

    def refuse_doctype(*_: object) -> None:
        raise _Refused(FORMAT_MISMATCH)

    def local(name: str) -> str:
        return name.rsplit(_NS_SPLIT, 1)[-1]

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.StartElementHandler = lambda name, attrs: start(local(name), {local(k): v for k, v in attrs.items()})
    if end is not None:
        parser.EndElementHandler = lambda name: end(local(name))
    try:
        parser.Parse(data, True)
    except expat.ExpatError:
        raise _Refused(FORMAT_MISMATCH) from None


_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")


def _cell_index(ref: str) -> tuple[int, int] | None:
    """``"D12"`` -> ``(11, 3)`` (0-based row, column)."""
    match = _CELL_REF.fullmatch(ref)
    if match is None:
        return None
    col = 0
    for ch in match.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(match.group(2)) - 1, col - 1


def _area(ref: str) -> tuple[int, int, int, int] | None:
    first, _, last = ref.partition(":")
    a, b = _cell_index(first), _cell_index(last or first)
    if a is None or b is None:
        return None
    return min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])


def _scan_sheet_xml(data: bytes) -> _SheetScan:
    scan = _SheetScan()
    position = {"row": -1, "col": -1}
    current: dict[str, object] = {}

    def start(name: str, attrs: dict[str, str]) -> None:
        if name == "row":
            position["row"] = int(attrs["r"]) - 1 if attrs.get("r", "").isdigit() else position["row"] + 1
            position["col"] = -1
        elif name == "c":
            index = _cell_index(attrs.get("r", ""))
            if index is None:
                index = (max(position["row"], 0), position["col"] + 1)
            position["row"], position["col"] = index
            current.clear()
            current["at"] = index
        elif name in ("v", "is", "f") and "at" in current:
            current["used"] = True
            if name == "f":
                at = current["at"]
                assert isinstance(at, tuple)
                scan.formulas.add(at)
                area = _area(attrs.get("ref", "")) if attrs.get("t") in ("array", "dataTable") else None
                if area is not None:
                    scan.formula_areas.append(area)

    def end(name: str) -> None:
        if name == "c" and current.get("used"):
            at = current["at"]
            assert isinstance(at, tuple)
            scan.last_row, scan.last_col = max(scan.last_row, at[0]), max(scan.last_col, at[1])
        if name == "c":
            current.clear()

    _parse_xml(data, start, end)
    for _r0, _c0, r1, c1 in scan.formula_areas:
        scan.last_row, scan.last_col = max(scan.last_row, r1), max(scan.last_col, c1)
    return scan


@dataclass(frozen=True)
class _SheetEntry:
    name: str
    visible: bool
    worksheet: bool
    part: str | None  # the sheet XML's path inside the zip (xlsx only)


def _xlsx_sheets(archive: zipfile.ZipFile) -> list[_SheetEntry]:
    """The workbook's sheets in order, with their XML parts (workbook.xml and its relationships)."""
    relations: dict[str, tuple[str, str]] = {}

    def relation(name: str, attrs: dict[str, str]) -> None:
        if name == "Relationship" and "Id" in attrs:
            relations[attrs["Id"]] = (attrs.get("Target", ""), attrs.get("Type", ""))

    rels_part = "xl/_rels/workbook.xml.rels"
    if rels_part in archive.namelist():
        _parse_xml(archive.read(rels_part), relation)
    entries: list[_SheetEntry] = []

    def sheet(name: str, attrs: dict[str, str]) -> None:
        if name != "sheet":
            return
        target, kind = relations.get(attrs.get("id", ""), ("", ""))
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        entries.append(
            _SheetEntry(
                name=attrs.get("name", ""),
                visible=attrs.get("state", "visible") == "visible",
                worksheet=kind.endswith("/worksheet"),
                part=part if part in archive.namelist() else None,
            )
        )

    _parse_xml(archive.read("xl/workbook.xml"), sheet)
    return entries


def _read_xlsx(data: bytes, zip_bytes: int, max_cells: int) -> list[_Grid]:
    archive = _check_zip(data, zip_bytes)
    names = set(archive.namelist())
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _Refused(FORMAT_MISMATCH)
    entries = _xlsx_sheets(archive)
    book = _open_calamine(data)
    grids = []
    for entry in entries:
        if not (entry.visible and entry.worksheet) or entry.part is None:
            continue
        scan = _scan_sheet_xml(archive.read(entry.part))
        _check_area(entry.name, scan.last_row + 1, scan.last_col + 1, max_cells)
        grid = _calamine_grid(book, entry.name)
        grid.formulas, grid.formula_areas = scan.formulas, scan.formula_areas
        grids.append(grid)
    return grids


def _check_area(sheet: str, rows: int, cols: int, max_cells: int) -> None:
    if rows * cols > max_cells:
        raise _Refused(f"工作表的使用范围过大（直到第{rows}行、第{cols}列有内容），请删除多余的行和列后重新上传", sheet)


def _open_calamine(data: bytes) -> python_calamine.CalamineWorkbook:
    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError:
        raise _Refused(ENCRYPTED) from None
    except Exception:  # calamine's own errors and any panic surfaced as an exception
        raise _Refused(FORMAT_MISMATCH) from None


def _calamine_grid(book: python_calamine.CalamineWorkbook, name: str) -> _Grid:
    try:
        cells, merged = calamine_child.sheet_cells(book, name)
    except python_calamine.PasswordError:
        raise _Refused(ENCRYPTED) from None
    except Exception:
        raise _Refused(FORMAT_MISMATCH, name) from None
    return _Grid(name, cells, merged=merged)


def _calamine_in_child(data: bytes, names: list[str]) -> dict[str, _Grid]:
    """The named sheets read by calamine in a child process with a memory ceiling
    (hygiene.io.calamine_child says why): a workbook that would exhaust memory or hang is refused."""
    try:
        done = subprocess.run(  # noqa: S603  (our own script; the upload goes to its stdin, never its arguments)
            [sys.executable, "-I", calamine_child.__file__, json.dumps(names)],
            input=data,
            capture_output=True,
            timeout=CHILD_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _Refused(FORMAT_MISMATCH) from None
    if done.returncode == calamine_child.ENCRYPTED_EXIT:
        raise _Refused(ENCRYPTED)
    if done.returncode != 0:
        raise _Refused(FORMAT_MISMATCH)
    sheets = json.loads(done.stdout)
    return {
        name: _Grid(name, sheet["cells"], merged=[(r0, c0, r1, c1) for r0, c0, r1, c1 in sheet["merged"]])
        for name, sheet in sheets.items()
    }


# --- xls: a compound file (OLE2) holding a BIFF8 workbook stream ------------------------------------


def _walk(first: int, table: Sequence[int], limit: int) -> int:
    """The length of the sector chain from ``first`` in ``table``; ValueError if it loops, leaves the
    table or the file, or meets a marker that ends no chain."""
    seen: set[int] = set()
    sector = first
    while sector != olefile.ENDOFCHAIN:
        if sector in seen or sector >= len(table) or sector >= limit:
            raise ValueError("broken sector chain")
        seen.add(sector)
        sector = table[sector]
    return len(seen)


def _check_chains(ole: olefile.OleFileIO) -> None:
    """What olefile tolerates but calamine does not survive (a self-looping directory chain made it
    allocate until the machine ran out of memory): every chain a reader follows must end, inside the
    file, and hold its stream; the header's counts must fit the file."""
    sectors = ole.nb_sect
    if max(ole.num_fat_sectors, ole.num_difat_sectors, ole.num_mini_fat_sectors) > sectors:
        raise ValueError("header counts beyond the file")
    _walk(ole.first_dir_sector, ole.fat, sectors)
    streams = [e for e in ole.direntries if e is not None and e.entry_type == olefile.STGTY_STREAM]
    if ole.first_mini_fat_sector != olefile.ENDOFCHAIN:
        _walk(ole.first_mini_fat_sector, ole.fat, sectors)
        root_sectors = _walk(ole.root.isectStart, ole.fat, sectors)
        ole.loadminifat()
        mini_limit = root_sectors * ole.sectorsize // ole.minisectorsize
    for entry in streams:
        if entry.size >= ole.minisectorcutoff:
            held = _walk(entry.isectStart, ole.fat, sectors) * ole.sectorsize
        elif entry.size > 0:
            if ole.first_mini_fat_sector == olefile.ENDOFCHAIN:
                raise ValueError("a small stream without a mini stream")
            held = _walk(entry.isectStart, ole.minifat, mini_limit) * ole.minisectorsize
        else:
            continue
        if held < entry.size:
            raise ValueError("a stream longer than its chain")


def _ole_streams(data: bytes) -> tuple[set[str], Callable[[str], bytes]]:
    """The stream names of an OLE2 compound file (lower case) and a reader of one stream, through
    olefile, a well-kept parser of this untrusted binary format. Any malformation it meets (broken
    or cyclic sector chains, truncated sectors, impossible counts) is a ValueError here."""
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
        _check_chains(ole)
        names = {"/".join(entry).lower() for entry in ole.listdir(streams=True, storages=False)}
    except (OSError, ValueError, IndexError, KeyError, struct.error, EOFError, RecursionError, MemoryError):
        raise ValueError("not a readable compound file") from None

    def read(name: str) -> bytes:
        try:
            with ole.openstream(name) as stream:
                return bytes(stream.read(MAX_UPLOAD_BYTES + 1))
        except (OSError, ValueError, IndexError, KeyError, struct.error, EOFError, RecursionError, MemoryError):
            raise ValueError(f"stream {name} cannot be read") from None

    return names, read


# BIFF8 record types used below ([MS-XLS] 2.3).
_BOF, _EOF, _BOUNDSHEET, _FILEPASS, _FORMULA = 0x0809, 0x000A, 0x0085, 0x002F, 0x0006
_MULRK = 0x00BD
# Records that carry a cell value (calamine stores these), each starting with row u16, column u16.
_VALUE_CELLS = {0x0006, 0x00FD, 0x0203, 0x027E, 0x00BD, 0x0204, 0x00D6, 0x0205}


def _records(stream: bytes, offset: int) -> Iterable[tuple[int, int, bytes]]:
    while offset + 4 <= len(stream):
        kind, length = struct.unpack_from("<HH", stream, offset)
        yield offset, kind, stream[offset + 4 : offset + 4 + length]
        offset += 4 + length


@dataclass
class _BiffSheet:
    name: str
    visible: bool
    worksheet: bool
    scan: _SheetScan


def _scan_biff(stream: bytes) -> list[_BiffSheet]:
    """The worksheets of a BIFF8 workbook stream with their formula cells and used area."""
    sheets: list[tuple[str, bool, bool, int]] = []
    for index, (_, kind, body) in enumerate(_records(stream, 0)):
        if index == 0 and (kind != _BOF or struct.unpack_from("<H", body)[0] != 0x0600):
            raise _Refused(FORMAT_MISMATCH)  # not BIFF8: Excel 95 or older, or not a workbook
        if kind == _FILEPASS:
            raise _Refused(ENCRYPTED)
        if kind == _BOUNDSHEET:
            position, state, sheet_type, length, high = struct.unpack_from("<IBBBB", body)
            raw = body[8 : 8 + length * (2 if high & 1 else 1)]
            name = raw.decode("utf-16-le" if high & 1 else "latin-1")
            sheets.append((name, state & 0x03 == 0, sheet_type == 0, position))
        if kind == _EOF:
            break
    result = []
    for name, visible, worksheet, position in sheets:
        scan = _SheetScan()
        depth = 0
        for _, kind, body in _records(stream, position):
            if kind == _BOF:
                depth += 1
            elif kind == _EOF:
                depth -= 1
                if depth <= 0:
                    break
            elif kind in _VALUE_CELLS and depth == 1 and len(body) >= 4:
                row, col = struct.unpack_from("<HH", body)
                last_col = struct.unpack_from("<H", body, len(body) - 2)[0] if kind == _MULRK else col
                scan.last_row, scan.last_col = max(scan.last_row, row), max(scan.last_col, last_col)
                if kind == _FORMULA:
                    scan.formulas.add((row, col))
        result.append(_BiffSheet(name, visible, worksheet, scan))
    return result


def _read_xls(data: bytes, max_cells: int) -> list[_Grid]:
    try:
        streams, read = _ole_streams(data)
        if "encryptedpackage" in streams or "encryptioninfo" in streams:
            raise _Refused(ENCRYPTED)
        if "workbook" not in streams:
            raise _Refused(FORMAT_MISMATCH)  # a Word file, an Excel 95 "Book", or no workbook at all
        biff_sheets = _scan_biff(read("Workbook"))
    except (ValueError, KeyError, IndexError, struct.error, UnicodeDecodeError):
        raise _Refused(FORMAT_MISMATCH) from None
    shown = [sheet for sheet in biff_sheets if sheet.visible and sheet.worksheet]
    for sheet in shown:
        _check_area(sheet.name, sheet.scan.last_row + 1, sheet.scan.last_col + 1, max_cells)
    read_by_calamine = _calamine_in_child(data, [sheet.name for sheet in shown])
    grids = []
    for sheet in shown:
        grid = read_by_calamine.get(sheet.name)
        if grid is None:
            raise _Refused(FORMAT_MISMATCH, sheet.name)
        grid.formulas = sheet.scan.formulas
        grids.append(grid)
    return grids


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
    grid: _Grid
    row: int  # 0-based
    found: dict[str, list[int]]  # key -> the columns headed by one of its aliases

    def required_found(self, columns: Sequence[Column]) -> int:
        return sum(1 for c in columns if c.required and c.key in self.found)


def _invisible_reason(text: str) -> str | None:
    reason = naming.invisible_problem(text)
    return f"{reason}后重新上传" if reason else None


def _find_header(grid: _Grid, aliases: Mapping[str, str]) -> _Header | None:
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


def _choose_header(grids: Sequence[_Grid], columns: Sequence[Column]) -> _Header:
    aliases = _alias_index(columns)
    headers = [h for h in (_find_header(g, aliases) for g in grids) if h is not None]
    required = sum(1 for c in columns if c.required)
    complete = [h for h in headers if h.required_found(columns) == required]
    if len(complete) > 1:
        names = "、".join(f"“{h.grid.name}”" for h in complete)
        raise _Refused(f"工作簿中有多个工作表（{names}）都有完整的表头，请每次只上传一个工作表")
    if complete:
        return complete[0]
    if not headers:
        wanted = "、".join(c.title for c in columns if c.required)
        sheet = grids[0].name if len(grids) == 1 else None
        raise _Refused(f"前{HEADER_SEARCH_ROWS}行中找不到表头：应有 {wanted} 等列", sheet)
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
    grid: _Grid,
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


def _fill_merged(grid: _Grid, below: int) -> None:
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


def _table(grids: Sequence[_Grid], columns: Sequence[Column], max_rows: int) -> UploadTable:
    if not grids:
        raise _Refused("工作簿中没有可见的工作表")
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
    rows: list[SheetRow] = []
    for r in range(header.row + 1, grid.row_count()):
        values = {c.key: "" for c in columns}
        formulas = []
        for key, c in places.items():
            values[key] = clean_cell(grid.value(r, c))
            if grid.is_formula(r, c):
                formulas.append(key)
        if not formulas and not any(values.values()):
            continue
        if len(rows) == max_rows:
            raise _Refused(f"超过{max_rows}行上限（表头以下的非空行不能多于{max_rows}行）", grid.name)
        row = SheetRow(r + 1, values)
        rows.append(row)
        for key in places:
            text = values[key]
            reason = FORMULA_CELL if key in formulas else _invisible_reason(text)
            if reason is not None:
                problems.append(
                    Problem(grid.name, r + 1, locations[key][0], locations[key][1], naming.visible(text, 200), reason)
                )
    if not rows:  # most likely the wrong file, or the sheet was saved before it was filled in
        raise _Refused(f"表头（第{header.row + 1}行）以下没有任何数据行", grid.name)
    return UploadTable(grid.name, header.row + 1, rows, locations, tuple(problems))
