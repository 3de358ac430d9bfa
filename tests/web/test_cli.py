"""The ``hygiene`` command: exit 0 done, 2 invalid input with nothing written, 1 other failures."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy.orm import Session

from hygiene.db import make_engine, make_sessionmaker
from hygiene.enums import CRITERIA, NoticeKind, NoticeState, ObjectionState, ReviewKind, WorkflowState
from hygiene.models import (
    AuditEntry,
    County,
    Group,
    Household,
    Notice,
    Objection,
    Period,
    Plaque,
    Review,
    Township,
    User,
    Village,
    VillagePeriod,
)
from tests.sheets import REVIEW_HEADER, ROSTER_HEADER, TEAM, review_row, roster_row
from tests.sheets import csv_file as csv_bytes
from web.cli import main


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


def run(url: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url}, input=input)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database after `hygiene init-db` and `hygiene demo`, loaded once a session (about 7 s)."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    for command in ("init-db", "demo"):
        result = run(f"sqlite:///{path}", command)
        assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def demo_url(demo_database: Path, tmp_path: Path) -> str:
    """A private copy of the demo database (SQLite's backup: whole, whatever its WAL holds)."""
    copy = tmp_path / "cli.sqlite3"
    with closing(sqlite3.connect(demo_database)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
    return f"sqlite:///{copy}"


def count_users(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(sa.select(sa.func.count(User.id))) or 0
    engine.dispose()
    return n


def test_init_demo_and_demo_again(url: str) -> None:
    assert run(url, "init-db").exit_code == 0
    first = run(url, "demo")
    assert first.exit_code == 0, first.output
    assert "已载入演示县 示范县" in first.output and "county / demo-county-2026" in first.output
    again = run(url, "demo")
    assert again.exit_code == 0 and "已存在，未作更改" in again.output
    assert run(url, "init-db").exit_code == 0  # idempotent too


def test_commands_before_init_db_say_what_to_do(url: str) -> None:
    result = run(url, "demo")
    assert result.exit_code == 1 and "请先运行 hygiene init-db" in result.output


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("mysql://u@h/db", "不支持的数据库类型 'mysql'"),
        ("postgresql://h:notaport/db", "DATABASE_URL 格式不正确"),
        ("not a url", "DATABASE_URL 格式不正确"),
        ("postgresql://h:5432/", "缺少数据库名"),
    ],
)
def test_a_malformed_database_url_is_invalid_input(tmp_path: Path, raw: str, message: str) -> None:
    result = CliRunner().invoke(main, ["init-db"], env={"DATABASE_URL": raw})
    assert result.exit_code == 2 and message in result.output
    assert not any(tmp_path.iterdir())


def test_users_create_asks_for_the_password(demo_url: str) -> None:
    url = demo_url
    before = count_users(url)
    result = run(
        url,
        "users",
        "create",
        "--role",
        "village_clerk",
        "--unit",
        "5209990102",
        "xinhua",
        input="long-enough-1\nlong-enough-1\n",
    )
    assert result.exit_code == 0, result.output
    assert "已创建账号 xinhua（村委会" in result.output
    assert count_users(url) == before + 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "county_admin", "--unit", "000000", "someone"], "找不到编码为 000000 的县"),
        (["--role", "township_reviewer", "--unit", "000", "someone"], "找不到编码为 000 的乡镇"),
        (["--role", "village_clerk", "--unit", "5209990101", "village"], "用户名 village 已存在"),
        (["--role", "village_clerk", "--unit", "5209990101", "bad name!"], "用户名 'bad name!' 不合规"),
    ],
)
def test_users_create_refuses_bad_input_and_writes_nothing(demo_url: str, args: list[str], message: str) -> None:
    url = demo_url
    before = count_users(url)
    result = run(url, "users", "create", *args, input="long-enough-1\nlong-enough-1\n")
    assert result.exit_code == 2 and message in result.output
    assert count_users(url) == before


def test_users_create_refuses_a_short_password(url: str) -> None:
    run(url, "init-db")
    result = run(url, "users", "create", "--role", "county_admin", "--unit", "x", "someone", input="short\nshort\n")
    assert result.exit_code == 2 and "密码至少需要8位" in result.output


def test_unknown_role_is_refused_by_the_parser(url: str) -> None:
    result = run(url, "users", "create", "--role", "mayor", "--unit", "x", "someone")
    assert result.exit_code == 2 and "mayor" in result.output


def test_serve_refuses_a_bad_port(url: str) -> None:
    run(url, "init-db")
    result = CliRunner().invoke(main, ["serve"], env={"DATABASE_URL": url, "PORT": "http"})
    assert result.exit_code == 2 and "PORT 不是端口号" in result.output


def test_serve_refuses_production_without_a_secret_key(url: str) -> None:
    run(url, "init-db")
    result = CliRunner().invoke(
        main,
        ["serve"],
        env={"DATABASE_URL": url, "HYGIENE_ENV": "production", "SECRET_KEY": "", "HYGIENE_SECRET_KEY": ""},
    )
    assert result.exit_code == 1 and "未设置 SECRET_KEY" in result.output


def test_results_prints_the_engine_output_for_a_period(demo_url: str, tmp_path: Path) -> None:
    url = demo_url
    printed = run(url, "results", "--period", "2026Q3", "--village", "5209990101")
    assert printed.exit_code == 0
    lines = printed.output.splitlines()
    assert lines[0] == "household_code,village_code,self_total,peer_total,peer_count,final_total,grade,rank,award,flags"
    assert all(line.startswith("520999010") for line in lines[1:]) and len(lines) > 40
    written = run(url, "results", "--period", "2026Q3", "--output", str(tmp_path / "out"))
    assert written.exit_code == 0
    village_rows = (tmp_path / "out" / "village_results.csv").read_text().splitlines()
    assert len(village_rows) == 1 + 12 and village_rows[1].startswith("5209990101,52099901,")


def test_results_of_one_county_where_several_share_the_database(demo_url: str) -> None:
    url = demo_url
    assert run(url, "county", "create", "520997", "测试县").exit_code == 0
    assert run(url, "period", "open", "2026Q4", "--county", "520997").exit_code == 0
    shared = run(url, "results", "--period", "2026Q4")
    assert shared.exit_code == 2 and "--county" in shared.output
    one = run(url, "results", "--period", "2026Q4", "--county", "520999")
    assert one.exit_code == 0
    rows = one.output.splitlines()[1:]
    assert len(rows) > 40 and all(line.startswith("520999") for line in rows)
    unknown = run(url, "results", "--period", "2026Q4", "--county", "000000")
    assert unknown.exit_code == 2 and "县 000000 的季度 2026Q4 不存在" in unknown.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026Q9"], "季度格式不正确"),
        (["--period", "2030Q1"], "季度 2030Q1 不存在"),
        (["--period", "2026Q3", "--village", "000"], "找不到编码为 000 的村"),
    ],
)
def test_results_refuses_bad_input(demo_url: str, args: list[str], message: str) -> None:
    url = demo_url
    result = run(url, "results", *args)
    assert result.exit_code == 2 and message in result.output


