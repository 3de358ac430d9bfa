"""The ``hygiene`` command (INTERCHANGE.md §3): a thin shell over the same services as the pages.
Each command owns its transaction. Exit status: 0 done, 2 invalid input (nothing written), 1 any
other failure."""

from __future__ import annotations

import atexit
import functools
import gc
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hygiene import collector
from hygiene.enums import Role
from web.cli_registry import COMMANDS, PERIOD_COMMANDS, PLAQUE_COMMANDS, USER_COMMANDS, LazyGroup

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from hygiene.io.sheets import UploadRejected

# Everything else (SQLAlchemy, the services, pandas through the engine, the web app) is imported
# inside the command that needs it: `hygiene --help` and a command that never scores start at once
# (issue 34); tests/web/test_cli_imports.py keeps it so.

EXIT_INVALID = 2


class InvalidInput(click.ClickException):
    exit_code = EXIT_INVALID


def database_url() -> sa.URL:
    from hygiene import config
    from hygiene.db import DatabaseUrlError

    try:
        return config.database_url()
    except DatabaseUrlError as exc:
        raise InvalidInput(str(exc)) from None


def open_engine(*, require_schema: bool = True) -> sa.Engine:
    import sqlalchemy as sa

    from hygiene import migrate
    from hygiene.db import make_engine, redact_url

    url = database_url()
    engine = make_engine(url)
    try:
        current = migrate.current_revision(engine)
    except sa.exc.OperationalError as exc:
        raise click.ClickException(f"无法连接数据库 {redact_url(url)}: {exc.orig}") from None
    if require_schema and current != migrate.head_revision():
        raise click.ClickException("数据库尚未初始化或版本过旧：请先运行 hygiene init-db")
    return engine


@contextmanager
def transaction(*, write: bool = True) -> Iterator[Session]:
    """One transaction for the whole command: committed at the end, rolled back on any error."""
    from hygiene.db import make_sessionmaker
    from hygiene.services.errors import Conflict, ServiceError

    engine = open_engine()
    try:
        with make_sessionmaker(engine, write=write).begin() as session:
            yield session
    except ServiceError as exc:
        raise InvalidInput(str(exc)) from None
    except Conflict as exc:
        raise click.ClickException(f"{exc}（未写入任何数据）") from None
    finally:
        engine.dispose()


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """农村人居环境卫生“三定三评”评比系统 (hygiene star rating)."""
    _exit_without_a_last_collection()


