"""`hygiene sample` and `hygiene ranking` (INTERCHANGE.md §3): the same services as the pages, CSV for
scripts, exit 2 with a Chinese message naming the bad value."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import threading

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from hygiene.db import make_engine, make_sessionmaker
from hygiene.enums import WorkflowState
from hygiene.models import Household
from hygiene.services.setup import periods, units
from hygiene.services.supervision import ranking, sampling
from tests.hygiene.test_ranking import TOTAL_OF_GRADE, posted_lines, spot_check
from tests.web.test_cli import url_of
from web.cli import aligned_table, main

SAMPLE = ("sample", "--township", "52099901", "--period", "2026Q3")


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})


def lines(result: Result) -> list[list[str]]:
    return list(csv.reader(io.StringIO(result.stdout)))


def test_sample_is_csv_and_the_same_seed_gives_the_same_sample(sqlite_copy: str) -> None:
    first = run(sqlite_copy, *SAMPLE, "--size", "12", "--seed", "4242")
    assert first.exit_code == 0, first.output
    rows = lines(first)
    assert rows[0] == ["household_code", "village_code", "weight", "reasons"]
    assert first.stdout.splitlines()[0] == "household_code,village_code,weight,reasons"
    drawn = rows[1:]
    assert len(drawn) == 12 == len({r[0] for r in drawn})
    assert all(r[0].startswith("52099901") and r[0].startswith(r[1]) for r in drawn)
    assert all(float(r[2]) >= 1 for r in drawn)
    assert "随机种子 4242" in first.stderr and "--seed 4242" in first.stderr
    assert run(sqlite_copy, *SAMPLE, "--size", "12", "--seed", "4242").stdout == first.stdout
    assert lines(run(sqlite_copy, *SAMPLE, "--size", "12", "--seed", "4243"))[1:] != drawn
    assert len(lines(run(sqlite_copy, *SAMPLE, "--size", "3", "--seed", "4242"))) == 1 + 3


def test_sample_matches_the_service_with_its_weights_and_reasons(sqlite_copy: str) -> None:
    """Every household of the township is drawn when the size exceeds them; each line carries the
    service's weight and reasons, joined by ';'."""
    result = run(sqlite_copy, *SAMPLE, "--size", "10000")
    assert result.exit_code == 0, result.output
    engine = make_engine(sqlite_copy)
    with make_sessionmaker(engine)() as session:
        township = units.get_township(session, "52099901")
        pool = sampling.candidates(session, township, periods.get_period(session, township.county_id, "2026Q3"))
    engine.dispose()
    expected = {c.household_code: (c.village_code, f"{c.weight:g}", ";".join(c.reasons)) for c in pool}
    got = {r[0]: (r[1], r[2], r[3]) for r in lines(result)[1:]}
    assert got == expected
    assert any(reasons for _, _, reasons in got.values()) and all(";" not in r for c in pool for r in c.reasons)
    default = run(sqlite_copy, *SAMPLE)
    seed = sampling.default_seed("52099901", "2026Q3")
    assert f"随机种子 {seed}" in default.stderr and len(lines(default)) == 1 + sampling.DEFAULT_SIZE


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--size", "0"), "抽查户数 --size '0' 不是1–10000之间的整数"),
        (("--size", "二十"), "抽查户数 --size '二十' 不是"),
        (("--size", "99999"), "抽查户数 --size '99999' 不是"),
        (("--seed", "-1"), "随机种子 --seed '-1' 不是0–999999999之间的整数"),
        (("--seed", "abc"), "随机种子 --seed 'abc' 不是"),
    ],
)
def test_sample_refuses_a_bad_size_or_seed(sqlite_copy: str, args: tuple[str, str], message: str) -> None:
    result = run(sqlite_copy, *SAMPLE, f"{args[0]}={args[1]}")
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("township", "period", "message"),
    [
        ("52099909", "2026Q3", "找不到编码为 52099909 的乡镇"),
        ("52099901", "2030Q1", "季度 2030Q1 不存在"),
        ("52099901", "2026Q9", "季度格式不正确: '2026Q9'"),
        ("52099801", "2026Q4", "尚无公示的评定结果"),  # the neighbouring county's township: nothing posted
    ],
)
def test_sample_refuses_an_unknown_township_or_period(
    sqlite_copy: str, township: str, period: str, message: str
) -> None:
    result = run(sqlite_copy, "sample", "--township", township, "--period", period)
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


def test_ranking_csv_is_the_services_rows_with_spot_checks(committing_engine: sa.Engine) -> None:
    """Two spot checks in 松林镇, one agreeing: the agreement column is filled for it only."""
    url = url_of(committing_engine)
    with make_sessionmaker(committing_engine).begin() as session:
        rated = [line for line in posted_lines(session, "2026Q3", "5209990101") if line.grade is not None]
        same, other = rated[0], rated[1]
        spot_check(session, "2026Q3", session.get(Household, same.household_id), TOTAL_OF_GRADE[same.grade.value])  # type: ignore[arg-type, union-attr]
        wrong = "not_clean" if other.grade.value != "not_clean" else "cleanest"  # type: ignore[union-attr]
        spot_check(session, "2026Q3", session.get(Household, other.household_id), TOTAL_OF_GRADE[wrong])  # type: ignore[arg-type]
    result = run(url, "ranking", "--county", "520999", "--period", "2026Q3", "--format", "csv")
    assert result.exit_code == 0, result.output
    with make_sessionmaker(committing_engine)() as session:
        county = units.get_county(session, "520999")
        expected = ranking.csv_rows(ranking.ranking(session, county, periods.get_period(session, county.id, "2026Q3")))
    rows = lines(result)
    assert tuple(rows[0]) == ranking.CSV_HEADER
    header = "township_code,rank,score,assessment,agreement,coverage,planned_coverage,warning"
    assert result.stdout.splitlines()[0] == header
    assert [tuple(r) for r in rows[1:]] == expected
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code["52099901"][4] == "0.5000" and by_code["52099902"][4] == ""
    assert sorted(r[7] for r in rows[1:]) == ["", "red", "yellow"]