# --- import, tick: on a private seeded database (the demo county and a neighbour), each backend ----------

DRAFT_VILLAGE = "5209990101"  # 松林镇 青山村: 2026Q4 draft
SUBMITTED, APPROVED, PUBLISHED, FINAL = "5209990102", "5209990103", "5209990104", "5209990202"
PUBLISHED_TOO = "5209990301"  # 白果街道 白果社区: 2026Q4 published as well
NEIGHBOUR_VILLAGE = "5209980101"  # 邻县 邻镇 邻村: 2026Q4 open, no village period yet


def url_of(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def hygiene(engine: sa.Engine, *args: str | Path) -> Result:
    return run(url_of(engine), *(str(a) for a in args))


def xlsx_bytes(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def write_sheet(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]], fmt: str = "csv") -> Path:
    """``fmt``: csv (UTF-8), gb18030 (a GB18030 CSV) or xlsx."""
    if fmt == "xlsx":
        path.write_bytes(xlsx_bytes(header, rows))
    else:
        path.write_bytes(csv_bytes(header, rows, "utf-8" if fmt == "csv" else fmt))
    return path


def scalar(engine: sa.Engine, query: sa.Select[Any]) -> Any:
    with engine.connect() as conn:
        return conn.scalar(query)


def count(engine: sa.Engine, model: type[Any], *where: sa.ColumnElement[bool]) -> int:
    return scalar(engine, sa.select(sa.func.count()).select_from(model).where(*where)) or 0


def footprint(engine: sa.Engine) -> dict[str, int]:
    """What an import or tick could write: rows of each table, and the sum of versions (every update
    of a versioned row raises its version)."""
    tables = {
        "household": Household, "group": Group, "review": Review, "village_period": VillagePeriod,
        "township": Township, "village": Village,
    }  # fmt: skip
    counts = {name: count(engine, model) for name, model in tables.items()}
    counts["audit"] = count(engine, AuditEntry)
    for name, model in (("household", Household), ("review", Review), ("village_period", VillagePeriod)):
        counts[f"{name}_versions"] = scalar(engine, sa.select(sa.func.sum(model.version))) or 0
    return counts


def household_row(engine: sa.Engine, code: str) -> tuple[Any, ...] | None:
    """(head, members, phone, poor, group name, village code, version) of a household, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(
                Household.head_name,
                Household.members,
                Household.phone,
                Household.is_poor,
                Group.name,
                Village.code,
                Household.version,
            )
            .join(Group, Household.group_id == Group.id)
            .join(Village, Group.village_id == Village.id)
            .where(Household.code == code)
        ).one_or_none()
    return tuple(row) if row is not None else None


def audit_rows(engine: sa.Engine, entity: str, action: str | None = None) -> list[AuditEntry]:
    with Session(engine) as session:
        query = sa.select(AuditEntry).where(AuditEntry.entity == entity)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list(session.scalars(query.order_by(AuditEntry.id)))


def first_group_codes(engine: sa.Engine, village_code: str) -> list[str]:
    """The household codes of the village's first group, in order."""
    with engine.connect() as conn:
        group_id = conn.scalar(
            sa.select(Group.id).join(Village).where(Village.code == village_code).order_by(Group.code).limit(1)
        )
        return list(
            conn.scalars(sa.select(Household.code).where(Household.group_id == group_id).order_by(Household.code))
        )


def q4_period_id(engine: sa.Engine, county_code: str = "520999") -> int:
    return scalar(
        engine,
        sa.select(Period.id)
        .join(County, Period.county_id == County.id)
        .where(County.code == county_code, Period.code == "2026Q4"),
    )


def clear_q4_reviews(engine: sa.Engine, codes: Sequence[str]) -> None:
    """Remove the demo's 2026Q4 reviews of these households, so a sheet's effect can be counted exactly."""
    period_id = q4_period_id(engine)
    with engine.begin() as conn:
        ids = list(conn.scalars(sa.select(Household.id).where(Household.code.in_(codes))))
        conn.execute(sa.delete(Review).where(Review.period_id == period_id, Review.household_id.in_(ids)))


def q4_reviews(engine: sa.Engine, codes: Sequence[str]) -> dict[tuple[str, str, str | None], tuple[Any, ...]]:
    """The 2026Q4 reviews of these households: (household, kind, reviewer code) -> (scores…, team, version)."""
    reviewer = sa.orm.aliased(Household)
    period_id = q4_period_id(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                Household.code,
                Review.kind,
                reviewer.code,
                *(getattr(Review, c) for c in CRITERIA),
                Review.team_members,
                Review.version,
            )
            .join(Household, Review.household_id == Household.id)
            .outerjoin(reviewer, Review.reviewer_household_id == reviewer.id)
            .where(Review.period_id == period_id, Household.code.in_(codes))
        ).all()
    return {(r[0], ReviewKind(r[1]).value, r[2]): tuple(r[3:]) for r in rows}


