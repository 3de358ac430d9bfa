"""Issue 30's downloads, opened as an office opens them (openpyxl): the roster in the roster sheet's
own layout and importable back unchanged, the plaque register, the county's results, the public
list; numbers are numbers, text is never a formula; each for whom it belongs to only."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.models import Household, Plaque, User, Village
from hygiene.services.setup import roster_imports
from hygiene.services.setup.roster_exports import ROSTER_HEADER
from tests.web.conftest import Auth
from tests.web.test_cli import hygiene


def sheet_rows(data: bytes, sheet: int = 0) -> tuple[list[list[object]], list[openpyxl.cell.Cell]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    ws = book.worksheets[sheet]
    cells = [cell for row in ws.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)  # never a formula
    return [[cell.value for cell in row] for row in ws.iter_rows()], cells


def test_the_village_roster_downloads_in_its_import_layout_and_imports_back_unchanged(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("village")
    response = client.get("/village/5209990101/roster.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows, _ = sheet_rows(response.data)
    assert rows[0] == ROSTER_HEADER
    village = db_session.scalars(sa.select(Village).where(Village.code == "5209990101")).one()
    households = db_session.scalars(
        sa.select(Household).join(Household.group).where(Household.group.has(village_id=village.id))
    ).all()
    current = [h for h in households if h.moved_away_on is None]
    assert len(rows) - 1 == len(current)
    first = rows[1]
    assert first[0] == "松林镇" and first[1] == village.name and isinstance(first[5], int)
    assert isinstance(first[3], str) and first[7] in ("是", "否")
    clerk = db_session.scalars(sa.select(User).where(User.username == "village")).one()
    plan = roster_imports.plan_roster_upload(db_session, clerk, [village], response.data, "花名册.xlsx")
    assert len(plan.rows) == len(current) and plan.added == 0 and plan.updated == 0
    assert client.get("/village/5209990201/roster.xlsx").status_code == 403  # another village's clerk


def test_the_county_roster_and_register_and_results_are_files_with_numbers(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("county")
    roster, _ = sheet_rows(client.get("/county/520999/roster.xlsx").data)
    current = db_session.scalar(
        sa.select(sa.func.count(Household.id)).where(
            Household.moved_away_on.is_(None), Household.code.startswith("520999")
        )
    )
    assert roster[0] == ROSTER_HEADER and len(roster) - 1 == current
    register, _ = sheet_rows(client.get("/county/520999/plaques.xlsx").data)
    plaques = db_session.scalar(sa.select(sa.func.count(Plaque.id)).where(Plaque.serial.startswith("520999-")))
    assert register[1][0] == "牌匾编号" and len(register) - 2 == plaques  # a title row, then the header
    results = client.get("/county/520999/periods/2026Q3/results.xlsx")
    assert results.status_code == 200
    villages, _ = sheet_rows(results.data, 0)
    households, _ = sheet_rows(results.data, 1)
    assert len(villages) - 2 == 12 and all(isinstance(row[5], int) for row in villages[2:])
    rated = [row for row in households[2:] if row[9] != "未评定"]
    assert rated and all(isinstance(row[8], float | int) for row in rated)
    assert client.get("/county/520999/periods/2031Q1/results.xlsx").status_code == 404
    auth.logout()
    auth.login("county2")
    assert client.get("/county/520999/roster.xlsx").status_code == 403


def test_the_township_and_village_registers_download(client: FlaskClient, auth: Auth) -> None:
    auth.login("township")
    whole, _ = sheet_rows(client.get("/township/52099901/plaques.xlsx").data)
    one, _ = sheet_rows(client.get("/township/52099901/plaques.xlsx?village=5209990101").data)
    assert len(whole) > len(one) > 2 and all(row[3] == "青山村" for row in one[2:])
    csv = client.get("/township/52099901/plaques.csv").data.decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("牌匾编号,户编号")
    auth.logout()
    auth.login("village")
    mine, _ = sheet_rows(client.get("/village/5209990101/plaques.xlsx").data)
    assert mine[1:] == one[1:]  # the same rows under its own title


def test_the_public_list_xlsx_stores_scores_as_numbers(client: FlaskClient) -> None:
    rows, _ = sheet_rows(client.get("/public/villages/5209990101/2026Q3.xlsx").data)
    totals = [row[4] for row in rows[2:]]
    assert totals and all(isinstance(t, float | int) for t in totals)
    assert all(isinstance(row[0], int) for row in rows[2:])  # the rank too
    csv = client.get("/public/villages/5209990101/2026Q3.csv").data.decode("utf-8-sig")
    assert Decimal(csv.splitlines()[1].split(",")[4]) == Decimal(str(totals[0]))


def test_export_roster_writes_the_roster_and_import_reads_it_back(committing_engine: sa.Engine, tmp_path: Path) -> None:
    engine = committing_engine
    out = tmp_path / "roster.xlsx"
    done = hygiene(engine, "export", "roster", "--county", "520999", "--village", "5209990101", "--output", out)
    assert done.exit_code == 0, done.output
    rows, _ = sheet_rows(out.read_bytes())
    assert rows[0] == ROSTER_HEADER and f"已导出 {len(rows) - 1} 户" in done.stdout
    back = hygiene(engine, "import", "roster", out)
    assert back.exit_code == 0, back.output
    assert "新增 0 户，更新 0 户" in back.stdout
    wrong = hygiene(engine, "export", "roster", "--county", "520999", "--output", tmp_path / "x.csv")
    assert wrong.exit_code == 2
    elsewhere = hygiene(engine, "export", "roster", "--county", "520998", "--village", "5209990101", "--output", out)
    assert elsewhere.exit_code == 2 and "不属于" in elsewhere.stderr