@functools.cache
def _exit_without_a_last_collection() -> None:
    """The interpreter's last garbage collection at exit walks every object the command loaded, to
    free memory the process is about to give back anyway (0.15-0.2 s of CPU once pandas and
    SQLAlchemy are loaded). Freezing them first skips that walk; exit handlers still run and the
    output is still flushed. Once per process (the tests invoke ``main`` many times)."""
    atexit.register(gc.freeze)


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema (Alembic upgrade head)."""
    from hygiene import migrate
    from hygiene.db import redact_url

    engine = open_engine(require_schema=False)
    try:
        migrate.upgrade(engine)
        click.echo(f"数据库已是最新版本 {migrate.current_revision(engine)}（{redact_url(engine.url)}）")
    finally:
        engine.dispose()


@main.command("demo")
def load_demo() -> None:
    """Load the deterministic demo county and its demo users (idempotent)."""
    from hygiene.services import demo

    with transaction() as session:
        summary = demo.load_demo(session)
    if not summary.created:
        click.echo(f"演示县（{demo.COUNTY_CODE} {demo.COUNTY_NAME}）已存在，未作更改")
        return
    click.echo(
        f"已载入演示县 {demo.COUNTY_NAME}：{summary.townships}个乡镇，{summary.villages}个村，"
        f"{summary.households}户，{summary.reviews}条评议"
    )
    click.echo("演示账号（用户名 / 密码 / 角色）：")
    for user in demo.DEMO_USERS:
        click.echo(f"  {user.username} / {user.password} / {user.role.label}")


@main.group("users", cls=LazyGroup, lazy=USER_COMMANDS)
def users() -> None:
    """Staff accounts."""


@users.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True, help="the account's role")
@click.option(
    "--unit",
    "unit_code",
    required=True,
    help="code of the county, township or village it works in (an inspector: or a city)",
)
@click.option("--name", "display_name", default=None, help="display name (default: the username)")
@click.argument("username")
@click.password_option("--password", prompt="密码", confirmation_prompt="再次输入密码")
def create_user(role: str, unit_code: str, display_name: str | None, username: str, password: str) -> None:
    """Add a user, asking for the password."""
    from hygiene.services.setup import accounts

    with transaction() as session:
        user = accounts.create_user(
            session,
            username=username,
            password=password,
            role=Role(role),
            unit_code=unit_code,
            display_name=display_name,
        )
        label = user.role.label
    click.echo(f"已创建账号 {username}（{label}，单位 {unit_code}）")


@main.group("import")
def import_() -> None:
    """Import sheets (INTERCHANGE.md §2), all-or-nothing, exactly as the web pages do."""


def _stage(message: str) -> None:
    """What a multi-second import is doing now, on standard error so that output stays clean."""
    click.echo(message, err=True)


def _print_problems(file_name: str, rejected: UploadRejected) -> None:
    for problem in rejected.problems:
        click.echo(problem.cli_line(file_name), err=True)
    if rejected.total > len(rejected.problems):
        click.echo(f"……另有 {rejected.total - len(rejected.problems)} 处问题", err=True)


@import_.command("roster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_roster(file: Path) -> None:
    """Import or update households from a roster (.xlsx, .xls or .csv)."""
    from hygiene.io.sheets import UploadRejected
    from hygiene.services.setup import roster_imports

    data = file.read_bytes()
    try:
        with transaction() as session:
            _stage(f"正在读取并逐行检查 {file.name} …")
            plan = roster_imports.plan_roster_upload(
                session, None, roster_imports.every_village(session), data, file.name
            )
            _stage(f"检查通过：{len(plan.rows)} 行")
            to_write = sum(1 for planned in plan.rows if planned.changes)
            with click.progressbar(length=to_write, label="正在写入", file=sys.stderr, show_pos=True) as bar:
                changed = roster_imports.apply_roster_import(
                    session, None, plan, file_name=file.name, progress=lambda done, _: bar.update(done - bar.pos)
                )
    except UploadRejected as exc:
        _print_problems(str(file), exc)
        raise InvalidInput(f"{file} 有 {exc.total} 处问题，未导入任何数据") from None
    click.echo(f"已导入 {file.name}：新增 {plan.added} 户，更新 {plan.updated} 户，{changed} 条变更")


@import_.command("reviews")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--period", "period_code", required=True, help="the quarter, e.g. 2026Q4")
@click.option("--village", "village_code", required=True, help="the village's code")
def import_reviews(file: Path, period_code: str, village_code: str) -> None:
    """Import a review sheet into a village's period."""
    from hygiene.io.sheets import UploadRejected
    from hygiene.services.rating import review_imports
    from hygiene.services.setup import periods, units

    data = file.read_bytes()
    try:
        with transaction() as session:
            village = units.get_village(session, village_code)
            period = periods.get_period(session, village.township.county_id, period_code)
            _stage(f"正在读取并逐行检查 {file.name} …")
            plan = review_imports.plan_review_upload(session, None, village, period, data, file.name)
            _stage(f"检查通过：{len(plan.rows)} 行，正在写入 …")
            changed = review_imports.apply_review_import(session, None, plan, file_name=file.name)
    except UploadRejected as exc:
        _print_problems(str(file), exc)
        raise InvalidInput(f"{file} 有 {exc.total} 处问题，未导入任何数据") from None
    unfilled = f"，未填 {plan.unfilled} 行" if plan.unfilled else ""
    click.echo(f"已导入 {file.name}：{len(plan.rows)} 行，{changed} 条变更{unfilled}")


@import_.command("units")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--county", "county_code", required=True, help="the county's code")
def import_units(file: Path, county_code: str) -> None:
    """Create or rename the county's townships, villages and groups from a unit sheet."""
    from hygiene.io.sheets import UploadRejected
    from hygiene.services.setup import unit_sheet, units

    data = file.read_bytes()
    try:
        with transaction() as session:
            county = units.get_county(session, county_code)
            _stage(f"正在读取并逐行检查 {file.name} …")
            plan = unit_sheet.plan(session, None, county, unit_sheet.read(data, file.name))
            _stage(f"检查通过：{plan.rows} 行，正在写入 …")
            changed = unit_sheet.apply(session, None, plan, file_name=file.name)
    except UploadRejected as exc:
        _print_problems(str(file), exc)
        raise InvalidInput(f"{file} 有 {exc.total} 处问题，未导入任何数据") from None
    click.echo(
        f"已导入 {file.name}：新增乡镇 {plan.count('township')} 个、村 {plan.count('village')} 个、"
        f"村民组 {plan.count('group')} 个，改名 {len(plan.renamed)} 个，纳入年度 {len(plan.years)} 个，{changed} 条变更"
    )


