"""PDFs for paper (RULES.md §6-7): the printed notice (张榜公示) for the village board and the plaque
certificates. Pure: builds PDF bytes from plain data, no Flask, no database.

Chinese must render in every viewer, so the text is set in an embedded TrueType font (Debian's
fonts-wqy-zenhei; reportlab's built-in STSong-Light is not embedded and comes out blank in poppler
viewers). Characters that font lacks (CJK Extension B, as in some family names) are set in the
fallback font (fonts-babelstone-han); a character neither font has is printed as a visible marker,
because reportlab drops a missing glyph silently and a name must never lose a character unseen.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A3, A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, LongTable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

PRIMARY_FONT = "WQY"
FALLBACK_FONT = "BabelStoneHan"
PRIMARY_FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
FALLBACK_FONT_FILE = Path("/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf")
MISSING_MARK = "□"
PAGE_SIZES = {"A4": landscape(A4), "A3": landscape(A3)}


class FontMissing(RuntimeError):
    """A font file the PDFs need is not installed; the message names the Debian package."""


# --- fonts and text -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fonts:
    primary: frozenset[int]
    fallback: frozenset[int]


_REPORTLAB_TO_UNICODE = ttfonts.makeToUnicodeCMap


def _to_unicode_cmap(fontname: str, subset: Sequence[int]) -> str:
    """reportlab's ToUnicode CMap writes a character beyond U+FFFF as five hex digits, which text
    extraction (pdftotext, copy and paste, search) rejects; PDF wants its UTF-16 surrogate pair."""
    cmap: str = _REPORTLAB_TO_UNICODE(fontname, subset)
    for index, code in enumerate(subset):
        if code > 0xFFFF:
            pair = chr(code).encode("utf-16-be").hex().upper()
            cmap = cmap.replace(f"<{index:02X}> <{code:04X}>", f"<{index:02X}> <{pair}>")
    return cmap


@cache
def _fonts() -> _Fonts:
    """Register both fonts with reportlab once per process and keep their character sets."""
    ttfonts.makeToUnicodeCMap = _to_unicode_cmap
    if not PRIMARY_FONT_FILE.is_file():
        raise FontMissing(f"缺少中文字体 {PRIMARY_FONT_FILE}：请安装 Debian 软件包 fonts-wqy-zenhei")
    primary = TTFont(PRIMARY_FONT, str(PRIMARY_FONT_FILE), subfontIndex=0)
    pdfmetrics.registerFont(primary)
    fallback: frozenset[int] = frozenset()
    if FALLBACK_FONT_FILE.is_file():
        font = TTFont(FALLBACK_FONT, str(FALLBACK_FONT_FILE))
        pdfmetrics.registerFont(font)
        fallback = frozenset(font.face.charToGlyph)
    return _Fonts(frozenset(primary.face.charToGlyph), fallback)


def _plain(char: str) -> bool:
    """Characters that need no glyph of their own (spaces, line breaks)."""
    return char in " \n\t"


def printable(text: str) -> bool:
    """Whether the primary font has every character of the text."""
    fonts = _fonts()
    return all(_plain(c) or ord(c) in fonts.primary for c in text)


def markup(text: str) -> str:
    """The text as Paragraph markup: escaped, characters the primary font lacks set in the fallback
    font, and characters neither font has replaced by the visible marker."""
    fonts = _fonts()
    parts: list[str] = []
    run: list[str] = []
    for char in text:
        code = ord(char)
        if _plain(char) or code in fonts.primary:
            run.append(char)
            continue
        if run:
            parts.append(escape("".join(run)))
            run = []
        if code in fonts.fallback:
            parts.append(f'<font name="{FALLBACK_FONT}">{escape(char)}</font>')
        else:
            parts.append(MISSING_MARK)
    if run:
        parts.append(escape("".join(run)))
    return "".join(parts)


def _style(name: str, size: float, *, align: int = TA_LEFT, leading: float | None = None) -> ParagraphStyle:
    return ParagraphStyle(
        name, fontName=PRIMARY_FONT, fontSize=size, leading=leading or size * 1.35, alignment=align, wordWrap="CJK"
    )


def _para(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(markup(text), style)


def _cell(text: str, style: ParagraphStyle) -> str | Paragraph:
    """A table cell: the plain string when the primary font has it all (fast), else a Paragraph."""
    return text if printable(text) else _para(text, style)


def period_label(code: str) -> str:
    """``2026Q3`` → ``2026年第三季度``."""
    match = re.fullmatch(r"(\d{4})Q([1-4])", code)
    if not match:
        return code
    return f"{match.group(1)}年第{'一二三四'[int(match.group(2)) - 1]}季度"


def date_text(value: dt.date | None) -> str:
    return "" if value is None else f"{value.year}年{value.month}月{value.day}日"


# --- the printed notice ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeRow:
    rank: int
    household_code: str
    head_name: str  # the full name: only the printed notice shows it (RULES.md §6)
    group_name: str
    grade: str
    final_total: str
    award: str  # the award's label, or "" for none


@dataclass(frozen=True)
class Notice:
    county_name: str
    township_name: str
    village_name: str
    period_code: str
    record_number: int
    rows: Sequence[NoticeRow]
    households: int  # registered households of the record
    published_on: dt.date | None  # Beijing dates
    posting_ends_on: dt.date | None
    objection_url: str  # the village's public page, where objections are filed
    final: bool  # the period is final (the posting period is over)
    corrects: int | None = None  # the version this one corrects (更正, RULES.md §5)


NOTICE_HEADER = ("名次", "户编号", "户主", "村民组", "等级", "最终得分", "评定结果")


def notice_pdf(notice: Notice, size: str = "A4") -> bytes:
    """The notice for the village board, landscape A4 or A3, the header repeated on every page."""
    _fonts()
    page = PAGE_SIZES[size]
    scale = 1.0 if size == "A4" else 1.3
    title = f"{notice.township_name}{notice.village_name}{period_label(notice.period_code)}农户卫生评比结果公示"
    styles = {
        "title": _style("title", 18 * scale, align=TA_CENTER),
        "lead": _style("lead", 10.5 * scale),
        "cell": _style("cell", 10 * scale, align=TA_CENTER),
        "sign": _style("sign", 11 * scale, align=TA_RIGHT, leading=22 * scale),
    }
    out = io.BytesIO()
    margin = 15 * mm
    correction = f"，更正第{notice.corrects}版" if notice.corrects else ""
    footer = f"{notice.village_name} {notice.period_code} 公示（第{notice.record_number}版{correction}）"

    def on_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(PRIMARY_FONT, 8 * scale)
        canvas.drawString(margin, 8 * mm, markup_free(footer))
        canvas.drawRightString(page[0] - margin, 8 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        out,
        pagesize=page,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=title,
        author=f"{notice.township_name}{notice.village_name}",
    )
    awarded = sum(1 for r in notice.rows if r.award)
    posting = (
        f"公示期：{date_text(notice.published_on)} 至 {date_text(notice.posting_ends_on)}"
        if notice.published_on
        else ""
    )
    story: list[object] = [
        _para(title, styles["title"]),
        Spacer(1, 4 * mm),
        *(
            [
                _para(
                    f"更正公示：本公示为第{notice.record_number}版，更正第{notice.corrects}版，以本版为准。",
                    styles["lead"],
                ),
                Spacer(1, 2 * mm),
            ]
            if notice.corrects
            else []
        ),
        _para(
            f"{notice.county_name} {notice.township_name} {notice.village_name}　季度：{notice.period_code}　"
            f"登记 {notice.households} 户，评定 {len(notice.rows)} 户，获评 {awarded} 户。"
            + (f"　{posting}" if posting else ""),
            styles["lead"],
        ),
        Spacer(1, 3 * mm),
    ]
    data: list[list[object]] = [list(NOTICE_HEADER)]
    data += [
        [
            str(r.rank),
            r.household_code,
            _cell(r.head_name, styles["cell"]),
            _cell(r.group_name, styles["cell"]),
            r.grade,
            r.final_total,
            r.award or "—",
        ]
        for r in notice.rows
    ]
    width = page[0] - 2 * margin
    fractions = (0.08, 0.2, 0.17, 0.15, 0.12, 0.12, 0.16)
    table = LongTable(data, colWidths=[width * f for f in fractions], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), PRIMARY_FONT),
                ("FONTSIZE", (0, 0), (-1, -1), 10 * scale),
                ("LEADING", (0, 0), (-1, -1), 13 * scale),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8efe8")),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story += [table, Spacer(1, 5 * mm)]
    until = f"（{date_text(notice.posting_ends_on)}前）" if notice.posting_ends_on else ""
    objection = _para(
        f"对公示结果有异议的，请在公示期内{until}登录 {notice.objection_url} 对该户提出异议（须写明理由），"
        "或向乡镇审核员反映。" + ("本季度公示期已结束，结果已定档。" if notice.final else ""),
        styles["lead"],
    )
    signature = Table(
        [[_para("村委会（盖章）：", styles["sign"])], [_para("日期：　　　　年　　月　　日", styles["sign"])]],
        colWidths=[width],
    )
    story.append(KeepTogether([objection, Spacer(1, 10 * mm), signature]))
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()


def markup_free(text: str) -> str:
    """Text for a canvas string (no fallback runs there): characters the primary font lacks become
    the marker. Used for short fixed texts only."""
    fonts = _fonts()
    return "".join(c if _plain(c) or ord(c) in fonts.primary else MISSING_MARK for c in text)


# --- certificates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    serial: str
    household_code: str
    head_name: str  # the full name
    county_name: str
    township_name: str
    village_name: str
    level: str  # the level's label (最清洁户, 清洁户)
    issued_period: str
    issued_on: dt.date  # Beijing date
    verify_url: str


def certificates_pdf(certificates: Sequence[Certificate]) -> bytes:
    """One certificate a page, A4 landscape, each with a QR code to its verification page."""
    _fonts()
    out = io.BytesIO()
    width, height = PAGE_SIZES["A4"]
    canvas = Canvas(out, pagesize=(width, height))
    canvas.setTitle("牌匾证书" if len(certificates) != 1 else f"牌匾证书 {certificates[0].serial}")
    styles = {
        "title": _style("c-title", 34, align=TA_CENTER),
        "body": _style("c-body", 17, leading=30),
        "line": _style("c-line", 12, leading=18),
        "small": _style("c-small", 9, align=TA_CENTER),
        "seal": _style("c-seal", 13, align=TA_CENTER, leading=22),
    }
    for cert in certificates:
        _certificate_page(canvas, cert, width, height, styles)
        canvas.showPage()
    if not certificates:
        canvas.setFont(PRIMARY_FONT, 14)
        canvas.drawString(30 * mm, height / 2, "本季度没有新挂牌的证书")
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _draw(canvas: Canvas, para: Paragraph, x: float, top: float, width: float) -> float:
    """Draw the paragraph with its top at ``top``; returns its bottom."""
    _, h = para.wrapOn(canvas, width, 1000)
    para.drawOn(canvas, x, top - h)
    return float(top - h)


def _draw_qr(canvas: Canvas, value: str, x: float, y: float, size: float) -> None:
    """The QR code of ``value`` (reportlab's QrCodeWidget encoder, error correction M, the usual
    four-module quiet zone) as one filled path: the widget's own drawing makes a shape object per
    run of dark modules, ten times slower for a batch of certificates."""
    qr = QrCodeWidget(value, barLevel="M").qr
    qr.make()
    count, border = qr.getModuleCount(), 4
    box = size / (count + 2 * border)
    path = canvas.beginPath()
    for r, row in enumerate(qr.modules):
        c = 0
        for dark, run in itertools.groupby(bool(m) for m in row):
            n = len(list(run))
            if dark:
                path.rect(x + (c + border) * box, y + size - (r + border + 1) * box, n * box, box)
            c += n
    canvas.saveState()
    canvas.setFillColor(colors.black)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def _frame(canvas: Canvas, width: float, height: float) -> None:
    """A certificate's double red border."""
    canvas.setStrokeColor(colors.HexColor("#aa3333"))
    canvas.setLineWidth(3)
    canvas.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    canvas.setLineWidth(0.8)
    canvas.rect(15 * mm, 15 * mm, width - 30 * mm, height - 30 * mm)


