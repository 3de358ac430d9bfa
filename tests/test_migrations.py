"""Alembic owns the schema: it round-trips on both databases, matches the models exactly, builds
the audit log's append-only guard, and moves a county's data with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm import Session

from hygiene import migrate
from hygiene.db import Base, make_engine
from hygiene.models import County, ResultRecord, User, Village
from hygiene.services import audit
from hygiene.services.rating import results
from hygiene.services.setup import accounts, counties
from tests.conftest import BACKENDS, fresh_postgres_database


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    else:
        engine = fresh_postgres_database("hygiene_migrations")
    yield engine
    engine.dispose()


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade_round_trips(empty_engine: sa.Engine) -> None:
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision()
    assert table_names(empty_engine) == set(Base.metadata.tables)

    migrate.downgrade(empty_engine, "base")
    assert migrate.current_revision(empty_engine) is None
    assert table_names(empty_engine) == set()

    migrate.upgrade(empty_engine)
    assert table_names(empty_engine) == set(Base.metadata.tables)


def test_the_head_read_from_the_files_is_alembics_and_the_version_read_is_its(empty_engine: sa.Engine) -> None:
    # The command's check that the schema is current reads neither through Alembic (issue 34).
    assert migrate.head_revision() == migrate._alembic_head()
    migrate.upgrade(empty_engine, "0005")
    with empty_engine.connect() as conn:
        assert migrate.current_revision(empty_engine) == MigrationContext.configure(conn).get_current_revision()
    assert migrate.current_revision(empty_engine) == "0005"


def test_a_revision_line_that_is_not_a_plain_string_is_left_to_alembic() -> None:
    assert migrate._literal('"0017"') == "0017" and migrate._literal("'0001'") == "0001"
    assert migrate._literal("None") is None
    assert migrate._literal('("0015", "0016")') is migrate._UNREADABLE  # a merge revision
    assert migrate._literal("compute()") is migrate._UNREADABLE


def test_migrations_match_the_models(empty_engine: sa.Engine) -> None:
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_audit_log_refuses_update_and_delete_in_the_database(empty_engine: sa.Engine) -> None:
    migrate.upgrade(empty_engine)
    with Session(empty_engine) as session, session.begin():
        county_id = counties.create_county(session, None, "529999", "测试县").id
    with empty_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO audit_log (county_id, at, actor, entity, entity_id, action) "
                "VALUES (:county_id, CURRENT_TIMESTAMP, 'system', 'x', '1', 'create')"
            ),
            {"county_id": county_id},
        )
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), empty_engine.begin() as conn:
            conn.execute(sa.text(statement))
    with empty_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT actor FROM audit_log WHERE entity = 'x'")).scalar_one() == "system"


def row_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.scalar(sa.text(f'SELECT count(*) FROM "{name}"')) or 0 for name in Base.metadata.tables}  # noqa: S608


def test_migration_0011_gives_every_row_its_parents_county_and_loses_none(committing_engine: sa.Engine) -> None:
    """Down to 0010 and up again on the seeded counties: every row gets its parents' county and
    nothing is lost (SQLite rebuilds the tables: no ON DELETE CASCADE of a quota may fire), and a
    record's rows are immutable again."""
    before = row_counts(committing_engine)
    assert before["award_quotas"] and before["result_record_households"] and before["plaque_events"]
    migrate.downgrade(committing_engine, "0010")
    with committing_engine.connect() as conn:
        assert "county_id" not in {c["name"] for c in sa.inspect(conn).get_columns("reviews")}
    migrate.upgrade(committing_engine)
    assert row_counts(committing_engine) == before
    with Session(committing_engine) as session:
        assert set(counties.county_mismatches(session).values()) == {0}
    with pytest.raises(sa.exc.DatabaseError, match="immutable"), committing_engine.begin() as conn:
        conn.execute(sa.text("UPDATE result_record_households SET head_name = 'x'"))


def audit_counties(engine: sa.Engine) -> dict[int, int]:
    with engine.connect() as conn:
        return {id_: county_id for id_, county_id in conn.execute(sa.text("SELECT id, county_id FROM audit_log"))}


