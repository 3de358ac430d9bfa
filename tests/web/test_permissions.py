"""Every role against every protected route, in its own unit and in foreign ones.

The expectations are written out by hand from RULES.md and the issue, not derived from
``hygiene.permissions``, so a wrong rule there fails here."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.models import Household, User
from tests.web.conftest import Auth

H1 = "520999010101001"  # a household of 青山村 (5209990101)
ROUTES = {
    "village1": "/village/5209990101/",
    "village1_household": f"/village/5209990101/households/{H1}",
    "village1_new": "/village/5209990101/households/new",
    "village1_edit": f"/village/5209990101/households/{H1}/edit",
    "village1_board": "/village/5209990101/periods/2026Q4/",
    "village1_household_reviews": f"/village/5209990101/periods/2026Q4/households/{H1}/",
    "village1_review_form": f"/village/5209990101/periods/2026Q4/households/{H1}/review?kind=self",
    "village1_template": "/village/5209990101/periods/2026Q4/template.xlsx",
    "village1_upload": "/village/5209990101/periods/2026Q4/upload",
    "village1_roster_upload": "/village/5209990101/roster/upload",
    "village1_plaques": "/village/5209990101/plaques/",
    "village1_notice_pdf": "/village/5209990101/periods/2026Q3/notice.pdf",
    "village1_certificate_pdf": "/village/5209990101/plaques/520999-2026-000001/certificate.pdf",
    "village1_certificates_pdf": "/village/5209990101/periods/2026Q3/certificates.pdf",
    "village2": "/village/5209990201/",
    "village2_board": "/village/5209990201/periods/2026Q4/",
    "village1_group_entry": "/village/5209990101/periods/2026Q4/groups/520999010101/review",
    "village_other_county": "/village/5209980101/",
    "township1": "/township/52099901/",
    "township1_village": "/township/52099901/periods/2026Q4/villages/5209990101/",
    "township2": "/township/52099902/",
    "township2_village": "/township/52099902/periods/2026Q4/villages/5209990201/",
    "township1_plaques": "/township/52099901/plaques/",
    "township1_plaque": "/township/52099901/plaques/520999-2026-000001",
    "township1_objections": "/township/52099901/objections",
    "township1_ranking": "/township/52099901/periods/2026Q4/ranking.csv",
    "township2_objections": "/township/52099902/objections",
    "township_other_county": "/township/52099801/",
    "county": "/county/520999/",
    "county_users": "/county/520999/users",
    "county_settings": "/county/520999/settings",
    "county_periods": "/county/520999/periods",
    "county_units": "/county/520999/units/upload",
    "county_roster": "/county/520999/roster/upload",
    "county_rollout": "/county/520999/rollout",
    "county_programme_years": "/county/520999/rollout/52099901",
    "county_rubric": "/county/520999/rubric",
    "county_other": "/county/520998/",
    "inspection": "/inspection/520999/",
    "inspection_sample": "/inspection/520999/townships/52099901/sample?period=2026Q3",
    "inspection_other": "/inspection/520998/",
    "village1_notices": "/village/5209990101/notices",
    "township1_notices": "/township/52099901/notices",
    "county_dashboard": "/county/520999/dashboard?period=2026Q3",
    "county_inspection_teams": "/county/520999/inspection-teams?period=2026Q3",
    "inspection_notices": "/inspection/520999/notices",
    "inspection_notices_file": "/inspection/520999/notices.xlsx",
    "inspection_notice_new": "/inspection/520999/notices/new",
    "inspection_ranking": "/inspection/520999/ranking?period=2026Q3",
    "inspection_ranking_file": "/inspection/520999/ranking.csv?period=2026Q3",
    "inspection_checks": "/inspection/520999/townships/52099901/periods/2026Q3/checks",
    "inspection_checks_other_team": "/inspection/520999/townships/52099902/periods/2026Q3/checks",
    "inspection_check": f"/inspection/520999/townships/52099901/periods/2026Q3/households/{H1}/check",
}
VILLAGE1_READ = {"village1", "village1_household", "village1_board", "village1_household_reviews", "village1_plaques"}
VILLAGE1_READ |= {"village1_notice_pdf", "village1_certificate_pdf", "village1_certificates_pdf", "village1_notices"}
VILLAGE1_WRITE = {
    "village1_group_entry",
    "village1_new",
    "village1_edit",
    "village1_review_form",
    "village1_template",
    "village1_upload",
    "village1_roster_upload",
}
VILLAGE2_READ = {"village2", "village2_board"}
TOWNSHIPS_READ = {
    "township1",
    "township1_village",
    "township1_plaques",
    "township1_plaque",
    "township2",
    "township2_village",
    "township1_objections",
    "township2_objections",
    "township1_ranking",
    "township1_notices",
}
ALLOWED = {
    "village": VILLAGE1_READ | VILLAGE1_WRITE,
    "village2": VILLAGE2_READ,
    "township": VILLAGE1_READ
    | {
        "township1",
        "township1_village",
        "township1_plaques",
        "township1_plaque",
        "township1_objections",
        "township1_ranking",
        "township1_notices",
    },
    "township2": VILLAGE2_READ | {"township2", "township2_village", "township2_objections"},
    "county": VILLAGE1_READ
    | VILLAGE2_READ
    | TOWNSHIPS_READ
    | {
        "county",
        "county_users",
        "county_settings",
        "county_periods",
        "county_units",
        "county_roster",
        "county_rollout",
        "county_programme_years",
        "county_rubric",
        "county_dashboard",
        "county_inspection_teams",
        "inspection_ranking",
        "inspection_ranking_file",
    },
    "county2": {"village_other_county", "township_other_county", "county_other"},
    "inspector": VILLAGE1_READ
    | VILLAGE2_READ
    | TOWNSHIPS_READ
    | {
        "inspection",
        "inspection_sample",
        "county_dashboard",
        "inspection_notices",
        "inspection_notices_file",
        "inspection_notice_new",
        "inspection_ranking",
        "inspection_ranking_file",
        "inspection_checks",
        "inspection_checks_other_team",
        "inspection_check",
    },
    "inspector2": {"village_other_county", "township_other_county", "inspection_other"},
}


@pytest.mark.parametrize("username", sorted(ALLOWED))
def test_each_role_reads_its_own_units_only(client: FlaskClient, auth: Auth, username: str) -> None:
    assert auth.login(username).status_code == 302
    wrong = []
    for name, url in ROUTES.items():
        expected = 200 if name in ALLOWED[username] else 403
        status = client.get(url).status_code
        if status != expected:
            wrong.append(f"{name} {url}: {status}, expected {expected}")
    assert wrong == []


def test_anonymous_visitors_reach_no_protected_page(client: FlaskClient) -> None:
    for url in ROUTES.values():
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), url


def test_unknown_units_are_not_found(client: FlaskClient, auth: Auth) -> None:
    auth.login("county")
    for url in (
        "/village/000/",
        "/township/000/",
        "/county/000/",
        "/village/5209990101/households/000",
        "/village/5209990101/periods/1999Q1/",
        "/township/52099901/periods/2026Q4/villages/5209990201/",
        "/township/52099901/periods/2026Q4/villages/000/",
    ):
        assert client.get(url).status_code == 404, url


def test_a_household_of_another_village_is_not_found_through_this_village(client: FlaskClient, auth: Auth) -> None:
    auth.login("village")
    assert client.get("/village/5209990101/households/520999020101001").status_code == 404


def household_count(db_session: Session) -> int:
    return db_session.scalar(sa.select(sa.func.count(Household.id))) or 0


NEW_HOUSEHOLD = {"code": "520999010101999", "head_name": "张新户", "group_id": "1", "members": "3", "phone": ""}


@pytest.mark.parametrize("username", ["village2", "township", "county", "inspector", "county2"])
def test_nobody_but_the_village_clerk_writes_to_the_village(
    client: FlaskClient, auth: Auth, db_session: Session, username: str
) -> None:
    before = household_count(db_session)
    auth.login(username)
    token = auth.token("/")
    created = client.post("/village/5209990101/households/new", data={"csrf_token": token, **NEW_HOUSEHOLD})
    edited = client.post(
        f"/village/5209990101/households/{H1}/edit",
        data={"csrf_token": token, "head_name": "篡改", "group_id": "1", "members": "1", "reason": "x", "version": "1"},
    )
    assert (created.status_code, edited.status_code) == (403, 403)
    db_session.rollback()  # end the read snapshot: see what the request committed
    assert household_count(db_session) == before
    assert db_session.scalars(sa.select(Household.head_name).where(Household.code == H1)).one() != "篡改"


@pytest.mark.parametrize("username", ["county2", "township", "inspector", "village"])
def test_only_the_county_administrator_creates_accounts(
    client: FlaskClient, auth: Auth, db_session: Session, username: str
) -> None:
    auth.login(username)
    response = auth.post(
        "/county/520999/users",
        {
            "username": "sneaky",
            "display_name": "x",
            "role": "county_admin",
            "unit_code": "520999",
            "password": "long-enough-1",
        },
        token_from="/",
    )
    assert response.status_code == 403
    assert db_session.scalar(sa.select(User).where(User.username == "sneaky")) is None