def _seal(canvas: Canvas, width: float, issued_on: dt.date, style: ParagraphStyle) -> None:
    """The seal area: a dashed circle with the issuer line, and the date under it."""
    seal_x, seal_y, radius = width / 2 + 10 * mm, 52 * mm, 19 * mm
    canvas.setStrokeColor(colors.HexColor("#cc6666"))
    canvas.setDash(3, 3)
    canvas.circle(seal_x, seal_y, radius)
    canvas.setDash()
    _draw(canvas, _para("颁发单位（盖章）", style), seal_x - 40 * mm, seal_y + 4 * mm, 80 * mm)
    _draw(canvas, _para(f"发证日期：{date_text(issued_on)}", style), seal_x - 40 * mm, 30 * mm, 80 * mm)


def _certificate_page(
    canvas: Canvas, cert: Certificate, width: float, height: float, styles: dict[str, ParagraphStyle]
) -> None:
    _frame(canvas, width, height)
    left, text_width = 35 * mm, width - 70 * mm
    top = height - 32 * mm
    top = _draw(canvas, _para("农户卫生评比挂牌证书", styles["title"]), left, top, text_width) - 14 * mm
    body = (
        f"{cert.county_name}{cert.township_name}{cert.village_name} {cert.head_name} 户"
        f"（户编号 {cert.household_code}）："
        f"在{period_label(cert.issued_period)}农户卫生评比中被评为“{cert.level}”，特发此证，予以挂牌。"
    )
    top = _draw(canvas, _para(body, styles["body"]), left, top, text_width) - 10 * mm
    for line in (
        f"牌匾编号：{cert.serial}",
        f"牌匾等级：{cert.level}",
        f"挂牌季度：{cert.issued_period}",
        "牌匾实行动态管理：评比降档或督查抽查不达标的将被摘牌。扫描右下角二维码可查验牌匾当前状态。",
    ):
        top = _draw(canvas, _para(line, styles["line"]), left, top, text_width * 0.62) - 2 * mm
    _seal(canvas, width, cert.issued_on, styles["seal"])
    # the QR code to the verification page
    size = 38 * mm
    qr_x, qr_y = width - 35 * mm - size, 24 * mm
    _draw_qr(canvas, cert.verify_url, qr_x, qr_y, size)
    _draw(canvas, _para("扫码查验", styles["small"]), qr_x, qr_y, size)