def entity_index(engine: sa.Engine) -> list[str | None]:
    [index] = [i for i in sa.inspect(engine).get_indexes("audit_log") if i["name"] == "ix_audit_log_entity"]
    return index["column_names"]


def test_migration_0012_gives_every_audit_entry_its_entitys_county(committing_engine: sa.Engine) -> None:
    """Down to 0011 and up again on the seeded counties: every entry gets back the county the
    services gave it, which is its entity's; nothing is lost, the entity index leads with the
    county, and the log is append-only again."""
    with Session(committing_engine) as session, session.begin():
        # An entry on the first row of each entity type the seed may lack, of that row's county.
        for entity, table in audit.ENTITY_TABLES.items():
            row = session.execute(sa.select(table.c.id, table.c.county_id).order_by(table.c.id).limit(1)).first()
            if row is not None:
                audit.record(session, None, kind=entity, entity_id=row.id, county_id=row.county_id, action="test")
        for county in session.scalars(sa.select(County)):
            audit.record(session, None, kind="county", entity_id=county.id, county_id=county.id, action="test")
        for user in session.scalars(sa.select(User)):
            county_id = accounts.account_county_id(session, user)
            audit.record(session, None, kind="user", entity_id=user.id, county_id=county_id, action="test")
    before, counties_before = row_counts(committing_engine), audit_counties(committing_engine)
    with committing_engine.connect() as conn:
        entities = set(conn.scalars(sa.text("SELECT DISTINCT entity FROM audit_log")))
        roles = set(conn.scalars(sa.text("SELECT DISTINCT role FROM users")))
    assert {"household", "village_period", "award_quota", "plaque", "township", "group"} <= entities
    assert {"county", "user", "inspection_assignment"} <= entities
    assert {"county_admin", "township_reviewer", "village_clerk"} <= roles
    migrate.downgrade(committing_engine, "0011")
    assert "county_id" not in {c["name"] for c in sa.inspect(committing_engine).get_columns("audit_log")}
    assert entity_index(committing_engine) == ["entity", "entity_id"]
    migrate.upgrade(committing_engine)
    assert row_counts(committing_engine) == before
    assert audit_counties(committing_engine) == counties_before
    assert entity_index(committing_engine) == ["county_id", "entity", "entity_id"]
    with Session(committing_engine) as session:
        assert counties.county_mismatches(session)["audit_log"] == 0
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), committing_engine.begin() as conn:
            conn.execute(sa.text(statement))


def test_migration_0012_refuses_an_entry_whose_county_cannot_be_found(committing_engine: sa.Engine) -> None:
    """An entry whose entity's row is missing is not left without a county: the migration stops,
    naming it, and changes nothing."""
    migrate.downgrade(committing_engine, "0011")
    with committing_engine.begin() as conn:
        orphan = conn.execute(
            sa.text(
                "INSERT INTO audit_log (at, actor, entity, entity_id, action) "
                "VALUES (CURRENT_TIMESTAMP, 'system', 'household', '999999999', 'create') RETURNING id"
            )
        ).scalar_one()
    with pytest.raises(RuntimeError, match=rf"1 audit_log entries .* #{orphan} \(household 999999999\)"):
        migrate.upgrade(committing_engine)
    assert migrate.current_revision(committing_engine) == "0011"
    assert "county_id" not in {c["name"] for c in sa.inspect(committing_engine).get_columns("audit_log")}
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), committing_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log"))


