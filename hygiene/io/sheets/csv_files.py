"""CSV uploads: strict UTF-8 (with or without BOM), then strict GB18030; never a type-guessing reader."""

from __future__ import annotations

import csv
import io
import re

from hygiene.io.sheets.base import FORMAT_MISMATCH, Grid, Problem, Refused, UploadRejected

# --- CSV -----------------------------------------------------------------------------------------

_BINARY_MAGICS = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf", b"{\\rtf", b"PK")
_MARKUP = re.compile(r"\A\s*<(?:!doctype|html|\?xml|head|body|table|meta|!--)", re.IGNORECASE)


def _read_csv(data: bytes) -> Grid:
    if data.startswith(_BINARY_MAGICS) or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Refused(FORMAT_MISMATCH)
    text = _decode(data)
    if "\x00" in text or _MARKUP.match(text[:1024]):
        raise Refused(FORMAT_MISMATCH)
    cells: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        cells.extend(reader)
    except csv.Error:
        raise UploadRejected(
            [Problem(None, len(cells) + 1, None, None, None, "CSV格式有误（引号不成对或单元格过长）")]
        ) from None
    return Grid(None, cells)


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
    raise Refused(FORMAT_MISMATCH)
