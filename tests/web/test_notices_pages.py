"""The notice pages (RULES.md §9, issue 19): the inspector's problem ledger with its filters and its
Excel file, a notice issued by hand, one notice where a reported rectification is accepted or
rejected (虚假整改), the black list's notices; the village's and the township's notices with their
report forms; who may see and do what."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from hygiene.enums import NoticeKind, NoticeSource, NoticeState
from hygiene.models import AuditEntry, County, Notice, Township, User, Village
from hygiene.services.supervision import notices
from tests.hygiene import factories
from tests.web.conftest import Auth

COUNTY = "520999"
QINGSHAN = "5209990101"  # 青山村 of 松林镇 (52099901): 2026Q3 final, 2026Q4 draft
SONGLIN = "52099901"
LEDGER = f"/inspection/{COUNTY}/notices"
NEW = f"{LEDGER}/new"
VILLAGE_PAGE = f"/village/{QINGSHAN}/notices"
TOWNSHIP_PAGE = f"/township/{SONGLIN}/notices"
LONG_AGO = dt.datetime(2026, 1, 5, 1, tzinfo=dt.UTC)  # issued then, a notice is overdue now


def user(db: Session, name: str) -> User:
    return db.scalars(sa.select(User).where(User.username == name)).one()


def county(db: Session) -> County:
    return db.scalars(sa.select(County).where(County.code == COUNTY)).one()


def issue(
    db: Session,
    *,
    to_village: bool = True,
    problem: str = "村口垃圾堆放未清运",
    now: dt.datetime | None = None,
    period: str = "2026Q4",
    village_code: str = QINGSHAN,
) -> int:
    """A notice by hand through the service, committed; its id."""
    village = factories.village(db, village_code)
    notice = notices.issue(
        db,
        user(db, "inspector"),
        county(db),
        period=factories.period(db, period),
        township=village.township,
        village=village if to_village else None,
        responsible_person="王支书",
        problem=problem,
        now=now,
    )
    db.commit()
    return notice.id


def stored(db: Session, notice_id: int) -> Notice:
    db.rollback()  # a fresh snapshot: see what the requests committed
    return db.get_one(Notice, notice_id)


def notice_url(notice_id: int) -> str:
    return f"{LEDGER}/{notice_id}"


def ids_listed(html: str) -> set[int]:
    return {int(n) for n in re.findall(r"/notices/(\d+)\"", html)}


# --- who may see and do what -------------------------------------------------------------------


def test_each_page_is_for_its_own_users(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    to_village = issue(db_session)
    to_township = issue(db_session, to_village=False)
    pages = {
        LEDGER: {"inspector": 200},
        f"{LEDGER}.xlsx": {"inspector": 200},
        NEW: {"inspector": 200},
        notice_url(to_village): {"inspector": 200},
        VILLAGE_PAGE: {"village": 200, "township": 200, "county": 200, "inspector": 200},
        TOWNSHIP_PAGE: {"township": 200, "county": 200, "inspector": 200},
    }
    for username in ("inspector", "county", "township", "township2", "village", "village2", "inspector2"):
        auth.login(username)
        for url, allowed in pages.items():
            assert client.get(url).status_code == allowed.get(username, 403), (username, url)
        auth.logout()

    auth.login("inspector2")  # another county's inspector, on their own county's pages: no such notice there
    assert client.get(f"/inspection/520998/notices/{to_village}").status_code == 404
    auth.logout()
    auth.login("inspector")
    assert client.get(notice_url(99999)).status_code == 404
    assert client.get(LEDGER, query_string={"state": "lost"}).status_code == 404
    auth.logout()

    # Reporting: only the addressee; a notice of another village or township is "not found".
    auth.login("village2")
    assert auth.post(f"{VILLAGE_PAGE}/{to_village}/report", {"version": "1", "note": "已整改"}).status_code == 403
    auth.logout()
    auth.login("township")
    from_page = auth.post(f"{VILLAGE_PAGE}/{to_village}/report", {"version": "1", "note": "x"}, VILLAGE_PAGE)
    assert from_page.status_code == 403
    assert auth.post(f"{TOWNSHIP_PAGE}/{to_village}/report", {"version": "1", "note": "x"}).status_code == 404
    auth.logout()
    auth.login("village")
    assert auth.post(f"{VILLAGE_PAGE}/{to_township}/report", {"version": "1", "note": "x"}).status_code == 404
    auth.logout()
    auth.login("county")
    decided = auth.post(f"{notice_url(to_village)}/decide", {"version": "1", "note": "x", "decision": "accept"}, "/")
    assert decided.status_code == 403
    auth.logout()
    assert stored(db_session, to_village).state is NoticeState.OPEN


def test_forms_carry_csrf_tokens(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    notice_id = issue(db_session)
    auth.login("village")
    page = client.get(VILLAGE_PAGE).get_data(as_text=True)
    assert 'name="csrf_token"' in page and f'action="{VILLAGE_PAGE}/{notice_id}/report"' in page
    refused = client.post(f"{VILLAGE_PAGE}/{notice_id}/report", data={"version": "1", "note": "已整改"})
    assert refused.status_code == 400
    assert stored(db_session, notice_id).state is NoticeState.OPEN


# --- issuing by hand ---------------------------------------------------------------------------


def test_an_inspector_issues_a_notice_by_hand(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("inspector")
    form = client.get(NEW).get_data(as_text=True)
    assert "24 小时" in form and "（北京时间）" in form and 'type="datetime-local"' in form
    base = {"period": "2026Q4", "township": SONGLIN, "village": QINGSHAN}

    refused = auth.post(NEW, base | {"responsible_person": " ", "problem": "", "deadline": "明天"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "请填写责任人" in html and "请填写问题描述" in html and "“明天”不是有效的时间" in html

    past = auth.post(NEW, base | {"responsible_person": "王支书", "problem": "垃圾", "deadline": "2020-01-01T08:00"})
    assert past.status_code == 422 and "整改时限须晚于下发时间" in past.get_data(as_text=True)
    elsewhere = auth.post(NEW, base | {"village": "5209990201", "responsible_person": "王支书", "problem": "垃圾"})
    assert elsewhere.status_code == 422 and "河东村不属于松林镇" in elsewhere.get_data(as_text=True)
    unknown = auth.post(NEW, base | {"township": "52099801", "responsible_person": "王支书", "problem": "垃圾"})
    assert unknown.status_code == 422 and "请选择本县的乡镇" in unknown.get_data(as_text=True)
    assert db_session.scalar(sa.select(sa.func.count(Notice.id))) == 0

    before = dt.datetime.now(dt.UTC)
    done = auth.post(NEW, base | {"responsible_person": "王支书", "problem": "村口垃圾\r\n未清运", "deadline": ""})
    assert done.status_code == 303
    db_session.rollback()
    [notice] = db_session.scalars(sa.select(Notice))
    assert done.headers["Location"].endswith(notice_url(notice.id))
    assert (notice.source, notice.state, notice.problem) == (NoticeSource.MANUAL, NoticeState.OPEN, "村口垃圾\n未清运")
    assert dt.timedelta(hours=24) <= notice.deadline - before <= dt.timedelta(hours=24, minutes=1)
    page = client.get(notice_url(notice.id)).get_data(as_text=True)
    assert "已下发第" in page and "松林镇 青山村" in page and "村口垃圾<br>未清运" in page and "下发" in page

    to_township = auth.post(
        NEW,
        base | {"village": "", "responsible_person": "李镇长", "problem": "镇区保洁差", "deadline": "2099-03-01 16:30"},
    )
    assert to_township.status_code == 303
    db_session.rollback()
    notice = db_session.scalars(sa.select(Notice).where(Notice.responsible_person == "李镇长")).one()
    assert notice.village_id is None
    assert notice.deadline == dt.datetime(2099, 3, 1, 8, 30, tzinfo=dt.UTC)  # 16:30 Beijing time


# --- reporting, accepting, rejecting -----------------------------------------------------------


def decide(auth: Auth, notice_id: int, decision: str, note: str, version: int | None = None):  # type: ignore[no-untyped-def]
    page = notice_url(notice_id)
    data: dict[str, object] = {"note": note, "decision": decision}
    if version is not None:
        data["version"] = str(version)
    else:
        html = auth.client.get(page).get_data(as_text=True)
        data["version"] = re.search(r'name="version" type="hidden" value="(\d+)"', html)[1]  # type: ignore[index]
    return auth.post(f"{page}/decide", data, page)


def report(auth: Auth, notice_id: int, note: str, page: str = VILLAGE_PAGE, *, photo: bool = True):  # type: ignore[no-untyped-def]
    """Report with a photo of the place (required unless the inspector waived it, issue 31)."""
    from tests.hygiene.test_field import jpeg_with_gps

    html = auth.client.get(page).get_data(as_text=True)
    form = html[html.index(f'action="{page}/{notice_id}/report"') :]
    version = re.search(r'name="version" value="(\d+)"', form)[1]  # type: ignore[index]
    shot = {"photo": (io.BytesIO(jpeg_with_gps()), "after.jpg")} if photo else {}
    return auth.post(f"{page}/{notice_id}/report", {"version": version, "note": note, **shot})


def test_a_report_needs_a_photo_unless_the_inspector_waives_it(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    notice_id = issue(db_session)
    auth.login("village")
    refused = report(auth, notice_id, "已整改", photo=False)
    assert "请拍摄整改后的现场照片" in client.get(refused.headers["Location"]).get_data(as_text=True)
    auth.logout()
    auth.login("inspector")
    detail = f"/inspection/520999/notices/{notice_id}"
    assert auth.post(f"{detail}/photo-waiver", {"version": "1", "waived": "1"}, detail).status_code == 303
    auth.logout()
    auth.login("village")
    assert report(auth, notice_id, "已整改", photo=False).status_code == 303
    db_session.rollback()
    notice = db_session.get(Notice, notice_id)
    assert notice is not None and notice.state is NoticeState.RECTIFIED and notice.photo_waived


def test_report_then_accept_closes_the_notice(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    notice_id = issue(db_session)
    auth.login("village")
    empty = report(auth, notice_id, "  ")
    assert empty.status_code == 303
    assert "请填写整改情况" in client.get(VILLAGE_PAGE).get_data(as_text=True)
    assert report(auth, notice_id, "已清运，设置了垃圾桶").status_code == 303
    page = client.get(VILLAGE_PAGE).get_data(as_text=True)
    assert "等待督查组验收" in page and "已清运，设置了垃圾桶" in page and "已整改" in page
    assert f'action="{VILLAGE_PAGE}/{notice_id}/report"' not in page  # nothing more to report
    auth.logout()

    auth.login("inspector")
    detail = client.get(notice_url(notice_id)).get_data(as_text=True)
    assert "验收通过（销号）" in detail and "上报整改情况" in detail  # the form, and the history's report
    assert decide(auth, notice_id, "accept", "现场核实已整改").status_code == 303
    notice = stored(db_session, notice_id)
    assert (notice.state, notice.decision_note) == (NoticeState.CLOSED, "现场核实已整改")
    detail = client.get(notice_url(notice_id)).get_data(as_text=True)
    assert "予以销号" in detail and "已销号" in detail and 'value="accept"' not in detail
    actions = db_session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.entity == "notice", AuditEntry.entity_id == str(notice_id))
    ).all()
    assert actions == ["create", "report", "accept"]


def test_report_then_reject_reopens_as_false_rectification(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    notice_id = issue(db_session)
    auth.login("village")
    report(auth, notice_id, "已整改")
    auth.logout()
    auth.login("inspector")
    no_reason = decide(auth, notice_id, "reject", "")
    assert no_reason.status_code == 303 and stored(db_session, notice_id).state is NoticeState.RECTIFIED
    assert "请填写验收意见或退回理由" in client.get(notice_url(notice_id)).get_data(as_text=True)
    assert decide(auth, notice_id, "reject", "现场仍有垃圾").status_code == 303
    notice = stored(db_session, notice_id)
    assert (notice.state, notice.rejections, notice.decision_note) == (NoticeState.OPEN, 1, "现场仍有垃圾")
    detail = client.get(notice_url(notice_id)).get_data(as_text=True)
    assert "虚假整改" in detail and "1 次" in detail and "退回（虚假整改）" in detail
    ledger = client.get(LEDGER).get_data(as_text=True)
    assert "虚假整改1次" in ledger
    auth.logout()

    auth.login("village")  # open again: the clerk reports once more, the last refusal shown
    page = client.get(VILLAGE_PAGE).get_data(as_text=True)
    assert "上次退回理由" in page and "现场仍有垃圾" in page and f'action="{VILLAGE_PAGE}/{notice_id}/report"' in page
    assert report(auth, notice_id, "已重新清理").status_code == 303
    assert stored(db_session, notice_id).state is NoticeState.RECTIFIED


def test_a_stale_version_is_the_conflict_page(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    notice_id = issue(db_session)
    shown = stored(db_session, notice_id).version
    auth.login("village")
    report(auth, notice_id, "已整改")
    again = auth.post(f"{VILLAGE_PAGE}/{notice_id}/report", {"version": str(shown), "note": "再报一次"})
    assert again.status_code == 409 and "已被他人处理" in again.get_data(as_text=True)
    auth.logout()
    auth.login("inspector")
    stale = decide(auth, notice_id, "accept", "通过", version=shown)  # the version before the report
    assert stale.status_code == 409 and "请刷新后重试" in stale.get_data(as_text=True)
    assert stored(db_session, notice_id).state is NoticeState.RECTIFIED


def test_the_township_reports_its_own_and_reads_its_villages(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    own = issue(db_session, to_village=False, problem="镇区主街保洁不到位")
    of_village = issue(db_session, problem="青山村公厕无人保洁")
    overdue = issue(db_session, problem="青山村河道漂浮物", now=LONG_AGO, period="2026Q3")
    auth.login("township")
    page = client.get(TOWNSHIP_PAGE).get_data(as_text=True)
    assert "镇区主街保洁不到位" in page and "青山村公厕无人保洁" in page and "青山村河道漂浮物" in page
    assert f'action="{TOWNSHIP_PAGE}/{own}/report"' in page
    assert f"/{of_village}/report" not in page and f"/{overdue}/report" not in page  # the villages' are read only
    assert "逾期" in page
    assert report(auth, own, "已安排专人保洁", page=TOWNSHIP_PAGE).status_code == 303
    assert stored(db_session, own).state is NoticeState.RECTIFIED
    home = client.get(f"/township/{SONGLIN}/").get_data(as_text=True)
    assert "本级待整改 0；各村待整改 2，逾期 1" in home


def test_an_overdue_notice_cannot_be_reported_but_its_accountability_notice_can(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    notice_id = issue(db_session, now=LONG_AGO)
    auth.login("village")
    page = client.get(VILLAGE_PAGE).get_data(as_text=True)
    assert "已过整改时限，将升级为问责通知单" in page and f"/{notice_id}/report" not in page
    assert "待整改 1，逾期 1" in client.get(f"/village/{QINGSHAN}/").get_data(as_text=True)
    [accountability] = notices.escalate_overdue(db_session)
    db_session.commit()
    page = client.get(VILLAGE_PAGE).get_data(as_text=True)
    assert f"第{accountability.id}号问责通知单" in page and f"/{accountability.id}/report" in page
    assert report(auth, accountability.id, "已整改并追责").status_code == 303
    auth.logout()
    auth.login("inspector")
    detail = client.get(notice_url(notice_id)).get_data(as_text=True)
    assert f'href="{notice_url(accountability.id)}">第{accountability.id}号问责通知单' in detail
    detail = client.get(notice_url(accountability.id)).get_data(as_text=True)
    assert f'href="{notice_url(notice_id)}">第{notice_id}号督办通知单' in detail and "升级自" in detail


# --- the ledger and its file -------------------------------------------------------------------


def test_the_ledger_filters_and_marks_the_overdue(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    to_village = issue(db_session)
    to_township = issue(db_session, to_village=False)
    late = issue(db_session, now=LONG_AGO, period="2026Q3")
    elsewhere = issue(db_session, village_code="5209990201")  # 河东村 of 52099902
    auth.login("inspector")
    html = client.get(LEDGER).get_data(as_text=True)
    assert ids_listed(html) == {to_village, to_township, late, elsewhere}
    assert "逾期 1 份" in html
    assert ids_listed(client.get(LEDGER, query_string={"township": SONGLIN}).get_data(as_text=True)) == {
        to_village,
        to_township,
        late,
    }
    by_village = client.get(LEDGER, query_string={"village": QINGSHAN}).get_data(as_text=True)
    assert ids_listed(by_village) == {to_village, late}
    assert ids_listed(client.get(LEDGER, query_string={"period": "2026Q3"}).get_data(as_text=True)) == {late}
    reported = stored(db_session, to_village)
    notices.report_rectified(db_session, user(db_session, "village"), reported, reported.version, "已整改")
    db_session.commit()
    rectified = client.get(LEDGER, query_string={"state": "rectified"}).get_data(as_text=True)
    assert ids_listed(rectified) == {to_village} and '<option value="rectified" selected>' in rectified
    assert f"{LEDGER}.xlsx?state=rectified" in rectified
    assert "没有符合条件的通知单" in client.get(LEDGER, query_string={"state": "closed", "township": SONGLIN}).get_data(
        as_text=True
    )


def test_the_ledger_file_is_the_filtered_ledger_with_text_never_a_formula(
    client: FlaskClient, auth: Auth, db_session: Session
) -> None:
    hostile = issue(db_session, problem='=HYPERLINK("http://example.invalid","点我")')
    issue(db_session, village_code="5209990201")
    late = issue(db_session, now=LONG_AGO, period="2026Q3")
    auth.login("inspector")
    response = client.get(f"{LEDGER}.xlsx", query_string={"township": SONGLIN})
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    header, lines = rows[0], rows[1:]
    assert header[:3] == ("编号", "类别", "来源") and {line[0] for line in lines} == {hostile, late}
    [line] = [line for line in lines if line[0] == hostile]
    problem = header.index("问题")
    assert line[problem] == '=HYPERLINK("http://example.invalid","点我")'
    cell = next(c for row in sheet.iter_rows(min_row=3) for c in row if c.value == line[problem])
    assert cell.data_type == "s" and cell.quotePrefix
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    [overdue] = [line for line in lines if line[0] == late]
    assert overdue[header.index("逾期")] == "是" and overdue[header.index("乡镇")] == "松林镇"


# --- the black list ----------------------------------------------------------------------------


def test_black_list_notices_are_issued_once(client: FlaskClient, auth: Auth, db_session: Session) -> None:
    auth.login("inspector")
    url = f"{LEDGER}/black-list"
    html = client.get(LEDGER, query_string={"period": "2026Q3"}).get_data(as_text=True)
    assert "为黑榜户下发督办通知单" in html and '<option selected value="2026Q3">' in html

    first = auth.post(url, {"period": "2026Q3", "village": QINGSHAN}, LEDGER)
    assert first.status_code == 303 and "period=2026Q3" in first.headers["Location"]
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "已为青山村 2026Q3 黑榜户下发 3 份督办通知单" in page
    assert page.count("黑榜户整改") == 3
    again = auth.post(url, {"period": "2026Q3", "village": QINGSHAN}, LEDGER)
    assert "本次新下发 0 份" in client.get(again.headers["Location"]).get_data(as_text=True)
    count = db_session.scalar(sa.select(sa.func.count(Notice.id)).where(Notice.source == NoticeSource.BLACK_LIST))
    assert count == 3

    not_final = auth.post(url, {"period": "2026Q4", "village": QINGSHAN}, LEDGER)
    assert "定档后才有红黑榜" in client.get(not_final.headers["Location"]).get_data(as_text=True)
    no_village = auth.post(url, {"period": "2026Q3", "village": ""}, LEDGER)
    assert "请选择村" in client.get(no_village.headers["Location"]).get_data(as_text=True)
    auth.logout()
    auth.login("county")
    assert auth.post(url, {"period": "2026Q3", "village": QINGSHAN}, "/").status_code == 403


# --- the service's read helpers behind the pages -----------------------------------------------


def test_open_counts_rows_and_escalation_links(db: Session) -> None:
    inspector = user(db, "inspector")
    village = factories.village(db, QINGSHAN)
    township = db.scalars(sa.select(Township).where(Township.code == SONGLIN)).one()
    now = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)

    def by_hand(target: Village | None, at: dt.datetime) -> Notice:
        return notices.issue(
            db,
            inspector,
            county(db),
            period=factories.period(db, "2026Q4"),
            township=township,
            village=target,
            responsible_person="王支书",
            problem="垃圾",
            now=at,
        )

    fresh, late = by_hand(village, now), by_hand(village, now - dt.timedelta(days=2))
    own = by_hand(None, now)
    assert notices.open_count_for_village(db, village, now=now) == notices.OpenCount(open=2, overdue=1)
    assert notices.open_count_for_township(db, township, villages=True, now=now) == notices.OpenCount(2, 1)
    assert notices.open_count_for_township(db, township, villages=False, now=now) == notices.OpenCount(1, 0)
    notices.report_rectified(db, user(db, "village"), fresh, fresh.version, "已整改", now=now)
    assert notices.open_count_for_village(db, village, now=now) == notices.OpenCount(open=1, overdue=1)

    row = notices.ledger_row(db, late, now=now)
    assert (row.addressee, row.period_code, row.overdue) == ("松林镇 青山村", "2026Q4", True)
    assert notices.ledger_row(db, own, now=now).addressee == "松林镇"
    assert notices.is_overdue(late, now) and not notices.is_overdue(fresh, now + dt.timedelta(days=9))
    assert notices.escalated_to(db, late) is None
    [accountability] = notices.escalate_overdue(db, now=now)
    assert notices.escalated_to(db, late) == accountability and accountability.kind is NoticeKind.ACCOUNTABILITY
    assert notices.open_count_for_village(db, village, now=now) == notices.OpenCount(open=1, overdue=0)


@pytest.mark.parametrize("text", ["2026-12-02T16:00", "2026-12-02 16:00", "2026-12-02 16:00:00"])
def test_a_deadline_is_read_as_beijing_time(app, text: str) -> None:  # type: ignore[no-untyped-def]
    from web.notice_forms import BeijingDateTimeField, IssueForm

    with app.test_request_context():
        form = IssueForm(meta={"csrf": False})
        field: BeijingDateTimeField = form.deadline
        field.process_formdata([text])
        assert field.data == dt.datetime(2026, 12, 2, 8, tzinfo=dt.UTC)
        assert field._value() == text
