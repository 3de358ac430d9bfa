"""Staff accounts: creation scoped to one unit, argon2id passwords, login with a failure limit
counted in the database, and session tokens that rotate on logout, password change and disabling."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from hygiene.enums import Role
from hygiene.models import County, LoginAttempt, Township, User, Village
from hygiene.models._types import utcnow
from hygiene.models.accounts import new_session_token
from hygiene.services import audit
from hygiene.services.errors import NotFound, ServiceError

# OWASP's argon2id minimum: 19 MiB, 2 iterations, 1 lane (about 44 ms here).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 8
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{2,40}$")
ACCOUNT_FIELDS = ("username", "display_name", "role", "county_id", "township_id", "village_id", "is_active")


class LoginThrottled(ServiceError):
    pass


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"密码至少需要{MIN_PASSWORD_LENGTH}位")


def resolve_unit(session: Session, role: Role, unit_code: str) -> dict[str, int | None]:
    """The scope columns for a user of ``role`` in the unit with ``unit_code``."""
    scope: dict[str, int | None] = {"county_id": None, "township_id": None, "village_id": None}
    if role in (Role.COUNTY_ADMIN, Role.INSPECTOR):
        county = session.scalar(sa.select(County).where(County.code == unit_code))
        if county is None:
            raise NotFound(f"找不到编码为 {unit_code} 的县")
        scope["county_id"] = county.id
    elif role is Role.TOWNSHIP_REVIEWER:
        township = session.scalar(sa.select(Township).where(Township.code == unit_code))
        if township is None:
            raise NotFound(f"找不到编码为 {unit_code} 的乡镇")
        scope["township_id"] = township.id
    else:
        village = session.scalar(sa.select(Village).where(Village.code == unit_code))
        if village is None:
            raise NotFound(f"找不到编码为 {unit_code} 的村")
        scope["village_id"] = village.id
    return scope


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    unit_code: str,
    display_name: str | None = None,
    actor: User | None = None,
    within_county: County | None = None,
) -> User:
    """Create an account scoped to the unit ``unit_code``. An administrator passes their own county
    as ``within_county``: a unit of another county is then "not found", as if it did not exist."""
    username = username.strip()
    if not USERNAME_PATTERN.match(username):
        raise ServiceError(f"用户名 {username!r} 不合规：2–40位字母、数字或 _ . -")
    _check_password_strength(password)
    if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise ServiceError(f"用户名 {username} 已存在")
    scope = resolve_unit(session, role, unit_code)
    if within_county is not None and _county_of_scope(session, scope) != within_county.id:
        raise NotFound(f"本县没有编码为 {unit_code} 的单位")
    user = User(
        username=username,
        display_name=(display_name or username).strip(),
        password_hash=hash_password(password),
        role=role,
        **scope,
    )
    session.add(user)
    session.flush()
    audit.record(
        session, actor, entity="user", entity_id=user.id, action="create", after=audit.snapshot(user, ACCOUNT_FIELDS)
    )
    return user


def _county_of_scope(session: Session, scope: dict[str, int | None]) -> int | None:
    if scope["county_id"] is not None:
        return scope["county_id"]
    if scope["township_id"] is not None:
        return session.scalar(sa.select(Township.county_id).where(Township.id == scope["township_id"]))
    return session.scalar(sa.select(Township.county_id).join(Village).where(Village.id == scope["village_id"]))


def _recent_failures(session: Session, username: str, now: dt.datetime) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count(LoginAttempt.id)).where(
                LoginAttempt.username == username, LoginAttempt.at > now - FAILURE_WINDOW
            )
        )
        or 0
    )


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    remote_addr: str | None = None,
    now: dt.datetime | None = None,
) -> User | None:
    """The active user with these credentials, or None. After ``MAX_FAILURES`` failures within
    ``FAILURE_WINDOW`` every attempt for that username is refused, known user or not, with the
    same message, so the reply tells nothing about which usernames exist."""
    now = now or utcnow()
    username = username.strip()
    if _recent_failures(session, username, now) >= MAX_FAILURES:
        raise LoginThrottled("登录失败次数过多，请15分钟后再试")
    user = session.scalar(sa.select(User).where(User.username == username))
    try:
        ok: bool = _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or not user.is_active:
        session.add(LoginAttempt(username=username[:80], remote_addr=remote_addr, at=now))
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def user_for_session_token(session: Session, token: str) -> User | None:
    return session.scalar(sa.select(User).where(User.session_token == token, User.is_active.is_(True)))


def end_sessions(user: User) -> None:
    """Invalidate every cookie issued for this account."""
    user.session_token = new_session_token()


def change_password(session: Session, user: User, current: str, new: str) -> None:
    try:
        _HASHER.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise ServiceError("当前密码不正确") from None
    _check_password_strength(new)
    user.password_hash = hash_password(new)
    end_sessions(user)
    audit.record(session, user, entity="user", entity_id=user.id, action="change_password")


def set_active(session: Session, user: User, active: bool, *, actor: User | None, reason: str) -> None:
    before = audit.snapshot(user, ("is_active",))
    user.is_active = active
    end_sessions(user)
    audit.record(
        session,
        actor,
        entity="user",
        entity_id=user.id,
        action="enable" if active else "disable",
        before=before,
        after=audit.snapshot(user, ("is_active",)),
        reason=reason,
    )