# --- hygiene import roster ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "gb18030", "xlsx"])
def test_import_roster_adds_and_updates_households_then_changes_nothing_the_second_time(
    committing_engine: sa.Engine, tmp_path: Path, fmt: str
) -> None:
    engine = committing_engine
    existing = first_group_codes(engine, DRAFT_VILLAGE)[0]
    head, members, phone, poor, group, _, version = household_row(engine, existing)
    rows = [
        roster_row("0012", head="王五", group="第五组", members="3", phone="13800000001", poor="是"),
        roster_row("520999020105001", head="龍𠀋", township="52099902", village="5209990201", members="３"),
        roster_row(
            existing, head="新户主", group=group, members=str(members), phone=phone or "", poor="是" if poor else "否"
        ),
    ]
    name = "花名册.xlsx" if fmt == "xlsx" else "花名册.csv"
    path = write_sheet(tmp_path / name, ROSTER_HEADER, rows, fmt)
    before = footprint(engine)
    household_entries = len(audit_rows(engine, "household"))  # the demo's stars are audited on households

    result = hygiene(engine, "import", "roster", path)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"已导入 {name}：新增 2 户，更新 1 户，3 条变更\n"
    assert result.stderr.splitlines() == [f"正在读取并逐行检查 {name} …", "检查通过：3 行", "正在写入"]
    assert household_row(engine, "0012")[:6] == ("王五", 3, "13800000001", True, "第五组", DRAFT_VILLAGE)
    assert household_row(engine, "12") is None  # the leading zeros are kept
    assert household_row(engine, "520999020105001")[:6] == ("龍𠀋", 3, None, False, "第一组", "5209990201")
    assert household_row(engine, existing) == ("新户主", members, phone, poor, group, DRAFT_VILLAGE, version + 1)
    after = footprint(engine)
    assert after["household"] == before["household"] + 2 and after["group"] == before["group"] + 1
    created = audit_rows(engine, "household", "create")
    assert len(created) == 2 and {e.after["code"] for e in created} == {"0012", "520999020105001"}
    [updated] = audit_rows(engine, "household", "import")
    assert updated.before["head_name"] == head and updated.after["head_name"] == "新户主"
    assert all(e.actor == "system" and e.reason.startswith(f"导入 {name} 第") for e in [*created, updated])
    summaries = audit_rows(engine, "village", "import_roster")  # one per village the sheet names
    assert sorted((e.after["rows"], e.after["changed"]) for e in summaries) == [(1, 1), (2, 2)]
    assert all(e.after["file"] == name for e in summaries)

    again = hygiene(engine, "import", "roster", path)

    assert again.exit_code == 0, again.output
    assert again.stdout == f"已导入 {name}：新增 0 户，更新 0 户，0 条变更\n"
    assert footprint(engine) == after | {"audit": after["audit"] + 2}  # only the import itself, per village
    assert len(audit_rows(engine, "household")) == household_entries + 3
    assert [e.after["changed"] for e in audit_rows(engine, "village", "import_roster")] == [2, 1, 0, 0]


ROSTER_PROBLEMS = {
    "duplicate_code": (
        [roster_row("520999010105001"), roster_row("520999010105002"), roster_row("520999010105001", head="李四")],
        ["{file}:4:D(户编号): 520999010105001: 与第2行户编号重复"],
    ),
    "unknown_village": (
        [roster_row("520999010105001"), roster_row("520999010105002", village="不存在村")],
        ["{file}:3:B(村): 不存在村: 不是本次可导入的乡镇和村"],
    ),
    "unknown_township": (
        [roster_row("520999010105001", township="不存在镇"), roster_row("520999010105002")],
        ["{file}:2:A(乡镇): 不存在镇: 不是本次可导入的乡镇和村"],
    ),
    "several_at_once": (
        [
            roster_row("520999010105001"),
            roster_row("520999010105002", members="0"),
            roster_row("520999010105003", head="", poor="也许"),
            roster_row("520999010105001", phone="13800 abc"),
        ],
        [
            "{file}:3:F(人口): 0: 人口须为1–99之间的整数",
            "{file}:4:E(户主姓名): : 请填写户主姓名",
            "{file}:4:H(是否脱贫户/低收入户): 也许: 须填 是 或 否",
            "{file}:5:D(户编号): 520999010105001: 与第2行户编号重复",
            "{file}:5:G(联系电话): 13800 abc: 电话号码格式不正确："
            "手机号11位（如 13812345678），座机带区号（如 0851-12345678）",
        ],
    ),
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("case", list(ROSTER_PROBLEMS))
def test_import_roster_with_bad_rows_lists_every_problem_and_writes_nothing(
    committing_engine: sa.Engine, tmp_path: Path, case: str, fmt: str
) -> None:
    rows, expected = ROSTER_PROBLEMS[case]
    path = write_sheet(tmp_path / f"坏花名册.{fmt}", ROSTER_HEADER, rows, fmt)
    before = footprint(committing_engine)

    result = hygiene(committing_engine, "import", "roster", path)

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    problems = [line for line in result.stderr.splitlines() if line.startswith(f"{path}:")]
    assert problems == [line.format(file=path) for line in expected]
    assert f"{path} 有 {len(expected)} 处问题，未导入任何数据" in result.stderr
    assert footprint(committing_engine) == before
    assert household_row(committing_engine, "520999010105001") is None


def test_import_roster_without_a_required_column_names_it(committing_engine: sa.Engine, tmp_path: Path) -> None:
    header = [h for h in ROSTER_HEADER if h != "人口"]
    rows = [[v for h, v in zip(ROSTER_HEADER, roster_row("520999010105001"), strict=True) if h != "人口"]]
    path = write_sheet(tmp_path / "缺列.csv", header, rows)
    before = footprint(committing_engine)

    result = hygiene(committing_engine, "import", "roster", path)

    assert result.exit_code == 2, result.output
    assert f"{path}::: : 缺少“人口”列（表头可写作：人口、家庭人口、人口数、members）" in result.stderr.splitlines()
    assert f"{path} 有 1 处问题，未导入任何数据" in result.stderr
    assert footprint(committing_engine) == before


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf" + csv_bytes(ROSTER_HEADER, [roster_row("520999010105001")], "gb18030"),  # BOM, then GB18030
        csv_bytes(ROSTER_HEADER, [roster_row("520999010105001")]) + b"\x80\xff\r\n",  # neither UTF-8 nor GB18030
        csv_bytes(ROSTER_HEADER, [roster_row("520999010105001")], "utf-16"),
    ],
    ids=["bom_then_gb18030", "invalid_bytes", "utf16"],
)
def test_import_roster_in_an_unreadable_encoding_is_refused(
    committing_engine: sa.Engine, tmp_path: Path, data: bytes
) -> None:
    path = tmp_path / "编码.csv"
    path.write_bytes(data)
    before = footprint(committing_engine)

    result = hygiene(committing_engine, "import", "roster", path)

    assert result.exit_code == 2, result.output
    assert (
        f"{path}::: : 格式不符：请上传 .xlsx、.xls 或 .csv（UTF-8 或 GB18030 编码）文件" in result.stderr.splitlines()
    )
    assert footprint(committing_engine) == before


def test_import_roster_of_a_missing_file_is_refused_by_the_parser(committing_engine: sa.Engine, tmp_path: Path) -> None:
    before = footprint(committing_engine)
    result = hygiene(committing_engine, "import", "roster", tmp_path / "没有这个文件.csv")
    assert result.exit_code == 2
    assert "没有这个文件.csv" in result.output and "does not exist" in result.output
    directory = hygiene(committing_engine, "import", "roster", tmp_path)
    assert directory.exit_code == 2 and "is a directory" in directory.output
    assert footprint(committing_engine) == before