def test_ranking_table_is_aligned_and_chinese(sqlite_copy: str) -> None:
    result = run(sqlite_copy, "ranking", "--county", "520999", "--period", "2026Q3")
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0] == "示范县 2026Q3 乡镇排名"
    header, *body = out[1 : 4 + 1]
    assert header.split()[:4] == ["名次", "乡镇编码", "乡镇", "得分"]
    assert "村考核均分(40%)" in header and "抽查一致率(30%)" in header and "覆盖得分(30%)" in header
    assert [row.split()[1] for row in body] == ["52099901", "52099902", "52099903"]
    assert body[1].endswith("黄色预警  扣减本期奖补 50%") and body[2].endswith("红色预警  扣减本期奖补 100%")
    assert "无数据" in body[0]
    # the score column ends at the same terminal column on every line (a Chinese character is two wide)
    ends = [aligned_end(line, score) for line, score in zip(body, ("90.07", "89.57", "89.07"), strict=True)]
    assert len(set(ends)) == 1
    assert "其余权重按比例折算" in out[-1]


def aligned_end(line: str, value: str) -> int:
    before = line[: line.index(value) + len(value)]
    return sum(2 if re.match(r"[\u4e00-\u9fff]", ch) else 1 for ch in before)


def test_aligned_table_pads_by_display_width() -> None:
    assert aligned_table(("乡镇", "分"), [("白果街道", "9"), ("A", "10")], right=(1,)) == [
        "乡镇      分",
        "白果街道   9",
        "A         10",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--county", "000000", "--period", "2026Q3"), "找不到编码为 000000 的县"),
        (("--county", "520999", "--period", "2031Q1"), "季度 2031Q1 不存在"),
        (("--county", "520999", "--period", "Q3"), "季度格式不正确"),
    ],
)
def test_ranking_refuses_an_unknown_county_or_period(sqlite_copy: str, args: tuple[str, ...], message: str) -> None:
    result = run(sqlite_copy, "ranking", *args)
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


def test_two_ticks_at_once_share_the_work_and_neither_fails(committing_engine: sa.Engine) -> None:
    """Finding 5 of issue 28: the losing `hygiene tick` of two running at once exited with an error
    and kept none of its work. Now the second waits or skips: every due period is finalized once,
    neither run reports a failure."""
    from hygiene.services import tick
    from tests.web.test_cli import PUBLISHED, PUBLISHED_TOO, audit_rows, set_posting_end, village_period_state

    now = dt.datetime.now(dt.UTC)
    for code in (PUBLISHED, PUBLISHED_TOO):
        set_posting_end(committing_engine, code, now - dt.timedelta(hours=1))
    maker = make_sessionmaker(committing_engine, write=True)
    barrier = threading.Barrier(2)
    summaries: list[tick.TickSummary] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            with maker.begin() as session:
                summaries.append(tick.run(session))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == [] and len(summaries) == 2
    assert [f for s in summaries for f in s.failed] == []
    assert sum(len(s.finalized) for s in summaries) == 2
    assert {village_period_state(committing_engine, code)[0] for code in (PUBLISHED, PUBLISHED_TOO)} == {
        WorkflowState.FINAL
    }
    assert len(audit_rows(committing_engine, "village_period", "finalize")) == 2


def test_ranking_honours_the_periods_weights_and_settings_take_them(committing_engine: sa.Engine) -> None:
    """`hygiene settings ranking_weights=…` is validated (exit 2 on a sum other than 1) and reaches the
    next period opened; `hygiene ranking` keeps its columns and scores with the weights the period keeps."""
    url = url_of(committing_engine)
    refused = run(url, "settings", "--county", "520999", "ranking_weights=0.5,0.3,0.3")
    assert refused.exit_code == 2 and "三项权重之和须为1" in refused.stderr
    changed = run(url, "settings", "--county", "520999", "ranking_weights=1,0,0", "warning_bonus_cut_percent=60,20")
    assert changed.exit_code == 0, changed.output
    assert "ranking_weights=1,0,0" in changed.stdout and "warning_bonus_cut_percent=60,20" in changed.stdout
    before = lines(run(url, "ranking", "--county", "520999", "--period", "2026Q3", "--format", "csv"))
    with make_sessionmaker(committing_engine).begin() as session:
        county = units.get_county(session, "520999")
        periods.get_period(session, county.id, "2026Q3").ranking_weights = county.ranking_weights
    result = run(url, "ranking", "--county", "520999", "--period", "2026Q3", "--format", "csv")
    rows = lines(result)
    assert tuple(rows[0]) == ranking.CSV_HEADER
    assert all(r[2] == r[3] for r in rows[1:])  # the score is the mean assessment alone
    assert [r[2] for r in rows[1:]] != [r[2] for r in before[1:]]
    table = run(url, "ranking", "--county", "520999", "--period", "2026Q3").stdout
    assert "村考核均分(100%)" in table and "扣减本期奖补 100%" in table  # 2026Q3 keeps its cuts
