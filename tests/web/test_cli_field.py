"""`hygiene check-sheets` (issue 31): the household check sheets of a village or a group as a PDF,
one page per household, the QR codes pointing at the site's entry forms; a bad code is exit 2 with a
Chinese message and no file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pypdfium2
import sqlalchemy as sa
import zxingcpp
from click.testing import CliRunner, Result

from hygiene.db import make_engine, make_sessionmaker
from hygiene.models import Household, Period
from web.cli import main

VILLAGE, GROUP, PERIOD = "5209990101", "520999010101", "2026Q4"


def run(url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["check-sheets", *args], env={"DATABASE_URL": url, **(env or {})})


def living(url: str, prefix: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The households (code, head) registered under ``prefix`` and the period's ten criteria labels."""
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        households = [
            (h.code, h.head_name)
            for h in session.scalars(
                sa.select(Household)
                .where(Household.code.like(f"{prefix}%"), Household.moved_away_on.is_(None))
                .order_by(Household.code)
            )
        ]
        period = session.scalars(sa.select(Period).where(Period.code == PERIOD)).first()
        assert period is not None
        labels = [c.label for c in period.rubric_version.criteria]
    engine.dispose()
    return households, labels


def test_check_sheets_writes_a_page_per_household_of_the_group_with_its_name_and_ten_criteria(
    sqlite_copy: str, tmp_path: Path
) -> None:
    output = tmp_path / "group.pdf"
    result = run(
        sqlite_copy, "--village", VILLAGE, "--period", PERIOD, "--group", GROUP, "--output", str(output),
        env={"HYGIENE_PUBLIC_URL": "https://hygiene.example.cn/"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    households, labels = living(sqlite_copy, GROUP)
    assert households and len(labels) == 10
    assert f"{len(households)} 户，每户一页" in result.stderr
    text = subprocess.run(["pdftotext", "-layout", str(output), "-"], capture_output=True, check=True).stdout.decode()
    pages = text.split("\f")[: len(households)]
    assert text.count("\f") == len(households)
    for (code, head), page in zip(households, pages, strict=True):
        assert code in page and head in page and all(label in page for label in labels), page
    first = pypdfium2.PdfDocument(output.read_bytes())[0].render(scale=2).to_pil()
    assert [r.text for r in zxingcpp.read_barcodes(first)] == [
        f"https://hygiene.example.cn/village/{VILLAGE}/periods/{PERIOD}/households/{households[0][0]}/review?kind=group"
    ]


def test_check_sheets_of_a_whole_village_and_the_base_url_option(sqlite_copy: str, tmp_path: Path) -> None:
    output = tmp_path / "village.pdf"
    result = run(
        sqlite_copy, "--village", VILLAGE, "--period", PERIOD, "--output", str(output),
        "--base-url", "http://10.0.0.5:8000",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    households, _ = living(sqlite_copy, VILLAGE)
    text = subprocess.run(["pdftotext", str(output), "-"], capture_output=True, check=True).stdout.decode()
    assert text.count("\f") == len(households) and all(head in text for _, head in households)
    first = pypdfium2.PdfDocument(output.read_bytes())[0].render(scale=2).to_pil()
    assert zxingcpp.read_barcodes(first)[0].text.startswith("http://10.0.0.5:8000/village/")


def test_check_sheets_refuses_an_unknown_village_or_group_and_writes_no_file(sqlite_copy: str, tmp_path: Path) -> None:
    output = tmp_path / "none.pdf"
    unknown = run(sqlite_copy, "--village", "5209999999", "--period", PERIOD, "--output", str(output))
    assert unknown.exit_code == 2 and "5209999999" in unknown.output
    no_group = run(
        sqlite_copy, "--village", VILLAGE, "--period", PERIOD, "--group", "520999019999", "--output", str(output)
    )
    assert no_group.exit_code == 2 and "520999019999" in no_group.output
    assert not output.exists()