@main.command("results")
@click.option("--period", "period_code", required=True, help="the quarter, e.g. 2026Q4")
@click.option("--village", "village_code", default=None, help="one village (default: the whole county)")
@click.option("--county", "county_code", default=None, help="the county, where several share the database")
@click.option("--format", "output_format", type=click.Choice(["csv"]), default="csv", show_default=True)
@click.option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="write household_results.csv and village_results.csv here instead of printing",
)
def results(
    period_code: str, village_code: str | None, county_code: str | None, output_format: str, output_dir: Path | None
) -> None:
    """The engine's results for a period (INTERCHANGE.md §1): household_results on standard output."""
    with collector.paused():
        from hygiene.services.rating.rating import results_csv, write_results
        from hygiene.services.rating.results import period_results

    with transaction(write=False) as session:
        household_results, village_results = period_results(session, period_code, village_code, county_code=county_code)
    if output_dir is not None:
        write_results(household_results, village_results, output_dir)
        click.echo(f"已写入 {output_dir / 'household_results.csv'} 和 {output_dir / 'village_results.csv'}", err=True)
        return
    click.echo(results_csv(household_results).decode(), nl=False)


@main.command("tick")
def tick() -> None:
    """Time-driven steps (idempotent): village periods whose posting period has ended with no
    objection pending become final; rectification notices open past their deadline escalate."""
    with collector.paused():
        from hygiene.services import tick as ticking
        from hygiene.services.supervision import accountability

    with transaction() as session:
        done = ticking.run(session)
        if done.skipped:
            click.echo("另一个 hygiene tick 正在运行，本次跳过（由它完成）")
            return
        names = [
            f"{f.village_period.village.name} {f.village_period.period.code}：{f.plaques.text()}"
            for f in done.finalized
        ]
        escalated = [f"{n.escalated_from_id}号督办通知单 → {n.id}号问责通知单" for n in done.escalated]
        proposed = [f"{accountability.unit_name(c)}：建议{c.proposed_rung.label}" for c in done.proposed]
        failed = done.failed
    for name in names:
        click.echo(f"已定档 {name}")
    for line in escalated:
        click.echo(f"逾期升级 {line}")
    for line in proposed:
        click.echo(f"提出问责 {line}（待县里决定）")
    click.echo(f"公示期满定档 {len(names)} 个村，逾期升级问责 {len(escalated)} 份通知单")
    for failure in failed:
        click.echo(f"未能定档 {failure.name}（仍在公示中，下次再试）：{failure.reason}", err=True)
    if failed:
        raise click.ClickException(f"{len(failed)} 个村未能定档")


@main.group("county")
def county_group() -> None:
    """Counties."""


@county_group.command("create")
@click.argument("code")
@click.argument("name")
def county_create(code: str, name: str) -> None:
    """Create a county with the default settings and rubric (RULES.md)."""
    from hygiene.services.setup import counties

    with transaction() as session:
        county = counties.create_county(session, None, code, name)
        shown = f"{county.name}（{county.code}）"
    click.echo(f"已创建县 {shown}，采用默认设置和评分标准第1版")


@main.group("period", cls=LazyGroup, lazy=PERIOD_COMMANDS)
def period_group() -> None:
    """Periods (quarters)."""


@period_group.command("open")
@click.argument("period_code")
@click.option("--county", "county_code", required=True, help="the county's code")
def period_open(period_code: str, county_code: str) -> None:
    """Open a period for every village of the county in the programme (idempotent)."""
    from hygiene.services.setup import counties, units

    with transaction() as session:
        opened = counties.open_period(session, None, units.get_county(session, county_code), period_code)
        what = "已开启" if opened.created else "已存在"
    click.echo(f"{what} {period_code}：新开 {opened.village_periods} 个村的评比（填报中）")


@main.command("settings")
@click.option("--county", "county_code", required=True, help="the county's code")
@click.argument("changes", nargs=-1)
def settings_command(county_code: str, changes: tuple[str, ...]) -> None:
    """Show the county's settings, or change them with KEY=VALUE (periods opened afterwards only)."""
    from hygiene.services.setup import counties, units

    typed = {}
    for change in changes:
        key, sep, value = change.partition("=")
        if not sep:
            raise InvalidInput(f"{change!r} 不是 KEY=VALUE 的形式")
        typed[key.strip()] = value
    with transaction(write=bool(typed)) as session:
        county = units.get_county(session, county_code)
        changed = counties.change_settings(session, None, county, typed) if typed else {}
        lines = [f"{setting.key}={value}  # {setting.label}" for setting, value in counties.settings_of(county)]
    for key, change in changed.items():
        click.echo(f"已修改 {key}：{change}（只影响此后新开的季度）", err=True)
    if typed and not changed:
        click.echo("设置未变", err=True)
    click.echo("\n".join(lines))


