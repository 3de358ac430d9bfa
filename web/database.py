"""One SQLAlchemy session per request (or CLI command), closed at teardown. The view or command
that owns the transaction commits; services only flush."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa
from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session, sessionmaker

from hygiene.db import make_engine, make_sessionmaker


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["hygiene.engine"] = engine
    app.extensions["hygiene.sessionmaker"] = make_sessionmaker(engine)
    app.extensions["hygiene.write_sessionmaker"] = make_sessionmaker(engine, write=True)
    if app.config.get("DATABASE_REPLICA_URL"):  # a read-only standby for the public pages (issue 32)
        replica = make_engine(app.config["DATABASE_REPLICA_URL"]).execution_options(postgresql_readonly=True)
        app.extensions["hygiene.replica_engine"] = replica
        app.extensions["hygiene.replica_sessionmaker"] = make_sessionmaker(replica)
    app.teardown_appcontext(_close_session)


def session_factory() -> sessionmaker[Session]:
    return cast("sessionmaker[Session]", current_app.extensions["hygiene.sessionmaker"])


def get_session() -> Session:
    """The request's session. A request that may write (anything but GET/HEAD) takes SQLite's
    write lock when its transaction begins; reads never lock. The public pages' reads go to the
    replica when ``DATABASE_REPLICA_URL`` names one."""
    if "db_session" not in g:
        writes = request.method not in ("GET", "HEAD", "OPTIONS")
        if not writes and request.blueprint == "public" and "hygiene.replica_sessionmaker" in current_app.extensions:
            g.db_session = current_app.extensions["hygiene.replica_sessionmaker"]()
        else:
            g.db_session = current_app.extensions["hygiene.write_sessionmaker" if writes else "hygiene.sessionmaker"]()
    return cast(Session, g.db_session)


def reset_session() -> None:
    """Drop the request's session after a failed write (its transaction is unusable, and rolling it
    back would expire every loaded row), and the signed-in user loaded through it: the next
    ``get_session()`` and ``current_user`` start clean, so an error page can still be rendered."""
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        _close(session)
    g.pop("_login_user", None)


def _close(session: Session) -> None:
    """Close a request's session; a connection the server dropped (a failover, a restart) has
    nothing left to roll back, so its error is logged rather than raised over the answer."""
    try:
        session.close()
    except sa.exc.DBAPIError:
        current_app.logger.warning("the database connection was lost before the request ended", exc_info=True)


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        _close(session)  # rolls back anything a failed request left uncommitted
