"""The ``hygiene`` commands of stars, benefits and the award ledger (INTERCHANGE.md §3, issue 29):
``stars`` (with ``grant``, ``withdraw``, ``catalogue``), ``plaques revoke``, ``benefits``,
``ledger`` (with ``add``) and ``stats``. Thin shells over the same services as the pages; each
command owns its transaction; exit 2 on invalid input, nothing written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import click

from web.cli import InvalidInput, transaction


def _csv(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    from hygiene.io.exports import csv_bytes

    click.echo(csv_bytes(header, rows).decode("utf-8-sig"), nl=False)


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"--on {text!r} 不是日期（应为 YYYY-MM-DD）") from None


def _year(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 2000 <= int(text) <= 2100):
        raise InvalidInput(f"--year {text!r} 不是年份")
    return int(text)


@click.group("stars", invoke_without_command=True)
@click.option("--county", "county_code", default=None, help="the county's code")
@click.option("--village", "village_code", default=None, help="one village of the county")
@click.option("--format", "output_format", type=click.Choice(["csv"]), default="csv", show_default=True)
@click.pass_context
def stars_group(ctx: click.Context, county_code: str | None, village_code: str | None, output_format: str) -> None:
    """Every household holding a star, as CSV (RULES.md §8), sorted by household code."""
    if ctx.invoked_subcommand is not None:
        return
    if county_code is None:
        raise InvalidInput("缺少 --county")
    from hygiene.services.awards import benefits, stars
    from hygiene.services.setup import units

    with transaction(write=False) as session:
        county = units.get_county(session, county_code)
        village = units.get_village(session, village_code) if village_code else None
        if village is not None and village.township.county_id != county.id:
            raise InvalidInput(f"村 {village_code} 不属于县 {county_code}")
        rows = benefits.stars_csv_rows([h for h in stars.holdings(session, county, village=village) if h.count])
    _csv(benefits.STARS_HEADER, rows)


@stars_group.command("catalogue")
@click.option("--county", "county_code", required=True, help="the county's code")
@click.option("--format", "output_format", type=click.Choice(["csv"]), default="csv", show_default=True)
def stars_catalogue(county_code: str, output_format: str) -> None:
    """The county's star catalogue: code, name, base, hygiene, position (titles after the stars)."""
    from hygiene.services.awards import stars
    from hygiene.services.setup import units

    with transaction(write=False) as session:
        county = units.get_county(session, county_code)
        rows = [
            (s.code, s.name, "yes" if s.is_base else "no", "yes" if s.is_hygiene else "no", str(s.position))
            for s in stars.catalogue(session, county.id)
        ]
    _csv(("code", "name", "base", "hygiene", "position"), rows)


def _grant_or_withdraw(household_code: str, star_code: str, reason: str, on: str | None, *, grant: bool) -> None:
    from hygiene.services.awards import stars

    with transaction() as session:
        household = stars.household_by_code(session, household_code)
        star = stars.get_star(session, household.county_id, star_code)
        (stars.grant if grant else stars.withdraw)(session, None, household, star, reason=reason, on=_date(on))
        shown = f"户 {household.code} {star.name}"
    click.echo(f"已{'授予' if grant else '摘除'}{shown}")


@stars_group.command("grant")
@click.argument("household_code")
@click.argument("star_code")
@click.option("--reason", required=True, help="why (shown in the household's history)")
@click.option("--on", "on", default=None, help="the date, YYYY-MM-DD (default: today)")
def stars_grant(household_code: str, star_code: str, reason: str, on: str | None) -> None:
    """Grant a star or title as the village committee does (never the hygiene star)."""
    _grant_or_withdraw(household_code, star_code, reason, on, grant=True)


@stars_group.command("withdraw")
@click.argument("household_code")
@click.argument("star_code")
@click.option("--reason", required=True, help="why (shown in the household's history)")
@click.option("--on", "on", default=None, help="the date, YYYY-MM-DD (default: today)")
def stars_withdraw(household_code: str, star_code: str, reason: str, on: str | None) -> None:
    """Withdraw a star or title as the village committee does (never the hygiene star)."""
    _grant_or_withdraw(household_code, star_code, reason, on, grant=False)


def _revoke_or_reinstate(serial: str, reason: str, *, revoke: bool) -> None:
    import sqlalchemy as sa

    from hygiene.models import Plaque
    from hygiene.services.awards import plaques

    with transaction() as session:
        plaque = session.scalar(sa.select(Plaque).where(Plaque.serial == serial.strip()))
        if plaque is None:
            raise InvalidInput(f"找不到牌匾 {serial}")
        (plaques.revoke if revoke else plaques.reinstate)(
            session, None, plaque, reason=reason, expected_version=plaque.version
        )
    click.echo(f"已摘除牌匾 {serial}，卫生星随之摘除" if revoke else f"已恢复牌匾 {serial}，卫生星随之恢复")