@main.command("rollout")
@click.option("--county", "county_code", required=True, help="the county's code")
@click.argument("shares", nargs=-1)
def rollout_command(county_code: str, shares: tuple[str, ...]) -> None:
    """Show the rollout plan against coverage, or replace the plan with YEAR=PERCENT for every year
    (consecutive years adding up to 100)."""
    from hygiene.services.setup import counties, rollout, units

    rows = []
    for share in shares:
        year, sep, percent = share.partition("=")
        if not sep:
            raise InvalidInput(f"{share!r} 不是 YEAR=PERCENT 的形式")
        rows.append((year, percent))
    with transaction(write=bool(rows)) as session:
        county = units.get_county(session, county_code)
        changed = rollout.set_plan(session, None, county, rows) if rows else False
        years = rollout.coverage(session, county)
    if rows:
        click.echo("已修改推进计划" if changed else "推进计划未变", err=True)
    now = counties.current_year()
    for y in years:
        state = "未到" if y.year > now else ("达标" if y.on_target else "未达标")
        click.echo(
            f"{y.year}={y.share_percent}  # 累计计划 {y.planned_percent}%，累计已评 {y.rated}/{y.households} 户"
            f"（{y.coverage_permille / 10:.1f}%），{state}"
        )


@main.group("plaques", cls=LazyGroup, lazy=PLAQUE_COMMANDS, invoke_without_command=True)
@click.option("--county", "county_code", default=None, help="the county's code")
@click.option("--village", "village_code", default=None, help="one village of the county")
@click.option("--format", "output_format", type=click.Choice(["csv"]), default="csv", show_default=True)
@click.pass_context
def plaques_register(ctx: click.Context, county_code: str | None, village_code: str | None, output_format: str) -> None:
    """The plaque register (RULES.md §7) as CSV on standard output, sorted by serial."""
    from hygiene.io.exports import csv_bytes
    from hygiene.services.awards import plaques
    from hygiene.services.setup import units

    if ctx.invoked_subcommand is not None:
        return
    if county_code is None:
        raise InvalidInput("缺少 --county")
    with transaction(write=False) as session:
        county = units.get_county(session, county_code)
        village = units.get_village(session, village_code) if village_code else None
        if village is not None and village.township.county_id != county.id:
            raise InvalidInput(f"村 {village_code} 不属于县 {county_code}")
        rows = [
            (
                row.plaque.serial,
                row.household.code,
                row.village.code,
                row.plaque.level.value,
                row.issued_period,
                row.plaque.state.value,
                row.revoked_period or "",
                row.plaque.revoke_reason or "",
            )
            for row in plaques.register(session, county, village=village)
        ]
    header = (
        "serial",
        "household_code",
        "village_code",
        "level",
        "issued_period",
        "status",
        "revoked_period",
        "reason",
    )
    click.echo(csv_bytes(header, rows).decode("utf-8-sig"), nl=False)


MAX_SAMPLE_SIZE = 10_000


def _whole_number(option: str, label: str, text: str, minimum: int, maximum: int) -> int:
    from hygiene.io.scores import parse_whole_number

    try:
        return parse_whole_number(text, minimum, maximum)
    except ValueError as exc:
        raise InvalidInput(f"{label} {option} {text!r} {exc}") from None


