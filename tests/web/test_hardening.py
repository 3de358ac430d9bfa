"""What the second outside probe broke (issue 28), each finding as a test through the app, on
SQLite and PostgreSQL where the database matters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from hygiene.db import make_sessionmaker
from hygiene.enums import ReviewKind
from hygiene.models import Household, Period, Review
from tests.web.conftest import Auth, csrf_token
from tests.web.test_village_reviews import group_cells
from web import create_app

GROUP_ENTRY = "/village/5209990101/periods/2026Q4/groups/520999010101/review"
H2, H3 = "520999010101002", "520999010101003"


@pytest.fixture
def any_app(committing_engine: sa.Engine) -> Iterator[Flask]:
    url = committing_engine.url.render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "hardening-test-secret-key-0123456789"})
    yield app
    app.extensions["hygiene.engine"].dispose()


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert Auth(client).login(username).status_code == 302
    return client


def group_review_c01(app: Flask, code: str) -> int | None:
    with make_sessionmaker(app.extensions["hygiene.engine"])() as session:
        return session.scalar(
            sa.select(Review.c01)
            .join(Household, Review.household_id == Household.id)
            .join(Period, Review.period_id == Period.id)
            .where(Household.code == code, Review.kind == ReviewKind.GROUP, Period.code == "2026Q4")
        )


def test_saving_one_row_of_the_group_screen_never_puts_back_another_rows_old_values(any_app: Flask) -> None:
    """Finding 4: A saves household X, B saves household Y from the page read before: X kept A's value."""
    a, b = signed_in(any_app, "village"), signed_in(any_app, "village")
    page_a, page_b = (c.get(GROUP_ENTRY).get_data(as_text=True) for c in (a, b))
    old_h2 = group_review_c01(any_app, H2)
    new_h2 = "7" if old_h2 != 70 else "6"
    form_a = group_cells(page_a) | {"csrf_token": csrf_token(page_a), f"s_{H2}_c01": new_h2}
    assert a.post(GROUP_ENTRY, data=form_a).status_code == 303
    saved_h2 = group_review_c01(any_app, H2)
    assert saved_h2 == int(new_h2) * 10
    form_b = group_cells(page_b) | {"csrf_token": csrf_token(page_b)}
    form_b |= {f"s_{H3}_{c}": "8" for c in ("c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09", "c10")}
    refused = b.post(GROUP_ENTRY, data=form_b)
    assert refused.status_code == 409 and "已被他人修改" in refused.get_data(as_text=True)
    assert group_review_c01(any_app, H2) == saved_h2
    # B reads the screen again and saves: H2 keeps A's value, H3 gets B's
    page_b = b.get(GROUP_ENTRY).get_data(as_text=True)
    form_b = group_cells(page_b) | {"csrf_token": csrf_token(page_b)}
    form_b |= {f"s_{H3}_{c}": "8" for c in ("c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09", "c10")}
    assert b.post(GROUP_ENTRY, data=form_b).status_code == 303
    assert group_review_c01(any_app, H2) == saved_h2 and group_review_c01(any_app, H3) == 80