# --- hygiene import reviews --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_import_reviews_writes_the_sheet_then_changes_nothing_the_second_time(
    committing_engine: sa.Engine, tmp_path: Path, fmt: str
) -> None:
    engine = committing_engine
    h0, h1, h2 = first_group_codes(engine, DRAFT_VILLAGE)[:3]
    clear_q4_reviews(engine, [h0, h1, h2])
    rows = [
        review_row(h0, "自评", c01="９", c02="9.5", c03="１０", c04="0"),
        review_row(h0, "互评", h1, score="8.5"),
        review_row(h0, "复评", TEAM, score="7"),
        review_row(h2, "self", score="6"),
    ]
    name = f"评分表.{fmt}"
    path = write_sheet(tmp_path / name, REVIEW_HEADER, rows, fmt)
    before = footprint(engine)

    result = hygiene(engine, "import", "reviews", path, "--period", "2026Q4", "--village", DRAFT_VILLAGE)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"已导入 {name}：4 行，4 条变更\n"
    assert result.stderr.splitlines() == [f"正在读取并逐行检查 {name} …", "检查通过：4 行，正在写入 …"]
    stored = q4_reviews(engine, [h0, h1, h2])
    assert stored == {
        (h0, "self", None): (90, 95, 100, 0, 90, 90, 90, 90, 90, 90, None, 1),
        (h0, "peer", h1): (*[85] * 10, None, 1),
        (h0, "group", None): (*[70] * 10, TEAM, 1),
        (h2, "self", None): (*[60] * 10, None, 1),
    }
    after = footprint(engine)
    assert after["review"] == before["review"] + 4
    trail = audit_rows(engine, "household", "review_import")
    assert len(trail) == 4 and all(e.actor == "system" and e.before is None for e in trail)
    [summary] = audit_rows(engine, "village_period", "import_reviews")
    assert summary.after == {"file": name, "rows": 4, "changed": 4}

    again = hygiene(engine, "import", "reviews", path, "--period", "2026Q4", "--village", DRAFT_VILLAGE)

    assert again.exit_code == 0, again.output
    assert again.stdout == f"已导入 {name}：4 行，0 条变更\n"
    assert q4_reviews(engine, [h0, h1, h2]) == stored
    assert footprint(engine) == after | {"audit": after["audit"] + 1}  # the import itself is still audited
    summaries = audit_rows(engine, "village_period", "import_reviews")
    assert [s.after["changed"] for s in summaries] == [4, 0] and "0 条变更" in summaries[-1].reason


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_import_reviews_with_bad_rows_lists_every_problem_and_writes_nothing(
    committing_engine: sa.Engine, tmp_path: Path, fmt: str
) -> None:
    engine = committing_engine
    h0, h1, h2, h3, h4 = first_group_codes(engine, DRAFT_VILLAGE)[:5]
    rows = [
        review_row(h0, "复评", TEAM, score="１"),  # good: full-width 1 is 1 point, yet nothing may be written
        review_row(h1, "自评", c01="11"),  # above the maximum of 10
        review_row("520999010199999", "复评", TEAM),  # no such household in the village
        review_row(h0, "group", "张组长", score="2"),  # the same household and kind as row 2
        review_row(h2, "自评", c01="９"),  # full-width nine: accepted
        review_row(h3, "自评", c05="９０"),  # full-width ninety: above the maximum
        review_row(h4, "自评", c10="-1"),
    ]
    path = write_sheet(tmp_path / f"错评分表.{fmt}", REVIEW_HEADER, rows, fmt)
    codes = [h0, h1, h2, h3, h4]
    reviews_before, before = q4_reviews(engine, codes), footprint(engine)

    result = hygiene(engine, "import", "reviews", path, "--period", "2026Q4", "--village", DRAFT_VILLAGE)

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    problems = [line for line in result.stderr.splitlines() if line.startswith(f"{path}:")]
    assert problems == [
        f"{path}:3:D(c01): 11: 不是0–10之间的分数",
        f"{path}:4:A(户编号): 520999010199999: 本村无此户号",
        f"{path}:5:A(户编号): {h0}: 与第2行重复（同一户、同一评议类型）",
        f"{path}:7:H(c05): ９０: 不是0–10之间的分数",
        f"{path}:8:M(c10): -1: 不是0–10之间的分数",
    ]
    assert f"{path} 有 5 处问题，未导入任何数据" in result.stderr
    assert q4_reviews(engine, codes) == reviews_before
    assert footprint(engine) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2030Q1", "--village", DRAFT_VILLAGE], "季度 2030Q1 不存在"),
        (["--period", "2026Q9", "--village", DRAFT_VILLAGE], "季度格式不正确"),
        (["--period", "2026Q4", "--village", "000"], "找不到编码为 000 的村"),
        (["--period", "2026Q3", "--village", NEIGHBOUR_VILLAGE], "季度 2026Q3 不存在"),  # a period of another county
    ],
)
def test_import_reviews_for_an_unknown_period_or_village_is_invalid_input(
    committing_engine: sa.Engine, tmp_path: Path, args: list[str], message: str
) -> None:
    h0 = first_group_codes(committing_engine, DRAFT_VILLAGE)[0]
    path = write_sheet(tmp_path / "评分表.csv", REVIEW_HEADER, [review_row(h0, "复评", TEAM)])
    before = footprint(committing_engine)

    result = hygiene(committing_engine, "import", "reviews", path, *args)

    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stdout == ""
    assert footprint(committing_engine) == before


@pytest.mark.parametrize("village_code", [SUBMITTED, APPROVED, PUBLISHED, FINAL])
def test_import_reviews_into_a_period_past_draft_is_refused(
    committing_engine: sa.Engine, tmp_path: Path, village_code: str
) -> None:
    target = first_group_codes(committing_engine, village_code)[0]
    path = write_sheet(tmp_path / "评分表.csv", REVIEW_HEADER, [review_row(target, "复评", TEAM, score="1")])
    reviews_before, before = q4_reviews(committing_engine, [target]), footprint(committing_engine)

    result = hygiene(committing_engine, "import", "reviews", path, "--period", "2026Q4", "--village", village_code)

    assert result.exit_code == 2, result.output
    assert "评议不能再修改" in result.stderr and result.stdout == ""
    assert q4_reviews(committing_engine, [target]) == reviews_before
    assert footprint(committing_engine) == before


def test_import_reviews_opens_the_village_period_only_when_the_sheet_is_accepted(
    committing_engine: sa.Engine, tmp_path: Path
) -> None:
    """The neighbour county's village has no 2026Q4 village period yet: a refused sheet must not
    leave one behind; an accepted one opens it as a draft."""
    engine = committing_engine
    [code] = first_group_codes(engine, NEIGHBOUR_VILLAGE)
    village_id = scalar(engine, sa.select(Village.id).where(Village.code == NEIGHBOUR_VILLAGE))
    bad = write_sheet(tmp_path / "bad.csv", REVIEW_HEADER, [review_row(code, "复评", TEAM, score="10.5")])
    before = footprint(engine)
    refused = hygiene(engine, "import", "reviews", bad, "--period", "2026Q4", "--village", NEIGHBOUR_VILLAGE)
    assert refused.exit_code == 2, refused.output
    assert footprint(engine) == before

    good = write_sheet(tmp_path / "good.csv", REVIEW_HEADER, [review_row(code, "复评", TEAM, score="10")])
    accepted = hygiene(engine, "import", "reviews", good, "--period", "2026Q4", "--village", NEIGHBOUR_VILLAGE)
    assert accepted.exit_code == 0, accepted.output
    assert count(engine, VillagePeriod, VillagePeriod.village_id == village_id) == 1
    state = scalar(engine, sa.select(VillagePeriod.state).where(VillagePeriod.village_id == village_id))
    assert WorkflowState(state) is WorkflowState.DRAFT


