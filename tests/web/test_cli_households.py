"""``hygiene households recode`` and ``hygiene households move`` (issue 30) on the demo county, on
SQLite and PostgreSQL: the same service as the page, invalid input exit 2 with nothing written."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.models import AuditEntry, Group, Household, HouseholdFormerCode, Village
from hygiene.services import audit
from tests.web.test_cli import hygiene


def codes_of(engine: sa.Engine, village_code: str) -> list[str]:
    with Session(engine) as session:
        return list(
            session.scalars(
                sa.select(Household.code)
                .join(Group)
                .join(Village)
                .where(Village.code == village_code)
                .order_by(Household.code)
            )
        )


def test_recode_corrects_a_code_and_refuses_a_taken_one(committing_engine: sa.Engine) -> None:
    engine = committing_engine
    code, other = codes_of(engine, "5209990101")[:2]
    taken = hygiene(engine, "households", "recode", code, other, "--county", "520999", "--reason", "改号")
    assert taken.exit_code == 2 and "已被 青山村" in taken.stderr
    unknown = hygiene(engine, "households", "recode", "999", "998", "--county", "520999", "--reason", "改号")
    assert unknown.exit_code == 2 and "找不到户编号 999" in unknown.stderr
    done = hygiene(engine, "households", "recode", code, "520999010101901", "--county", "520999", "--reason", "录错")
    assert done.exit_code == 0, done.output
    assert f"户编号 {code} 已更正为 520999010101901" in done.stdout
    with Session(engine) as session:
        former = session.scalars(sa.select(HouseholdFormerCode)).one()
        assert (former.code, former.kind, former.reason) == (code, "correct", "录错")
        entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "recode")).one()
        assert (entry.actor, entry.user_id) == (audit.SYSTEM_ACTOR, None)
    again = hygiene(engine, "households", "recode", code, "520999010101902", "--county", "520999", "--reason", "x")
    assert again.exit_code == 2 and "现在的户编号是 520999010101901" in again.stderr


def test_move_needs_a_group_and_refuses_a_busy_village(committing_engine: sa.Engine) -> None:
    engine = committing_engine
    code = codes_of(engine, "5209990101")[0]
    args = ("households", "move", code, "--county", "520999", "--reason", "迁居")
    no_group = hygiene(engine, *args, "--to-village", "5209990203")
    assert no_group.exit_code == 2 and "请用 --group 指明 龙井村 的村民组" in no_group.stderr
    busy = hygiene(engine, *args, "--to-village", "5209990102", "--group", "第一组")
    assert busy.exit_code == 2 and "新华村 2026Q4 已提交" in busy.stderr
    with Session(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(HouseholdFormerCode)) == 0


def test_move_carries_a_household_without_open_reviews_to_another_township(committing_engine: sa.Engine) -> None:
    engine = committing_engine
    with Session(engine) as session:  # a household just registered in 河东村 (returned): no reviews yet
        group = session.scalars(sa.select(Group).join(Village).where(Village.code == "5209990201")).first()
        session.add(Household(county_id=group.county_id, group_id=group.id, code="520999020101901", head_name="新来户"))
        session.commit()
    done = hygiene(
        engine,
        "households",
        "move",
        "520999020101901",
        "--county",
        "520999",
        "--to-village",
        "5209990303",
        "--group",
        "第一组",
        "--new-code",
        "520999030301901",
        "--reason",
        "户主随子女迁居",
    )
    assert done.exit_code == 0, done.output
    assert "已从 河东村 迁至 金星村 第一组，户编号 520999030301901" in done.stdout
    assert "520999030301901" in codes_of(engine, "5209990303")
    assert "520999020101901" not in codes_of(engine, "5209990201")
