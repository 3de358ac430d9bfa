"""Downloads (INTERCHANGE.md §2, RELIABILITY.md trap 5): CSV and Excel that never hold a live
formula, and the review template that reads back as an upload."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.worksheet.worksheet import Worksheet

from hygiene.enums import DEFAULT_CRITERIA
from hygiene.io.exports import (
    FORMULA_PREFIXES,
    csv_bytes,
    csv_field,
    review_template_xlsx,
    template_header,
    write_cell,
    xlsx_bytes,
)
from hygiene.io.scores import parse_score
from hygiene.io.sheets import MAX_DATA_ROWS, read_upload, review_columns, roster_columns

RUBRIC = [("c01", "家庭个人卫生", 100), ("c02", "庭院环境", 95), ("c03", "厕所", 50)]
HOUSEHOLDS = [("0012", "王五", "第一组"), ("000345", "=李六", "第一组"), ("5209990101019001", "赵七", "第二组")]
INJECTIONS = [
    "=1+1",
    '=HYPERLINK("http://x","点击")',
    "+86 138",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "=cmd|' /C calc'!A0",
]


def load(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def formula_elements(data: bytes) -> int:
    """How many ``<f>`` elements (live formulas) the workbook's sheet XML holds."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(
            len(re.findall(rb"<f[ >/]", archive.read(name)))
            for name in archive.namelist()
            if name.startswith("xl/worksheets/")
        )


# --- CSV -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", INJECTIONS)
def test_a_text_field_starting_with_a_formula_character_gets_a_leading_quote(text: str) -> None:
    assert csv_field(text) == "'" + text


@pytest.mark.parametrize("text", ["王五", "a=b", " =1", "'=1", "０", "＝1+1", "", "\n=1"])
def test_other_text_is_left_as_written(text: str) -> None:
    assert csv_field(text) == text


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (-3, "-3"),
        (0, "0"),
        (-1.5, "-1.5"),  # a number, not text: left alone
        (Decimal("-9.5"), "-9.5"),
        (float("nan"), ""),
        (dt.date(2026, 1, 2), "2026-01-02"),
        (dt.datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05"),  # noqa: DTZ001 - spreadsheets are naive
        ("-1.5", "'-1.5"),  # text that looks like a number is still text
    ],
)
def test_csv_field_writes_values_as_the_interchange_files_do(value: object, field: str) -> None:
    assert csv_field(value) == field


@given(st.text())
def test_no_text_field_starts_with_a_formula_character_and_the_text_is_kept(text: str) -> None:
    field = csv_field(text)
    assert not field.startswith(FORMULA_PREFIXES)
    assert field in (text, "'" + text)


def test_csv_bytes_is_utf8_with_a_bom_and_crlf_so_excel_reads_chinese() -> None:
    data = csv_bytes(["户编号", "户主姓名", "=总分"], [["0012", "王五", 95], ["000345", "=李六", None]])
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\xef\xbb\xbf") == 1
    assert data[3:].decode("utf-8") == "户编号,户主姓名,'=总分\r\n0012,王五,95\r\n000345,'=李六,\r\n"


def test_csv_bytes_quotes_fields_that_need_it_and_reads_back_with_the_csv_module() -> None:
    rows = [["0012", '王"五', "第一组,东"], ["0013", "李\n四", "@x"]]
    data = csv_bytes(["a", "b", "c"], rows)
    read = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert read == [["a", "b", "c"], ["0012", '王"五', "第一组,东"], ["0013", "李\n四", "'@x"]]


def test_a_csv_export_reads_back_as_an_upload_with_codes_kept() -> None:
    header = ["乡镇", "村", "村民组", "户编号", "户主姓名", "人口"]
    data = csv_bytes(
        header, [["松林镇", "青山村", "第一组", "0012", "王五", 3], ["松林镇", "青山村", "第一组", "0013", "李四", 2]]
    )
    table = read_upload(data, "花名册.csv", roster_columns())
    assert [(r.row, r.values["household_code"], r.values["members"]) for r in table.rows] == [
        (2, "0012", "3"),
        (3, "0013", "2"),
    ]


# --- xlsx ------------------------------------------------------------------------------------------


def test_write_cell_stores_text_as_text_with_a_quote_prefix_before_a_formula_character() -> None:
    ws = openpyxl.Workbook().active
    for row, text in enumerate(INJECTIONS, start=1):
        write_cell(ws.cell(row, 1), text)
        assert (ws.cell(row, 1).value, ws.cell(row, 1).data_type, ws.cell(row, 1).quotePrefix) == (text, "s", True)
    write_cell(ws["B1"], "王五")
    assert (ws["B1"].data_type, ws["B1"].quotePrefix) == ("s", False)