# --- hygiene tick ------------------------------------------------------------------------------------


def village_period_state(engine: sa.Engine, village_code: str) -> tuple[Any, ...]:
    """(state, finalized_at, version) of the village's 2026Q4 period."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(VillagePeriod.state, VillagePeriod.finalized_at, VillagePeriod.version)
            .join(Village, VillagePeriod.village_id == Village.id)
            .where(Village.code == village_code, VillagePeriod.period_id == q4_period_id(engine))
        ).one()
    return (WorkflowState(row[0]), row[1], row[2])


def set_posting_end(engine: sa.Engine, village_code: str, ends_at: dt.datetime) -> int:
    """Move the posting end of the village's 2026Q4 period (as time passing would); its id."""
    with make_sessionmaker(engine).begin() as session:
        vp = session.scalars(
            sa.select(VillagePeriod)
            .join(Village)
            .where(Village.code == village_code, VillagePeriod.period_id == q4_period_id(engine))
        ).one()
        vp.posting_ends_at = ends_at
        return vp.id


def test_tick_finalizes_published_periods_whose_posting_has_ended_once(committing_engine: sa.Engine) -> None:
    engine = committing_engine
    now = dt.datetime.now(dt.UTC)
    due = set_posting_end(engine, PUBLISHED, now - dt.timedelta(hours=1))
    set_posting_end(engine, PUBLISHED_TOO, now + dt.timedelta(days=3))
    _, _, version = village_period_state(engine, PUBLISHED)
    before = footprint(engine)

    result = hygiene(engine, "tick")

    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == "已定档 大坪村 2026Q4：挂牌1户，升级2户，降级2户\n公示期满定档 1 个村，逾期升级问责 0 份通知单\n"
    )
    state, finalized_at, new_version = village_period_state(engine, PUBLISHED)
    assert state is WorkflowState.FINAL and new_version == version + 1
    assert finalized_at is not None and now - dt.timedelta(minutes=1) <= finalized_at <= dt.datetime.now(dt.UTC)
    assert village_period_state(engine, PUBLISHED_TOO)[0] is WorkflowState.PUBLISHED
    [entry] = audit_rows(engine, "village_period", "finalize")
    assert entry.entity_id == str(due) and entry.actor == "system" and entry.user_id is None
    assert entry.before["state"] == "published" and entry.after["state"] == "final"
    assert entry.reason == "公示期满，无待处理异议"
    after = footprint(engine)
    plaque_changes = 1 + 2 + 2  # issued, upgraded, downgraded: one audit row each
    hygiene_stars = 1  # the issued plaque's household gets the hygiene star (issue 29)
    assert after == before | {
        "audit": before["audit"] + 1 + plaque_changes + hygiene_stars,
        "village_period_versions": before["village_period_versions"] + 1,
    }

    again = hygiene(engine, "tick")

    assert again.exit_code == 0, again.output
    assert again.stdout == "公示期满定档 0 个村，逾期升级问责 0 份通知单\n"
    assert footprint(engine) == after
    assert village_period_state(engine, PUBLISHED) == (state, finalized_at, new_version)


def test_tick_leaves_a_period_with_a_pending_objection_published(committing_engine: sa.Engine) -> None:
    engine = committing_engine
    now = dt.datetime.now(dt.UTC)
    vp_id = set_posting_end(engine, PUBLISHED, now - dt.timedelta(days=1))
    set_posting_end(engine, PUBLISHED_TOO, now + dt.timedelta(days=3))
    target = first_group_codes(engine, PUBLISHED)[0]
    with make_sessionmaker(engine).begin() as session:
        household = session.scalars(sa.select(Household).where(Household.code == target)).one()
        session.add(
            Objection(
                county_id=household.county_id, village_period_id=vp_id, household_id=household.id, reason="评分不公"
            )
        )
    before = footprint(engine)

    held = hygiene(engine, "tick")

    assert held.exit_code == 0, held.output
    assert held.stdout == "公示期满定档 0 个村，逾期升级问责 0 份通知单\n"
    assert village_period_state(engine, PUBLISHED)[0] is WorkflowState.PUBLISHED
    assert footprint(engine) == before

    with make_sessionmaker(engine).begin() as session:
        objection = session.scalars(sa.select(Objection).where(Objection.village_period_id == vp_id)).one()
        objection.state, objection.reply, objection.resolved_at = ObjectionState.DISMISSED, "经核实评分无误", now
    released = hygiene(engine, "tick")

    assert released.exit_code == 0, released.output
    assert (
        released.stdout
        == "已定档 大坪村 2026Q4：挂牌1户，升级2户，降级2户\n公示期满定档 1 个村，逾期升级问责 0 份通知单\n"
    )
    assert village_period_state(engine, PUBLISHED)[0] is WorkflowState.FINAL


def test_tick_on_the_demo_database_finalizes_what_is_due_and_is_idempotent(demo_url: str) -> None:
    """The demo as `hygiene demo` loads it: whichever published periods' posting has ended by now
    (the demo's dates are fixed, the clock is not) become final, the others stay published."""
    url = demo_url
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            published = conn.execute(
                sa.select(Village.name, Period.code, VillagePeriod.posting_ends_at)
                .join(Village, VillagePeriod.village_id == Village.id)
                .join(Period, VillagePeriod.period_id == Period.id)
                .where(VillagePeriod.state == WorkflowState.PUBLISHED)
                .order_by(VillagePeriod.id)
            ).all()
        assert len(published) == 2
        finalized_before = count(engine, AuditEntry, AuditEntry.action == "finalize")

        result = run(url, "tick")

        now = dt.datetime.now(dt.UTC)
        due = [f"{name} {code}" for name, code, ends in published if ends.replace(tzinfo=dt.UTC) <= now]
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert [line.split("：")[0] for line in lines[:-1]] == [f"已定档 {name}" for name in due]
        assert lines[-1] == f"公示期满定档 {len(due)} 个村，逾期升级问责 0 份通知单"
        assert count(engine, VillagePeriod, VillagePeriod.state == WorkflowState.PUBLISHED) == 2 - len(due)
        assert count(engine, AuditEntry, AuditEntry.action == "finalize") == finalized_before + len(due)
        after = footprint(engine)

        again = run(url, "tick")

        assert again.exit_code == 0 and again.stdout.endswith("公示期满定档 0 个村，逾期升级问责 0 份通知单\n")
        assert footprint(engine) == after
    finally:
        engine.dispose()


