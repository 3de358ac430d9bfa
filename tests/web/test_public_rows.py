"""The posted list's rows rendered once (issue 34): a record stores its rows' markup when it is
posted, and the page inserts it around what changes (the days left, the objections, the state).
A record without it (posted before migration 0021, or in an older markup) is rendered from its rows,
to the same bytes; a search renders the rows it finds with the same function."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import AwardLevel, Grade
from hygiene.models import ResultRecord
from hygiene.models._types import utcnow
from hygiene.services.rating import objections, records
from hygiene.services.rating.records import PostedRow
from tests.web.test_public_site import FINAL, POSTED, listed_codes, posted_period, rated_rows
from web.public import cache

# The row loop list.html had before issue 34's change, kept here as the reference for the bytes.
ROW_LOOP = """{% for r in rows %}
<tr class="g-{{ r.grade.value }}"><td>{{ r.rank }}<td><a href="households/{{ r.household_code }}">{{ r.household_code }}</a><td>{{ r.masked_name }}<td>{{ r.final_total }}<td>{{ r.grade.label }}<td>{{ r.award.label if r.award else "" }}
    {% endfor %}"""  # noqa: E501


def fresh(app: Flask) -> None:
    """Every page rendered again on its next request, as by a freshly started worker."""
    with app.app_context():
        cache.pages().clear()
    app.extensions.pop("hygiene.public_versions", None)


def clear_stored_rows(db: Session) -> int:
    """Every record as if posted before migration 0021: no stored rows."""
    cleared = db.execute(sa.update(ResultRecord).values(public_rows=None)).rowcount
    db.commit()
    return cleared


@pytest.fixture
def row_reads(app: Flask) -> Iterator[list[str]]:
    """The statements that read all of a record's household rows, as the app sends them (not the
    red and black list of a final period, three rows each)."""
    seen: list[str] = []

    def before(conn, cursor, statement, params, context, many) -> None:  # type: ignore[no-untyped-def]
        if "FROM result_record_households" in statement and "LIMIT" not in statement:
            seen.append(statement)

    engine = app.extensions["hygiene.engine"]
    sa.event.listen(engine, "before_cursor_execute", before)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", before)


def test_the_rows_markup_is_the_bytes_the_templates_row_loop_gave_escaped_alike(app: Flask) -> None:
    rows = [
        PostedRow(1, "0101001", "张**", "一组", Grade.CLEANEST, "98.5", AwardLevel.CLEANEST, 985),
        PostedRow(2, "01<01>&\"0'2", "<**", "二组", Grade.FAIRLY_CLEAN, "70.0", None, 700),
        PostedRow(2, "0101003", "&**", "二组", Grade.NOT_CLEAN, "59.9", None, 599),
    ]
    with app.test_request_context("/"):
        assert records.rows_html(rows) == render_template_string(ROW_LOOP, rows=rows)
    assert "&lt;01&gt;&amp;&#34;0&#39;2" in records.rows_html(rows) and "<**" not in records.rows_html(rows)
    assert records.rows_html([]) == ""


def test_a_posted_list_reads_its_stored_rows_and_renders_the_same_page_without_them(
    app: Flask, client: FlaskClient, db_session: Session, row_reads: list[str]
) -> None:
    stored = db_session.scalars(sa.select(ResultRecord).where(ResultRecord.public_rows.is_not(None))).all()
    assert stored, "the demo's records are posted through records.post, which stores their rows"
    pages = {}
    for path in (FINAL, POSTED):
        response = client.get(path)
        assert response.status_code == 200
        pages[path] = response.get_data()
    assert not [s for s in row_reads if "final_total" in s], "the unsearched page read the household rows"
    final_codes = listed_codes(pages[FINAL].decode())
    assert final_codes == [row.household_code for row in rated_rows(db_session, "5209990101", "2026Q3")]

    assert clear_stored_rows(db_session) >= len(stored)
    fresh(app)
    for path in (FINAL, POSTED):
        assert client.get(path).get_data() == pages[path], f"{path}: the live rows differ from the stored ones"
    assert [s for s in row_reads if "final_total" in s], "without stored rows the page reads the rows"


def test_stored_rows_in_an_older_markup_are_not_shown(app: Flask, client: FlaskClient, db_session: Session) -> None:
    page = client.get(FINAL).get_data()
    db_session.execute(
        sa.update(ResultRecord).values(public_rows={"format": 0, "html": "<tr><td>旧版", "groups": ["旧组"]})
    )
    db_session.commit()
    fresh(app)
    again = client.get(FINAL).get_data()
    assert again == page and "旧版".encode() not in again and "旧组".encode() not in again


@pytest.mark.parametrize("stored", [True, False], ids=["stored rows", "rendered rows"])
def test_a_search_finds_the_same_rows_with_or_without_stored_rows(
    app: Flask, client: FlaskClient, db_session: Session, stored: bool
) -> None:
    if not stored:
        clear_stored_rows(db_session)
    rows = rated_rows(db_session, "5209990101", "2026Q3")
    by_code = client.get(FINAL, query_string={"q": rows[0].household_code}).get_data(as_text=True)
    assert listed_codes(by_code) == [rows[0].household_code] and "找到 1 户" in by_code
    group = rows[-1].group_name
    by_group = client.get(FINAL, query_string={"group": group}).get_data(as_text=True)
    assert listed_codes(by_group) == [r.household_code for r in rows if r.group_name == group]
    assert f"<option selected>{group}</option>" in by_group
    nothing = client.get(FINAL, query_string={"q": "没有这个姓"}).get_data(as_text=True)
    assert listed_codes(nothing) == [] and "没有找到符合条件的农户" in nothing and "找到 0 户" in nothing


def test_the_days_left_and_the_objections_change_around_the_stored_rows(
    app: Flask, client: FlaskClient, db_session: Session, row_reads: list[str]
) -> None:
    village_period = posted_period(db_session)
    village_period.posting_ends_at = utcnow() + dt.timedelta(days=2, hours=3)
    db_session.commit()
    html = client.get(POSTED).get_data(as_text=True)
    assert "<strong>公示期还剩 3 天</strong>" in html and "异议及处理结果" not in html
    rows = rated_rows(db_session, "5209990104", "2026Q4")
    assert listed_codes(html) == [r.household_code for r in rows]

    objections.file_objection(db_session, village_period, rows[1].household_code, reason="分数不对", client="x" * 64)
    village_period.posting_ends_at = utcnow() + dt.timedelta(hours=30)
    db_session.commit()
    row_reads.clear()  # the objection's service read the record's rows; the page must not
    html = client.get(POSTED).get_data(as_text=True)  # a new version: the objection and the days left
    assert "<strong>公示期还剩 2 天</strong>" in html and "异议及处理结果" in html and "待处理" in html
    assert listed_codes(html) == [r.household_code for r in rows]
    assert not [s for s in row_reads if "final_total" in s]