def test_write_cell_keeps_numbers_and_dates_typed_and_skips_what_excel_cannot_hold() -> None:
    ws = openpyxl.Workbook().active
    values = [3, 9.5, Decimal("9.5"), dt.date(2026, 1, 2), True, None, float("nan"), float("inf"), "a\x01b\x1fc"]
    for c, value in enumerate(values, start=1):
        write_cell(ws.cell(1, c), value)
    assert [ws.cell(1, c).value for c in range(1, len(values) + 1)] == [
        3,
        9.5,
        Decimal("9.5"),
        dt.date(2026, 1, 2),
        True,
        None,
        None,
        None,
        "a\ufffdb\ufffdc",
    ]
    assert [ws.cell(1, c).data_type for c in range(1, 6)] == ["n", "n", "n", "d", "b"]


def test_an_xlsx_export_holds_no_formula_and_reads_back_verbatim() -> None:
    rows = [[text, i, "0012"] for i, text in enumerate(INJECTIONS)]
    data = xlsx_bytes([("名单", ["户主姓名", "序号", "户编号"], rows)], title='=HYPERLINK("x")')
    assert formula_elements(data) == 0
    ws = load(data)["名单"]
    assert (ws["A1"].value, ws["A1"].data_type) == ('=HYPERLINK("x")', "s")
    read = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    # XML itself turns a carriage return into a line feed when the file is parsed
    assert read == [[text.replace("\r", "\n"), i, "0012"] for i, text in enumerate(INJECTIONS)]
    assert all(ws.cell(r, 1).data_type == "s" for r in range(3, 3 + len(rows)))


def test_an_xlsx_export_reads_back_through_the_upload_reader() -> None:
    header = ["乡镇", "村", "村民组", "户编号", "户主姓名", "人口"]
    rows = [["松林镇", "青山村", "第一组", "0012", "=李六", 3], ["松林镇", "青山村", "第一组", "0013", "@王五", 4]]
    table = read_upload(xlsx_bytes([("花名册", header, rows)], title="青山村花名册"), "x.xlsx", roster_columns())
    assert (table.sheet, table.header_row) == ("花名册", 2)
    assert [(r.row, r.values["household_code"], r.values["head_name"], r.values["members"]) for r in table.rows] == [
        (3, "0012", "=李六", "3"),
        (4, "0013", "@王五", "4"),
    ]


def test_sheet_titles_are_made_legal_unique_and_at_most_31_characters() -> None:
    names = ["a" * 40, "a" * 40, "A" * 35, "户/编[号]:*?\\", "'引号'", "", "Sheet", "sheet", "Sheet_2"]
    data = xlsx_bytes([(name, ["h"], [["v"]]) for name in names])
    titles = load(data).sheetnames
    assert titles == [
        "a" * 31,
        "a" * 29 + "_2",
        "A" * 29 + "_3",  # unique ignoring case, as Excel compares
        "户_编_号_____",
        "引号",
        "Sheet",
        "Sheet_2",
        "sheet_3",
        "Sheet_2_2",
    ]
    assert all(len(t) <= 31 for t in titles)
    assert len({t.lower() for t in titles}) == len(titles)


def test_a_title_cut_to_31_characters_never_ends_with_an_apostrophe() -> None:
    # Excel refuses such a title; the cut at 31 can leave the apostrophe of "a…a'b" last.
    assert load(xlsx_bytes([("a" * 30 + "'b", ["h"], [])])).sheetnames == ["a" * 30]


def test_an_export_with_no_sheets_is_still_a_workbook() -> None:
    assert load(xlsx_bytes([])).sheetnames == ["Sheet"]


def test_the_title_row_is_merged_over_the_header_and_panes_freeze_below_it() -> None:
    ws = load(xlsx_bytes([("s", ["a", "b", "c"], [[1, 2, 3]])], title="标题"))["s"]
    assert [str(r) for r in ws.merged_cells.ranges] == ["A1:C1"]
    assert (ws["A1"].value, ws["A2"].value, ws["A3"].value) == ("标题", "a", 1)
    assert ws.freeze_panes == "A3"
    assert ws.print_title_rows == "$1:$2"
    plain = load(xlsx_bytes([("s", ["a", "b"], [[1, 2]])]))["s"]
    assert (plain.merged_cells.ranges, plain["A1"].value, plain.freeze_panes) == (set(), "a", "A2")


def test_column_widths_count_chinese_characters_double_within_8_to_40() -> None:
    header = ["户主姓名", "name", "x", "长"]
    rows: list[list[object]] = [["张三李四王五赵六", "abcdefgh", "y", "长" * 30], [None, "ab", None, 5]]
    ws = load(xlsx_bytes([("s", header, rows)]))["s"]
    widths = [ws.column_dimensions[c].width for c in "ABCD"]
    assert widths == [18, 10, 8, 40]  # 8 CJK = 16 + 2; 8 ASCII + 2; at least 8; at most 40


# --- the review template ---------------------------------------------------------------------------


@pytest.fixture
def template() -> bytes:
    return review_template_xlsx("松林镇青山村 2026Q4", HOUSEHOLDS, RUBRIC)


def test_template_header_is_the_household_columns_then_label_and_code() -> None:
    assert template_header(RUBRIC) == [
        "户编号",
        "户主姓名",
        "村民组",
        "评议类型",
        "评议人",
        "家庭个人卫生(c01)",
        "庭院环境(c02)",
        "厕所(c03)",
    ]


