"""Upload files built in memory for the reader's tests: workbooks written with openpyxl, zips
written by hand to break the rules, and a minimal ``.xls`` (an OLE2 compound file holding a BIFF8
workbook stream), since nothing in the stack writes one."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable, Sequence

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

ROSTER_HEADER = ["乡镇", "村", "村民组", "户编号", "户主姓名", "人口"]
ROSTER_ROW = ["松林镇", "青山村", "第一组", "0012", "王五", "3"]


def csv_file(rows: Sequence[Sequence[object]], encoding: str = "utf-8") -> bytes:
    text = "".join(",".join(str(v) for v in row) + "\r\n" for row in rows)
    return text.encode(encoding)


def xlsx_file(
    rows: Sequence[Sequence[object]],
    *,
    edit: Callable[[Worksheet], None] | None = None,
    title: str = "Sheet1",
) -> bytes:
    """One sheet holding ``rows`` from A1; strings are text cells (openpyxl would make ``=...`` a
    formula), then ``edit`` may add formulas, merges, more sheets."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(list(row))
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    if edit is not None:
        edit(ws)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def zip_file(entries: Sequence[tuple[str, bytes]], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def blank_zip(sheet_megabytes: int) -> bytes:
    """An xlsx-shaped zip whose sheet XML inflates to ``sheet_megabytes`` MiB of spaces (about
    1,000:1), streamed so that the test itself never holds the inflated bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            chunk = b" " * (1 << 20)
            for _ in range(sheet_megabytes):
                sheet.write(chunk)
    return buffer.getvalue()


def understate_size(data: bytes, name: str, size: int) -> bytes:
    """``data`` with the central directory claiming ``name`` inflates to ``size`` bytes."""
    patched = bytearray(data)
    offset = patched.find(b"PK\x01\x02")
    while offset != -1:
        name_length = struct.unpack_from("<H", patched, offset + 28)[0]
        if patched[offset + 46 : offset + 46 + name_length] == name.encode():
            struct.pack_into("<I", patched, offset + 24, size)
            return bytes(patched)
        offset = patched.find(b"PK\x01\x02", offset + 4)
    raise AssertionError(f"{name} is not in the zip")


# --- .xls: OLE2 compound file + BIFF8 -------------------------------------------------------------

_END, _FREE, _FAT_SECTOR, _NO_STREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def compound_file(streams: Sequence[tuple[str, bytes]]) -> bytes:
    """A version 3 compound file (512-byte sectors): header, one FAT sector, one directory sector,
    then each stream padded to the 4096-byte mini-stream cutoff so that no mini stream is needed."""
    fat = [_FAT_SECTOR, _END]
    directory = []
    body = []
    for name, data in streams:
        padded = data.ljust(max(4096, -(-len(data) // 512) * 512), b"\0")
        count = len(padded) // 512
        start = len(fat)
        fat += [start + i + 1 for i in range(count - 1)] + [_END]
        directory.append((name, start, len(padded)))
        body.append(padded)
    assert len(fat) <= 128 and len(directory) <= 3

    def entry(name: str, kind: int, start: int, size: int, child: int = _NO_STREAM, right: int = _NO_STREAM) -> bytes:
        raw = (name + "\0").encode("utf-16-le")
        head = raw.ljust(64, b"\0") + struct.pack("<HBBIII", len(raw), kind, 1, _NO_STREAM, right, child)
        return head + bytes(36) + struct.pack("<IQ", start, size)

    entries = entry("Root Entry", 5, _END, 0, child=1 if directory else _NO_STREAM)
    for i, (name, start, size) in enumerate(directory):
        entries += entry(name, 2, start, size, right=i + 2 if i + 1 < len(directory) else _NO_STREAM)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
        + struct.pack("<I108I", 0, *[_FREE] * 108)
    )
    fat += [_FREE] * (128 - len(fat))
    return header + struct.pack("<128I", *fat) + entries.ljust(512, b"\0") + b"".join(body)


def _record(kind: int, body: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _bof(substream: int, version: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", version, substream, 0x0DBB, 0x07CC, 0, 0x0406))


def _cell(row: int, col: int, value: object) -> bytes:
    """A LABEL (text), a NUMBER, or for ``("=", n)`` a FORMULA ``=n`` with its cached value."""
    if isinstance(value, tuple):
        number = value[1]
        tokens = b"\x1e" + struct.pack("<H", number)  # ptgInt
        return _record(0x0006, struct.pack("<HHHdHIH", row, col, 15, float(number), 0, 0, len(tokens)) + tokens)
    if isinstance(value, int | float):
        return _record(0x0203, struct.pack("<HHHd", row, col, 15, float(value)))
    text = str(value)
    return _record(0x0204, struct.pack("<HHHHB", row, col, 15, len(text), 1) + text.encode("utf-16-le"))


def biff8_workbook(
    cells: Sequence[tuple[int, int, object]],
    *,
    sheet: str = "Sheet1",
    hidden: bool = False,
    encrypted: bool = False,
    version: int = 0x0600,
) -> bytes:
    """A BIFF8 ``Workbook`` stream with one worksheet holding ``cells`` as ``(row, col, value)``,
    0-based."""

    def globals_(position: int) -> bytes:
        name = sheet.encode("utf-16-le")
        records = _bof(0x0005, version)
        if encrypted:
            records += _record(0x002F, b"\0\0")  # FILEPASS
        records += _record(0x0042, struct.pack("<H", 1200))  # CODEPAGE: UTF-16
        records += _record(0x0085, struct.pack("<IBBBB", position, 1 if hidden else 0, 0, len(sheet), 1) + name)
        return records + _record(0x000A)

    rows = max(r for r, _, _ in cells) + 1
    cols = max(c for _, c, _ in cells) + 1
    body = _bof(0x0010, version) + _record(0x0200, struct.pack("<IIHHH", 0, rows, 0, cols, 0))
    body += b"".join(_cell(r, c, v) for r, c, v in cells) + _record(0x000A)
    return globals_(len(globals_(0))) + body


def xls_file(
    rows: Sequence[Sequence[object]],
    *,
    sheet: str = "Sheet1",
    hidden: bool = False,
    encrypted: bool = False,
    version: int = 0x0600,
) -> bytes:
    """An ``.xls`` file holding ``rows`` from A1 (``None`` for an empty cell)."""
    cells = [(r, c, v) for r, row in enumerate(rows) for c, v in enumerate(row) if v is not None]
    workbook = biff8_workbook(cells, sheet=sheet, hidden=hidden, encrypted=encrypted, version=version)
    return compound_file([("Workbook", workbook)])