def test_import_prints_at_most_200_problems_then_how_many_more(committing_engine: sa.Engine, tmp_path: Path) -> None:
    codes = first_group_codes(committing_engine, DRAFT_VILLAGE)
    rows = [review_row(codes[i % len(codes)], "复评", TEAM, score="x") for i in range(21)]  # 210 bad scores
    path = write_sheet(tmp_path / "全错.csv", REVIEW_HEADER, rows)
    before = footprint(committing_engine)

    result = hygiene(committing_engine, "import", "reviews", path, "--period", "2026Q4", "--village", DRAFT_VILLAGE)

    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    problems = [line for line in lines if line.startswith(f"{path}:")]
    assert len(problems) == 200 and problems[0] == f"{path}:2:D(c01): x: 不是0–10之间的分数"
    assert "……另有 10 处问题" in lines and f"{path} 有 210 处问题，未导入任何数据" in result.stderr
    assert footprint(committing_engine) == before


# --- bugs these tests found, fixed since ----------------------------------------------------------


def test_import_roster_reports_the_households_it_updated(committing_engine: sa.Engine, tmp_path: Path) -> None:
    existing = first_group_codes(committing_engine, DRAFT_VILLAGE)[0]
    _, members, phone, poor, group, _, _ = household_row(committing_engine, existing)
    row = roster_row(existing, head="新户主", group=group, members=str(members), phone=phone or "")
    row[-1] = "是" if poor else "否"
    path = write_sheet(tmp_path / "更新.csv", ROSTER_HEADER, [row])

    result = hygiene(committing_engine, "import", "roster", path)

    assert result.exit_code == 0, result.output
    assert household_row(committing_engine, existing)[0] == "新户主"
    assert result.stdout == "已导入 更新.csv：新增 0 户，更新 1 户，1 条变更\n"


def test_import_roster_accepts_a_long_file_name(committing_engine: sa.Engine, tmp_path: Path) -> None:
    """The file name is data (the clerk's, often long and Chinese); a valid roster imports whatever it is called."""
    name = "松林镇青山村2026年第四季度农户花名册（村委会最终核对版）修订稿第二版定稿.csv"
    assert len(name) > 40
    path = write_sheet(tmp_path / name, ROSTER_HEADER, [roster_row("520999010105001")])

    result = hygiene(committing_engine, "import", "roster", path)

    assert result.exit_code == 0, result.output
    assert result.stdout == f"已导入 {name}：新增 1 户，更新 0 户，1 条变更\n"
    assert household_row(committing_engine, "520999010105001") is not None


