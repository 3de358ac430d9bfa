"""Safe CSV and Excel downloads, and the review-sheet template.

Why this module exists: a household name is data typed by people, and a name such as
``=HYPERLINK("http://…")`` or ``@SUM(…)`` must never become a live formula in the spreadsheet of the
clerk who downloads a list (formula injection, RELIABILITY.md trap 5). openpyxl and
``DataFrame.to_excel`` write any string starting with ``=`` as a formula, so every text cell here is
written explicitly as text (``data_type = "s"``), with Excel's ``quotePrefix`` when it starts with a
formula character; in CSV, which has no types, a text field starting with ``= + - @``, a tab or a
carriage return gets a leading ``'`` (numbers are left alone: ``-1.5`` stays a number).

CSV is UTF-8 with a BOM, so that Excel and WPS open Chinese text correctly; booleans are written
``true``/``false`` and dates in ISO, as in the interchange files (INTERCHANGE.md §1).

The review template (`review_template_xlsx`), decided where the spec was silent:

- one sheet, 评分表: row 1 a merged title (``XX村 2026Q4 农户卫生评分表``), row 2 the header, rows 3…
  one row per household of the village, sorted as given;
- the header is 户编号, 户主姓名, 村民组, 评议类型, 评议人, then each criterion as ``label(code)``
  (``家庭个人卫生(c01)``), which `hygiene.io.sheets.review_columns` accepts as well as the bare code or
  label; 户主姓名 and 村民组 are for the clerk's eyes only and are ignored when the sheet is read back;
- each household's row is pre-filled with 评议类型 ``复评``, because the review team's group review
  covers every household; self and peer reviews are added as extra rows (copy the household's row,
  pick 自评 or 互评 in the drop-down, and for 互评 put the reviewing household's code in 评议人);
  a pre-filled row left without scores is an error on upload, never a zero, so unused rows are
  deleted rather than left blank;
- 户编号 and 评议人 are text cells (so ``0012`` stays ``0012``, also in codes typed later), 评议类型
  is a drop-down 自评/互评/复评 and every score cell accepts only a decimal within 0…its maximum,
  for `MAX_DATA_ROWS` rows so that added rows are checked too. The upload is still checked in full:
  Excel's validation is a help to the typist, not a guarantee.
- a second sheet, 填表说明, lists the criteria with their maxima and the rules above.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from hygiene.enums import REVIEW_KIND_WORDS
from hygiene.io.scores import format_points
from hygiene.io.sheets import MAX_DATA_ROWS, criterion_header

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

# openpyxl is imported by the functions that write a workbook: CSV exports (and the `hygiene`
# command's results) do not pay for it (issue 34).

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = "^[=+\\-@\t\r]"
TEMPLATE_KINDS = tuple(name for name in REVIEW_KIND_WORDS if not name.isascii())  # 自评, 互评, 复评: the sheet's words
TEMPLATE_SHEET = "评分表"

SheetSpec = tuple[str, Sequence[str], Iterable[Sequence[object]]]


# --- CSV -----------------------------------------------------------------------------------------


def csv_field(value: object) -> str:
    """One CSV field: numbers as written, text with a ``'`` before a leading formula character."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A CSV download: UTF-8 with BOM, CRLF line ends, every text field safe to open in Excel."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_field(h) for h in header])
    writer.writerows([csv_field(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def formula_safe(table: pa.Table) -> pa.Table:
    """An Arrow table whose text values that would start a formula get a leading ``'``, as
    `csv_field` does: for the engine's result tables written by ``hygiene results``."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            starts = pc.fill_null(pc.match_substring_regex(column, _FORMULA_START), False)
            quote, nothing = pa.scalar("'", column.type), pa.scalar("", column.type)
            column = pc.if_else(starts, pc.binary_join_element_wise(quote, column, nothing), column)
        columns.append(column)
    return pa.table(columns, schema=table.schema)


# --- xlsx ----------------------------------------------------------------------------------------


@cache
def _styles() -> dict[str, Any]:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Border, Font, PatternFill, Side

    thin = Side(style="thin", color="999999")
    return {
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
        "header_fill": PatternFill("solid", fgColor="E8EEF7"),
        "title_font": Font(bold=True, size=14),
        "header_font": Font(bold=True),
        "illegal_characters": ILLEGAL_CHARACTERS_RE,
    }


_SHEET_NAME_FORBIDDEN = str.maketrans({ch: "_" for ch in "[]:*?/\\"})


def write_cell(cell: Cell, value: object) -> None:
    """Put ``value`` in ``cell``; text is always stored as text, never as a formula."""
    if value is None:
        return
    if isinstance(value, bool | int | float | Decimal | dt.date | dt.time):
        if isinstance(value, float) and not math.isfinite(value):
            return
        cell.value = value
        return
    # Characters XML 1.0 cannot hold (C0 controls) would make openpyxl raise: shown as U+FFFD.
    text = _styles()["illegal_characters"].sub("\ufffd", str(value))
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_PREFIXES):
        cell.quotePrefix = True


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _sheet_title(name: str, taken: set[str]) -> str:
    # Excel refuses a title that starts or ends with an apostrophe, also after cutting to 31.
    base = name.translate(_SHEET_NAME_FORBIDDEN).strip("'")[:31].rstrip("'") or "Sheet"
    title, n = base, 1
    while title.lower() in taken:
        n += 1
        title = f"{base[: 31 - len(str(n)) - 1]}_{n}"
    taken.add(title.lower())
    return title


def _fill_sheet(ws: Worksheet, header: Sequence[str], rows: Iterable[Sequence[object]], title: str | None) -> int:
    """Title (merged) and header, then the rows; frozen panes, print titles and column widths.
    Returns the header's row number."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    styles = _styles()
    header_row = 1
    if title:
        write_cell(ws.cell(1, 1), title)
        ws.cell(1, 1).font = styles["title_font"]
        ws.cell(1, 1).alignment = Alignment(horizontal="center", vertical="center")
        if len(header) > 1:
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
        ws.row_dimensions[1].height = 28
        header_row = 2
    widths = [_display_width(str(h)) for h in header]
    for c, text in enumerate(header, start=1):
        cell = ws.cell(header_row, c)
        write_cell(cell, text)
        cell.font, cell.fill, cell.border = styles["header_font"], styles["header_fill"], styles["border"]
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, row in enumerate(rows, start=header_row + 1):
        for c, value in enumerate(row, start=1):
            write_cell(ws.cell(r, c), value)
            if c <= len(widths):
                widths[c - 1] = max(widths[c - 1], _display_width(str(value)) if value is not None else 0)
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = min(max(width + 2, 8), 40)
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    ws.print_title_rows = f"1:{header_row}"
    return header_row


def _workbook_bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def xlsx_bytes(sheets: list[SheetSpec], title: str | None = None) -> bytes:
    """A workbook with one sheet per ``(name, header, rows)``: an optional merged title row above
    the header of each sheet, the header frozen and repeated when printed, every text cell text."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    for name, header, rows in sheets or [("Sheet", [], [])]:
        _fill_sheet(wb.create_sheet(_sheet_title(name, taken)), header, rows, title)
    return _workbook_bytes(wb)


# --- the review template -------------------------------------------------------------------------


def template_header(rubric: Sequence[tuple[str, str, int]]) -> list[str]:
    """The review template's header row (see the module docstring)."""
    return ["户编号", "户主姓名", "村民组", "评议类型", "评议人"] + [
        criterion_header(code, label) for code, label, _ in rubric
    ]


def review_template_xlsx(
    village_title: str,
    households: Sequence[tuple[str, str, str]],
    rubric: Sequence[tuple[str, str, int]],
) -> bytes:
    """The review sheet for one village and period, ``households`` as ``(code, head_name, group)``
    and ``rubric`` as ``(code, label, max_tenths)``; what it holds is decided in the module docstring."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = TEMPLATE_SHEET
    header = template_header(rubric)
    rows = [(code, head, group, "复评", None) for code, head, group in households]
    header_row = _fill_sheet(ws, header, rows, f"{village_title} 农户卫生评分表")
    first, last = header_row + 1, header_row + max(MAX_DATA_ROWS, len(households))
    ws.row_dimensions[header_row].height = 45
    for letter in ("A", "E"):  # 户编号 and 评议人 hold codes: text, also in rows typed later
        for r in range(first, first + len(households)):
            ws[f"{letter}{r}"].number_format = "@"
        ws.column_dimensions[letter].number_format = "@"
    ws.column_dimensions["A"].width = max(ws.column_dimensions["A"].width, 18)
    ws.column_dimensions["E"].width = max(ws.column_dimensions["E"].width, 18)
    kinds = DataValidation(
        type="list",
        formula1='"' + ",".join(TEMPLATE_KINDS) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="评议类型",
        error="请从下拉列表中选择：自评、互评或复评",
    )
    kinds.add(f"D{first}:D{last}")
    ws.add_data_validation(kinds)
    for c, (_, label, max_tenths) in enumerate(rubric, start=6):
        points = format_points(max_tenths)
        score = DataValidation(
            type="decimal",
            operator="between",
            formula1="0",
            formula2=points,
            allow_blank=True,
            showErrorMessage=True,
            showInputMessage=True,
            errorTitle="分数超出范围",
            error=f"{label}：请填写0–{points}之间的分数，最多一位小数",
            promptTitle=label[:32],
            prompt=f"0–{points}分，最多一位小数；空白不计为0分",
        )
        letter = get_column_letter(c)
        score.add(f"{letter}{first}:{letter}{last}")
        ws.add_data_validation(score)
        ws.column_dimensions[letter].width = 12
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    _instructions(wb.create_sheet("填表说明"), rubric)
    return _workbook_bytes(wb)


def _instructions(ws: Worksheet, rubric: Sequence[tuple[str, str, int]]) -> None:
    lines = [
        "1. 每户一行，已预填“复评”；自评、互评请复制该户一行后插入，在“评议类型”中选择自评或互评。",
        "2. 互评的“评议人”填写评议户的户编号（须为本组其他农户）；复评填写评比检查小组成员姓名；自评不填。",
        "3. 分数填写0到该项满分之间的数，最多一位小数；空白不按0分计。",
        "4. 十项分数全部空白的行视为未评，导入时跳过；只填了部分分数的行会报错，并指出空白的格子。",
        "5. 请直接填写数值，不要使用公式；户编号请勿改动。",
        "6. 户主姓名、村民组两列仅供核对，导入时不读取。",
    ]
    rows: list[Sequence[object]] = [[line] for line in lines]
    rows.append([])
    rows.append(["评分项目", "代码", "满分"])
    rows.extend([label, code, format_points(max_tenths)] for code, label, max_tenths in rubric)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            write_cell(ws.cell(r, c), value)
    ws.column_dimensions["A"].width = 40
