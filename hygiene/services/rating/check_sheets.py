"""The household check sheet (评比检查表, issue 31): the data of the printed sheet of a village, or
of one of its groups, in a period: every household still living there, the period's criteria with
their maxima, and the link of each household's entry form (the QR code)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from hygiene.io import check_sheet_pdf
from hygiene.io.scores import format_points
from hygiene.models import Group, Period, Village
from hygiene.services.setup import units


def check_sheets(
    session: Session, village: Village, period: Period, entry_url: Callable[[str], str], group: Group | None = None
) -> check_sheet_pdf.CheckSheets:
    """The sheets of the village (or of ``group``, one of its groups), the households by group and
    code; ``entry_url`` makes a household's entry-form link from its code."""
    criteria = sorted(period.rubric_version.criteria, key=lambda c: c.code)
    groups = [group] if group is not None else units.village_groups(session, village)
    households = [
        check_sheet_pdf.SheetHousehold(
            code=h.code, head_name=h.head_name, group_name=g.name, members=h.members, entry_url=entry_url(h.code)
        )
        for g in groups
        for h in sorted(g.households, key=lambda h: h.code)
        if h.moved_away_on is None
    ]
    return check_sheet_pdf.CheckSheets(
        county_name=village.township.county.name,
        township_name=village.township.name,
        village_name=village.name,
        period_code=period.code,
        criteria=[check_sheet_pdf.Criterion(c.label, format_points(c.max_tenths)) for c in criteria],
        households=households,
        total_points=format_points(sum(c.max_tenths for c in criteria)),
    )


def check_sheets_pdf(
    session: Session, village: Village, period: Period, entry_url: Callable[[str], str], group: Group | None = None
) -> bytes:
    return check_sheet_pdf.check_sheets_pdf(check_sheets(session, village, period, entry_url, group))