def test_the_template_has_a_merged_title_the_header_and_one_prefilled_row_per_household(template: bytes) -> None:
    wb = load(template)
    assert wb.sheetnames == ["评分表", "填表说明"]
    ws = wb["评分表"]
    assert (ws["A1"].value, [str(r) for r in ws.merged_cells.ranges]) == (
        "松林镇青山村 2026Q4 农户卫生评分表",
        ["A1:H1"],
    )
    assert [c.value for c in ws[2]] == template_header(RUBRIC)
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    assert rows == [[code, head, group, "复评", None, None, None, None] for code, head, group in HOUSEHOLDS]
    assert all(ws.cell(r, c).data_type == "s" for r in range(3, 6) for c in range(1, 5))
    assert ws["B4"].quotePrefix  # the head named "=李六" is text
    assert [ws[f"A{r}"].number_format for r in range(3, 6)] == ["@"] * 3
    assert ws.freeze_panes == "A3"
    assert formula_elements(template) == 0


def test_the_template_limits_kinds_to_the_three_and_each_score_to_0_to_its_maximum(template: bytes) -> None:
    ws = load(template)["评分表"]
    last = 2 + MAX_DATA_ROWS
    validations = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    assert set(validations) == {f"{c}3:{c}{last}" for c in "DFGH"}
    kinds = validations[f"D3:D{last}"]
    assert (kinds.type, kinds.formula1, kinds.showErrorMessage) == ("list", '"自评,互评,复评"', True)
    for letter, maximum in zip("FGH", ["10", "9.5", "5"], strict=True):
        dv = validations[f"{letter}3:{letter}{last}"]
        assert (dv.type, dv.operator, dv.formula1, dv.formula2) == ("decimal", "between", "0", maximum)
        assert dv.showErrorMessage and dv.allow_blank
        assert f"0–{maximum}" in dv.error


def test_the_template_instructions_list_every_criterion_with_its_maximum(template: bytes) -> None:
    ws = load(template)["填表说明"]
    rows = [[c.value for c in row] for row in ws.iter_rows(values_only=False)]
    table = rows[rows.index(["评分项目", "代码", "满分"]) + 1 :]
    assert table == [["家庭个人卫生", "c01", "10"], ["庭院环境", "c02", "9.5"], ["厕所", "c03", "5"]]


def test_the_template_reads_back_as_an_upload_without_a_problem(template: bytes) -> None:
    table = read_upload(template, "评分表.xlsx", review_columns(RUBRIC))
    assert (table.sheet, table.header_row) == ("评分表", 2)
    assert [(r.row, r.values) for r in table.rows] == [
        (3 + i, {"household_code": code, "kind": "复评", "reviewer": "", "c01": "", "c02": "", "c03": ""})
        for i, (code, _, _) in enumerate(HOUSEHOLDS)
    ]
    assert table.locations == {
        "household_code": ("A", "户编号"),
        "kind": ("D", "评议类型"),
        "reviewer": ("E", "评议人"),
        "c01": ("F", "家庭个人卫生(c01)"),
        "c02": ("G", "庭院环境(c02)"),
        "c03": ("H", "厕所(c03)"),
    }


def test_a_filled_in_template_reads_back_scores_the_parser_accepts(template: bytes) -> None:
    wb = load(template)
    ws: Worksheet = wb["评分表"]
    for r, scores in zip(range(3, 6), [(10, 9.5, 5), ("９．５", "0", 0.5), (8, 7.5, "4.5")], strict=True):
        for c, score in enumerate(scores, start=6):
            ws.cell(r, c).value = score
    ws["E3"] = "王组长、李委员"
    buffer = io.BytesIO()
    wb.save(buffer)
    table = read_upload(buffer.getvalue(), "评分表.xlsx", review_columns(RUBRIC))
    maxima = {code: m for code, _, m in RUBRIC}
    assert [[parse_score(r.values[k], maxima[k]) for k in maxima] for r in table.rows] == [
        [100, 95, 50],
        [95, 0, 5],
        [80, 75, 45],
    ]
    assert table.rows[0].values["reviewer"] == "王组长、李委员"


def test_the_template_for_the_default_rubric_reads_back_as_an_upload() -> None:
    data = review_template_xlsx("青山村 2026Q4", HOUSEHOLDS[:1], DEFAULT_CRITERIA)
    table = read_upload(data, "t.xlsx", review_columns(DEFAULT_CRITERIA))
    assert [c for c, (letter, _) in table.locations.items() if letter is None] == []
    assert table.locations["c10"] == ("O", "生活污水排放(c10)")
    assert [r.values["household_code"] for r in table.rows] == ["0012"]


def test_the_template_with_no_households_still_validates_typed_rows() -> None:
    ws = load(review_template_xlsx("青山村", [], RUBRIC))["评分表"]
    assert ws.max_row == 2
    assert {str(dv.sqref) for dv in ws.data_validations.dataValidation} >= {f"F3:F{2 + MAX_DATA_ROWS}"}
