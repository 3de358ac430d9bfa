"""Users (one role, scoped to one unit), failed-login records and the append-only audit log."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hygiene.db import Base
from hygiene.enums import Role
from hygiene.models._types import UTCDateTime, county_id_column, enum_type, utcnow

if TYPE_CHECKING:
    from hygiene.models.units import Township


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


# Each role is scoped to exactly one unit of its level; an inspector to its county, or (issue 33, three
# levels of supervision) to a city or to a township, whose own inspectors it is.
SCOPE_MATCHES_ROLE = (
    "(role IN ('county_admin', 'inspector') AND county_id IS NOT NULL"
    " AND township_id IS NULL AND village_id IS NULL AND city_id IS NULL)"
    " OR (role = 'inspector' AND city_id IS NOT NULL"
    " AND county_id IS NULL AND township_id IS NULL AND village_id IS NULL)"
    " OR (role IN ('township_reviewer', 'inspector') AND township_id IS NOT NULL"
    " AND county_id IS NULL AND village_id IS NULL AND city_id IS NULL)"
    " OR (role = 'village_clerk' AND village_id IS NOT NULL"
    " AND county_id IS NULL AND township_id IS NULL AND city_id IS NULL)"
)


class User(Base):
    """A staff account. ``session_token`` is what the login cookie carries; rotating it (logout,
    password change, disabling) ends every session of the account (RELIABILITY.md trap 1)."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(SCOPE_MATCHES_ROLE, name="scope_matches_role"),
        sa.CheckConstraint("length(username) >= 2", name="username_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(40), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(40))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(enum_type(Role, "user_role"))
    county_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counties.id", ondelete="RESTRICT"))
    township_id: Mapped[int | None] = mapped_column(sa.ForeignKey("townships.id", ondelete="RESTRICT"))
    village_id: Mapped[int | None] = mapped_column(sa.ForeignKey("villages.id", ondelete="RESTRICT"))
    city_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cities.id"))
    session_token: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_session_token)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Set when the county administrator resets the password: the user must choose a new one first.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    phone: Mapped[str | None] = mapped_column(sa.String(20))  # from the account sheet (issue 30)
    # An inspector's inspection team (of the inspector's own county; hygiene.services.supervision.inspections):
    # it writes spot checks only in the townships its team holds in a period. No ON DELETE action
    # (migration 0010): a team is never deleted while it has members.
    inspection_team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inspection_teams.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    # A township reviewer's or a township inspector's township (hygiene.permissions reads its county).
    township: Mapped[Township | None] = relationship()

    # Flask-Login's user protocol, without importing Flask into the domain. The login cookie
    # carries the rotating session token, never the user id ("alternative tokens").
    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False

    def get_id(self) -> str:
        return self.session_token


class LoginAttempt(Base):
    """Failed logins, counted in the database so the limit holds across all server workers."""

    __tablename__ = "login_attempts"
    __table_args__ = (sa.Index("ix_login_attempts_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80))
    remote_addr: Mapped[str | None] = mapped_column(sa.String(45))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginThrottle(Base):
    """A failure counter for one key (an account and client pair, a client, an account) within
    the current window, bumped by one atomic upsert so that concurrent attempts are all counted."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(sa.String(140), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Who changed what, when, from what to what, and why. The database refuses UPDATE and
    DELETE on this table (triggers created by the initial migration). ``county_id`` is the county
    of the entity (issue 20, migration 0012): of the household, the village period, the notice …;
    for an account, the account's own county (its unit's). Every read names it."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_entity", "county_id", "entity", "entity_id"),
        sa.Index("ix_audit_log_chain", "county_id", "id"),  # a county's last entry (the hash chain, issue 32)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = county_id_column()
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    actor: Mapped[str] = mapped_column(sa.String(40))
    entity: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str] = mapped_column(sa.String(40))
    action: Mapped[str] = mapped_column(sa.String(40))
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    # The hash chain (issue 32, ``hygiene.digests``): the county's previous entry's hash (None for
    # its first) and this entry's own, set by ``audit.record``. None in ``hash`` only for an entry
    # written outside the app, which ``hygiene check`` reports.
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(sa.String(64))
