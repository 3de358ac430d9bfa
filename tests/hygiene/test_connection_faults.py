"""The database connection dropped in the middle of work (issue 32): PostgreSQL terminates the
session's backend (``pg_terminate_backend``, as a restart or a failover does) after an import, a
publication and a finalisation have written part of their rows: nothing of it is stored, and the
next try, on a new connection from the same pool (pre-ping), succeeds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene.db import Base, make_engine, make_sessionmaker
from hygiene.enums import WorkflowState
from hygiene.models import Township, User, Village, VillagePeriod
from hygiene.services.rating import workflow
from hygiene.services.setup import roster_imports
from tests.conftest import POSTGRES_URL, fresh_postgres_database
from tests.sheets import ROSTER_HEADER, csv_file, roster_row

pytestmark = pytest.mark.postgres

# Each of the three writes its rows first, its audit entries after; the first audit statement is the
# read of the county's chain head (the bulk roster then writes its entries by COPY, which fires no event).
KILL_AT = ("SELECT audit_log.hash", "INSERT INTO audit_log")


@pytest.fixture
def pg(postgres_template: str) -> Iterator[sa.Engine]:
    engine = fresh_postgres_database("hygiene_faults", template=postgres_template)
    yield engine
    engine.dispose()


def row_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.scalar(sa.text(f'SELECT count(*) FROM "{name}"')) or 0 for name in Base.metadata.tables}  # noqa: S608


def dropped_midway(engine: sa.Engine, work: Callable[[Session], object]) -> None:
    """Run ``work`` in one write transaction; at its first audit entry the connection is killed."""
    assert POSTGRES_URL
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    fired: list[str] = []

    def kill(conn: sa.Connection, cursor: object, statement: str, *_: object) -> None:
        if not fired and statement.startswith(KILL_AT):
            fired.append(statement)
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with admin.connect() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    sa.event.listen(engine, "before_cursor_execute", kill)
    try:
        with pytest.raises(sa.exc.OperationalError), make_sessionmaker(engine, write=True).begin() as session:
            work(session)
    finally:
        sa.event.remove(engine, "before_cursor_execute", kill)
        admin.dispose()
    assert fired, "the work never reached its audit entries"


def try_again(engine: sa.Engine, work: Callable[[Session], object]) -> None:
    with make_sessionmaker(engine, write=True).begin() as session:
        work(session)


def in_state(session: Session, state: WorkflowState) -> VillagePeriod:
    return session.scalars(
        sa.select(VillagePeriod).where(VillagePeriod.state == state).order_by(VillagePeriod.id)
    ).first()  # type: ignore[return-value]


def reviewer_of(session: Session, village_period: VillagePeriod) -> User:
    township_id = session.scalar(sa.select(Village.township_id).where(Village.id == village_period.village_id))
    return session.scalars(
        sa.select(User).join(Township, User.township_id == Township.id).where(Township.id == township_id)
    ).first()  # type: ignore[return-value]


def import_roster(session: Session) -> None:
    clerk = session.scalars(sa.select(User).where(User.username == "village")).one()
    village = session.scalars(sa.select(Village).where(Village.code == "5209990101")).one()
    data = csv_file(
        ROSTER_HEADER, [roster_row(f"00{n}", head=f"王{n}", group="第五组", members="3") for n in range(40)]
    )
    plan = roster_imports.plan_roster_upload(session, clerk, [village], data, "花名册.csv")
    roster_imports.apply_roster_import(session, clerk, plan, file_name="花名册.csv")


def publish(session: Session) -> None:
    village_period = in_state(session, WorkflowState.APPROVED)
    workflow.publish(
        session, reviewer_of(session, village_period), village_period, village_period.version, override_reason="演练"
    )


def finalise(session: Session) -> None:
    village_period = in_state(session, WorkflowState.PUBLISHED)
    workflow.finalize(session, village_period, now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))


@pytest.mark.parametrize("work", [import_roster, publish, finalise], ids=["import", "publication", "finalisation"])
def test_a_connection_dropped_midway_leaves_nothing_and_the_next_try_succeeds(
    pg: sa.Engine, work: Callable[[Session], object]
) -> None:
    before = row_counts(pg)
    dropped_midway(pg, work)
    assert row_counts(pg) == before
    try_again(pg, work)
    after = row_counts(pg)
    assert after != before and after["audit_log"] > before["audit_log"]
