"""Issue 30's commands: ``period reopen`` (更正) and ``plaques reinstate`` on the demo county."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.enums import PlaqueState, WorkflowState
from hygiene.models import AuditEntry, Period, Plaque, ResultRecord, Village, VillagePeriod
from tests.web.test_cli import hygiene


def final_q4_village(engine: sa.Engine) -> str:
    with Session(engine) as session:
        return session.scalars(
            sa.select(Village.code)
            .join(VillagePeriod, VillagePeriod.village_id == Village.id)
            .join(Period, VillagePeriod.period_id == Period.id)
            .where(Period.code == "2026Q4", VillagePeriod.state == WorkflowState.FINAL)
            .order_by(Village.code)
        ).first()


def test_period_reopen_sends_a_final_period_back_and_keeps_its_record(committing_engine: sa.Engine) -> None:
    engine = committing_engine
    village_code = final_q4_village(engine)
    missing = hygiene(engine, "period", "reopen", "2026Q4", "--village", village_code)
    assert missing.exit_code == 2
    blank = hygiene(engine, "period", "reopen", "2026Q4", "--village", village_code, "--reason", " ")
    assert blank.exit_code == 2 and "退回更正必须填写原因" in blank.stderr
    done = hygiene(engine, "period", "reopen", "2026Q4", "--village", village_code, "--reason", "复评分录错")
    assert done.exit_code == 0, done.output
    assert "已退回更正" in done.stdout
    with Session(engine) as session:
        village_period = session.scalars(
            sa.select(VillagePeriod)
            .join(Village)
            .join(Period, VillagePeriod.period_id == Period.id)
            .where(Village.code == village_code, Period.code == "2026Q4")
        ).one()
        assert village_period.state is WorkflowState.RETURNED
        assert village_period.return_reason == "更正：复评分录错"
        [record] = session.scalars(
            sa.select(ResultRecord).where(ResultRecord.village_period_id == village_period.id)
        ).all()
        assert record.superseded_by_correction and record.superseded_at is not None
        actions = session.scalars(
            sa.select(AuditEntry.action).where(
                AuditEntry.entity == "village_period", AuditEntry.entity_id == str(village_period.id)
            )
        ).all()
        assert actions[-2:] == ["reopen", "record_supersede"]
    again = hygiene(engine, "period", "reopen", "2026Q4", "--village", village_code, "--reason", "再次")
    assert again.exit_code == 2 and "不能退回更正" in again.stderr


def test_plaques_reinstate_undoes_a_revocation_outside_the_cycle(committing_engine: sa.Engine) -> None:
    engine = committing_engine
    with Session(engine) as session:
        serial = session.scalars(sa.select(Plaque.serial).where(Plaque.state == PlaqueState.REVOKED)).one()
    blank = hygiene(engine, "plaques", "reinstate", serial, "--reason", "")
    assert blank.exit_code == 2 and "恢复牌匾必须填写原因" in blank.stderr
    done = hygiene(engine, "plaques", "reinstate", serial, "--reason", "抽查抽错户")
    assert done.exit_code == 0, done.output
    assert f"已恢复牌匾 {serial}" in done.stdout
    with Session(engine) as session:
        plaque = session.scalars(sa.select(Plaque).where(Plaque.serial == serial)).one()
        assert plaque.state is PlaqueState.VALID and plaque.revoke_reason is None
    again = hygiene(engine, "plaques", "reinstate", serial, "--reason", "再次")
    assert again.exit_code == 2 and "现为有效" in again.stderr
    unknown = hygiene(engine, "plaques", "reinstate", "520999-2026-999999", "--reason", "x")
    assert unknown.exit_code == 2
    register = hygiene(engine, "plaques", "--county", "520999")
    assert register.exit_code == 0 and serial in register.stdout
