"""``hygiene check-sheets`` (issue 31): the household check sheets (评比检查表) of a village or one of
its groups as a PDF, one A4 page per household, as the village's page prints them."""

from __future__ import annotations

from pathlib import Path

import click

from hygiene import config
from hygiene.services.rating import check_sheets
from hygiene.services.setup import periods, units
from web.cli import transaction


def entry_path(village_code: str, period_code: str, household_code: str) -> str:
    """The path of a household's group-review entry form (web.village.reviews.review)."""
    return f"/village/{village_code}/periods/{period_code}/households/{household_code}/review?kind=group"


@click.command("check-sheets")
@click.option("--village", "village_code", required=True, help="the village's code")
@click.option("--period", "period_code", required=True, help="the quarter, e.g. 2026Q4")
@click.option("--group", "group_code", default=None, help="one villager group (default: the whole village)")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="the PDF to write")
@click.option(
    "--base-url",
    default=None,
    help=f"the site's address for the QR codes (default: ${config.PUBLIC_URL}, else http://127.0.0.1:5000)",
)
def check_sheets_command(
    village_code: str, period_code: str, group_code: str | None, output: Path, base_url: str | None
) -> None:
    """The household check sheets (评比检查表) of a village or a group as one PDF, a page a household.

    Each page: code, head and group, the ten criteria with their maxima and boxes for the self, peer
    and group scores, the team's signature lines, a QR code to the entry form."""
    base = (base_url or config.base_url()).rstrip("/")
    with transaction(write=False) as session:
        village = units.get_village(session, village_code)
        period = periods.get_period(session, village.township.county_id, period_code)
        group = units.get_group(session, village, group_code) if group_code else None
        content = check_sheets.check_sheets_pdf(
            session, village, period, lambda code: base + entry_path(village.code, period.code, code), group
        )
        count = len(check_sheets.check_sheets(session, village, period, str, group).households)
    output.write_bytes(content)
    click.echo(f"已写入 {output}：{count} 户，每户一页", err=True)
