"""Staff accounts: creation scoped to one unit, argon2id passwords, login with a failure limit
counted in the database, and session tokens that rotate on logout, password change and disabling."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hygiene.enums import Role
from hygiene.models import City, County, LoginAttempt, LoginThrottle, Township, User, Village
from hygiene.models._types import utcnow
from hygiene.models.accounts import new_session_token
from hygiene.services import audit
from hygiene.services.errors import NotFound, ServiceError

# OWASP's argon2id minimum: 19 MiB, 2 iterations, 1 lane (about 44 ms here).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 200  # as the forms allow; NIST asks for at least 64
MAX_FAILURES = 5  # per account and client pair
CLIENT_MAX_FAILURES = 20  # per client address, across usernames
ACCOUNT_SLOWDOWN_AFTER = 10  # per account, from any client: then a growing wait, never a lock
ACCOUNT_MAX_DELAY = dt.timedelta(seconds=60)
FAILURE_WINDOW = dt.timedelta(minutes=15)
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{2,40}$")
ACCOUNT_FIELDS = ("username", "display_name", "role", "county_id", "township_id", "village_id", "is_active")


class LoginThrottled(ServiceError):
    pass


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


@functools.cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of zxcvbn's list (from leaked password sets)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _check_password_strength(password: str, username: str | None = None) -> None:
    """The password policy of NIST SP 800-63B (docs/security.md): at least MIN_PASSWORD_LENGTH
    characters (at most MAX_PASSWORD_LENGTH), any printable characters, no composition rules, and
    not a password attackers try first: one of the common passwords, one character repeated, a run
    of consecutive characters (12345678, abcdefgh) or the username itself."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"密码至少需要{MIN_PASSWORD_LENGTH}位")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ServiceError(f"密码不能超过{MAX_PASSWORD_LENGTH}位")
    if any(unicodedata.category(c) == "Cc" for c in password):
        raise ServiceError("密码不能包含控制字符（如换行、空字符）")
    folded = password.casefold()
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(folded)}
    if (
        folded in _common_passwords()
        or len(set(folded)) == 1
        or steps in ({1}, {-1})
        or (username and folded == username.strip().casefold())
    ):
        raise ServiceError("这个密码太常见或太简单，容易被猜中；请换一个，可以用几个词连成一句话（不要求大小写或符号）")


def resolve_unit(session: Session, role: Role, unit_code: str) -> dict[str, int | None]:
    """The scope columns for a user of ``role`` in the unit with ``unit_code``."""
    scope: dict[str, int | None] = {"county_id": None, "township_id": None, "village_id": None}
    if role is Role.INSPECTOR:  # RULES.md §9, three levels: a county's, a city's or a township's own
        return _inspector_unit(session, unit_code) | {"village_id": None}
    if role is Role.COUNTY_ADMIN:
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


def _inspector_unit(session: Session, unit_code: str) -> dict[str, int | None]:
    """An inspector's supervising unit by its code: a county, a city (with counties) or a township."""
    county = session.scalar(sa.select(County.id).where(County.code == unit_code))
    if county is not None:
        return {"county_id": county, "township_id": None}
    city = session.scalar(sa.select(City).where(City.code == unit_code))
    if city is not None:
        if not city.counties:
            raise ServiceError(f"{city.name}还没有所辖县，不能设督查员")
        return {"city_id": city.id, "county_id": None, "township_id": None}
    township = session.scalar(sa.select(Township.id).where(Township.code == unit_code))
    if township is None:
        raise NotFound(f"找不到编码为 {unit_code} 的县、市或乡镇")
    return {"township_id": township, "county_id": None}


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
    as ``within_county``: a unit of another county is then "not found", as if it did not exist.
    An account an administrator (``actor``) creates must choose its own password at the first login:
    the administrator knows the first one."""
    username = username.strip()
    if not USERNAME_PATTERN.match(username):
        raise ServiceError(f"用户名 {username!r} 不合规：2–40位字母、数字或 _ . -")
    _check_password_strength(password, username)
    if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise ServiceError(f"用户名 {username} 已存在")
    scope = resolve_unit(session, role, unit_code)
    county_id = _county_of_scope(session, scope)
    if within_county is not None and county_id != within_county.id:
        raise NotFound(f"本县没有编码为 {unit_code} 的单位")
    user = User(
        username=username,
        display_name=(display_name or username).strip(),
        password_hash=hash_password(password),
        role=role,
        must_change_password=actor is not None,
        **scope,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, user, county_id=county_id, action="create", after=audit.snapshot(user, ACCOUNT_FIELDS))
    return user


def county_accounts(session: Session, county: County) -> list[User]:
    """Every account of the county and of its townships and villages, by role and username."""
    township_ids = sa.select(Township.id).where(Township.county_id == county.id)
    village_ids = sa.select(Village.id).where(Village.township_id.in_(township_ids))
    return list(
        session.scalars(
            sa.select(User)
            .where(
                sa.or_(
                    User.county_id == county.id, User.township_id.in_(township_ids), User.village_id.in_(village_ids)
                )
            )
            .order_by(User.role, User.username)
        )
    )


@dataclass(frozen=True)
class UnitChoice:
    """A unit an account may belong to, as the account form offers it: picked by name."""

    code: str
    label: str
    roles: tuple[Role, ...]


def unit_choices(session: Session, county: County) -> list[UnitChoice]:
    """The county itself, its townships and its villages (乡镇 · 村), in code order."""
    choices = [UnitChoice(county.code, f"{county.name}（县）", (Role.COUNTY_ADMIN, Role.INSPECTOR))]
    for township in session.scalars(sa.select(Township).where(Township.county_id == county.id).order_by(Township.code)):
        choices.append(UnitChoice(township.code, township.name, (Role.TOWNSHIP_REVIEWER,)))
        choices += [
            UnitChoice(v.code, f"{township.name} · {v.name}", (Role.VILLAGE_CLERK,))
            for v in sorted(township.villages, key=lambda v: v.code)
        ]
    return choices


def unit_labels(session: Session, county: County) -> dict[tuple[str, int], str]:
    """Each unit's name by ("county" | "township" | "village", id), for the account table."""
    labels: dict[tuple[str, int], str] = {("county", county.id): county.name}
    for township in session.scalars(sa.select(Township).where(Township.county_id == county.id)):
        labels[("township", township.id)] = township.name
        for village in township.villages:
            labels[("village", village.id)] = f"{township.name} · {village.name}"
    return labels


