"""Three levels of supervision in the pages (issue 33): a city's inspector reads and writes only in
the counties of its city, a township's own inspector only in its township, and a township never
sees a planned unannounced visit of any level before its findings are entered."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import CRITERIA
from hygiene.models import InspectionAssignment, Notice, SpotCheck, UnannouncedVisit
from hygiene.services.setup import units
from hygiene.services.supervision import inspection_teams, notices, visits
from tests.hygiene import factories
from tests.hygiene.levels import PASSWORD, Levels, three_levels
from tests.hygiene.test_inspections import without_plaque
from tests.web.conftest import Auth

HOME = "/inspection/520999/"


@pytest.fixture
def levels(db_session: Session) -> Levels:
    made = three_levels(db_session)
    db_session.commit()
    return made


def login(auth: Auth, username: str) -> None:
    assert auth.login(username, PASSWORD).status_code in (302, 303)


def test_a_city_inspector_starts_on_its_city_and_stays_in_it(client: FlaskClient, auth: Auth, levels: Levels) -> None:
    login(auth, "city-inspector")
    page = client.get("/inspection-city/5209/")
    assert page.status_code == 200 and "进入督查" in page.get_data(as_text=True)
    assert "/inspection/520999/" in page.get_data(as_text=True) and "/inspection/520998/" not in page.get_data(
        as_text=True
    )
    assert client.get("/inspection-city/5208/").status_code == 403
    assert client.get("/inspection-city/9999/").status_code == 404
    assert client.get(HOME).status_code == 200
    for url in (
        "/inspection/520998/",
        "/inspection/520998/visits",
        "/inspection/520998/notices",
        "/inspection/520998/ranking",
        "/inspection/520998/townships/52099801/sample?period=2026Q4",
        "/inspection/520998/townships/52099801/periods/2026Q4/checks",
    ):
        assert client.get(url).status_code == 403, url
    # another city's township through this city's county is not found
    assert client.get("/inspection/520999/townships/52099801/periods/2026Q4/checks").status_code == 404
    refused = auth.post("/inspection/520998/townships/52099801/periods/2026Q4/hold", {}, token_from=HOME)
    assert refused.status_code == 403


def test_the_login_sends_each_level_to_its_own_page(client: FlaskClient, auth: Auth, levels: Levels) -> None:
    assert auth.login("city-inspector", PASSWORD).headers["Location"].endswith("/inspection-city/5209/")
    auth.logout()
    assert auth.login("songlin-inspector", PASSWORD).headers["Location"].endswith(HOME)


def test_a_city_inspector_holds_samples_and_checks_a_township_of_its_county(
    client: FlaskClient, auth: Auth, levels: Levels, db_session: Session
) -> None:
    login(auth, "city-inspector")
    held = auth.post("/inspection/520999/townships/52099901/periods/2026Q3/hold", {}, token_from=HOME)
    assert held.status_code == 303
    home = client.get(f"{HOME}?period=2026Q3").get_data(as_text=True)
    assert "本组已认领" in home and "松林镇" in home
    sample = "/inspection/520999/townships/52099901/sample?period=2026Q3&size=3&seed=11"
    page = client.get(sample).get_data(as_text=True)
    assert "采用此样本" in page
    adopted = auth.post(
        "/inspection/520999/townships/52099901/sample/adopt?period=2026Q3",
        {"size": "3", "seed": "11", "state": re.search(r'name="state" type="hidden" value="([^"]*)"', page)[1]},
        token_from=sample,
    )
    assert adopted.status_code == 303, adopted.get_data(as_text=True)
    household = without_plaque(db_session)
    check = f"/inspection/520999/townships/52099901/periods/2026Q3/households/{household.code}/check"
    saved = auth.post(check, {"members": "赵市", **dict.fromkeys(CRITERIA, "9")})
    assert saved.status_code == 303, saved.get_data(as_text=True)
    db_session.rollback()
    row = db_session.scalars(
        sa.select(SpotCheck)
        .join(InspectionAssignment, SpotCheck.assignment_id == InspectionAssignment.id)
        .where(SpotCheck.household_id == household.id, InspectionAssignment.level == "city")
    ).one()
    assignment = db_session.get(InspectionAssignment, row.assignment_id)
    assert (
        assignment is not None
        and assignment.team_id == levels.city_team.id
        and row.inspector_id == (levels.city_inspector.id)
    )
    auth.logout()
    login(auth, "songlin-inspector")  # the township's own inspectors write nothing at the city's level
    assert client.get(check).status_code == 404  # no township-level team holds it yet


def test_a_township_inspector_works_in_its_township_only(
    client: FlaskClient, auth: Auth, levels: Levels, db_session: Session
) -> None:
    county = units.get_county(db_session, "520999")
    q4 = factories.period(db_session, "2026Q4")
    second = units.get_township(db_session, "52099902")
    foreign = notices.issue(
        db_session, levels.other_township_inspector, county, period=q4, township=second,
        responsible_person="镇长", problem="二镇的问题",
    )  # fmt: skip
    db_session.commit()
    login(auth, "songlin-inspector")
    home = client.get(HOME).get_data(as_text=True)
    assert "本组认领" in home and "松林镇" in home and "52099902/periods" not in home
    assert client.get("/inspection/520999/townships/52099901/sample?period=2026Q4").status_code == 200
    for url in (
        "/inspection/520999/townships/52099902/sample?period=2026Q4",
        "/inspection/520999/townships/52099902/periods/2026Q4/checks",
        "/inspection/520999/ranking",
        "/inspection/520998/",
        "/inspection-city/5209/",
    ):
        assert client.get(url).status_code == 403, url
    assert client.get(f"/inspection/520999/notices/{foreign.id}").status_code == 404
    assert "二镇的问题" not in client.get("/inspection/520999/notices").get_data(as_text=True)
    refused = auth.post("/inspection/520999/townships/52099902/periods/2026Q4/hold", {}, token_from=HOME)
    assert refused.status_code == 403
    held = auth.post("/inspection/520999/townships/52099901/periods/2026Q4/hold", {}, token_from=HOME)
    assert held.status_code == 303
    db_session.rollback()
    own = db_session.scalars(sa.select(InspectionAssignment).where(InspectionAssignment.level == "township")).one()
    assert own.team_id == levels.own_team.id and own.township_id == units.get_township(db_session, "52099901").id
    issued = auth.post(
        "/inspection/520999/notices/new",
        {"period": "2026Q4", "township": "52099901", "village": "5209990101", "responsible_person": "村长",
         "problem": "沟渠淤塞"},
    )  # fmt: skip
    assert issued.status_code == 303
    db_session.rollback()
    assert db_session.scalars(sa.select(Notice.level).where(Notice.problem == "沟渠淤塞")).one() == "township"


def test_a_township_never_sees_a_planned_visit_of_any_level(
    client: FlaskClient, auth: Auth, levels: Levels, db_session: Session
) -> None:
    county = units.get_county(db_session, "520999")
    q4 = factories.period(db_session, "2026Q4")
    village = units.get_village(db_session, "5209990101")
    inspector = db_session.scalars(
        sa.select(inspection_teams.User).where(inspection_teams.User.username == "inspector")
    ).one()
    county_team = inspection_teams.team_of(db_session, inspector)
    assert county_team is not None
    planned: dict[str, UnannouncedVisit] = {}
    for level, who, team in (
        ("city", levels.city_inspector, levels.city_team),
        ("county", inspector, county_team),
        ("township", levels.township_inspector, levels.own_team),
    ):
        planned[level] = visits.plan(
            db_session, who, county, period=q4, village=village, team=team, planned_on=q4.starts_on
        )
    db_session.commit()
    auth.login("township")  # the township's reviewer: none of them
    home = client.get("/township/52099901/").get_data(as_text=True)
    assert not any(f'id="visit-{v.id}"' in home for v in planned.values()) and "尚无暗访结果" in home
    auth.logout()
    login(auth, "songlin-inspector")  # the township's own inspectors: their own plan only
    listed = client.get("/inspection/520999/visits?period=2026Q4").get_data(as_text=True)
    assert f'id="visit-{planned["township"].id}"' in listed
    for level in ("city", "county"):
        assert f'id="visit-{planned[level].id}"' not in listed
        assert client.get(f"/inspection/520999/visits/{planned[level].id}").status_code == 404
    auth.logout()
    auth.login("inspector")  # the county: its own and the township's, not the city's
    listed = client.get("/inspection/520999/visits?period=2026Q4").get_data(as_text=True)
    assert f'id="visit-{planned["city"].id}"' not in listed and f'id="visit-{planned["county"].id}"' in listed
    assert client.get(f"/inspection/520999/visits/{planned['city'].id}").status_code == 404
    auth.logout()
    login(auth, "city-inspector")
    page = f"/inspection/520999/visits/{planned['city'].id}"
    listed = client.get("/inspection/520999/visits?period=2026Q4").get_data(as_text=True)
    assert all(f'id="visit-{v.id}"' in listed for v in planned.values()) and "市级" in listed
    found = auth.post(
        f"{page}/findings", {"version": str(planned["city"].version), "findings": "公厕无人保洁"}, token_from=page
    )
    assert found.status_code == 303
    auth.logout()
    auth.login("township")
    home = client.get("/township/52099901/").get_data(as_text=True)
    assert f'id="visit-{planned["city"].id}"' in home and "公厕无人保洁" in home and "市级" in home
    assert f'id="visit-{planned["county"].id}"' not in home and f'id="visit-{planned["township"].id}"' not in home
