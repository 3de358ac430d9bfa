"""The printed notice and the certificates as PDF bytes, read back the way a reader gets them:
pdftotext for the text, pypdf for the page sizes, pdfium and zxing for the QR code."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from collections.abc import Sequence

import pypdf
import pypdfium2
import pytest
import zxingcpp

from hygiene.io import pdf

EXT_B = "\U00020000"  # 𠀀, CJK Extension B: not in WenQuanYi Zen Hei, in BabelStone Han
NOWHERE = "\ua188"  # a Yi syllable neither font has


def pdftotext(data: bytes, *pages: int) -> str:
    """The text of the PDF (or of one page, 1-based), laid out as printed."""
    first_last = ["-f", str(pages[0]), "-l", str(pages[0])] if pages else []
    done = subprocess.run(["pdftotext", "-layout", *first_last, "-", "-"], input=data, capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def qr_codes(data: bytes, page: int = 0) -> list[str]:
    document = pypdfium2.PdfDocument(data)
    try:
        image = document[page].render(scale=2).to_pil()
    finally:
        document.close()
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def rows(count: int, names: Sequence[str] = ()) -> list[pdf.NoticeRow]:
    return [
        pdf.NoticeRow(
            rank=i + 1,
            household_code=f"520999010101{i + 1:03d}",
            head_name=names[i] if i < len(names) else f"张{'一二三四五六七八九十'[i % 10]}户",
            group_name="第一组",
            grade="最清洁户" if i < 3 else "清洁户",
            final_total=f"{99 - i * 0.1:.1f}",
            award="最清洁户" if i < 3 else "",
        )
        for i in range(count)
    ]


def notice(count: int = 5, names: Sequence[str] = (), *, final: bool = False) -> pdf.Notice:
    return pdf.Notice(
        county_name="示范县",
        township_name="松林镇",
        village_name="青山村",
        period_code="2026Q3",
        record_number=1,
        rows=rows(count, names),
        households=count + 2,
        published_on=dt.date(2026, 10, 11),
        posting_ends_on=dt.date(2026, 10, 18),
        objection_url="https://hygiene.example.cn/public/villages/5209990101",
        final=final,
    )


def test_the_notice_has_title_full_names_grades_dates_objections_and_the_stamp_area() -> None:
    text = pdftotext(pdf.notice_pdf(notice(names=["杨秀英", "龙成", "张三丰"])))
    assert "松林镇青山村2026年第三季度农户卫生评比结果公示" in text
    for name in ("杨秀英", "龙成", "张三丰"):
        assert name in text  # full names: only the printed notice shows them
    assert "杨**" not in text
    assert "最清洁户" in text and "清洁户" in text and "99.0" in text
    assert "2026年10月11日" in text and "2026年10月18日" in text
    assert "https://hygiene.example.cn/public/villages/5209990101" in text
    assert "或向乡镇审核员反映" in text
    assert "村委会（盖章）" in text and "日期" in text


def test_a3_is_a_larger_landscape_page_than_a4() -> None:
    sizes = {}
    for size in ("A4", "A3"):
        page = pypdf.PdfReader(io.BytesIO(pdf.notice_pdf(notice(), size))).pages[0]
        sizes[size] = (round(float(page.mediabox.width)), round(float(page.mediabox.height)))
    assert sizes["A4"] == (842, 595)  # A4 landscape, in points
    assert sizes["A3"] == (1191, 842)


def test_a_long_list_paginates_with_the_header_repeated() -> None:
    data = pdf.notice_pdf(notice(200))
    pages = len(pypdf.PdfReader(io.BytesIO(data)).pages)
    assert pages >= 3
    second = pdftotext(data, 2)
    assert "名次" in second and "户编号" in second and "户主" in second
    assert "第2页" in second.replace(" ", "")
    last = pdftotext(data, pages)
    assert "520999010101200" in pdftotext(data) and "村委会（盖章）" in last


def test_an_extension_b_character_prints_through_the_fallback_font() -> None:
    text = pdftotext(pdf.notice_pdf(notice(names=[f"{EXT_B}阿英"])))
    assert f"{EXT_B}阿英" in text


def test_a_character_no_font_has_prints_as_a_visible_marker() -> None:
    text = pdftotext(pdf.notice_pdf(notice(names=[f"{NOWHERE}阿英"])))
    assert f"{pdf.MISSING_MARK}阿英" in text


def test_markup_escapes_and_routes_each_character() -> None:
    assert pdf.markup("张<b>&") == "张&lt;b&gt;&amp;"
    assert pdf.markup(f"{EXT_B}英") == f'<font name="{pdf.FALLBACK_FONT}">{EXT_B}</font>英'
    assert pdf.markup(f"{NOWHERE}英") == f"{pdf.MISSING_MARK}英"
    assert pdf.printable("张三") and not pdf.printable(f"{EXT_B}三")


def test_period_labels() -> None:
    assert pdf.period_label("2026Q3") == "2026年第三季度"
    assert pdf.period_label("2027Q1") == "2027年第一季度"


def certificate(serial: str = "520999-2026-000001", name: str = "杨秀英") -> pdf.Certificate:
    return pdf.Certificate(
        serial=serial,
        household_code="520999010101001",
        head_name=name,
        county_name="示范县",
        township_name="松林镇",
        village_name="青山村",
        level="最清洁户",
        issued_period="2026Q3",
        issued_on=dt.date(2026, 10, 18),
        verify_url=f"https://hygiene.example.cn/verify/token-{serial}",
    )


def test_a_certificate_has_its_facts_a_seal_area_and_a_qr_code_to_its_verification_url() -> None:
    data = pdf.certificates_pdf([certificate(name=f"{EXT_B}秀英")])
    text = pdftotext(data)
    for part in ("挂牌证书", f"{EXT_B}秀英", "520999010101001", "青山村", "最清洁户", "520999-2026-000001"):
        assert part in text
    assert "2026Q3" in text and "2026年10月18日" in text and "盖章" in text
    assert qr_codes(data) == ["https://hygiene.example.cn/verify/token-520999-2026-000001"]


def test_a_batch_prints_one_certificate_a_page() -> None:
    serials = [f"520999-2026-{n:06d}" for n in range(1, 4)]
    data = pdf.certificates_pdf([certificate(s) for s in serials])
    assert len(pypdf.PdfReader(io.BytesIO(data)).pages) == 3
    for page, serial in enumerate(serials):
        assert serial in pdftotext(data, page + 1)
        assert qr_codes(data, page) == [f"https://hygiene.example.cn/verify/token-{serial}"]


@pytest.mark.parametrize("size", ["A5", "letter"])
def test_unknown_page_sizes_are_refused(size: str) -> None:
    with pytest.raises(KeyError):
        pdf.notice_pdf(notice(), size)


def test_a_title_certificate_names_the_household_the_title_and_the_date() -> None:
    cert = pdf.TitleCertificate(
        household_code="520999010101001",
        head_name=f"杨{EXT_B}英",
        county_name="示范县",
        township_name="松林镇",
        village_name="青山村",
        title="好婆婆",
        certificate_name="好婆婆荣誉证书",
        granted_on=dt.date(2026, 11, 3),
        reason="孝敬公婆",
    )
    data = pdf.title_certificate_pdf(cert)
    text = pdftotext(data)
    assert "好婆婆荣誉证书" in text and f"杨{EXT_B}英" in text and "520999010101001" in text
    assert "“好婆婆”" in text and "2026年11月3日" in text and "孝敬公婆" in text
    assert len(pypdf.PdfReader(io.BytesIO(data)).pages) == 1
