"""``hygiene public-rows``: records posted before migration 0021 (or stored in an older markup) get
their public list's rows stored, so their pages stop rendering them live (issue 34)."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from hygiene.db import make_sessionmaker
from hygiene.models import ResultRecord
from hygiene.services.rating import records
from web.cli import main


def run(engine: sa.Engine, *args: str) -> str:
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.output


def stored(engine: sa.Engine) -> dict[int, object]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(ResultRecord.id, ResultRecord.public_rows).order_by(ResultRecord.id)).all())


def test_public_rows_stores_what_posting_stores_for_records_lacking_it_and_nothing_else(
    committing_engine: sa.Engine,
) -> None:
    as_posted = stored(committing_engine)
    assert as_posted and all(as_posted.values())  # the seed posts through records.post
    first, *others = sorted(as_posted)
    with make_sessionmaker(committing_engine).begin() as session:
        session.execute(sa.update(ResultRecord).where(ResultRecord.id == first).values(public_rows=None))
        if others:  # an older markup counts as lacking too
            older = dict(as_posted[others[0]]) | {"format": records.PUBLIC_ROWS_FORMAT - 1}  # type: ignore[call-overload]
            session.execute(sa.update(ResultRecord).where(ResultRecord.id == others[0]).values(public_rows=older))
    lacking = 1 + bool(others)
    with make_sessionmaker(committing_engine)() as session:
        assert records.records_lacking_public_rows(session) == [first, *others[:1]]

    output = run(committing_engine, "public-rows")

    assert f"已为 {lacking} 份公示记录保存名单页面" in output
    assert stored(committing_engine) == as_posted  # the same markup and groups posting stored
    assert "未作更改" in run(committing_engine, "public-rows")
