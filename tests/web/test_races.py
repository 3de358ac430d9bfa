"""Two people posting the same form at the same moment, through the app, on SQLite and PostgreSQL:
exactly one wins each round, the other gets the Chinese 409 page (never a 500), and exactly one
audit row is written per round. Reproduces the outside probe's races (issue 15): a group review,
a quota, a household's edit form."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from hygiene.db import make_sessionmaker
from hygiene.enums import CRITERIA
from hygiene.models import AuditEntry, Household, Village, VillagePeriod
from tests.web.conftest import Auth, csrf_token
from web import create_app

ROUNDS = 50
V1, T1 = "/village/5209990101", "/township/52099901"
VERSION = re.compile(r'name="version" type="hidden" value="(\d+)"')


@pytest.fixture
def race_app(committing_engine: sa.Engine) -> Iterator[Flask]:
    url = committing_engine.url.render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "race-test-secret-key-0123456789abcdef"})
    yield app
    app.extensions["hygiene.engine"].dispose()


@dataclass
class Form:
    """A form as two people hold it: the page to read it from, where it posts, what it sends."""

    page: str
    action: str
    fields: Callable[[int], dict[str, object]]  # round number → the posted fields (besides token, version)


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert Auth(client).login(username).status_code == 302
    return client


def race(app: Flask, username: str, form: Form, audits: Callable[[], int]) -> list[int]:
    """ROUNDS rounds of two clients that read the same version, then post at once; returns every
    status and checks each round's single winner by its audit row."""
    clients = [signed_in(app, username), signed_in(app, username)]
    statuses: list[int] = []
    for round_number in range(ROUNDS):
        held = []
        for client in clients:
            html = client.get(form.page).get_data(as_text=True)
            version = VERSION.search(html, max(0, html.find(f'action="{form.action}"')))  # this form's own
            held.append({"csrf_token": csrf_token(html), "version": version.group(1) if version else "0"})
        assert held[0]["version"] == held[1]["version"]
        before = audits()
        barrier = threading.Barrier(2)
        answers: list[int] = [0, 0]
        threads = [
            threading.Thread(
                target=post_at_once,
                args=(barrier, clients[i], form.action, held[i] | form.fields(round_number * 2 + i), answers, i),
            )
            for i in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        statuses += answers
        winners = [a for a in answers if a in (200, 302, 303)]
        assert len(winners) == 1 and set(answers) - {200, 302, 303} <= {409}, (round_number, answers)
        assert audits() == before + 1, round_number
    return statuses


def post_at_once(
    barrier: threading.Barrier, client: FlaskClient, action: str, fields: dict[str, object], answers: list[int], i: int
) -> None:
    barrier.wait()
    answers[i] = client.post(action, data=fields).status_code


def counter(app: Flask, *where: sa.ColumnElement[bool]) -> Callable[[], int]:
    maker = make_sessionmaker(app.extensions["hygiene.engine"])

    def count() -> int:
        with maker() as session:
            return session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(*where)) or 0

    return count


def household_id(app: Flask, code: str) -> int:
    with make_sessionmaker(app.extensions["hygiene.engine"])() as session:
        return session.scalars(sa.select(Household.id).where(Household.code == code)).one()


def scores(n: int) -> dict[str, object]:
    return {c: str(5 + (n + i) % 5) for i, c in enumerate(CRITERIA)}


def test_two_clerks_saving_the_same_group_review(race_app: Flask) -> None:
    code = "520999010101002"
    page = f"{V1}/periods/2026Q4/households/{code}/review?kind=group"
    form = Form(page, page, lambda n: {"team_members": "王组长", **scores(n)})
    audits = counter(
        race_app, AuditEntry.entity == "household", AuditEntry.entity_id == str(household_id(race_app, code))
    )
    statuses = race(race_app, "village", form, audits)
    assert statuses.count(409) == ROUNDS


def test_two_reviewers_setting_the_same_quotas(race_app: Flask) -> None:
    page = f"{T1}/periods/2026Q4/villages/5209990102/"
    form = Form(page, page + "quotas", lambda n: {"cleanest_quota": str(10 + n), "clean_quota": str(20 + n)})
    with make_sessionmaker(race_app.extensions["hygiene.engine"])() as session:
        village_period = session.scalars(
            sa.select(VillagePeriod.id).join(Village).where(Village.code == "5209990102", VillagePeriod.period_id == 2)
        ).one()
    audits = counter(race_app, AuditEntry.entity == "award_quota", AuditEntry.entity_id == str(village_period))
    statuses = race(race_app, "township", form, audits)
    assert statuses.count(409) == ROUNDS


def test_two_clerks_saving_the_same_households_edit_form(race_app: Flask) -> None:
    code = "520999010101003"
    page = f"{V1}/households/{code}/edit"
    with make_sessionmaker(race_app.extensions["hygiene.engine"])() as session:
        household = session.scalars(sa.select(Household).where(Household.code == code)).one()
        group_id = household.group_id

    form = Form(
        page,
        page,
        lambda n: {"head_name": f"户主{n}", "group_id": group_id, "members": str(1 + n % 9), "reason": "核实"},
    )
    audits = counter(race_app, AuditEntry.entity == "household", AuditEntry.entity_id == str(household.id))
    statuses = race(race_app, "village", form, audits)
    assert statuses.count(409) == ROUNDS


def test_two_inspectors_saving_the_same_spot_check(race_app: Flask) -> None:
    """Issue 28: on PostgreSQL the loser of a spot check saved twice got a bare English 500 (11/12)."""
    from tests.web.test_spot_checks import check_url, without_plaque

    with make_sessionmaker(race_app.extensions["hygiene.engine"])() as session:
        code = without_plaque(session)
    page = check_url(code)
    form = Form(page, page, lambda n: {c: str(5 + (n + i) % 5) for i, c in enumerate(CRITERIA)} | {"members": "王组长"})
    audits = counter(race_app, AuditEntry.entity == "spot_check", AuditEntry.action.is_not(None))
    statuses = race(race_app, "inspector", form, audits)
    assert statuses.count(409) == ROUNDS