def test_tick_escalates_an_overdue_rectification_notice(committing_engine: sa.Engine) -> None:
    engine = committing_engine
    now = dt.datetime.now(dt.UTC)
    with make_sessionmaker(engine).begin() as session:
        village = session.scalars(sa.select(Village).where(Village.code == DRAFT_VILLAGE)).one()
        notice = Notice(
            county_id=village.township.county_id,
            period_id=q4_period_id(engine),
            township_id=village.township_id,
            village_id=village.id,
            kind=NoticeKind.RECTIFICATION,
            problem="村口垃圾堆放未清运",
            issued_at=now - dt.timedelta(hours=30),
            deadline=now - dt.timedelta(hours=6),
        )
        session.add(notice)
        session.flush()
        notice_id = notice.id

    result = hygiene(engine, "tick")

    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        assert NoticeState(session.get(Notice, notice_id).state) is NoticeState.ESCALATED
        [accountability] = session.scalars(sa.select(Notice).where(Notice.escalated_from_id == notice_id)).all()
        assert NoticeKind(accountability.kind) is NoticeKind.ACCOUNTABILITY
        assert NoticeState(accountability.state) is NoticeState.OPEN
        assert accountability.problem == "村口垃圾堆放未清运" and accountability.village_id is not None
        assert accountability.deadline - accountability.issued_at == dt.timedelta(hours=24)  # the county's default
        assert {(e.entity_id, e.action) for e in audit_rows(engine, "notice")} == {
            (str(notice_id), "escalate"),
            (str(accountability.id), "create"),
        }
    *_, escalation, proposed, summary = result.stdout.splitlines()
    assert escalation == f"逾期升级 {notice_id}号督办通知单 → {accountability.id}号问责通知单"
    assert proposed == "提出问责 青山村：建议表态（待县里决定）"  # the ladder's first rung (issue 33)
    assert summary.endswith("逾期升级问责 1 份通知单")

    again = hygiene(engine, "tick")  # idempotent: the escalated notice is no longer open
    assert again.stdout == "公示期满定档 0 个村，逾期升级问责 0 份通知单\n"
    with Session(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 2


FINAL_Q3_Q4 = "5209990202"  # 河西村: 2026Q3 and 2026Q4 both final


def test_a_roster_adding_households_to_a_final_village_changes_no_published_result(
    committing_engine: sa.Engine, tmp_path: Path
) -> None:
    """The issue's case: 40 new households in a village whose 2026Q3 and 2026Q4 are final made
    `hygiene results` for both quarters die with a traceback."""
    engine = committing_engine
    before = {
        p: hygiene(engine, "results", "--period", p, "--village", FINAL_Q3_Q4).stdout for p in ("2026Q3", "2026Q4")
    }
    rows = [roster_row(f"5209990202019{n:02d}", township="河坝乡", village="河西村") for n in range(40)]
    imported = hygiene(engine, "import", "roster", write_sheet(tmp_path / "新增40户.csv", ROSTER_HEADER, rows))
    assert imported.exit_code == 0, imported.output
    for period, output in before.items():
        again = hygiene(engine, "results", "--period", period, "--village", FINAL_Q3_Q4)
        assert again.exit_code == 0, again.output
        assert again.stdout == output
    added = scalar(engine, sa.select(sa.func.count(Household.id)).where(Household.registered_from == "2027Q1"))
    assert added == 40  # they count from the next quarter on


def test_results_of_a_published_period_read_its_record(committing_engine: sa.Engine) -> None:
    engine = committing_engine
    before = hygiene(engine, "results", "--period", "2026Q3")
    assert before.exit_code == 0, before.output
    with make_sessionmaker(engine).begin() as session:
        session.execute(sa.update(Household).values(head_name="改名"))
        session.execute(sa.delete(Review).where(Review.kind == ReviewKind.GROUP, Review.period_id == 1))
    after = hygiene(engine, "results", "--period", "2026Q3")
    assert after.exit_code == 0 and after.stdout == before.stdout


def test_results_of_a_draft_the_engine_refuses_name_what_to_fix(committing_engine: sa.Engine) -> None:
    engine = committing_engine
    with make_sessionmaker(engine).begin() as session:
        peer = session.scalars(
            sa.select(Review).where(Review.kind == ReviewKind.PEER, Review.period_id == q4_period_id(engine))
        ).first()
        household = session.get(Household, peer.household_id)
        other = session.scalars(
            sa.select(Group).where(Group.village_id == household.group.village_id, Group.id != household.group_id)
        ).first()
        household.group_id = other.id
        village_code = household.group.village.code
    result = hygiene(engine, "results", "--period", "2026Q4", "--village", village_code)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "现有数据无法计算评比结果，请先修改" in result.stderr and "评议人不是本组农户" in result.stderr


def test_plaques_lists_the_register_as_csv(committing_engine: sa.Engine) -> None:
    engine = committing_engine
    result = hygiene(engine, "plaques", "--county", "520999", "--village", "5209990101")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "serial,household_code,village_code,level,issued_period,status,revoked_period,reason"
    rows = [line.split(",") for line in lines[1:]]
    assert rows and all(r[2] == "5209990101" and r[4] == "2026Q3" for r in rows)
    # the demo's inspector revoked one plaque after a failed spot check
    assert [r[5:] for r in rows if r[5] == "revoked"] == [["revoked", "2026Q4", "督查抽查：厕所卫生不达标"]]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    whole = hygiene(engine, "plaques", "--county", "520999")
    assert len(whole.stdout.splitlines()) > len(lines)
    assert count(engine, Plaque) == len(whole.stdout.splitlines()) - 1
    wrong = hygiene(engine, "plaques", "--county", "520998", "--village", "5209990101")
    assert wrong.exit_code == 2 and "不属于" in wrong.stderr
    unknown = hygiene(engine, "plaques", "--county", "000000")
    assert unknown.exit_code == 2


def test_tick_names_a_village_it_could_not_finalize_and_leaves_it_published(
    committing_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hygiene.services.awards import plaques

    engine = committing_engine
    now = dt.datetime.now(dt.UTC)
    set_posting_end(engine, PUBLISHED, now - dt.timedelta(hours=1))
    set_posting_end(engine, PUBLISHED_TOO, now - dt.timedelta(hours=1))
    real = plaques.audit.record

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("action") == "plaque_issue" and kwargs["after"]["household_id"] in white_fruit:
            raise sa.exc.OperationalError("INSERT", {}, Exception("database or disk is full"))
        return real(*args, **kwargs)

    with make_sessionmaker(engine).begin() as session:
        white_fruit = set(
            session.scalars(sa.select(Household.id).join(Group).join(Village).where(Village.code == PUBLISHED_TOO))
        )
    monkeypatch.setattr(plaques.audit, "record", failing)
    result = hygiene(engine, "tick")
    assert result.exit_code == 1
    assert result.stdout.startswith("已定档 大坪村 2026Q4：")
    assert "未能定档 白果社区 2026Q4（仍在公示中，下次再试）" in result.stderr and "disk is full" in result.stderr
    assert village_period_state(engine, PUBLISHED)[0] is WorkflowState.FINAL
    assert village_period_state(engine, PUBLISHED_TOO)[0] is WorkflowState.PUBLISHED
    assert count(engine, Plaque, Plaque.household_id.in_(white_fruit), Plaque.issued_period_id == 2) == 0


def test_a_county_is_started_and_its_settings_changed_with_the_command(committing_engine: sa.Engine) -> None:
    engine = committing_engine
    created = hygiene(engine, "county", "create", "520527", "赫章县")
    assert created.exit_code == 0 and "已创建县 赫章县（520527）" in created.stdout
    again = hygiene(engine, "county", "create", "520527", "赫章县")
    assert again.exit_code == 2 and "县代码 520527 已存在" in again.stderr
    assert hygiene(engine, "county", "create", "52/05", "坏县").exit_code == 2
    shown = hygiene(engine, "settings", "--county", "520527")
    assert shown.exit_code == 0 and "posting_days=7  # 公示天数（天）" in shown.stdout
    refused = hygiene(engine, "settings", "--county", "520527", "posting_days=10", "cleanest_floor_percent=１２０")
    assert refused.exit_code == 2 and "'１２０' 不是0–100之间的整数" in refused.stderr
    assert "posting_days=7 " in hygiene(engine, "settings", "--county", "520527").stdout  # all or nothing
    changed = hygiene(engine, "settings", "--county", "520527", "posting_days=10", "red_black_list=否")
    assert changed.exit_code == 0 and "已修改 posting_days：7 → 10（只影响此后新开的季度）" in changed.stderr
    with make_sessionmaker(engine).begin() as session:
        county = session.scalars(sa.select(County).where(County.code == "520527")).one()
        township = Township(county_id=county.id, code="52052701", name="城关镇")
        session.add(township)
        session.flush()
        session.add_all(
            [
                Village(
                    county_id=county.id, township_id=township.id, code="5205270101", name="一村", programme_year=2027
                ),
                Village(
                    county_id=county.id, township_id=township.id, code="5205270102", name="二村", programme_year=2028
                ),
            ]
        )
    opened = hygiene(engine, "period", "open", "2027Q1", "--county", "520527")
    assert opened.exit_code == 0 and opened.stdout == "已开启 2027Q1：新开 1 个村的评比（填报中）\n"
    assert hygiene(engine, "period", "open", "2027Q1", "--county", "520527").stdout.startswith(
        "已存在 2027Q1：新开 0 个村"
    )
    assert hygiene(engine, "settings", "--county", "520527", "posting_days=5").exit_code == 0
    hygiene(engine, "period", "open", "2028Q1", "--county", "520527")
    with make_sessionmaker(engine)() as session:
        days = dict(
            session.execute(sa.select(Period.code, Period.posting_days).where(Period.county_id == county.id)).all()
        )
        assert days == {"2027Q1": 10, "2028Q1": 5}  # a period keeps the settings it opened with
        history = session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.entity == "county", AuditEntry.action == "settings")
            .order_by(AuditEntry.id)
        ).all()
        assert [(e.before, e.after) for e in history] == [
            ({"posting_days": 7, "red_black_list": True}, {"posting_days": 10, "red_black_list": False}),
            ({"posting_days": 10}, {"posting_days": 5}),
        ]
        opened_villages = session.scalars(
            sa.select(Village.code)
            .join(VillagePeriod)
            .join(Period)
            .where(Period.code == "2028Q1", Period.county_id == county.id)
        ).all()
        assert sorted(opened_villages) == ["5205270101", "5205270102"]


