"""calamine's reading of a workbook, shared by the upload reader in the web process and, for the
binary ``.xls`` format, by a child process with a memory ceiling.

Why a child: fuzzing showed that a damaged BIFF8 workbook can make calamine (Rust) ask for more
memory than the machine has, and abort; inside a gunicorn worker that is a crash, and without a
ceiling it takes the whole machine's memory. The child sets ``RLIMIT_AS`` before loading calamine,
so such a file ends the child alone, and the upload is refused ("格式不符").

As a script: ``python -I calamine_child.py '["Sheet1", ...]' < workbook.xls`` prints
``{"Sheet1": {"cells": [[text, ...], ...], "merged": [[r0, c0, r1, c1], ...]}}``; it exits with
``ENCRYPTED_EXIT`` for a password-protected workbook and ``UNREADABLE_EXIT`` for anything calamine
cannot read. It imports nothing of this project, so it starts in a fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
from typing import Any

CHILD_MEMORY_BYTES = 2 << 30  # address space: Python and calamine need a few hundred MiB at most here
ENCRYPTED_EXIT, UNREADABLE_EXIT = 3, 4


def cell_text(value: object) -> str:
    """A calamine value as the text a person typed: integral numbers without ``.0``, dates in ISO."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def sheet_cells(book: Any, name: str) -> tuple[list[list[str]], list[tuple[int, int, int, int]]]:
    """One sheet's cells as text, every row as wide as the used area, and its merged ranges."""
    sheet = book.get_sheet_by_name(name)
    raw = sheet.to_python(skip_empty_area=False)
    merged = sheet.merged_cell_ranges or []
    return [[cell_text(value) for value in row] for row in raw], [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in merged]


def main() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    import python_calamine

    names = json.loads(sys.argv[1])
    data = sys.stdin.buffer.read()
    out = {}
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        for name in names:
            cells, merged = sheet_cells(book, name)
            out[name] = {"cells": cells, "merged": merged}
    except python_calamine.PasswordError:
        sys.exit(ENCRYPTED_EXIT)
    except Exception:  # calamine's own errors, a panic surfaced as an exception, MemoryError
        sys.exit(UNREADABLE_EXIT)
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