def unit_label(labels: dict[tuple[str, int], str], user: User) -> str:
    for kind, unit_id in (("village", user.village_id), ("township", user.township_id), ("county", user.county_id)):
        if unit_id is not None:
            return labels.get((kind, unit_id), "")
    return ""


def temporary_password() -> str:
    """A temporary password for a reset from the command line: random, shown once, changed at the
    next login."""
    return secrets.token_urlsafe(12)


def county_account(session: Session, county: County, username: str) -> User | None:
    """The account of this county's units with this username; None for any other."""
    return next((u for u in county_accounts(session, county) if u.username == username), None)


def _county_of_scope(session: Session, scope: dict[str, int | None]) -> int:
    county_id, township_id, village_id = scope["county_id"], scope["township_id"], scope["village_id"]
    if county_id is not None:
        return county_id
    if scope.get("city_id") is not None:  # a city's account: audited in the city's first county
        first = session.scalar(sa.select(sa.func.min(County.id)).where(County.city_id == scope["city_id"]))
        assert first is not None  # a city has its counties (cities.create_city)
        return first
    if township_id is not None:
        return session.get_one(Township, township_id).county_id
    return session.get_one(Village, village_id).county_id


def account_county_id(session: Session, user: User) -> int:
    """The county an account belongs to, the county of its ``user`` audit entries: county staff's
    own, a township account's township's, a village account's village's (read from the session's
    identity map when the unit is loaded)."""
    return _county_of_scope(
        session,
        {
            "county_id": user.county_id,
            "township_id": user.township_id,
            "village_id": user.village_id,
            "city_id": user.city_id,
        },
    )


def _record_account(session: Session, actor: User | None, user: User, *, action: str, **details: Any) -> None:
    """An audit entry on an account, in the account's county."""
    county_id = account_county_id(session, user)
    audit.record(session, actor, user, **details, county_id=county_id, action=action)


def _bump(session: Session, key: str, now: dt.datetime, *, by: int = 1, failed: bool = False) -> int:
    """Add ``by`` to ``key``'s count in the current window (a window older than FAILURE_WINDOW starts
    again) in one atomic upsert, and return the new count. Concurrent attempts queue on the row, so
    every one of them is counted: the limit holds on PostgreSQL as on SQLite."""
    postgres = session.get_bind().dialect.name == "postgresql"
    insert, at_least = (postgresql_insert, sa.func.greatest) if postgres else (sqlite_insert, sa.func.max)
    stale = LoginThrottle.window_started_at <= now - FAILURE_WINDOW
    statement = insert(LoginThrottle).values(
        key=key, failures=max(by, 0), window_started_at=now, last_failure_at=now if failed else None
    )
    statement = statement.on_conflict_do_update(
        index_elements=[LoginThrottle.key],
        set_={
            "failures": at_least(sa.case((stale, 0), else_=LoginThrottle.failures) + by, 0),
            "window_started_at": sa.case((stale, now), else_=LoginThrottle.window_started_at),
            "last_failure_at": now if failed else LoginThrottle.last_failure_at,
        },
    )
    return session.execute(statement.returning(LoginThrottle.failures)).scalar_one()


def account_delay(failures: int) -> dt.timedelta:
    """How long an account waits between attempts from unrecognised browsers once it has had
    ACCOUNT_SLOWDOWN_AFTER failures in the window from such browsers: 1 s, then doubling from the
    twelfth failure, at most ACCOUNT_MAX_DELAY. So exactly ACCOUNT_SLOWDOWN_AFTER passwords are
    checked by any number of simultaneous attempts."""
    if failures < ACCOUNT_SLOWDOWN_AFTER:
        return dt.timedelta(0)
    return min(ACCOUNT_MAX_DELAY, dt.timedelta(seconds=2 ** max(0, failures - ACCOUNT_SLOWDOWN_AFTER - 1)))


