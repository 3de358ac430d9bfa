"""The account sheet (issue 30): a county's staff accounts in one file (用户名, 姓名, 角色, 所属单位,
联系电话), imported all or nothing like the unit sheet. The unit is the county, a township or a
village of this county, by code or by name (a village's name if no other village has it, or
``乡镇 · 村``); the role is its Chinese word or its code. A new account gets a random temporary
password, shown once to the administrator, and must choose its own at the first login; an account
already in the sheet's county keeps its password and gets the sheet's name and phone. An account of
another county, or one whose role or unit differs from the sheet's, is a problem of its row."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hygiene import naming, permissions
from hygiene.enums import Role
from hygiene.io.sheets import COUNTY_SHEET_LIMITS, Column, Problem, UploadTable, read_upload
from hygiene.models import County, Township, User
from hygiene.services import audit
from hygiene.services.errors import PermissionDenied
from hygiene.services.setup import accounts

ACCOUNT_HEADER = ["用户名", "姓名", "角色", "所属单位", "联系电话"]
ROLE_WORDS = {role.label: role for role in Role} | {role.value: role for role in Role}


def columns() -> list[Column]:
    return [
        Column("username", ("用户名", "账号", "username")),
        Column("display_name", ("姓名", "姓名或称呼", "name")),
        Column("role", ("角色", "role")),
        Column("unit", ("所属单位", "单位", "unit")),
        Column("phone", ("联系电话", "电话", "手机号码", "phone"), required=False),
    ]


def read(data: bytes, file_name: str) -> UploadTable:
    return read_upload(data, file_name, columns(), defer_cell_problems=True, **COUNTY_SHEET_LIMITS)


@dataclass(frozen=True)
class PlannedAccount:
    row: int
    username: str
    display_name: str
    role: Role
    unit_code: str
    phone: str | None
    existing: User | None


@dataclass
class AccountPlan:
    county: County
    rows: list[PlannedAccount] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(1 for r in self.rows if r.existing is None)

    @property
    def updated(self) -> int:
        return sum(
            1
            for r in self.rows
            if r.existing is not None and (r.existing.display_name, r.existing.phone) != (r.display_name, r.phone)
        )


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _units(session: Session, county: County) -> dict[str, tuple[str, tuple[Role, ...]] | None]:
    """Each way of naming a unit of the county → (its code, the roles it takes); None when two
    villages share a name."""
    found: dict[str, tuple[str, tuple[Role, ...]] | None] = {}

    def add(key: str, value: tuple[str, tuple[Role, ...]]) -> None:
        key = _key(key)
        found[key] = value if found.get(key, value) == value else None

    for choice in accounts.unit_choices(session, county):
        add(choice.code, (choice.code, choice.roles))
        add(choice.label, (choice.code, choice.roles))
        add(choice.label.split(" · ")[-1].removesuffix("（县）"), (choice.code, choice.roles))
    return found


def plan(session: Session, actor: User | None, county: County, table: UploadTable) -> AccountPlan:
    """Check every row; raises ``UploadRejected`` listing every problem, nothing written."""
    if actor is not None and not permissions.can_administer_county(actor, county):
        raise PermissionDenied("只有县管理员可以导入账号表")
    units = _units(session, county)
    ours = {u.username: u for u in accounts.county_accounts(session, county)}
    result = AccountPlan(county)
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    for row in table.rows:
        values = row.values
        start = len(problems)
        username = _key(values["username"])
        if not accounts.USERNAME_PATTERN.match(username):
            problems.append(table.problem(row, "username", "用户名须为2–40位字母、数字或 _ . -"))
        elif username in first_row:
            problems.append(table.problem(row, "username", f"与第{first_row[username]}行用户名重复"))
        else:
            first_row[username] = row.row
        existing = ours.get(username)
        if existing is None and session.scalar(sa.select(User.id).where(User.username == username)) is not None:
            problems.append(table.problem(row, "username", "用户名已被其他县的账号使用"))
        name = values["display_name"].strip()  # names as typed: full-width brackets stay
        if reason := naming.name_problem(name, 40, "姓名"):
            problems.append(table.problem(row, "display_name", reason))
        role = ROLE_WORDS.get(_key(values["role"]))
        if role is None:
            problems.append(table.problem(row, "role", "角色须为 县管理员、乡镇审核员、村委会 或 督查员"))
        unit_text = _key(values["unit"])
        unit = units.get(unit_text)
        if not unit_text:
            problems.append(table.problem(row, "unit", "请填写所属单位"))
        elif unit_text in units and unit is None:
            problems.append(table.problem(row, "unit", "有同名的村，请填写村代码或“乡镇 · 村”"))
        elif unit is None:
            problems.append(table.problem(row, "unit", "不是本县的县、乡镇或村"))
        elif role is not None and role not in unit[1]:
            problems.append(table.problem(row, "unit", f"{role.label}的所属单位须为{_level_for(role)}"))
        phone = _key(values.get("phone", "")) or None
        if phone is not None and (reason := naming.phone_problem(phone)):
            problems.append(table.problem(row, "phone", reason))
        if existing is not None and role is not None and unit is not None and existing.role is not role:
            problems.append(table.problem(row, "role", f"账号已存在，角色为{existing.role.label}：请在账号管理页处理"))
        if len(problems) > start or role is None or unit is None:
            continue
        result.rows.append(PlannedAccount(row.row, username, name, role, unit[0], phone, existing))
    table.reject(problems)
    return result


def _level_for(role: Role) -> str:
    return {Role.TOWNSHIP_REVIEWER: "乡镇", Role.VILLAGE_CLERK: "村"}.get(role, "县")


def apply(session: Session, actor: User | None, plan: AccountPlan, *, file_name: str) -> list[tuple[str, str]]:
    """Write a checked plan: new accounts with temporary passwords (returned, to be shown once),
    existing ones' names and phones; one audit entry per account changed."""
    created: list[tuple[str, str]] = []
    for planned in plan.rows:
        if planned.existing is None:
            temporary = accounts.temporary_password()
            user = accounts.create_user(
                session,
                username=planned.username,
                password=temporary,
                role=planned.role,
                unit_code=planned.unit_code,
                display_name=planned.display_name,
                actor=actor,
                within_county=plan.county,
            )
            user.must_change_password = True
            user.phone = planned.phone
            created.append((planned.username, temporary))
        elif (planned.existing.display_name, planned.existing.phone) != (planned.display_name, planned.phone):
            user = planned.existing
            before = audit.snapshot(user, ("display_name", "phone"))
            user.display_name, user.phone = planned.display_name, planned.phone
            session.flush()
            audit.record(
                session,
                actor,
                user,
                county_id=plan.county.id,
                action="update",
                before=before,
                after=audit.snapshot(user, ("display_name", "phone")),
                reason=f"导入账号表 {file_name} 第{planned.row}行",
            )
    session.flush()
    return created