UNIT_HEADER = ["乡镇代码", "乡镇", "村代码", "村", "村民组代码", "村民组", "纳入年度"]


def test_a_unit_sheet_builds_a_county_and_the_same_sheet_again_changes_nothing(
    committing_engine: sa.Engine, tmp_path: Path
) -> None:
    engine = committing_engine
    assert hygiene(engine, "county", "create", "520527", "赫章县").exit_code == 0
    rows = [
        ["52052702", "白果镇", "5205270201", "白果村", "520527020101", "第一组", "2027"],
        ["52052702", "白果镇", "5205270201", "白果村", "520527020102", "第二组", "2027"],
        ["52052702", "白果镇", "5205270202", "新街村", "520527020201", "第一组", "２０２８"],
    ]
    sheet = write_sheet(tmp_path / "单位表.xlsx", UNIT_HEADER, rows, "xlsx")
    first = hygiene(engine, "import", "units", sheet, "--county", "520527")
    assert first.exit_code == 0, first.output
    assert (
        first.stdout == "已导入 单位表.xlsx：新增乡镇 1 个、村 2 个、村民组 3 个，改名 0 个，纳入年度 2 个，8 条变更\n"
    )
    before = footprint(engine)
    again = hygiene(engine, "import", "units", sheet, "--county", "520527")
    assert again.stdout.endswith("，0 条变更\n") and footprint(engine) == before | {"audit": before["audit"] + 1}
    rows[2][3] = "新街社区"
    renamed = hygiene(
        engine, "import", "units", write_sheet(tmp_path / "改名.csv", UNIT_HEADER, rows), "--county", "520527"
    )
    assert "改名 1 个" in renamed.stdout
    [rename] = audit_rows(engine, "village", "rename")
    assert (rename.before, rename.after) == ({"name": "新街村"}, {"name": "新街社区"})
    opened = hygiene(engine, "period", "open", "2027Q1", "--county", "520527")
    assert opened.stdout == "已开启 2027Q1：新开 1 个村的评比（填报中）\n"  # 新街社区 joins in 2028


def test_a_bad_unit_sheet_names_every_problem_and_writes_nothing(committing_engine: sa.Engine, tmp_path: Path) -> None:
    engine = committing_engine
    hygiene(engine, "county", "create", "520527", "赫章县")
    good = [["52052702", "白果镇", "5205270201", "白果村", "520527020101", "第一组", "2027"]]
    hygiene(engine, "import", "units", write_sheet(tmp_path / "a.csv", UNIT_HEADER, good), "--county", "520527")
    before = footprint(engine)
    rows = [
        ["52052799", "别的镇", "5205270201", "白果村", "520527020101", "第一组", "2027"],  # a village moved
        ["52052702", "白果镇", "", "白果村", "520527020102", "第二组", "2027"],  # a group without a village
        ["52052702", "白果镇", "5205270203", "三村", "520527020301", "第一组", "1999"],
        ["52052702", "白果镇", "5205270204", "四村", "520527020401", "第一组", "2027"],
        ["52052702", "白果镇", "5205270204", "另一个四村", "520527020402", "第二组", "2027"],  # a code given twice
        ["52099901", "松林镇", "5209990101", "青山村", "520999010101", "第一组", ""],  # another county's
        ["52052702", "白果镇", "52052702-05", "五村", "52052702050", "第一组", ""],
        ["52052702", "白果镇", "5205270207", "七村", "520527020701", "", ""],  # a blank name
    ]
    result = hygiene(
        engine, "import", "units", write_sheet(tmp_path / "坏单位表.csv", UNIT_HEADER, rows), "--county", "520527"
    )
    assert result.exit_code == 2
    name = tmp_path / "坏单位表.csv"
    problems = [line for line in result.stderr.splitlines() if line.startswith(str(name))]
    assert problems == [
        f"{name}:2:C(村代码): 5205270201: 该村属于乡镇 52052702，代码不能移到其他乡镇",
        f"{name}:3:C(村代码): : 请填写村代码",
        f"{name}:4:G(纳入年度): 1999: 不是2000–2100之间的整数",
        f"{name}:6:C(村代码): 5205270204: 与第5行同一代码的名称不同（四村）",
        f"{name}:7:A(乡镇代码): 52099901: 该乡镇代码属于其他县，代码不能移到其他上级",
        f"{name}:7:C(村代码): 5209990101: 该村代码属于其他县，代码不能移到其他上级",
        f"{name}:8:C(村代码): 52052702-05: 村代码只能包含数字和字母，最长16位",
        f"{name}:9:F(村民组): : 请填写村民组名称",
    ]
    assert footprint(engine) == before
    control = [
        ["52052702", "白果镇", "5205270206", "六\x07村", "520527020601", "第一组", ""],
        ["52052702", "白果镇", "", "七村", "520527020701", "第一组", ""],
    ]
    sheet = write_sheet(tmp_path / "控制字符.csv", UNIT_HEADER, control)
    result = hygiene(engine, "import", "units", sheet, "--county", "520527")
    assert result.exit_code == 2
    # the cell refused as a cell and the row refused by the rules, listed together
    assert f"{sheet}:2:D(村): 六\\u0007村: 含有控制字符（U+0007），请删除后重新上传" in result.stderr
    assert f"{sheet}:3:C(村代码): : 请填写村代码" in result.stderr
    assert footprint(engine) == before


def test_once_units_come_from_a_sheet_a_roster_names_existing_groups_only(
    committing_engine: sa.Engine, tmp_path: Path
) -> None:
    engine = committing_engine
    hygiene(engine, "county", "create", "520527", "赫章县")
    units = [["52052702", "白果镇", "5205270201", "白果村", "520527020101", "第一组", "2027"]]
    hygiene(engine, "import", "units", write_sheet(tmp_path / "单位表.csv", UNIT_HEADER, units), "--county", "520527")
    rows = [
        roster_row("H1", group="第一组", township="白果镇", village="白果村"),
        roster_row("H2", group="第一 组", township="白果镇", village="白果村"),  # a typo: no new group
    ]
    path = write_sheet(tmp_path / "花名册.csv", ROSTER_HEADER, rows)
    result = hygiene(engine, "import", "roster", path)
    assert result.exit_code == 2
    assert (
        f"{path}:3:C(村民组): 第一 组: 本村的单位表中没有这个村民组，请检查名称或先由县管理员导入单位表"
        in result.stderr
    )
    assert hygiene(engine, "import", "roster", write_sheet(tmp_path / "好.csv", ROSTER_HEADER, rows[:1])).exit_code == 0
