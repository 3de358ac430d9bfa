"""The county administrator's settings, periods and unit-sheet pages (issue 16): each setting with its meaning,
validated, audited, reaching only periods opened later; opening the next quarter."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.models import AuditEntry, County, Group, Household, Period, Township, Village, VillagePeriod
from hygiene.services.setup import counties, rollout
from tests.sheets import ROSTER_HEADER, csv_file, roster_row
from tests.web.conftest import Auth
from tests.web.test_village_reviews import post_big_file

C = "/county/520999"


# RULES.md defaults, in SETTINGS order
DEFAULTS = (10, 20, 100, 2, 7, 1, True, 24, 250, 2_700_000_000, "0.4,0.3,0.3", "100,50", "quarter", 365, True, 1)


def typed(**changes: str) -> dict[str, str]:
    """The settings form as the page shows it, with these fields changed."""
    return {s.key: s.show(value) for s, value in zip(counties.SETTINGS, DEFAULTS, strict=True)} | changes


def test_the_administrator_changes_a_setting_and_only_later_periods_take_it(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("county")
    page = client.get(f"{C}/settings").get_data(as_text=True)
    assert "公示天数（天）" in page and "尚未修改过" in page and 'value="7"' in page
    refused = auth.post(f"{C}/settings", typed(posting_days="七天", gap_tenths="10.55"))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "公示天数（天）：&#39;七天&#39; 不是1–60之间的整数" in html
    saved = auth.post(f"{C}/settings", typed(posting_days="10"))
    assert saved.status_code == 303
    page = client.get(f"{C}/settings").get_data(as_text=True)
    assert "已修改 1 项设置，只影响此后新开的季度" in page and "公示天数（天）：7 → 10" in page
    db_session.rollback()
    county = db_session.scalars(sa.select(County).where(County.code == "520999")).one()
    q4 = db_session.scalars(sa.select(Period).where(Period.county_id == county.id, Period.code == "2026Q4")).one()
    assert county.posting_days == 10 and q4.posting_days == 7
    opened = auth.post(f"{C}/periods", {"code": "2027Q1"})
    assert opened.status_code == 303
    assert "已开启 2027Q1：新开 12 个村的评比" in client.get(f"{C}/periods").get_data(as_text=True)
    db_session.rollback()
    q1 = db_session.scalars(sa.select(Period).where(Period.county_id == county.id, Period.code == "2027Q1")).one()
    assert q1.posting_days == 10
    drafts = db_session.scalar(sa.select(sa.func.count(VillagePeriod.id)).where(VillagePeriod.period_id == q1.id))
    assert drafts == 12


def test_the_periods_page_offers_the_next_quarter_and_refuses_a_bad_one(client: FlaskClient, auth: Auth) -> None:
    auth.login("county")
    html = client.get(f"{C}/periods").get_data(as_text=True)
    assert 'value="2027Q1"' in html and "2026Q4" in html and "2026Q3" in html
    refused = auth.post(f"{C}/periods", {"code": "2027Q5"})
    assert refused.status_code == 200 and "季度格式不正确" in refused.get_data(as_text=True)
    again = auth.post(f"{C}/periods", {"code": "2026Q4"})
    assert "已存在 2026Q4：新开 0 个村的评比" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_only_the_countys_administrator_reaches_these_pages(client: FlaskClient, auth: Auth) -> None:
    for username in ("township", "inspector", "county2"):
        auth.login(username)
        assert client.get(f"{C}/settings").status_code == 403
        assert client.get(f"{C}/periods").status_code == 403
        auth.logout()


UNIT_HEADER = ["乡镇代码", "乡镇", "村代码", "村", "村民组代码", "村民组", "纳入年度"]


def test_a_unit_sheet_is_previewed_then_confirmed_on_the_page(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("county")
    rows = [
        ["52099904", "新镇", "5209990401", "新村", "520999040101", "第一组", "2027"],
        ["52099901", "松林镇", "5209990101", "青山村（更名）", "520999010101", "第一组", ""],
    ]
    preview = auth.post(f"{C}/units/upload", {"file": (io.BytesIO(csv_file(UNIT_HEADER, rows)), "单位表.csv")})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "新增乡镇 1 个、村 1 个、村民组 1 个，改名 1 个" in html and "青山村 → 青山村（更名）" in html
    assert db_session.scalar(sa.select(sa.func.count(Township.id)).where(Township.code == "52099904")) == 0
    done = auth.post(f"{C}/units/upload/confirm", {}, token_from=f"{C}/units/upload")
    assert done.status_code == 302
    assert "已导入单位表 单位表.csv：5 条变更" in client.get(done.headers["Location"]).get_data(as_text=True)
    db_session.rollback()
    assert db_session.scalars(sa.select(Village.name).where(Village.code == "5209990101")).one() == "青山村（更名）"


def test_a_bad_unit_sheet_lists_its_problems_on_the_page(client: FlaskClient, auth: Auth) -> None:
    auth.login("county")
    rows = [["52099902", "河坝乡", "5209990101", "青山村", "520999010101", "第一组", ""]]  # 青山村 moved
    refused = auth.post(f"{C}/units/upload", {"file": (io.BytesIO(csv_file(UNIT_HEADER, rows)), "坏.csv")})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "该村属于乡镇 52099901，代码不能移到其他乡镇" in html


def test_a_county_wide_unit_sheet_may_be_larger_than_a_village_upload(client: FlaskClient, auth: Auth) -> None:
    auth.login("county")
    rows = [["52099901", "松林镇", "5209990101", "青山村", f"52099901019{n:05d}", f"组{n}", ""] for n in range(3500)]
    data = csv_file(UNIT_HEADER, rows)
    response = auth.post(f"{C}/units/upload", {"file": (io.BytesIO(data), "大.csv")})
    assert response.status_code == 200 and "村民组 3500 个" in response.get_data(as_text=True)  # over 3,000 rows


def test_only_the_county_upload_takes_a_body_over_the_villages_limit(client: FlaskClient, auth: Auth) -> None:
    size = 10 * 1024 * 1024  # over the 9 MiB that every other page takes
    auth.login("county")
    county = post_big_file(client, f"{C}/units/upload", auth.token(f"{C}/units/upload"), size)
    assert county.status_code == 422  # read and refused for its content, not its size
    auth.logout()
    auth.login("village")
    village = post_big_file(client, "/village/5209990101/roster/upload", auth.token("/village/5209990101/"), size)
    assert village.status_code == 413


def test_disabling_an_account_ends_its_sessions_and_enabling_restores_it(app, auth: Auth) -> None:  # type: ignore[no-untyped-def]
    clerk = app.test_client()
    assert Auth(clerk).login("village").status_code == 302
    assert clerk.get("/village/5209990101/").status_code == 200
    auth.login("county")
    refused = auth.post(f"{C}/users/village/disable", {"reason": ""}, token_from=f"{C}/users")
    assert "请填写停用或启用的原因" in auth.client.get(refused.headers["Location"]).get_data(as_text=True)
    done = auth.post(f"{C}/users/village/disable", {"reason": "调离岗位"}, token_from=f"{C}/users")
    assert "已停用账号 village" in auth.client.get(done.headers["Location"]).get_data(as_text=True)
    assert clerk.get("/village/5209990101/").status_code == 302  # the open session ended at once
    assert Auth(app.test_client()).login("village").status_code == 200  # and no new one
    auth.post(f"{C}/users/village/enable", {"reason": "返岗"}, token_from=f"{C}/users")
    assert Auth(app.test_client()).login("village").status_code == 302


def test_a_reset_password_must_be_changed_before_anything_else(app, auth: Auth) -> None:  # type: ignore[no-untyped-def]
    auth.login("county")
    done = auth.post(f"{C}/users/village/password", {"password": "temporary-2026"}, token_from=f"{C}/users")
    assert "已重置 village 的密码" in auth.client.get(done.headers["Location"]).get_data(as_text=True)
    clerk = app.test_client()
    login = Auth(clerk).login("village", "temporary-2026")
    assert login.headers["Location"] == "/account/password"
    assert clerk.get("/village/5209990101/").headers["Location"] == "/account/password"
    changed = Auth(clerk).post(
        "/account/password", {"current": "temporary-2026", "new": "my-own-pass-2026", "confirm": "my-own-pass-2026"}
    )
    assert changed.status_code == 302
    assert clerk.get("/village/5209990101/").status_code == 200  # free to work again
    assert Auth(app.test_client()).login("village", "my-own-pass-2026").status_code == 302


def test_accounts_of_other_counties_are_not_found_and_others_may_not_manage(auth: Auth) -> None:
    auth.login("county")
    assert auth.post(f"{C}/users/county2/disable", {"reason": "x"}, token_from=f"{C}/users").status_code == 404
    own = auth.post(f"{C}/users/county/disable", {"reason": "x"}, token_from=f"{C}/users")
    assert "不能停用或启用自己的账号" in auth.client.get(own.headers["Location"]).get_data(as_text=True)
    auth.logout()
    auth.login("township")
    assert auth.post(f"{C}/users/village/disable", {"reason": "x"}, token_from="/").status_code == 403


def test_the_rollout_page_sets_coverage_against_the_plan(client: FlaskClient, auth: Auth) -> None:
    auth.login("county")
    html = client.get(f"{C}/rollout").get_data(as_text=True)
    # the demo: plan 20/30/30/20 from 2025; every household rated in 2026Q3's lists (605 of 605)
    assert "<svg" in html and "推进计划与覆盖率" in html
    rows = re.findall(r"<tr><td>(\d{4})</td><td>(\d+)%</td><td>(\d+)%</td><td>(\d+) / (\d+)</td>", html)
    assert rows[:2] == [("2025", "20", "20", "0", "605"), ("2026", "30", "50", "605", "605")]
    assert '<span class="flag">未达标</span>' in html  # 2025: nothing rated yet
    assert html.count("松林镇") == 1 and "河坝乡" in html
    auth.logout()
    auth.login("township")
    assert client.get(f"{C}/rollout").status_code == 403


def rubric_fields(**changes: str) -> dict[str, str]:
    """The rubric form as the page fills it (the default rubric), with these fields changed."""
    from hygiene.enums import DEFAULT_CRITERIA

    fields = {f"{code}_label": label for code, label, _ in DEFAULT_CRITERIA}
    fields |= {f"{code}_max": "10" for code, _, _ in DEFAULT_CRITERIA}
    return fields | {"cleanest": "90", "clean": "80", "fairly_clean": "60"} | changes


def test_a_new_rubric_version_is_for_periods_opened_from_now_on(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("county")
    page = client.get(f"{C}/rubric").get_data(as_text=True)
    assert "第1版（现行）：2026Q3、2026Q4" in page and 'value="家庭个人卫生"' in page
    refused = auth.post(f"{C}/rubric", rubric_fields(c01_max="15", cleanest="80", clean="85"))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "满分 105：十项满分合计须为100" in html and "须满足 最清洁 &gt; 清洁 &gt; 较清洁" in html
    saved = auth.post(
        f"{C}/rubric", rubric_fields(c01_max="15", c02_max="5", c09_label="厨房及餐具卫生", fairly_clean="65")
    )
    assert saved.status_code == 303
    assert "已建立评分标准第2版，此后新开的季度使用" in client.get(f"{C}/rubric").get_data(as_text=True)
    auth.post(f"{C}/periods", {"code": "2027Q1"})
    db_session.rollback()
    county = db_session.scalars(sa.select(County).where(County.code == "520999")).one()
    versions = dict(
        db_session.execute(sa.select(Period.code, Period.rubric_version_id).where(Period.county_id == county.id)).all()
    )
    assert versions["2026Q4"] != versions["2027Q1"]
    q1 = db_session.get(Period, db_session.scalars(sa.select(Period.id).where(Period.code == "2027Q1")).first())
    assert q1 is not None and q1.rubric_version.number == 2 and q1.rubric_version.fairly_clean_tenths == 650
    assert [c.max_tenths for c in q1.rubric_version.criteria][:2] == [150, 50]
    auth.logout()
    auth.login("village")  # the clerk's entry form follows the period's version
    form = client.get("/village/5209990101/periods/2027Q1/households/520999010101001/review?kind=group")
    html = form.get_data(as_text=True)
    assert "家庭个人卫生（0–15分）" in html and "厨房及餐具卫生（0–10分）" in html
    assert "家庭个人卫生（0–10分）" in client.get(
        "/village/5209990101/periods/2026Q4/households/520999010101001/review?kind=group"
    ).get_data(as_text=True)


def plan_fields(*rows: tuple[str, str]) -> dict[str, str]:
    fields = {f"year_{i}": "" for i in range(rollout.MAX_PLAN_YEARS)} | {
        f"share_{i}": "" for i in range(rollout.MAX_PLAN_YEARS)
    }
    for i, (year, share) in enumerate(rows):
        fields |= {f"year_{i}": year, f"share_{i}": share}
    return fields


def test_the_administrator_edits_the_plans_yearly_shares(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("county")
    page = client.get(f"{C}/rollout").get_data(as_text=True)
    assert 'name="year_0" type="text" value="2025"' in page and 'name="share_3" type="text" value="20"' in page
    refused = auth.post(f"{C}/rollout", plan_fields(("2025", "20"), ("2026", "30"), ("2028", "50")))
    assert refused.status_code == 422 and "年度须逐年连续、不重复：2025、2026、2028" in refused.get_data(as_text=True)
    saved = auth.post(f"{C}/rollout", plan_fields(("2026", "40"), ("２０２７", "60")))
    assert saved.status_code == 303
    html = client.get(f"{C}/rollout").get_data(as_text=True)
    assert "已修改推进计划" in html
    assert re.findall(r"<tr><td>(\d{4})</td><td>(\d+)%</td><td>(\d+)%</td>", html) == [
        ("2026", "40", "40"),
        ("2027", "60", "100"),
    ]
    county = db_session.scalars(sa.select(County).where(County.code == "520999")).one()
    assert rollout.plan_of(db_session, county) == [(2026, 40), (2027, 60)]


def test_the_administrator_sets_each_villages_programme_year(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    township = db_session.scalars(sa.select(Township).where(Township.code == "52099901")).one()
    db_session.add(Village(county_id=township.county_id, township_id=township.id, code="5209990199", name="新村"))
    db_session.commit()
    auth.login("county")
    page = client.get(f"{C}/rollout/52099901").get_data(as_text=True)
    assert "新村（5209990199）" in page and '<option selected value="">未纳入</option>' in page
    fields = {f"village_{v.code}": str(v.programme_year or "") for v in township.villages if v.code != "5209990199"}
    refused = auth.post(f"{C}/rollout/52099901", fields | {"village_5209990101": "2027", "village_5209990199": "2028"})
    assert refused.status_code == 422
    assert "该村自2026年起已参加评比，纳入年度不能晚于2026" in refused.get_data(as_text=True)
    outside = auth.post(f"{C}/rollout/52099901", fields | {"village_5209990199": "2031"})
    assert outside.status_code == 422  # not a year of the plan
    saved = auth.post(f"{C}/rollout/52099901", fields | {"village_5209990199": "2028"})
    assert saved.status_code == 303
    assert "已调整 1 个村的纳入年度" in client.get(f"{C}/rollout").get_data(as_text=True)
    db_session.rollback()
    assert db_session.scalars(sa.select(Village.programme_year).where(Village.code == "5209990199")).one() == 2028
    assert client.get(f"{C}/rollout/52099801").status_code == 404  # another county's township


def test_the_budget_is_set_on_the_settings_page(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("county")
    page = client.get(f"{C}/settings").get_data(as_text=True)
    assert 'name="yearly_budget_fen" required type="text" value="27000000"' in page
    refused = auth.post(f"{C}/settings", typed(yearly_budget_fen="2700万"))
    assert refused.status_code == 422 and "不是0–10000000000元之间的金额" in refused.get_data(as_text=True)
    assert auth.post(f"{C}/settings", typed(yearly_budget_fen="30000000")).status_code == 303
    assert "每年奖励预算（元）" in client.get(f"{C}/settings").get_data(as_text=True)
    county = db_session.scalars(sa.select(County).where(County.code == "520999")).one()
    assert counties.budget_for(db_session, county, counties.current_year()) == 30_000_000_00


def test_a_county_wide_roster_is_previewed_by_township_then_written_with_its_progress_shown(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("county")
    rows = [
        roster_row("520999019901", township="52099901", village="5209990101"),
        roster_row("520999029901", head="李四", township="河坝乡", village="5209990201"),
        roster_row("520999029902", head="王五", township="52099902", village="5209990201"),
    ]
    preview = auth.post(f"{C}/roster/upload", {"file": (io.BytesIO(csv_file(ROSTER_HEADER, rows)), "全县花名册.csv")})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "检查通过（3 行），确认后将：新增 3 户" in html
    assert re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>", html) == [
        ("松林镇", "1", "1", "1"),
        ("河坝乡", "1", "2", "2"),
    ]
    done = auth.post(f"{C}/roster/upload/confirm", {}, token_from=f"{C}/roster/upload")
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and done.headers["X-Accel-Buffering"] == "no"
    steps = re.findall(r'<li class="import-step[^"]*">([^<]*)', page)
    assert [s.strip() for s in steps] == [
        "正在重新逐行检查 全县花名册.csv …",
        "正在写入：3 / 3 户",
        "已导入花名册 全县花名册.csv：新增 3 户，更新 0 户，0 户不变",
    ]
    assert '<progress value="3" max="3">' in page and f'href="{C}/"' in page
    db_session.rollback()
    written = db_session.execute(
        sa.select(Household.code, AuditEntry.actor)
        .join(
            AuditEntry,
            sa.and_(AuditEntry.entity == "household", AuditEntry.entity_id == sa.cast(Household.id, sa.String)),
        )
        .where(Household.code.like("5209990_9901"))
    ).all()
    assert sorted(written) == [("520999019901", "county"), ("520999029901", "county")]
    again = auth.post(f"{C}/roster/upload/confirm", {}, token_from=f"{C}/roster/upload")
    assert again.status_code == 302  # the upload was used up


def test_a_county_wide_roster_that_fails_on_confirming_says_so_and_writes_nothing(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("county")
    rows = [roster_row("520999019901"), roster_row("520999019902")]
    auth.post(f"{C}/roster/upload", {"file": (io.BytesIO(csv_file(ROSTER_HEADER, rows)), "r.csv")})
    # between the preview and the confirmation a clerk gives one of the codes to another village
    db_session.rollback()
    group = db_session.scalars(
        sa.select(Group).join(Village).where(Village.code == "5209990201").order_by(Group.code)
    ).first()
    assert group is not None
    db_session.add(
        Household(county_id=group.village.township.county_id, group_id=group.id, code="520999019902", head_name="赵六")
    )
    db_session.commit()
    failed = auth.post(f"{C}/roster/upload/confirm", {}, token_from=f"{C}/roster/upload")
    page = failed.get_data(as_text=True)
    assert "导入失败，未写入任何数据" in page and "户编号已被其他村使用" in page and "重新上传" in page
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count()).where(Household.code == "520999019901")) == 0


def test_only_the_countys_administrator_imports_a_county_wide_roster(client: FlaskClient, auth: Auth) -> None:
    auth.login("township")
    data = csv_file(ROSTER_HEADER, [roster_row("520999019901")])
    assert auth.post(f"{C}/roster/upload", {"file": (io.BytesIO(data), "r.csv")}, token_from="/").status_code == 403


def test_the_roster_page_is_sent_as_the_work_goes_and_commits_only_at_the_end(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    auth.login("county")
    rows = [roster_row(f"52099901019{n:03d}") for n in range(2500)]  # two batches
    auth.post(f"{C}/roster/upload", {"file": (io.BytesIO(csv_file(ROSTER_HEADER, rows)), "r.csv")})
    token = auth.token(f"{C}/roster/upload")
    response = client.post(f"{C}/roster/upload/confirm", data={"csrf_token": token}, buffered=False)
    chunks = iter(response.response)
    seen = ""
    while "正在写入：2000 / 2500 户" not in seen:
        chunk = next(chunks)
        seen += chunk.decode() if isinstance(chunk, bytes) else chunk
    written = sa.select(sa.func.count(Household.id)).where(Household.code.like("52099901019%"))
    assert db_session.scalar(written) == 0  # half-way: the page shows progress, nothing is committed
    rest = "".join(c.decode() if isinstance(c, bytes) else c for c in chunks)
    response.close()
    assert "已导入花名册 r.csv：新增 2500 户" in rest
    db_session.rollback()
    assert db_session.scalar(written) == 2500


def test_the_county_and_inspector_homes_pick_a_period_and_lead_to_each_township(
    client: FlaskClient, auth: Auth
) -> None:
    for username, home in (("county", f"{C}/"), ("inspector", "/inspection/520999/")):
        auth.login(username)
        latest = client.get(home).get_data(as_text=True)
        assert '<a href="?period=2026Q3">2026Q3</a>' in latest and 'aria-current="page">2026Q4</a>' in latest
        assert '<a href="/township/52099901/?period=2026Q4">松林镇</a>' in latest
        earlier = client.get(f"{home}?period=2026Q3").get_data(as_text=True)
        assert "2026Q3 各乡镇进度（村数）" in earlier and '<a href="/township/52099901/?period=2026Q3">' in earlier
        assert client.get(f"{home}?period=2031Q1").status_code == 404
        auth.logout()


@pytest.mark.parametrize(
    ("username", "page", "home", "header", "row"),
    [
        (
            "county",
            f"{C}/units/upload",
            f"{C}/",
            UNIT_HEADER,
            ["52099904", "新镇", "5209990401", "新村", "520999040101", "第一组", ""],
        ),
        (
            "county",
            f"{C}/roster/upload",
            f"{C}/",
            ROSTER_HEADER,
            roster_row("520999019901", township="52099901", village="5209990101"),
        ),
        (
            "village",
            "/village/5209990101/roster/upload",
            "/village/5209990101/",
            ROSTER_HEADER,
            roster_row("520999019901"),
        ),
    ],
    ids=["units", "county-roster", "village-roster"],
)
def test_every_import_preview_can_be_cancelled_and_then_nothing_is_written(
    client: FlaskClient, auth: Auth, username: str, page: str, home: str, header: list[str], row: list[str]
) -> None:
    auth.login(username)
    preview = auth.post(page, {"file": (io.BytesIO(csv_file(header, [row])), "待取消.csv")})
    assert preview.status_code == 200 and "取消，不导入" in preview.get_data(as_text=True)
    cancelled = auth.post(f"{page}/cancel", {}, token_from=page)
    assert cancelled.status_code == 302 and cancelled.headers["Location"] == home
    assert "已取消导入 待取消.csv，未写入任何数据" in client.get(home).get_data(as_text=True)
    late = auth.post(f"{page}/confirm", {}, token_from=page)
    assert "没有待确认的上传文件，请重新上传" in client.get(late.headers["Location"]).get_data(as_text=True)


LATER_VILLAGES = {"village_5209990203": "2026", "village_5209990204": "2026"}


@pytest.mark.parametrize(
    ("page", "first", "second", "what"),
    [
        (f"{C}/settings", typed(posting_days="10"), typed(posting_days="5"), "县设置"),
        (f"{C}/rollout", plan_fields(("2026", "40"), ("2027", "60")), plan_fields(("2026", "100")), "推进计划"),
        (
            f"{C}/rollout/52099902",
            {"village_5209990201": "2026", "village_5209990202": "2025"} | LATER_VILLAGES,
            {"village_5209990201": "2025", "village_5209990202": "2026"} | LATER_VILLAGES,
            "纳入年度",
        ),
    ],
    ids=["settings", "plan", "programme-years"],
)
def test_a_save_over_someone_elses_is_refused_not_lost(
    client: FlaskClient,
    auth: Auth,
    db_session: Session,
    page: str,
    first: dict[str, str],
    second: dict[str, str],
    what: str,
) -> None:
    """Two administrators open the same page; the first saves; the second's save, made on the page as
    it was, is refused (409) instead of silently undoing the first's (RELIABILITY.md: lost updates)."""
    auth.login("county")
    html = client.get(page).get_data(as_text=True)
    stale = re.search(r'name="state" type="hidden" value="([^"]*)"', html)
    assert stale and stale[1]
    assert auth.post(page, first).status_code == 303
    audits = db_session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    refused = auth.post(page, second | {"state": stale[1]})
    assert refused.status_code == 409
    assert f"{what}已被他人修改，本次未保存；请刷新查看最新内容后重新填写" in refused.get_data(as_text=True)
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count(AuditEntry.id))) == audits
    assert auth.post(page, second).status_code == 303  # from the page as it is now, it goes through