def example(county: County, townships: list[Township]) -> bytes:
    """An example account sheet for the county, with its rules."""
    from hygiene.io.exports import xlsx_bytes

    township = townships[0] if townships else None
    village = sorted(township.villages, key=lambda v: v.code)[0] if township and township.villages else None
    rows: list[list[object]] = [["xian-du1", "县督查员", "督查员", county.code, "13800000000"]]
    if township is not None:
        rows.append([f"t{township.code}", f"{township.name}审核员", "乡镇审核员", township.name, ""])
    if village is not None:
        rows.append([f"v{village.code}", f"{village.name}文书", "村委会", village.code, ""])
    rules = [
        "每个账号一行；用户名2–40位字母、数字或 _ . -，全系统唯一。",
        "角色：县管理员、乡镇审核员、村委会、督查员。",
        "所属单位：县管理员、督查员填本县；乡镇审核员填乡镇；村委会填村。可填代码或名称，村重名时填村代码。",
        "新账号的临时密码在导入后显示一次，用户第一次登录时须修改。已有账号按表更新姓名和电话，密码不变。",
        "整个表一次检查：有任何一处不对都不会导入，并逐行列出问题。",
    ]
    return xlsx_bytes([("账号表", ACCOUNT_HEADER, rows), ("填写说明", ["填写说明"], [[line] for line in rules])])