def _account_gate(session: Session, username: str, now: dt.datetime) -> None:
    """Let one attempt from an unrecognised browser through the account's slowdown, or refuse it.
    The account's counter row is locked (created first if need be) while the attempt is checked,
    so simultaneous attempts see one another's failures: the limit is exact on PostgreSQL too."""
    key = f"account:{username}"
    _bump(session, key, now, by=0)  # the row exists, its stale window reset
    account = session.scalars(
        sa.select(LoginThrottle)
        .where(LoginThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    delay = account_delay(account.failures)
    if account.last_failure_at is None or not delay:
        # Below the slowdown nothing waits: an attempt that queued on the lock holds an earlier `now`
        # than the failure recorded before it, which must not read as time still to wait.
        return
    wait = account.last_failure_at + delay - now
    if wait > dt.timedelta(0):
        raise LoginThrottled(f"该账号登录失败次数过多，请{max(1, round(wait.total_seconds()))}秒后再试")


def expire_throttles(session: Session, now: dt.datetime | None = None) -> int:
    """Delete the counters whose window has ended (they count from zero again anyway), so that the
    table holds only the last FAILURE_WINDOW's keys; counters another attempt holds are left for
    the next run. Returns how many were deleted."""
    cutoff = (now or utcnow()) - FAILURE_WINDOW
    stale = (
        sa.select(LoginThrottle.key).where(LoginThrottle.window_started_at <= cutoff).with_for_update(skip_locked=True)
    )
    result = session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key.in_(stale.scalar_subquery())))
    return int(getattr(result, "rowcount", 0) or 0)


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    remote_addr: str | None = None,
    now: dt.datetime | None = None,
    device: str | None = None,
) -> User | None:
    """The active user with these credentials, or None (the same for an unknown user).

    Throttling (docs/security.md): each attempt is counted before the password is checked, by an
    atomic counter. A browser this account signed in from before (``device``: the id of its device
    cookie, OWASP's "device cookies") has its own allowance, ``MAX_FAILURES`` in ``FAILURE_WINDOW``,
    and nothing else: no stranger can lock the staff member's own browser out. Any other browser
    counts for the account and client pair (``MAX_FAILURES``, then refused), for the client
    (``CLIENT_MAX_FAILURES``, then refused: one address trying many usernames), and passes the
    account's gate, which slows the account's unrecognised browsers down after
    ``ACCOUNT_SLOWDOWN_AFTER`` failures (``account_delay``): distributed guessing is slowed to about
    one guess a minute. A success clears its pair (or its device's count).
    """
    now = now or utcnow()
    username = username.strip()[:60]
    client = (remote_addr or "-")[:60]
    if device is not None:
        counter = f"device:{device[:60]}"
        if _bump(session, counter, now) > MAX_FAILURES:
            raise LoginThrottled("此浏览器登录失败次数过多，请15分钟后再试")
    else:
        counter = f"pair:{username}|{client}"
        if _bump(session, counter, now) > MAX_FAILURES or _bump(session, f"client:{client}", now) > CLIENT_MAX_FAILURES:
            raise LoginThrottled("登录失败次数过多，请15分钟后再试")
        _account_gate(session, username, now)
    user = session.scalar(sa.select(User).where(User.username == username))
    try:
        ok: bool = _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or not user.is_active:
        session.add(LoginAttempt(username=username, remote_addr=remote_addr, at=now))
        if device is None:
            _bump(session, f"account:{username}", now, failed=True)
        return None
    session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key == counter))
    if device is None:
        _bump(session, f"client:{client}", now, by=-1)  # a success was no failure of this client
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
    _check_password_strength(new, user.username)
    if new == current:
        raise ServiceError("新密码不能与当前密码相同")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    end_sessions(user)
    _record_account(session, user, user, action="change_password")


def reset_password(session: Session, actor: User | None, user: User, temporary: str) -> None:
    """The county administrator gives the user a temporary password; the user's sessions end, and the
    user must choose a new password at the next login."""
    _check_password_strength(temporary, user.username)
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    end_sessions(user)
    lift_login_lock(session, user.username)
    _record_account(session, actor, user, action="reset_password", reason="管理员重置密码")


def lift_login_lock(session: Session, username: str) -> None:
    """Forget the account's failed logins (its slowdown and every client's count for it): an
    administrator who has just given it a new password has checked who is asking."""
    session.execute(
        sa.delete(LoginThrottle).where(
            sa.or_(LoginThrottle.key == f"account:{username}", LoginThrottle.key.startswith(f"pair:{username}|"))
        )
    )


def set_active(session: Session, user: User, active: bool, *, actor: User | None, reason: str) -> None:
    before = audit.snapshot(user, ("is_active",))
    user.is_active = active
    end_sessions(user)
    _record_account(
        session,
        actor,
        user,
        action="enable" if active else "disable",
        before=before,
        after=audit.snapshot(user, ("is_active",)),
        reason=reason,
    )
