"""``.xls`` uploads: a compound file (OLE2) holding a BIFF8 workbook stream, its chains and cell
records checked before calamine reads the values.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import olefile

from hygiene.io.sheets.base import ENCRYPTED, FORMAT_MISMATCH, MAX_UPLOAD_BYTES, Grid, Refused
from hygiene.io.sheets.xlsx import _calamine_in_child, _check_area, _SheetScan

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
            raise Refused(FORMAT_MISMATCH)  # not BIFF8: Excel 95 or older, or not a workbook
        if kind == _FILEPASS:
            raise Refused(ENCRYPTED)
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


def _read_xls(data: bytes, max_cells: int) -> list[Grid]:
    try:
        streams, read = _ole_streams(data)
        if "encryptedpackage" in streams or "encryptioninfo" in streams:
            raise Refused(ENCRYPTED)
        if "workbook" not in streams:
            raise Refused(FORMAT_MISMATCH)  # a Word file, an Excel 95 "Book", or no workbook at all
        biff_sheets = _scan_biff(read("Workbook"))
    except (ValueError, KeyError, IndexError, struct.error, UnicodeDecodeError):
        raise Refused(FORMAT_MISMATCH) from None
    shown = [sheet for sheet in biff_sheets if sheet.visible and sheet.worksheet]
    for sheet in shown:
        _check_area(sheet.name, sheet.scan.last_row + 1, sheet.scan.last_col + 1, max_cells)
    read_by_calamine = _calamine_in_child(data, [sheet.name for sheet in shown])
    grids = []
    for sheet in shown:
        grid = read_by_calamine.get(sheet.name)
        if grid is None:
            raise Refused(FORMAT_MISMATCH, sheet.name)
        grid.formulas = sheet.scan.formulas
        grids.append(grid)
    return grids
