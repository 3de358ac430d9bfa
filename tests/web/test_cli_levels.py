"""`hygiene city` and `hygiene township-team` (issue 33, three levels of supervision): a city with its
counties, a city inspector account, the city's team and the townships it holds; a township's own team.
Bad input exits 2 with a Chinese message and writes nothing."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner, Result

from hygiene.db import make_engine, make_sessionmaker
from hygiene.models import City, InspectionAssignment, InspectionTeam, User
from web.cli import main


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})


def test_a_city_its_inspector_team_and_townships(sqlite_copy: str) -> None:
    made = run(sqlite_copy, "city", "create", "5209", "测试市", "--county", "520999")
    assert made.exit_code == 0 and "已建立测试市（5209）" in made.output, made.output
    assert run(sqlite_copy, "city", "add-county", "5209", "520998").exit_code == 0
    again = run(sqlite_copy, "city", "create", "5209", "重名市", "--county", "520999")
    assert again.exit_code == 2 and "已有编码为 5209 的市" in again.output
    account = run(
        sqlite_copy, "users", "create", "city-inspector", "--role", "inspector", "--unit", "5209",
        "--password", "levels-pass-2026",
    )  # fmt: skip
    assert account.exit_code == 0, account.output
    team = run(sqlite_copy, "city", "team", "5209", "市督查一组", "--members", "赵市", "--inspector", "city-inspector")
    assert team.exit_code == 0, team.output
    held = run(sqlite_copy, "city", "assign", "5209", "市督查一组", "2026Q4", "52099901", "52099801")
    assert held.exit_code == 0, held.output
    outside = run(sqlite_copy, "city", "assign", "5209", "没有这个组", "2026Q4", "52099901")
    assert outside.exit_code == 2 and "没有名为“没有这个组”的督查组" in outside.output
    own = run(sqlite_copy, "township-team", "52099901", "松林镇自查组", "--members", "周镇")
    assert own.exit_code == 0, own.output
    engine = make_engine(sqlite_copy)
    with make_sessionmaker(engine)() as session:
        city = session.scalars(sa.select(City)).one()
        assert [c.code for c in city.counties] == ["520998", "520999"]
        inspector = session.scalars(sa.select(User).where(User.username == "city-inspector")).one()
        assert inspector.city_id == city.id and inspector.county_id is None
        levels = session.scalars(sa.select(InspectionTeam.level).order_by(InspectionTeam.id)).all()
        assert levels[-2:] == ["city", "township"]
        city_held = session.scalars(sa.select(InspectionAssignment).where(InspectionAssignment.level == "city")).all()
        assert len(city_held) == 2 and {a.team_id for a in city_held} == {inspector.inspection_team_id}
    engine.dispose()