# --- title certificates (RULES.md §8) --------------------------------------------------------------


@dataclass(frozen=True)
class TitleCertificate:
    """The certificate of a star or title a household holds (好婆婆, 十星级文明户, 守法星, ...)."""

    household_code: str
    head_name: str  # the full name
    county_name: str
    township_name: str
    village_name: str
    title: str  # the star's or title's name
    certificate_name: str  # the certificate's name in the catalogue, or "<title>证书"
    granted_on: dt.date  # Beijing date
    reason: str


def title_certificate_pdf(cert: TitleCertificate) -> bytes:
    """One certificate page, A4 landscape, in the plaque certificate's frame and fonts."""
    _fonts()
    out = io.BytesIO()
    width, height = PAGE_SIZES["A4"]
    canvas = Canvas(out, pagesize=(width, height))
    canvas.setTitle(f"{cert.certificate_name} {cert.household_code}")
    _frame(canvas, width, height)
    left, text_width = 35 * mm, width - 70 * mm
    top = height - 32 * mm
    top = _draw(canvas, _para(cert.certificate_name, _style("t-title", 34, align=TA_CENTER)), left, top, text_width)
    body = (
        f"{cert.county_name}{cert.township_name}{cert.village_name} {cert.head_name} 户"
        f"（户编号 {cert.household_code}）：于{date_text(cert.granted_on)}被评为“{cert.title}”，特发此证，以资鼓励。"
    )
    top = _draw(canvas, _para(body, _style("t-body", 17, leading=30)), left, top - 14 * mm, text_width) - 10 * mm
    _draw(canvas, _para(f"评定理由：{cert.reason}", _style("t-line", 12, leading=18)), left, top, text_width)
    _seal(canvas, width, cert.granted_on, _style("t-seal", 13, align=TA_CENTER, leading=22))
    canvas.showPage()
    canvas.save()
    return out.getvalue()
