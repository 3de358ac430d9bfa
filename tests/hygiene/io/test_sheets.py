"""The upload reader (INTERCHANGE.md §2, §2.1): file type by content, bounded before parsing, every
cell as trimmed text, header found by name, formulas refused, and every problem located as the
clerk sees the sheet."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import tracemalloc
import unicodedata
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet

from hygiene.enums import DEFAULT_CRITERIA
from hygiene.io.sheets import (
    ENCRYPTED,
    FORMAT_MISMATCH,
    FORMULA_CELL,
    MAX_PROBLEMS,
    Problem,
    UploadRejected,
    UploadTable,
    column_letter,
    criterion_header,
    read_upload,
    review_columns,
    roster_columns,
)
from hygiene.io.sheets.base import Grid, Refused
from hygiene.io.sheets.tables import _clean_column, _table
from hygiene.naming import clean as clean_cell
from hygiene.naming import visible
from tests.hygiene.io.files import (
    ROSTER_HEADER,
    ROSTER_ROW,
    blank_zip,
    compound_file,
    csv_file,
    understate_size,
    xls_file,
    xlsx_file,
    zip_file,
)

ROSTER = roster_columns()
RUBRIC = [("c01", "家庭个人卫生", 100), ("c02", "庭院环境", 95)]


def roster(data: bytes, name: str = "花名册.xlsx", **limits: int) -> UploadTable:
    return read_upload(data, name, ROSTER, **limits)


def rejected(data: bytes, **limits: int) -> UploadRejected:
    with pytest.raises(UploadRejected) as info:
        read_upload(data, "upload", ROSTER, **limits)
    return info.value


def located(error: UploadRejected) -> list[tuple[str | None, int | None, str | None, str | None, str | None, str]]:
    return [(p.sheet, p.row, p.column, p.header, p.value, p.reason) for p in error.problems]


def file_refused(data: bytes, reason: str, **limits: int) -> None:
    error = rejected(data, **limits)
    assert error.total == 1
    [problem] = error.problems
    assert (problem.row, problem.column, problem.value, problem.reason) == (None, None, None, reason)


# --- the three file types and their encodings ------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_csv_in_utf8_with_or_without_bom_or_gb18030_reads_the_same(encoding: str) -> None:
    table = roster(
        csv_file([ROSTER_HEADER, ROSTER_ROW, ["松林镇", "青山村", "第二组", "0013", "䶮李", "２"]], encoding)
    )
    assert table.sheet is None and table.header_row == 1
    assert [r.row for r in table.rows] == [2, 3]
    assert table.rows[0].values == {
        "township": "松林镇",
        "village": "青山村",
        "group": "第一组",
        "household_code": "0012",
        "head_name": "王五",
        "members": "3",
        "phone": "",
        "poor": "",
    }
    assert (table.rows[1].values["head_name"], table.rows[1].values["members"]) == ("䶮李", "２")


@pytest.mark.parametrize(
    "data",
    [
        "township,village,group,household_code,head_name,members\r\nCafé,x,y,1,Zoë,1\r\n".encode("latin-1"),
        b"\xef\xbb\xbf" + csv_file([ROSTER_HEADER, ROSTER_ROW], "gb18030"),  # a BOM promises UTF-8
        "乡镇,村\r\n".encode("utf-16"),
        "乡镇,村\r\n".encode("utf-16-le"),
        b"%PDF-1.4\n1 0 obj\n",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        "<!DOCTYPE html><html><body><table><tr><td>户编号</td></tr></table></body></html>".encode(),
        b"<table><tr><td>1</td></tr></table>",
        random.Random(7).randbytes(4096),
    ],
    ids=["latin-1", "bom-then-gb18030", "utf-16", "utf-16-le-no-bom", "pdf", "png", "html-as-xls", "table", "junk"],
)
def test_text_that_is_neither_utf8_nor_gb18030_and_other_files_are_a_format_mismatch(data: bytes) -> None:
    file_refused(data, FORMAT_MISMATCH)


def test_the_file_name_proves_nothing_the_content_decides() -> None:
    data = csv_file([ROSTER_HEADER, ROSTER_ROW])
    assert read_upload(data, "花名册.xlsx", ROSTER).rows == read_upload(data, "a.pdf", ROSTER).rows
    with pytest.raises(UploadRejected, match="格式不符"):
        read_upload(b"%PDF-1.7", "花名册.csv", ROSTER)


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_a_truncated_xlsx_is_a_format_mismatch(cut: float) -> None:
    data = xlsx_file([ROSTER_HEADER, ROSTER_ROW])
    file_refused(data[: int(len(data) * cut)], FORMAT_MISMATCH)


def test_a_zip_that_is_not_a_workbook_is_a_format_mismatch() -> None:
    file_refused(zip_file([("word/document.xml", b"<w/>"), ("[Content_Types].xml", b"<Types/>")]), FORMAT_MISMATCH)


def test_a_csv_with_an_unclosed_quote_names_the_row() -> None:
    error = rejected(csv_file([ROSTER_HEADER, ROSTER_ROW]) + '松林镇,青山村,第一组,0013,"王,3\r\n'.encode())
    assert located(error) == [(None, 3, None, None, None, "CSV格式有误（引号不成对或单元格过长）")]


def test_an_xls_is_read_by_content_with_text_codes_kept() -> None:
    table = roster(xls_file([ROSTER_HEADER, ["松林镇", "青山村", "第一组", "0012", "王五", 3]], sheet="花名册"))
    assert (table.sheet, table.header_row) == ("花名册", 1)
    [row] = table.rows
    assert (row.row, row.values["household_code"], row.values["members"]) == (2, "0012", "3")


def test_a_formula_in_an_xls_is_refused_even_with_its_cached_value() -> None:
    error = rejected(xls_file([ROSTER_HEADER, [*ROSTER_ROW[:5], ("=", 3)]]))
    assert located(error) == [("Sheet1", 2, "F", "人口", "3", FORMULA_CELL)]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (xls_file([ROSTER_HEADER, ROSTER_ROW], encrypted=True), ENCRYPTED),
        (compound_file([("EncryptionInfo", b"\4\0\4\0"), ("EncryptedPackage", b"\0" * 16)]), ENCRYPTED),
        (xls_file([ROSTER_HEADER, ROSTER_ROW], version=0x0500), FORMAT_MISMATCH),  # Excel 95
        (compound_file([("WordDocument", b"\xec\xa5")]), FORMAT_MISMATCH),
        (compound_file([("Workbook", b"")])[:600], FORMAT_MISMATCH),
        (xls_file([ROSTER_HEADER, ROSTER_ROW], hidden=True), "工作簿中没有可见的工作表"),
    ],
    ids=["filepass", "encrypted-ooxml", "biff5", "word", "truncated", "only-hidden"],
)
def test_ole_files_that_are_not_a_readable_workbook_are_refused(data: bytes, reason: str) -> None:
    file_refused(data, reason)


# --- bounded before parsing ------------------------------------------------------------------------


def test_an_upload_over_the_size_limit_is_refused_unread_with_the_limit_named() -> None:
    data = csv_file([ROSTER_HEADER, ROSTER_ROW])
    assert len(roster(data, max_bytes=len(data)).rows) == 1  # the limit itself is allowed
    file_refused(data, f"文件超过{(len(data) - 1) / 1024:g} KB上限", max_bytes=len(data) - 1)
    file_refused(data + b"#" * 1024, "文件超过1 KB上限", max_bytes=1024)
    file_refused(b"x" * (8 * 1024 * 1024 + 1), "文件超过8 MB上限")


@pytest.mark.parametrize(
    ("megabytes", "reason"),
    [
        (60, "压缩包解压后超过50 MB，拒绝解析"),
        (5, "压缩包中 xl/worksheets/sheet1.xml 的压缩比超过100:1，拒绝解析"),
    ],
)
def test_a_zip_bomb_is_refused_without_inflating_it(megabytes: int, reason: str) -> None:
    data = blank_zip(megabytes)
    assert len(data) < 100_000
    tracemalloc.start()
    try:
        file_refused(data, reason)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024


def test_a_zip_that_understates_an_entrys_size_is_refused_once_the_claim_is_broken() -> None:
    data = blank_zip(60)
    lying = understate_size(data, "xl/worksheets/sheet1.xml", 50_000)  # small total, ratio under 100:1
    tracemalloc.start()
    try:
        file_refused(lying, FORMAT_MISMATCH)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024


@pytest.mark.parametrize("name", ["../evil.xml", "xl/../../evil.xml", "/etc/evil.xml", "\\evil.xml", "C:/evil.xml"])
def test_a_zip_with_an_unsafe_path_is_refused(name: str) -> None:
    data = zip_file([("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<workbook/>"), (name, b"x")])
    file_refused(data, "压缩包含有不安全的路径（..或绝对路径），拒绝解析")


def test_a_zip_with_more_than_200_entries_is_refused() -> None:
    entries = [(f"xl/media/{i}.txt", b"x") for i in range(199)]
    data = zip_file([("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<workbook/>"), *entries])
    file_refused(data, "压缩包条目超过200个，拒绝解析")
    allowed = zip_file([("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<workbook/>"), *entries[:198]])
    file_refused(allowed, FORMAT_MISMATCH)  # 200 entries pass the count, then fail as a workbook


@pytest.mark.parametrize("last_cell", ["XFD1048576", "A700000", "ZZ3000"])
def test_a_sheet_whose_used_area_is_too_large_is_refused_before_it_is_allocated(last_cell: str) -> None:
    def far(ws: Worksheet) -> None:
        ws[last_cell] = "x"

    error = rejected(xlsx_file([ROSTER_HEADER, ROSTER_ROW], edit=far))
    [problem] = error.problems
    assert problem.sheet == "Sheet1"
    assert problem.reason.startswith("工作表的使用范围过大") and "请删除多余的行和列" in problem.reason


def test_a_large_but_plausible_sheet_is_not_mistaken_for_a_bomb() -> None:
    def far(ws: Worksheet) -> None:
        ws["AZ1"] = "备注"

    assert len(roster(xlsx_file([ROSTER_HEADER, ROSTER_ROW], edit=far)).rows) == 1


def test_a_doctype_in_the_sheet_xml_is_refused() -> None:
    data = xlsx_file([ROSTER_HEADER, ROSTER_ROW])
    source = zipfile.ZipFile(io.BytesIO(data))
    entries = []
    for info in source.infolist():
        body = source.read(info)
        if info.filename == "xl/worksheets/sheet1.xml":
            body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + body
        entries.append((info.filename, body))
    file_refused(zip_file(entries), FORMAT_MISMATCH)


# --- rows and their limits -------------------------------------------------------------------------


def test_an_empty_file_has_no_header() -> None:
    file_refused(b"", "前10行中找不到表头：应有 乡镇、村、村民组、户编号、户主姓名、人口 等列")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_header_only_sheet_is_refused(fmt: str) -> None:
    data = csv_file([ROSTER_HEADER, [""] * 6]) if fmt == "csv" else xlsx_file([["花名册"], ROSTER_HEADER])
    error = rejected(data)
    [problem] = error.problems
    header_row = 1 if fmt == "csv" else 2
    assert (problem.row, problem.reason) == (None, f"表头（第{header_row}行）以下没有任何数据行")


def test_the_row_limit_counts_non_blank_rows_and_is_named() -> None:
    rows = [[*ROSTER_ROW[:3], f"{i:04d}", "王五", "3"] for i in range(3)]
    assert len(roster(csv_file([ROSTER_HEADER, *rows, [""] * 6, []]), max_rows=3).rows) == 3
    error = rejected(csv_file([ROSTER_HEADER, *rows, rows[0]]), max_rows=3)
    assert located(error) == [(None, None, None, None, None, "超过3行上限（表头以下的非空行不能多于3行）")]


def test_the_default_row_limit_is_3000() -> None:
    rows = [[*ROSTER_ROW[:3], f"{i:05d}", "王五", "3"] for i in range(3001)]
    assert len(roster(csv_file([ROSTER_HEADER, *rows[:3000]])).rows) == 3000
    error = rejected(csv_file([ROSTER_HEADER, *rows]))
    assert error.problems[0].reason == "超过3000行上限（表头以下的非空行不能多于3000行）"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_blank_rows_are_skipped_and_rows_keep_the_numbers_the_sheet_shows(fmt: str) -> None:
    second = ["松林镇", "青山村", "第一组", "0013", "李四", "2"]
    rows = [["青山村花名册"], ["制表：村委会"], ROSTER_HEADER, ROSTER_ROW, [""] * 6, ["", "", "", "", "", ""], second]
    data = csv_file(rows) if fmt == "csv" else xlsx_file([[v or None for v in row] for row in rows])
    table = roster(data)
    assert table.header_row == 3
    assert [(r.row, r.values["household_code"]) for r in table.rows] == [(4, "0012"), (7, "0013")]


def test_a_row_with_text_only_in_unrecognised_columns_counts_as_blank() -> None:
    table = roster(csv_file([[*ROSTER_HEADER, "备注"], [*ROSTER_ROW, ""], ["", "", "", "", "", "", "说明：共1户"]]))
    assert [r.row for r in table.rows] == [2]


# --- every cell is text ----------------------------------------------------------------------------


def test_xlsx_cells_are_read_as_the_text_a_person_typed() -> None:
    row = ["松林镇", "青山村", dt.date(2026, 1, 2), "0012", "NA", 3.0, 13800000001, True]
    table = roster(xlsx_file([[*ROSTER_HEADER, "联系电话", "是否脱贫户"], row]))
    assert table.rows[0].values == {
        "township": "松林镇",
        "village": "青山村",
        "group": "2026-01-02",
        "household_code": "0012",  # a text cell keeps its leading zeros
        "head_name": "NA",  # never "missing"
        "members": "3",  # not "3.0"
        "phone": "13800000001",
        "poor": "TRUE",
    }


def test_a_number_keeps_its_decimals_and_a_datetime_its_time() -> None:
    typed = dt.datetime(2026, 1, 2, 3, 4, 5)  # noqa: DTZ001 - a spreadsheet cell has no time zone
    table = roster(xlsx_file([ROSTER_HEADER, ["松林镇", "青山村", typed, "0012", 9.5, 4]]))
    values = table.rows[0].values
    assert (values["group"], values["head_name"], values["members"]) == ("2026-01-02 03:04:05", "9.5", "4")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_text_cell_starting_with_a_formula_character_is_data_kept_verbatim(fmt: str) -> None:
    rows = [ROSTER_HEADER, ["松林镇", "青山村", "第一组", "=1+1", "@李六", "-3"]]
    table = roster(csv_file(rows) if fmt == "csv" else xlsx_file(rows))
    values = table.rows[0].values
    assert (values["household_code"], values["head_name"], values["members"]) == ("=1+1", "@李六", "-3")


def test_full_width_digits_in_cells_are_kept_as_typed_for_the_score_parser() -> None:
    table = roster(xlsx_file([ROSTER_HEADER, ["松林镇", "青山村", "第一组", "００１２", "王五", "３"]]))
    assert (table.rows[0].values["household_code"], table.rows[0].values["members"]) == ("００１２", "３")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cells_are_trimmed_of_every_unicode_space_and_nfc_normalised(fmt: str) -> None:
    rows = [ROSTER_HEADER, ["\u3000松林镇 ", "\xa0青山村", "第一组\t", " 0012 ", "Zoe\u0301", "3\u3000"]]
    table = roster(csv_file(rows) if fmt == "csv" else xlsx_file(rows))
    values = table.rows[0].values
    assert [values[k] for k in ("township", "village", "group", "household_code", "head_name", "members")] == [
        "松林镇",
        "青山村",
        "第一组",
        "0012",
        "Zoé",
        "3",
    ]
    assert unicodedata.is_normalized("NFC", values["head_name"])


@pytest.mark.parametrize(
    ("cell", "shown", "reason"),
    [
        ("00\u200b12", "00\\u200b12", "含有零宽空格（U+200B），请删除后重新上传"),
        ("\u200b0012", "\\u200b0012", "含有零宽空格（U+200B），请删除后重新上传"),
        ("00\ufeff12", "00\\ufeff12", "含有零宽不换行空格（BOM）（U+FEFF），请删除后重新上传"),
        ("00\x0112", "00\\u000112", "含有控制字符（U+0001），请删除后重新上传"),
        ("00\u206012", "00\\u206012", "含有零宽不换行符（U+2060），请删除后重新上传"),
        ("00\u202e12", "00\\u202e12", "含有从右到左覆盖符（U+202E），请删除后重新上传"),
    ],
)
def test_an_invisible_character_inside_a_cell_is_an_error_naming_it(cell: str, shown: str, reason: str) -> None:
    error = rejected(csv_file([ROSTER_HEADER, ["松林镇", "青山村", "第一组", cell, "王五", "3"]]))
    assert located(error) == [(None, 2, "D", "户编号", shown, reason)]
    assert error.problems[0].message() == f'第2行 D列(户编号): "{shown}": {reason}'


def test_a_line_break_typed_inside_a_cell_is_an_error_on_the_row_excel_shows() -> None:
    data = (
        "乡镇,村,村民组,户编号,户主姓名,人口\r\n"
        '松林镇,青山村,第一组,0012,"王\n五",3\r\n'
        "松林镇,青山村,第一组,0013,李四,\u200b\r\n"
    )
    error = rejected(data.encode())
    assert located(error) == [
        (None, 2, "E", "户主姓名", "王\\u000a五", "含有换行符（U+000A），请删除后重新上传"),
        (None, 3, "F", "人口", "\\u200b", "含有零宽空格（U+200B），请删除后重新上传"),
    ]


def test_every_problem_is_listed_up_to_200_with_the_total_kept() -> None:
    rows = [["松林镇", "青山村", "第一组", f"{i:04d}\u200b", "王五", "3"] for i in range(250)]
    error = rejected(csv_file([ROSTER_HEADER, *rows]))
    assert error.total == 250 and len(error.problems) == MAX_PROBLEMS == 200
    assert [p.row for p in error.problems] == list(range(2, 202))
    assert str(error).startswith("上传的文件有 250 处问题，第一处：第2行 D列(户编号)")


@given(st.lists(st.text(st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=12), min_size=1))
def test_any_visible_name_survives_a_csv_round_trip_as_its_nfc_text(names: list[str]) -> None:
    rows = [["松林镇", "青山村", "第一组", f"{i:04d}", name, "3"] for i, name in enumerate(names)]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([ROSTER_HEADER, *rows])
    table = roster(buffer.getvalue().encode("gb18030"))
    assert [r.values["head_name"] for r in table.rows] == [unicodedata.normalize("NFC", n).strip() for n in names]


# --- formulas --------------------------------------------------------------------------------------


def test_a_formula_cell_without_a_cached_value_is_refused_where_it_is() -> None:
    def formula(ws: Worksheet) -> None:
        ws["F3"] = "=1+1"  # openpyxl writes <f> and no cached value, like a file never recalculated

    error = rejected(xlsx_file([["青山村花名册"], ROSTER_HEADER, ROSTER_ROW], edit=formula))
    assert located(error) == [("Sheet1", 3, "F", "人口", "", FORMULA_CELL)]
    assert error.problems[0].message() == '第3行 F列(人口): "": 公式单元格不能导入，请粘贴为数值'


def test_an_array_formula_refuses_every_cell_of_its_range() -> None:
    second = ["松林镇", "青山村", "第一组", "0013", "李四"]

    def formula(ws: Worksheet) -> None:
        ws["F2"] = ArrayFormula("F2:F3", "=A1:A2")

    error = rejected(xlsx_file([ROSTER_HEADER, ROSTER_ROW[:5], second], edit=formula))
    assert [(p.row, p.column, p.reason) for p in error.problems] == [(2, "F", FORMULA_CELL), (3, "F", FORMULA_CELL)]


def test_a_formula_in_a_column_that_is_not_read_is_ignored() -> None:
    def total(ws: Worksheet) -> None:
        ws["G1"] = "合计"
        ws["G2"] = "=SUM(F2:F2)"

    table = roster(xlsx_file([ROSTER_HEADER, ROSTER_ROW], edit=total))
    assert [r.values["members"] for r in table.rows] == ["3"]


def test_a_formula_in_the_last_row_without_a_cached_value_is_refused() -> None:
    def formula(ws: Worksheet) -> None:
        ws["F3"] = "=1+1"

    error = rejected(xlsx_file([ROSTER_HEADER, ROSTER_ROW], edit=formula))
    assert located(error) == [("Sheet1", 3, "F", "人口", "", FORMULA_CELL)]


# --- the header ------------------------------------------------------------------------------------


def test_a_merged_title_row_above_the_header_is_fine() -> None:
    def merge(ws: Worksheet) -> None:
        ws.merge_cells("A1:F1")

    table = roster(xlsx_file([["松林镇青山村 农户花名册"], ROSTER_HEADER, ROSTER_ROW], edit=merge))
    assert (table.header_row, [r.row for r in table.rows]) == (2, [3])
    assert table.locations["household_code"] == ("D", "户编号")


def test_the_header_must_be_within_the_first_10_rows() -> None:
    titles = [[f"说明{i}"] for i in range(9)]
    assert roster(csv_file([*titles, ROSTER_HEADER, ROSTER_ROW])).header_row == 10
    error = rejected(csv_file([*titles, ["说明9"], ROSTER_HEADER, ROSTER_ROW]))
    assert error.problems[0].reason.startswith("前10行中找不到表头")


@pytest.mark.parametrize(
    "header",
    [
        ["township", "village", "group", "household_code", "head_name", "members"],
        ["TOWNSHIP", "Village", "GROUP", "Household_Code", "HEAD_NAME", "Members"],
        ["乡镇(街道)", "村（居）", "村民小组", "户号", "户主", "家庭人口"],
        ["*乡镇", " 村 ", "村\u3000民\u3000组", "户\u200b编号", "户主姓名*", "人 口"],
        ["乡镇街道", "行政村", "组", "ｈｏｕｓｅｈｏｌｄ＿ｃｏｄｅ", "户主", "人口数"],
    ],
)
def test_header_aliases_match_after_nfkc_ignoring_spaces_stars_invisibles_and_ascii_case(header: list[str]) -> None:
    table = roster(csv_file([header, ROSTER_ROW]))
    assert table.rows[0].values["household_code"] == "0012"
    assert table.locations["household_code"] == ("D", header[3])


def test_columns_may_come_in_any_order_and_optional_ones_may_be_missing() -> None:
    header = ["户主姓名", "备注", "户编号", "人口", "村民组", "村", "乡镇", "联系电话"]
    table = roster(csv_file([header, ["王五", "x", "0012", "3", "第一组", "青山村", "松林镇", "13800000001"]]))
    assert table.rows[0].values["phone"] == "13800000001"
    assert table.rows[0].values["poor"] == ""
    assert table.locations["household_code"] == ("C", "户编号")
    assert table.locations["poor"] == (None, "是否脱贫户/低收入户")


def test_a_missing_required_column_is_named_with_its_accepted_headers() -> None:
    error = rejected(csv_file([ROSTER_HEADER[:5], ROSTER_ROW[:5]]))
    assert located(error) == [
        (None, None, None, None, None, "缺少“人口”列（表头可写作：人口、家庭人口、人口数、members）")
    ]


def test_a_column_given_twice_is_an_error_naming_both_places() -> None:
    error = rejected(csv_file([[*ROSTER_HEADER, "户号"], [*ROSTER_ROW, "0099"]]))
    assert located(error) == [(None, 1, "G", "户号", None, "与D列重复，“户编号”列只能有一列")]
    assert error.problems[0].message() == "第1行 G列(户号): 与D列重复，“户编号”列只能有一列"


def test_merged_cells_below_the_header_give_every_row_the_top_left_value() -> None:
    def merge(ws: Worksheet) -> None:
        ws.merge_cells("C2:C4")

    rows = [ROSTER_HEADER, ROSTER_ROW] + [["松林镇", "青山村", None, f"001{i}", "李四", "2"] for i in (3, 4)]
    table = roster(xlsx_file(rows, edit=merge))
    assert [(r.row, r.values["group"]) for r in table.rows] == [(2, "第一组"), (3, "第一组"), (4, "第一组")]


def test_a_merged_range_touching_a_score_column_is_refused_naming_the_range() -> None:
    header = ["户编号", "评议类型", "评议人", "c01", "c02"]
    rows = [
        header,
        ["H1", "复评", "王组长", "9", "9"],
        ["H2", None, "王组长", None, "8"],
        ["H3", "自评", None, "7", None],
    ]

    def merge(ws: Worksheet) -> None:
        ws.merge_cells("B2:B3")  # 评议类型 down two rows: each row gets 复评
        ws.merge_cells("D2:D3")  # one c01 score for two households
        ws.merge_cells("D4:E4")  # one number across two criteria

    with pytest.raises(UploadRejected) as info:
        read_upload(xlsx_file(rows, edit=merge), "评分表.xlsx", review_columns(RUBRIC))
    assert [p.message() for p in info.value.problems] == [
        '第2行 D列(c01): "9": 合并单元格 D2:D3 含分数列：一个分数不能当两个分数用，请取消合并后逐格填写',
        '第4行 D列(c01): "7": 合并单元格 D4:E4 含分数列：一个分数不能当两个分数用，请取消合并后逐格填写',
    ]

    def merge_text_only(ws: Worksheet) -> None:
        ws.merge_cells("B2:B3")

    table = read_upload(xlsx_file(rows, edit=merge_text_only), "评分表.xlsx", review_columns(RUBRIC))
    assert [r.values["kind"] for r in table.rows] == ["复评", "复评", "自评"]


def test_a_hidden_sheet_is_ignored_and_two_complete_sheets_are_refused() -> None:
    def hidden(ws: Worksheet) -> None:
        other = ws.parent.create_sheet("旧表")
        other.append(ROSTER_HEADER)
        other.append(["x"] * 6)
        other.sheet_state = "hidden"

    assert [r.values["head_name"] for r in roster(xlsx_file([ROSTER_HEADER, ROSTER_ROW], edit=hidden)).rows] == ["王五"]

    def second(ws: Worksheet) -> None:
        other = ws.parent.create_sheet("第二组")
        other.append(ROSTER_HEADER)
        other.append(["x"] * 6)

    file_refused(
        xlsx_file([ROSTER_HEADER, ROSTER_ROW], edit=second, title="第一组"),
        "工作簿中有多个工作表（“第一组”、“第二组”）都有完整的表头，请每次只上传一个工作表",
    )


def test_the_sheet_with_the_complete_header_is_chosen_among_several() -> None:
    def notes(ws: Worksheet) -> None:
        ws.parent.move_sheet(ws.parent.create_sheet("说明"), offset=-1)
        ws.parent["说明"].append(["户编号", "说明"])

    table = roster(xlsx_file([ROSTER_HEADER, ROSTER_ROW], edit=notes, title="花名册"))
    assert table.sheet == "花名册" and [r.row for r in table.rows] == [2]


# --- the review sheet's columns ---------------------------------------------------------------------


@pytest.mark.parametrize("style", ["code", "label", "template"])
def test_a_criterion_is_found_by_its_code_its_label_or_the_templates_header(style: str) -> None:
    heads = {
        "code": ["c01", "C02"],
        "label": ["家庭个人卫生", "庭院环境"],
        "template": [criterion_header(c, label) for c, label, _ in RUBRIC],
    }[style]
    data = csv_file([["户编号", "评议类型", "评议人", *heads], ["0012", "复评", "王组长", "9.5", "８"]])
    table = read_upload(data, "评分表.csv", review_columns(RUBRIC))
    assert {k: table.rows[0].values[k] for k in ("c01", "c02", "kind")} == {"c01": "9.5", "c02": "８", "kind": "复评"}
    assert table.locations["c02"] == ("E", heads[1])


def test_criterion_header_is_label_then_code_in_ascii_parentheses() -> None:
    assert criterion_header("c03", "房前屋后卫生（搭建、种植）") == "房前屋后卫生（搭建、种植）(c03)"


def test_review_columns_refuses_a_rubric_whose_labels_collide() -> None:
    with pytest.raises(ValueError, match="表头“户编号”同时指向 household_code 和 c01"):
        review_columns([("c01", "户编号", 100)])
    with pytest.raises(ValueError, match="同时指向 c01 和 c02"):
        review_columns([("c01", "厕所", 100), ("c02", "厕 所", 100)])
    with pytest.raises(ValueError, match="同时指向 c01 和 c02"):
        review_columns([("c01", "C02", 100), ("c02", "其他", 100)])


def test_the_default_rubric_gives_ten_criterion_columns() -> None:
    columns = review_columns(DEFAULT_CRITERIA)
    assert [c.key for c in columns] == ["household_code", "kind", "reviewer", *(c for c, _, _ in DEFAULT_CRITERIA)]
    assert all(c.required for c in columns)
    assert columns[3].aliases == ("家庭个人卫生", "c01", "家庭个人卫生(c01)")


# --- locating problems ------------------------------------------------------------------------------


def test_a_problem_reads_as_the_spec_shows_it() -> None:
    problem = Problem("评分表", 12, "D", "c01", "九", "不是0–10之间的分数")
    assert problem.message() == '第12行 D列(c01): "九": 不是0–10之间的分数'
    assert problem.cli_line("评分表.xlsx") == "评分表.xlsx:12:D(c01): 九: 不是0–10之间的分数"
    whole = Problem(None, None, None, None, None, FORMAT_MISMATCH)
    assert whole.message() == FORMAT_MISMATCH
    assert whole.cli_line("a.xls") == f"a.xls::: : {FORMAT_MISMATCH}"
    assert Problem(None, 3, "B", None, "", "x").message() == '第3行 B列(): "": x'
    assert Problem(None, 3, None, None, "\u200b", "x").cli_line("f") == "f:3:: \\u200b: x"


def test_upload_table_locates_a_later_problem_in_the_cell_it_came_from() -> None:
    table = roster(csv_file([["青山村"], [*ROSTER_HEADER, "电话"], [*ROSTER_ROW, "138"]]))
    [row] = table.rows
    assert table.problem(row, "members", "不是整数") == Problem(None, 3, "F", "人口", "3", "不是整数")
    assert table.problem(row, "phone", "号码太短") == Problem(None, 3, "G", "电话", "138", "号码太短")
    assert table.problem(row, "poor", "未填") == Problem(None, 3, None, "是否脱贫户/低收入户", "", "未填")


def test_an_upload_rejected_by_hand_keeps_the_first_200_and_the_total() -> None:
    problems = [Problem(None, i, "A", "户编号", str(i), "x") for i in range(1, 301)]
    error = UploadRejected(problems)
    assert (error.total, len(error.problems), error.problems[-1].row) == (300, 200, 200)
    assert UploadRejected(problems[:2], total=7).total == 7
    assert str(UploadRejected([])) == "上传的文件有 0 处问题，第一处：没有问题"


@pytest.mark.parametrize(("index", "letter"), [(0, "A"), (25, "Z"), (26, "AA"), (51, "AZ"), (701, "ZZ"), (702, "AAA")])
def test_column_letter_counts_like_excel(index: int, letter: str) -> None:
    assert column_letter(index) == letter


@given(st.integers(0, 16383))
def test_column_letter_agrees_with_openpyxl(index: int) -> None:
    assert column_letter(index) == get_column_letter(index + 1)


def test_visible_shows_invisible_characters_and_cuts_long_text() -> None:
    assert visible("王\u200b五\n") == "王\\u200b五\\u000a"
    assert visible("a" * 60) == "a" * 60
    assert visible("a" * 61) == "a" * 59 + "…"
    assert visible("甲" * 10, limit=5) == "甲甲甲甲…"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (" 王五 ", "王五"),
        ("\u3000王五\xa0", "王五"),
        ("\t王 五\r\n", "王 五"),
        ("e\u0301", "é"),
        ("\u200b王", "\u200b王"),
    ],
)
def test_clean_cell_trims_unicode_spaces_at_the_ends_only_and_applies_nfc(raw: str, clean: str) -> None:
    assert clean_cell(raw) == clean


# Cells as a sheet may hold them: combining marks, Hangul jamo, spaces of every kind, invisible and
# control characters, next to plain text (issue 34 checks a column at once, not cell by cell).
_CELL_TEXT = st.text(
    st.sampled_from(["a", "e", "张", " ", "\u3000", "\u00a0", "\t", "\u0301", "\u0316", "\u1100", "\u1161", "\u11a8"])
    | st.characters(codec="utf-8"),
    max_size=6,
)


@given(st.lists(_CELL_TEXT, max_size=8))
def test_a_column_is_cleaned_as_each_of_its_cells_would_be(cells: list[str]) -> None:
    assert _clean_column(cells) == [clean_cell(cell) for cell in cells]


@given(st.lists(st.lists(_CELL_TEXT, min_size=3, max_size=3), min_size=1, max_size=6))
def test_a_rosters_cell_problems_are_named_row_by_row_as_before(body: list[list[str]]) -> None:
    """Whatever the cells hold, the table keeps each non-blank row's cleaned values and names the
    invisible characters' cells in row order, then column order."""
    rows = [["户编号", "户主姓名", "村民组"], *body]
    columns = [c for c in roster_columns() if c.key in ("household_code", "head_name", "group")]
    try:
        table = _table([Grid("花名册", [list(r) for r in rows])], columns, max_rows=100)
    except Refused:  # "no data row": only when every row is blank
        assert all(not clean_cell(cell) for row in body for cell in row)
        return
    kept = [(n, [clean_cell(cell) for cell in row]) for n, row in enumerate(body, start=2)]
    kept = [(n, cleaned) for n, cleaned in kept if any(cleaned)]
    assert [(r.row, [r.values["household_code"], r.values["head_name"], r.values["group"]]) for r in table.rows] == kept
    expected = [
        (n, letter, visible(text, 200))
        for n, cleaned in kept
        for letter, text in zip("ABC", cleaned, strict=True)
        if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)
    ]
    assert [(p.row, p.column, p.value) for p in table.cell_problems] == expected
