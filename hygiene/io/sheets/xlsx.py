"""``.xlsx`` uploads: the zip bounded and inflated once, the used area and formulas found from the
sheet XML, the values read by calamine (in a child process with a time limit).
"""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.parsers import expat

import python_calamine

from hygiene.io import calamine_child
from hygiene.io.sheets.base import (
    CHILD_SECONDS,
    ENCRYPTED,
    FORMAT_MISMATCH,
    ZIP_MAX_ENTRIES,
    ZIP_MAX_RATIO,
    Grid,
    Refused,
)

# --- xlsx ----------------------------------------------------------------------------------------

_NS_SPLIT = " "


def _check_zip(data: bytes, zip_bytes: int) -> zipfile.ZipFile:
    """Open a zip only if unpacking it is bounded, and inflate every entry once, so that a lying
    size in the directory or a corrupt entry is found before any parser sees the file."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, struct.error):
        raise Refused(FORMAT_MISMATCH) from None
    if len(entries) > ZIP_MAX_ENTRIES:
        raise Refused(f"压缩包条目超过{ZIP_MAX_ENTRIES}个，拒绝解析")
    names = [e.filename for e in entries]
    if len(set(names)) != len(names):
        raise Refused(FORMAT_MISMATCH)
    for name in names:
        parts = re.split(r"[/\\]", name)
        if name.startswith(("/", "\\")) or ".." in parts or re.match(r"[A-Za-z]:", name):
            raise Refused("压缩包含有不安全的路径（..或绝对路径），拒绝解析")
    if sum(e.file_size for e in entries) > zip_bytes:
        raise Refused(f"压缩包解压后超过{zip_bytes // (1024 * 1024)} MB，拒绝解析")
    for entry in entries:
        if entry.file_size > ZIP_MAX_RATIO * entry.compress_size:
            raise Refused(f"压缩包中 {entry.filename} 的压缩比超过{ZIP_MAX_RATIO}:1，拒绝解析")
    try:
        for entry in entries:
            with archive.open(entry) as stream:
                while stream.read(1 << 16):
                    pass
    except RuntimeError:  # zipfile's "File is encrypted, password required"
        raise Refused(ENCRYPTED) from None
    except (zipfile.BadZipFile, NotImplementedError, zlib.error, EOFError, OSError, ValueError):
        raise Refused(FORMAT_MISMATCH) from None
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
        raise Refused(FORMAT_MISMATCH)

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
        raise Refused(FORMAT_MISMATCH) from None


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


def _read_xlsx(data: bytes, zip_bytes: int, max_cells: int) -> list[Grid]:
    archive = _check_zip(data, zip_bytes)
    names = set(archive.namelist())
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise Refused(FORMAT_MISMATCH)
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
        raise Refused(f"工作表的使用范围过大（直到第{rows}行、第{cols}列有内容），请删除多余的行和列后重新上传", sheet)


def _open_calamine(data: bytes) -> python_calamine.CalamineWorkbook:
    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except python_calamine.PasswordError:
        raise Refused(ENCRYPTED) from None
    except Exception:  # calamine's own errors and any panic surfaced as an exception
        raise Refused(FORMAT_MISMATCH) from None


def _calamine_grid(book: python_calamine.CalamineWorkbook, name: str) -> Grid:
    try:
        cells, merged = calamine_child.sheet_cells(book, name)
    except python_calamine.PasswordError:
        raise Refused(ENCRYPTED) from None
    except Exception:
        raise Refused(FORMAT_MISMATCH, name) from None
    return Grid(name, cells, merged=merged)


def _calamine_in_child(data: bytes, names: list[str]) -> dict[str, Grid]:
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
        raise Refused(FORMAT_MISMATCH) from None
    if done.returncode == calamine_child.ENCRYPTED_EXIT:
        raise Refused(ENCRYPTED)
    if done.returncode != 0:
        raise Refused(FORMAT_MISMATCH)
    sheets = json.loads(done.stdout)
    return {
        name: Grid(name, sheet["cells"], merged=[(r0, c0, r1, c1) for r0, c0, r1, c1 in sheet["merged"]])
        for name, sheet in sheets.items()
    }
