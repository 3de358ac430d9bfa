"""The commands of stars, benefits and the award ledger (INTERCHANGE.md §3, issue 29), on a copy
of the seeded demo database: exit 0 done, 2 invalid input with nothing written."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import sqlalchemy as sa
from click.testing import CliRunner, Result

from hygiene.db import make_engine, make_sessionmaker
from hygiene.enums import PlaqueState
from hygiene.models import AwardLedgerEntry, Household, HouseholdStar, Plaque
from hygiene.models._types import beijing_today
from hygiene.services.awards import stars
from web.cli import main

YEAR = str(beijing_today().year)
TODAY = beijing_today().isoformat()


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})


def table(result: Result) -> list[dict[str, str]]:
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.output)))


def scalar(url: str, query: sa.Select) -> object:  # type: ignore[type-arg]
    engine = make_engine(url)
    with engine.connect() as conn:
        value = conn.execute(query).scalar()
    engine.dispose()
    return value


def holder(url: str) -> tuple[str, str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        code, serial = conn.execute(
            sa.select(Household.code, Plaque.serial)
            .join(Plaque, Plaque.household_id == Household.id)
            .where(Plaque.state == PlaqueState.VALID, Household.county_id == Plaque.county_id)
            .order_by(Household.code)
            .limit(1)
        ).one()
    engine.dispose()
    for star in bare_stars(url, code):
        assert run(url, "stars", "withdraw", code, star, "--reason", "测试前清空").exit_code == 0
    return code, serial


def bare_stars(url: str, code: str) -> list[str]:
    """The codes of the stars and titles other than the hygiene star the household holds."""
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        household = stars.household_by_code(session, code)
        held = stars.holding_of(session, household)
        codes = [s.code for s in held.stars + held.titles if not s.is_hygiene]
    engine.dispose()
    return codes


def test_catalogue_and_stars_follow_the_plaque(sqlite_copy: str) -> None:
    catalogue = table(run(sqlite_copy, "stars", "catalogue", "--county", "520999"))
    assert [r["code"] for r in catalogue][:2] == ["hygiene", "law"] and catalogue[0]["hygiene"] == "yes"
    assert sum(r["base"] == "yes" for r in catalogue) == 5
    code, serial = holder(sqlite_copy)
    rows = {r["household_code"]: r for r in table(run(sqlite_copy, "stars", "--county", "520999"))}
    assert rows[code]["star_codes"] == "hygiene" and rows[code]["hygiene_star"] == "yes"
    for star in ("law", "filial", "diligent", "harmony", "study"):
        result = run(sqlite_copy, "stars", "grant", code, star, "--reason", "村民代表会议评定")
        assert result.exit_code == 0, result.output
    rows = {r["household_code"]: r for r in table(run(sqlite_copy, "stars", "--county", "520999"))}
    assert (rows[code]["stars"], rows[code]["five_plus"], rows[code]["tier"]) == ("6", "yes", "bronze")
    assert rows[code]["star_codes"] == "hygiene;law;filial;diligent;harmony;study"
    benefits = {r["household_code"]: r for r in table(run(sqlite_copy, "benefits", "--county", "520999"))}
    assert benefits[code]["five_plus"] == "yes" and benefits[code]["stars"] == "6"
    revoked = run(sqlite_copy, "plaques", "revoke", serial, "--reason", "督查抽查：厕所卫生不达标")
    assert revoked.exit_code == 0, revoked.output
    rows = {r["household_code"]: r for r in table(run(sqlite_copy, "stars", "--county", "520999"))}
    assert (rows[code]["hygiene_star"], rows[code]["five_plus"], rows[code]["stars"]) == ("no", "no", "5")
    benefits = {r["household_code"]: r for r in table(run(sqlite_copy, "benefits", "--county", "520999"))}
    assert (benefits[code]["five_plus"], benefits[code]["stars"]) == ("no", "5")
    register = {r["serial"]: r for r in table(run(sqlite_copy, "plaques", "--county", "520999"))}
    assert register[serial]["status"] == "revoked"
    back = run(sqlite_copy, "plaques", "reinstate", serial, "--reason", "复查：误判")
    assert back.exit_code == 0, back.output
    rows = {r["household_code"]: r for r in table(run(sqlite_copy, "stars", "--county", "520999"))}
    assert (rows[code]["hygiene_star"], rows[code]["five_plus"], rows[code]["stars"]) == ("yes", "yes", "6")
    assert run(sqlite_copy, "plaques", "reinstate", serial, "--reason", "再次").exit_code == 2


def test_the_hygiene_star_by_hand_and_bad_input_exit_2_writing_nothing(sqlite_copy: str) -> None:
    code, _ = holder(sqlite_copy)
    before = scalar(sqlite_copy, sa.select(sa.func.count(HouseholdStar.id)))
    for args in (
        ["stars", "grant", code, "hygiene", "--reason", "手工"],
        ["stars", "withdraw", code, "hygiene", "--reason", "手工"],
        ["stars", "grant", code, "law", "--reason", "x", "--on", "2026-13-01"],
        ["stars", "grant", code, "nosuch", "--reason", "x"],
        ["stars", "grant", "000", "law", "--reason", "x"],
        ["stars", "withdraw", code, "law", "--reason", "未持有"],
        ["plaques", "revoke", "520999-2026-999999", "--reason", "x"],
    ):
        result = run(sqlite_copy, *args)
        assert result.exit_code == 2, (args, result.output)
    assert scalar(sqlite_copy, sa.select(sa.func.count(HouseholdStar.id))) == before
    assert "随牌匾" in run(sqlite_copy, "stars", "grant", code, "hygiene", "--reason", "手工").output


def test_ledger_add_refusals_and_the_years_figures(sqlite_copy: str) -> None:
    code, _ = holder(sqlite_copy)
    entries = scalar(sqlite_copy, sa.select(sa.func.count(AwardLedgerEntry.id)))
    [before] = table(run(sqlite_copy, "stats", "--county", "520999", "--year", YEAR))
    add = ["ledger", "add", "--county", "520999", "--household", code]
    refused = [
        [*add, "--kind", "industry_support", "--item", "养殖", "--value", "3000"],  # not ten-star
        [*add, "--kind", "award_goods", "--item", "垃圾桶", "--value", "30000001"],  # over the budget
        [*add, "--kind", "award_goods", "--item", "垃圾桶", "--value", "六十"],
    ]
    for args in refused:
        result = run(sqlite_copy, *args)
        assert result.exit_code == 2, (args, result.output)
    assert "不是十星级" in run(sqlite_copy, *refused[0]).output
    assert scalar(sqlite_copy, sa.select(sa.func.count(AwardLedgerEntry.id))) == entries
    for star in ("law", "filial", "diligent", "harmony", "study", "thrift", "kindness", "ecology", "service"):
        assert run(sqlite_copy, "stars", "grant", code, star, "--reason", "评定").exit_code == 0
    low = run(sqlite_copy, *add, "--kind", "industry_support", "--item", "养殖", "--value", "1999.99")
    assert low.exit_code == 2 and "不少于2000元" in low.output
    ok = run(sqlite_copy, *add, "--kind", "industry_support", "--item", "养殖", "--value", "3000")
    assert ok.exit_code == 0, ok.output
    assert run(sqlite_copy, *add, "--kind", "award_goods", "--item", "垃圾桶", "--value", "60").exit_code == 0
    rows = table(run(sqlite_copy, "ledger", "--county", "520999", "--year", YEAR))
    assert [(r["household_code"], r["kind"], r["value_yuan"]) for r in rows if r["date"] == TODAY] == [
        (code, "industry_support", "3000"),
        (code, "award_goods", "60"),
    ]
    [stats] = table(run(sqlite_copy, "stats", "--county", "520999", "--year", YEAR))
    grew = {
        key: float(stats[key]) - float(before[key]) for key in ("ten_star", "goods_value_yuan", "industry_support_yuan")
    }
    assert grew == {"ten_star": 1, "goods_value_yuan": 60, "industry_support_yuan": 3000}
    assert stats["budget_yuan"] == "27000000" and int(stats["hygiene_stars"]) >= int(
        stats["civilized_hygiene_households"]
    )


def test_benefits_as_a_workbook_marks_the_poor(sqlite_copy: str, tmp_path: Path) -> None:
    out = tmp_path / "名单.xlsx"
    result = run(sqlite_copy, "benefits", "--county", "520999", "--output", str(out))
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(i for i, row in enumerate(values) if row[0] == "优先序号")
    assert values[header][-2:] == ["脱贫户/低收入户", "有产业发展意愿"] and len(values) > header + 1
    assert run(sqlite_copy, "benefits", "--county", "520999", "--output", str(tmp_path / "x.csv")).exit_code == 2
