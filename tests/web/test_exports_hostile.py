"""Every export opened as a county office opens it, with the outside probe's hostile values in the
data: no cell is a formula (RELIABILITY.md trap 5). The values are written straight to the tables,
as data from before the code rule would be: the exports must be safe whatever the database holds."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pandas as pd
import sqlalchemy as sa
from click.testing import CliRunner
from flask.testing import FlaskClient

from hygiene.db import make_sessionmaker
from hygiene.enums import CRITERIA, AwardLevel, ReviewKind
from hygiene.io.exports import FORMULA_PREFIXES
from hygiene.models import Group, Household, Period, Plaque, Review, Village
from tests.web.conftest import Auth
from web import create_app
from web.cli import main

HOSTILE = ("=cmd|'/c calc'!A1", '=HYPERLINK("//x.cn","y")', "-2+3", "+1", "@SUM(A1)", "\tTAB", "a,b")
VILLAGE = "5209990101"  # 2026Q4 draft: results computed live, so the hostile rows reach the engine


def plant(url: str) -> list[str]:
    """Households with hostile codes and names, each with a group review and a plaque."""
    engine = sa.create_engine(url)
    codes = []
    with make_sessionmaker(engine).begin() as session:
        group = session.scalars(sa.select(Group).join(Village).where(Village.code == VILLAGE)).first()
        q4 = session.scalars(sa.select(Period).where(Period.code == "2026Q4", Period.county_id == 1)).one()
        for n, value in enumerate(HOSTILE):
            household = Household(county_id=1, group_id=group.id, code=value, head_name=value)
            session.add(household)
            session.flush()
            session.add(
                Review(
                    county_id=household.county_id,
                    period_id=q4.id,
                    household_id=household.id,
                    kind=ReviewKind.GROUP,
                    team_members=value,
                    **dict.fromkeys(CRITERIA, 95),
                )
            )
            session.add(
                Plaque(
                    county_id=household.county_id,
                    serial=f"{value}-{n}",
                    household_id=household.id,
                    level=AwardLevel.CLEAN,
                    issued_period_id=q4.id,
                )
            )
            codes.append(value)
    engine.dispose()
    return codes


def assert_no_formula_in_csv(text: str) -> None:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    for row in rows:
        for field in row:
            if field.startswith(FORMULA_PREFIXES):
                float(field)  # only a number may start with - or +: anything else is a formula
    frame = pd.read_csv(io.StringIO(text.lstrip("\ufeff")), dtype=str, keep_default_na=False)
    for value in frame.to_numpy().ravel():
        assert not value.startswith(("=", "@", "\t")), value


def assert_no_formula_in_xlsx(data: bytes, expected: set[str]) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    texts = set()
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.add(cell.value)
    assert expected <= texts  # written verbatim, as text
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=str, engine="calamine", header=None)
    read = {value for frame in sheets.values() for value in frame.fillna("").to_numpy().ravel()}
    assert expected <= read  # pandas reads the text back as written, not a formula's result


def test_the_review_template_writes_hostile_codes_and_names_as_text(sqlite_copy: str) -> None:
    codes = plant(sqlite_copy)
    app = create_app({"TESTING": True, "DATABASE_URL": sqlite_copy, "SECRET_KEY": "test-secret-key-0123456789abcdef"})
    client: FlaskClient = app.test_client()
    Auth(client).login("village")
    response = client.get(f"/village/{VILLAGE}/periods/2026Q4/template.xlsx")
    assert response.status_code == 200
    assert_no_formula_in_xlsx(response.data, set(codes))
    app.extensions["hygiene.engine"].dispose()


def test_hygiene_results_and_plaques_write_no_formula(sqlite_copy: str, tmp_path: Path) -> None:
    codes = plant(sqlite_copy)
    runner = CliRunner()
    env = {"DATABASE_URL": sqlite_copy}
    printed = runner.invoke(main, ["results", "--period", "2026Q4", "--village", VILLAGE], env=env)
    assert printed.exit_code == 0, printed.output
    assert printed.stdout.count("household_code,") == 1  # the header once, though "a,b" needs quotes
    assert "'=cmd|'/c calc'!A1" in printed.stdout and '"a,b"' in printed.stdout
    assert_no_formula_in_csv(printed.stdout)
    written = runner.invoke(
        main, ["results", "--period", "2026Q4", "--village", VILLAGE, "--output", str(tmp_path)], env=env
    )
    assert written.exit_code == 0
    for name in ("household_results.csv", "village_results.csv"):
        assert_no_formula_in_csv((tmp_path / name).read_text(encoding="utf-8"))
    register = runner.invoke(main, ["plaques", "--county", "520999", "--village", VILLAGE], env=env)
    assert register.exit_code == 0 and "'=HYPERLINK" in register.stdout
    assert_no_formula_in_csv(register.stdout)
    assert len(codes) == len(HOSTILE)