@click.command("revoke")
@click.argument("serial")
@click.option("--reason", required=True, help="why, e.g. the spot check's finding")
def plaques_revoke(serial: str, reason: str) -> None:
    """Revoke a plaque outside the cycle; the hygiene star goes with it in the same transaction."""
    _revoke_or_reinstate(serial, reason, revoke=True)


@click.command("reinstate")
@click.argument("serial")
@click.option("--reason", required=True, help="why the revocation is undone")
def plaques_reinstate(serial: str, reason: str) -> None:
    """Undo a revocation made outside the cycle; the hygiene star comes back with it."""
    _revoke_or_reinstate(serial, reason, revoke=False)


@click.command("benefits")
@click.option("--county", "county_code", required=True, help="the county's code")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="write FILE.xlsx")
def benefits_command(county_code: str, output: Path | None) -> None:
    """The benefits priority list (five-plus first, then by star count): CSV, or a workbook."""
    from hygiene.services.awards import benefits
    from hygiene.services.setup import units

    if output is not None and output.suffix.lower() != ".xlsx":
        raise InvalidInput(f"--output {output} 须为 .xlsx 文件")
    with transaction(write=False) as session:
        county = units.get_county(session, county_code)
        rows = benefits.priority_list(session, county)
        data = benefits.priority_xlsx(rows, f"{county.name}惠民政策优先名单") if output else None
        lines = benefits.csv_rows(rows)
    if output is not None and data is not None:
        output.write_bytes(data)
        click.echo(f"已导出 {len(lines)} 户到 {output}")
        return
    _csv(benefits.CSV_HEADER, lines)


@click.group("ledger", invoke_without_command=True)
@click.option("--county", "county_code", default=None, help="the county's code")
@click.option("--year", "year_text", default=None, help="the year, e.g. 2026")
@click.option("--format", "output_format", type=click.Choice(["csv"]), default="csv", show_default=True)
@click.pass_context
def ledger_group(ctx: click.Context, county_code: str | None, year_text: str | None, output_format: str) -> None:
    """The year's award ledger as CSV, by date then household code."""
    if ctx.invoked_subcommand is not None:
        return
    if county_code is None or year_text is None:
        raise InvalidInput("缺少 --county 或 --year")
    from hygiene.services.awards import ledger
    from hygiene.services.setup import units

    year = _year(year_text)
    with transaction(write=False) as session:
        rows = ledger.csv_rows(ledger.entries(session, units.get_county(session, county_code), year))
    _csv(ledger.CSV_HEADER, rows)


@ledger_group.command("add")
@click.option("--county", "county_code", required=True, help="the county's code")
@click.option("--household", "household_code", required=True, help="the household's code")
@click.option("--kind", type=click.Choice(["award_goods", "industry_support"]), required=True)
@click.option("--item", required=True, help="the goods or the project")
@click.option("--value", "value_text", required=True, help="yuan")
@click.option("--on", "on", default=None, help="the date, YYYY-MM-DD (default: today)")
def ledger_add(county_code: str, household_code: str, kind: str, item: str, value_text: str, on: str | None) -> None:
    """One entry of the award ledger; refused above the year's remaining budget, for industry
    support below 2000 yuan or to a household that is not ten-star."""
    from hygiene.enums import LedgerKind
    from hygiene.io.scores import format_yuan, parse_yuan
    from hygiene.models._types import beijing_today
    from hygiene.services.awards import ledger, stars
    from hygiene.services.setup import units

    try:
        fen = parse_yuan(value_text, ledger.MAX_VALUE_FEN // 100)
    except ValueError as exc:
        raise InvalidInput(f"--value {value_text!r}: {exc}") from None
    with transaction() as session:
        county = units.get_county(session, county_code)
        household = stars.household_by_code(session, household_code, county)
        entry = ledger.NewEntry(household, LedgerKind(kind), item, fen, _date(on) or beijing_today())
        ledger.add(session, None, county, entry)
        left = ledger.spending(session, county, entry.given_on.year).remaining_fen
    click.echo(
        f"已登记 户 {household_code} {item} {format_yuan(fen)} 元；"
        f"{entry.given_on.year}年预算剩余 {format_yuan(left)} 元"
    )


@click.command("stats")
@click.option("--county", "county_code", required=True, help="the county's code")
@click.option("--year", "year_text", required=True, help="the year of the money figures")
@click.option("--format", "output_format", type=click.Choice(["csv"]), default="csv", show_default=True)
def stats_command(county_code: str, year_text: str, output_format: str) -> None:
    """The county's figures in its bulletin's terms, one CSV line."""
    from hygiene.services.awards import award_stats
    from hygiene.services.setup import units

    year = _year(year_text)
    with transaction(write=False) as session:
        row = award_stats.figures(session, units.get_county(session, county_code), year).csv_row()
    _csv(award_stats.CSV_HEADER, [row])