def test_migration_0015_gives_every_county_a_catalogue_and_every_plaque_holder_its_hygiene_star(
    committing_engine: sa.Engine,
) -> None:
    with committing_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM household_stars"))
    migrate.downgrade(committing_engine, "0012")
    assert "star_settings" not in table_names(committing_engine)
    with committing_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM stars WHERE county_id = (SELECT id FROM counties WHERE code = '520998')"))
    migrate.upgrade(committing_engine)
    with committing_engine.connect() as conn:
        counties = conn.execute(sa.text("SELECT count(*) FROM counties")).scalar_one()
        hygiene = conn.execute(sa.text("SELECT count(*) FROM stars WHERE is_hygiene")).scalar_one()
        settings = conn.execute(sa.text("SELECT count(*) FROM star_settings")).scalar_one()
        holders = set(conn.scalars(sa.text("SELECT household_id FROM plaques WHERE state = 'valid'")))
        starred = set(
            conn.scalars(
                sa.text(
                    "SELECT household_id FROM household_stars JOIN stars ON stars.id = star_id"
                    " WHERE stars.is_hygiene AND withdrawn_on IS NULL"
                )
            )
        )
    assert counties == hygiene == settings == 2
    assert holders and starred == holders


def test_migration_0020_keeps_every_team_and_check_at_the_county_level_and_refuses_to_lose_a_city(
    committing_engine: sa.Engine,
) -> None:
    """Down to 0017 and up again on the seeded counties: every team, assignment, visit and notice is
    the county's, nothing is lost; with a city's inspector in the database the way down is refused,
    changing nothing (its scope could not be kept)."""
    from tests.hygiene.levels import three_levels

    before = row_counts(committing_engine)
    migrate.downgrade(committing_engine, "0017")
    assert "cities" not in table_names(committing_engine)
    assert "level" not in {c["name"] for c in sa.inspect(committing_engine).get_columns("inspection_teams")}
    migrate.upgrade(committing_engine)
    assert row_counts(committing_engine) == before
    with committing_engine.connect() as conn:
        for table in ("inspection_teams", "inspection_assignments", "unannounced_visits", "notices"):
            levels = set(conn.scalars(sa.text(f"SELECT DISTINCT level FROM {table}")))  # noqa: S608
            assert levels <= {"county"}, table
    with Session(committing_engine) as session, session.begin():
        three_levels(session)
    with pytest.raises(RuntimeError, match="city or township inspectors or teams exist"):
        migrate.downgrade(committing_engine, "0017")
    assert migrate.current_revision(committing_engine) == migrate.head_revision()
    # an inspector of two units is refused by the database (the wider scope CHECK)
    with Session(committing_engine) as session, pytest.raises(sa.exc.IntegrityError), session.begin():
        session.execute(
            sa.text("UPDATE users SET county_id = (SELECT min(id) FROM counties) WHERE city_id IS NOT NULL")
        )


def test_migration_0021_stores_no_rows_markup_for_records_posted_before_it_and_they_read_the_same(
    committing_engine: sa.Engine,
) -> None:
    """Down to 0020 (the column dropped, the records and their guard kept) and up again: the records
    posted before 0021 have no stored rows' markup, and their public list reads its rows to the same
    markup, groups and red and black list as the stored one gave."""

    def lists() -> dict[str, results.PublicList]:
        with Session(committing_engine) as session:
            found = {}
            for record in session.scalars(sa.select(ResultRecord).where(ResultRecord.superseded_at.is_(None))):
                village = session.scalars(sa.select(Village).where(Village.code == record.village_code)).one()
                found[f"{record.village_code}/{record.period_code}"] = results.public_list(
                    session, village, record.period_code, read_rows=False
                )
            return found

    stored = lists()
    assert stored and all(not p.rows and p.rows_html for p in stored.values())
    before = row_counts(committing_engine)
    migrate.downgrade(committing_engine, "0020")
    with committing_engine.connect() as conn:
        assert "public_rows" not in {c["name"] for c in sa.inspect(conn).get_columns("result_records")}
    with pytest.raises(sa.exc.DatabaseError, match="immutable"), committing_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM result_records"))
    migrate.upgrade(committing_engine)
    assert row_counts(committing_engine) == before
    with committing_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM result_records WHERE public_rows IS NOT NULL")) == 0
    legacy = lists()
    assert legacy.keys() == stored.keys()
    for key, posted in legacy.items():
        assert posted.rows, key  # read from the rows, there being no stored markup
        was = stored[key]
        assert (posted.rows_html, posted.groups, posted.red_list, posted.black_list) == (
            was.rows_html,
            was.groups,
            was.red_list,
            was.black_list,
        ), key