@main.command("sample")
@click.option("--township", "township_code", required=True, help="the township's code")
@click.option("--period", "period_code", required=True, help="the quarter, e.g. 2026Q3")
# The default is sampling.DEFAULT_SIZE, read when the command runs (tests/web/test_cli_imports.py
# checks that the help says the same).
@click.option("--size", "size_text", default=None, help="households to draw  [default: 20]")
@click.option("--seed", "seed_text", default=None, help="the seed (default: fixed by the township and period)")
def sample_command(township_code: str, period_code: str, size_text: str | None, seed_text: str | None) -> None:
    """Propose a spot-check sample (RULES.md §9) as CSV: household_code, village_code, weight,
    reasons (joined by ';'); the seed used goes to standard error, to repeat the draw."""
    from hygiene.io.exports import csv_bytes
    from hygiene.services.setup import periods, units
    from hygiene.services.supervision import sampling

    size_text = str(sampling.DEFAULT_SIZE) if size_text is None else size_text
    size = _whole_number("--size", "抽查户数", size_text, 1, MAX_SAMPLE_SIZE)
    seed = None if seed_text is None else _whole_number("--seed", "随机种子", seed_text, 0, sampling.MAX_SEED)
    with transaction(write=False) as session:
        township = units.get_township(session, township_code)
        period = periods.get_period(session, township.county_id, period_code)
        drawn = sampling.draw(session, township, period, size=size, seed=seed)
        rows = [(c.household_code, c.village_code, f"{c.weight:g}", ";".join(c.reasons)) for c in drawn.drawn]
    click.echo(
        f"随机种子 {drawn.seed}（加 --seed {drawn.seed} 可重现本样本）：从 {drawn.population} 户中抽取 {len(rows)} 户",
        err=True,
    )
    header = ("household_code", "village_code", "weight", "reasons")
    click.echo(csv_bytes(header, rows).decode("utf-8-sig"), nl=False)


def _display_width(text: str) -> int:
    """Terminal columns: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def aligned_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    """Lines of a plain-text table whose columns line up in a terminal, numbers (``right``) right-aligned."""
    widths = [max(_display_width(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [
            (" " * (w - _display_width(cell)) + cell) if i in right else (cell + " " * (w - _display_width(cell)))
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    return [line(header), *(line(row) for row in rows)]


@main.command("ranking")
@click.option("--county", "county_code", required=True, help="the county's code")
@click.option("--period", "period_code", required=True, help="the quarter, e.g. 2026Q3")
@click.option("--format", "output_format", type=click.Choice(["csv"]), default=None, help="CSV instead of a table")
def ranking_command(county_code: str, period_code: str, output_format: str | None) -> None:
    """The township ranking (RULES.md §9): a table for people, or CSV with --format csv."""
    from hygiene.io.exports import csv_bytes
    from hygiene.services.setup import periods, units
    from hygiene.services.supervision import ranking as township_ranking

    with transaction(write=False) as session:
        county = units.get_county(session, county_code)
        result = township_ranking.ranking(session, county, periods.get_period(session, county.id, period_code))
    if output_format == "csv":
        data = csv_bytes(township_ranking.CSV_HEADER, township_ranking.csv_rows(result))
        click.echo(data.decode("utf-8-sig"), nl=False)
        return

    def shown(value: object, suffix: str = "") -> str:
        return "无数据" if value is None else f"{value}{suffix}"

    w = result.weights
    header = (
        "名次",
        "乡镇编码",
        "乡镇",
        "得分",
        f"村考核均分({w.assessment:.0%})",
        f"抽查一致率({w.agreement:.0%})",
        f"覆盖得分({w.coverage:.0%})",
        "覆盖率/计划",
        "预警",
        "后果",
    )
    rows = [
        (
            "未排名" if t.rank is None else str(t.rank),
            t.code,
            t.name,
            shown(t.score),
            shown(t.mean_assessment),
            "无数据" if t.agreement is None else f"{t.agreement * 100:.2f}% ({t.agreeing}/{t.checked})",
            shown(t.coverage_points),
            "无数据" if t.coverage is None else f"{t.coverage * 100:.2f}%/{t.planned_percent}%",
            t.warning_label,
            t.consequence,
        )
        for t in result.townships
    ]
    click.echo(f"{county.name} {result.period.code} 乡镇排名")
    click.echo("\n".join(aligned_table(header, rows, right=(0, 3, 4, 5, 6, 7))))
    click.echo("某项无数据时不计该项，其余权重按比例折算；得分相同的乡镇名次、预警相同。")


@main.command("serve")
def serve() -> None:
    """Serve the app on HOST (default 127.0.0.1) and PORT (default 5000)."""
    from hygiene.config import ServerAddressError, server_address, web_concurrency
    from web import ConfigError, create_app

    try:
        host, port = server_address()
        workers = web_concurrency()
    except ServerAddressError as exc:
        raise InvalidInput(str(exc)) from None
    open_engine().dispose()
    try:
        app = create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"服务地址 http://{host}:{port}/  （Ctrl+C 停止）")
    from web.wsgi_server import run_development, run_gunicorn

    if app.config["ENV"] == "development":
        run_development(app, host, port)
    else:
        run_gunicorn(app, host, port, workers)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
