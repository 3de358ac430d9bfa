"""The household check sheet (评比检查表, seed 004) as a PDF: one A4 page per household with its
code, head and group, the ten criteria with their maxima and empty boxes for the self, peer and
group scores, the review team's signature lines, and a QR code that opens the household's entry
form. Pure (plain data in, PDF bytes out), in the fonts and conventions of the printed notice
(``hygiene.io.pdf``): embedded CJK fonts, rare characters in the fallback font, a visible marker
for a character no font has."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Table, TableStyle

from hygiene.io import pdf


@dataclass(frozen=True)
class Criterion:
    label: str
    max_points: str  # as printed: "10", "12.5"


@dataclass(frozen=True)
class SheetHousehold:
    code: str
    head_name: str  # the full name: the sheet is handed to the household itself
    group_name: str
    members: int
    entry_url: str  # the QR code's target: the household's entry form


@dataclass(frozen=True)
class CheckSheets:
    county_name: str
    township_name: str
    village_name: str
    period_code: str
    criteria: Sequence[Criterion]
    households: Sequence[SheetHousehold]
    total_points: str


HEADER = ("序号", "评比内容", "满分", "自评得分", "互评得分", "复评得分")


def check_sheets_pdf(sheets: CheckSheets) -> bytes:
    """One portrait A4 page per household; a village without households gets one page saying so."""
    pdf._fonts()
    out = io.BytesIO()
    width, height = A4
    canvas = Canvas(out, pagesize=A4)
    canvas.setTitle(f"{sheets.village_name}{pdf.period_label(sheets.period_code)}农户卫生评比检查表")
    canvas.setAuthor(f"{sheets.township_name}{sheets.village_name}")
    styles = {
        "title": pdf._style("s-title", 17, align=TA_CENTER),
        "line": pdf._style("s-line", 11, leading=16),
        "cell": pdf._style("s-cell", 10.5, leading=14),
        "small": pdf._style("s-small", 8, align=TA_CENTER),
    }
    for number, household in enumerate(sheets.households, start=1):
        _page(canvas, sheets, household, number, width, height, styles)
        canvas.showPage()
    if not sheets.households:
        canvas.setFont(pdf.PRIMARY_FONT, 14)
        canvas.drawString(25 * mm, height / 2, pdf.markup_free("所选范围内没有在册农户"))
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _page(
    canvas: Canvas,
    sheets: CheckSheets,
    household: SheetHousehold,
    number: int,
    width: float,
    height: float,
    styles: dict[str, ParagraphStyle],
) -> None:
    margin = 18 * mm
    text_width = width - 2 * margin
    qr_size = 30 * mm
    top = height - margin
    title = f"{sheets.township_name}{sheets.village_name}{pdf.period_label(sheets.period_code)}农户卫生评比检查表"
    top = pdf._draw(canvas, pdf._para(title, styles["title"]), margin, top, text_width) - 6 * mm
    pdf._draw_qr(canvas, household.entry_url, width - margin - qr_size, top - qr_size, qr_size)
    pdf._draw(canvas, pdf._para("扫码录入本户评分", styles["small"]), width - margin - qr_size, top - qr_size, qr_size)
    for line in (
        f"户编号：{household.code}",
        f"户主：{household.head_name}　　人口：{household.members}",
        f"村民组：{household.group_name}",
        f"{sheets.county_name} {sheets.township_name} {sheets.village_name}　季度：{sheets.period_code}",
    ):
        top = pdf._draw(canvas, pdf._para(line, styles["line"]), margin, top, text_width - qr_size - 6 * mm) - 2 * mm
    top = min(top, height - margin - 6 * mm - qr_size - 14 * mm) - 4 * mm
    data: list[list[object]] = [list(HEADER)]
    data += [
        [str(i), pdf._cell(c.label, styles["cell"]), c.max_points, "", "", ""]
        for i, c in enumerate(sheets.criteria, start=1)
    ]
    data.append(["", "合计", sheets.total_points, "", "", ""])
    fractions = (0.08, 0.38, 0.1, 0.148, 0.148, 0.144)
    table = Table(data, colWidths=[text_width * f for f in fractions], rowHeights=[9 * mm] * len(data))
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), pdf.PRIMARY_FONT),
                ("FONTSIZE", (0, 0), (-1, -1), 10.5),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8efe8")),
                ("GRID", (0, 0), (-1, -1), 0.7, colors.black),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("ALIGN", (1, 1), (1, -1), "LEFT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    _, table_height = table.wrapOn(canvas, text_width, height)
    table.drawOn(canvas, margin, top - table_height)
    top -= table_height + 10 * mm
    for line in (
        "评比检查小组成员（签字）：________________________________________",
        "户主（签字）：________________　　　　评议户（签字）：________________",
        "检查日期：　　　　年　　月　　日",
    ):
        top = pdf._draw(canvas, pdf._para(line, styles["line"]), margin, top, text_width) - 7 * mm
    canvas.setFont(pdf.PRIMARY_FONT, 8)
    canvas.drawString(margin, 10 * mm, pdf.markup_free(f"{sheets.village_name} {sheets.period_code} 评比检查表"))
    canvas.drawRightString(width - margin, 10 * mm, f"第 {number} 户 / 共 {len(sheets.households)} 户")
