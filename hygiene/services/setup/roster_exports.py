"""The household roster as a file (issue 30, INTERCHANGE.md §2 and §3 ``hygiene export roster``):
in the roster sheet's own layout, so that an office edits it and imports it back
(``roster_imports``). Households that moved away are left out: the roster is who lives there now.
Townships and villages are written by name, as offices type them; the import accepts a name or a
code. Household codes and phone numbers are text cells (a leading 0 stays), 人口 is a number and
是否脱贫户/低收入户 is 是 or 否, the words the import reads."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.models import County, Group, Household, Township, Village

ROSTER_HEADER = ["乡镇", "村", "村民组", "户编号", "户主姓名", "人口", "联系电话", "是否脱贫户/低收入户"]


def roster_table(
    session: Session, county: County, *, village: Village | None = None
) -> tuple[list[str], list[list[object]]]:
    """The county's (or one village's) current households, by township, village, group and code."""
    query = (
        sa.select(Township.name, Village.name, Group.name, Household)
        .join(Group, Household.group_id == Group.id)
        .join(Village, Group.village_id == Village.id)
        .join(Township, Village.township_id == Township.id)
        .where(Household.county_id == county.id, Household.moved_away_on.is_(None))
        .order_by(Township.code, Village.code, Group.code, Household.code)
    )
    if village is not None:
        query = query.where(Village.id == village.id)
    rows: list[list[object]] = [
        [township, village_name, group, h.code, h.head_name, h.members, h.phone or "", "是" if h.is_poor else "否"]
        for township, village_name, group, h in session.execute(query)
    ]
    return ROSTER_HEADER, rows
