"""How long the printed notice and a batch of plaque certificates take to build (issue 18).

    .venv/bin/python benchmarks/pdf_build.py

Pure: builds the PDFs from plain data (hygiene/io/pdf.py), no database. Prints one line per PDF;
the first PDF of a process also loads both fonts, so it is built once before timing.
"""

from __future__ import annotations

import datetime as dt
import io
import time

import pypdf

from hygiene.io import pdf

EXTENSION_B = "\U00020000"  # a name character beyond the main font (CJK Extension B): the fallback font


def pages(data: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(data)).pages)


def timed(build):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    data = build()
    return data, time.perf_counter() - start


def main() -> None:
    rows = [
        pdf.NoticeRow(
            i + 1,
            f"520999010101{i + 1:03d}",
            "张秀英" if i % 50 else f"{EXTENSION_B}阿英",
            f"第{i % 9 + 1}组",
            "清洁户",
            f"{99 - i * 0.1:.1f}",
            "清洁户" if i < 100 else "",
        )
        for i in range(500)
    ]
    notice = pdf.Notice(
        "示范县", "松林镇", "青山村", "2026Q3", 1, rows, 520, dt.date(2026, 10, 11), dt.date(2026, 10, 18),
        "https://hygiene.example.cn/public/villages/5209990101", True,
    )  # fmt: skip
    certificates = [
        pdf.Certificate(
            f"520999-2026-{n:06d}",
            f"520999010101{n:03d}",
            "杨秀英",
            "示范县",
            "松林镇",
            "青山村",
            "最清洁户",
            "2026Q3",
            dt.date(2026, 10, 18),
            f"https://hygiene.example.cn/verify/Ij{n:030d}.abcdefghijklmnopqrstuvwxyz0",
        )
        for n in range(1, 101)
    ]
    _, fonts = timed(lambda: pdf.notice_pdf(notice))
    print(f"first PDF of the process (loads the fonts): {fonts:.2f} s")
    for label, build in (
        ("notice, 500 rows, A4 landscape", lambda: pdf.notice_pdf(notice, "A4")),
        ("notice, 500 rows, A3 landscape", lambda: pdf.notice_pdf(notice, "A3")),
        ("certificates, batch of 100", lambda: pdf.certificates_pdf(certificates)),
        ("one certificate", lambda: pdf.certificates_pdf(certificates[:1])),
    ):
        data, seconds = timed(build)
        print(f"{label:<32} {seconds:6.2f} s {pages(data):4d} pages {len(data) / 1024:6.0f} KiB")


if __name__ == "__main__":
    main()
