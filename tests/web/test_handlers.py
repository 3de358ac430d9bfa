"""The shape of every request (web/handlers.py, web/forms.VersionField, web/errors.py): one place
commits, one getter 404s what is missing or another unit's, a posted version is read strictly, and
an error page is rendered from a fresh session, on SQLite and PostgreSQL (issues 27 and 28)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask, get_flashed_messages
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import NotFound as HTTPNotFound
from wtforms import StringField

from hygiene.models import County, IdempotencyKey, User
from hygiene.services import idempotency
from hygiene.services.errors import Conflict, FieldErrors, NotFound, ServiceError
from tests.web.conftest import Auth
from web import create_app
from web.database import get_session
from web.extensions import csrf
from web.forms import BaseForm, VersionField
from web.handlers import Once, load, save
from web.security import current_account


@pytest.fixture
def any_app(committing_engine: sa.Engine) -> Iterator[Flask]:
    url = committing_engine.url.render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "handlers-test-secret-key-0123456789"})
    yield app
    app.extensions["hygiene.engine"].dispose()


def county_count(session: Session, name: str) -> int:
    return session.scalar(sa.select(sa.func.count(County.id)).where(County.name == name)) or 0


class NameForm(BaseForm):
    name = StringField("名称")
    version = VersionField()


def test_save_commits_a_change_once_and_says_so(any_app: Flask) -> None:
    with any_app.test_request_context("/", method="POST"):
        saved = save(lambda s: s.add(County(code="529901", name="新县")) or "x", done=lambda v: f"已保存{v}")
        assert saved.ok and saved.value == "x"
        assert get_flashed_messages(with_categories=True) == [("success", "已保存x")]
    with any_app.extensions["hygiene.sessionmaker"]() as session:
        assert county_count(session, "新县") == 1


def test_save_rolls_back_a_refusal_and_puts_field_errors_next_to_their_fields(any_app: Flask) -> None:
    def refused(session: Session) -> None:
        session.add(County(code="529902", name="不该有的县"))
        session.flush()
        raise FieldErrors({"name": "名称不能为空", "elsewhere": "别处的问题"})

    with any_app.test_request_context("/", method="POST", data={"name": "", "version": "3"}):
        form = NameForm(meta={"csrf": False})
        saved = save(refused, done="不会出现", form=form)
        assert not saved.ok and saved.field_errors
        assert form.name.errors == ["名称不能为空"] and form.form_errors == ["别处的问题"]
        assert get_flashed_messages(with_categories=True) == [("error", "名称不能为空；别处的问题")]
    with any_app.extensions["hygiene.sessionmaker"]() as session:
        assert county_count(session, "不该有的县") == 0


def test_save_rolls_back_a_service_refusal_and_flashes_it(any_app: Flask) -> None:
    def refused(session: Session) -> None:
        session.add(County(code="529903", name="不该有的县"))
        session.flush()
        raise ServiceError("不可以")

    with any_app.test_request_context("/", method="POST"):
        saved = save(refused, done="不会出现")
        assert not saved.ok and not saved.field_errors
        assert get_flashed_messages(with_categories=True) == [("error", "不可以")]
    with any_app.extensions["hygiene.sessionmaker"]() as session:
        assert county_count(session, "不该有的县") == 0


def test_save_lets_a_conflict_through_to_the_409_page(any_app: Flask) -> None:
    def stale(session: Session) -> None:
        raise Conflict()

    with any_app.test_request_context("/", method="POST"), pytest.raises(Conflict):
        save(stale, done="不会出现")


def test_load_finds_what_belongs_and_404s_the_rest(any_app: Flask) -> None:
    def by_code(session: Session, code: str) -> County:
        found = session.scalars(sa.select(County).where(County.code == code)).one_or_none()
        if found is None:
            raise NotFound("没有这个县")
        return found

    with any_app.test_request_context("/"):
        assert load(by_code, "520999").code == "520999"
        with pytest.raises(HTTPNotFound):
            load(by_code, "000000")
        with pytest.raises(HTTPNotFound):
            load(by_code, "520999", belongs=lambda county: county.code == "520998")
        with pytest.raises(HTTPNotFound):
            load(lambda session: None)


@pytest.mark.parametrize("text", ["abc", "1.5", "1e3", "-1", "+1", " 1", "1\x00", "３", "2147483648", "9" * 40])
def test_a_posted_version_that_no_page_sends_is_a_400(any_app: Flask, text: str) -> None:
    with any_app.test_request_context("/", method="POST", data={"version": text}), pytest.raises(BadRequest):
        NameForm(meta={"csrf": False})


@pytest.mark.parametrize(("text", "value"), [("", 0), ("0", 0), ("7", 7), ("2147483647", 2**31 - 1)])
def test_a_posted_version_is_read_as_an_int(any_app: Flask, text: str, value: int) -> None:
    with any_app.test_request_context("/", method="POST", data={"version": text}):
        assert NameForm(meta={"csrf": False}).version.data == value
    with any_app.test_request_context("/"):
        assert 'value="5"' in NameForm(formdata=None, version=5, meta={"csrf": False}).version()


def break_the_session() -> None:
    """What a lost race leaves: a flush that failed, and the signed-in user's row expired with it."""
    session = get_session()
    session.expire(current_account())
    session.add(County(code="520999", name="重复的县"))  # the demo county's code: a unique violation
    with contextlib.suppress(sa.exc.IntegrityError):
        session.flush()


@pytest.mark.parametrize("ending", ["conflict", "crash"])
def test_an_error_page_after_a_failed_flush_is_rendered_from_a_fresh_session(any_app: Flask, ending: str) -> None:
    def broken() -> str:
        break_the_session()
        if ending == "conflict":
            raise Conflict()
        raise RuntimeError("a bug")

    any_app.add_url_rule("/_broken", "broken", csrf.exempt(broken), methods=["POST"])
    any_app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 page, not the traceback
    client = any_app.test_client()
    assert Auth(client).login("county").status_code == 302
    response = client.post("/_broken")
    html = response.get_data(as_text=True)
    assert response.status_code == (409 if ending == "conflict" else 500)
    assert ("数据已被他人修改" if ending == "conflict" else "系统错误") in html
    assert "（县管理员）" in html  # the layout read the signed-in user again, from a fresh session


KEY = "7d1f0c52-9a4b-4e1e-8f2a-3b6c5d7e8f90"


def village_clerk(session: Session) -> tuple[User, int]:
    user = session.scalars(sa.select(User).where(User.username == "village")).one()
    return user, session.scalars(sa.select(County.id).where(County.code == "520999")).one()


def test_save_once_stores_the_answer_with_the_change_and_flashes_nothing(any_app: Flask) -> None:
    with any_app.test_request_context("/", method="POST"):
        user, county_id = village_clerk(get_session())
        saved = save(
            lambda s: s.add(County(code="529904", name="一次县")) or "x",
            done=lambda v: f"已保存{v}",
            once=Once(KEY, "d" * 64, user, county_id, lambda v: f"/after/{v}"),
        )
        assert saved.ok and saved.answer == idempotency.Answer(200, "/after/x", "已保存x")
        assert get_flashed_messages() == []  # the view answers (JSON for the queue, or flash and redirect)
    with any_app.extensions["hygiene.sessionmaker"]() as session:
        assert county_count(session, "一次县") == 1
        [row] = session.scalars(sa.select(IdempotencyKey)).all()
        assert (row.key, row.location, row.message) == (KEY, "/after/x", "已保存x")


def test_save_once_refused_keeps_no_key(any_app: Flask) -> None:
    def refused(session: Session) -> None:
        raise ServiceError("不可以")

    with any_app.test_request_context("/", method="POST"):
        user, county_id = village_clerk(get_session())
        assert not save(refused, once=Once(KEY, "d" * 64, user, county_id, str))
    with any_app.extensions["hygiene.sessionmaker"]() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 0


@pytest.mark.parametrize(("digest", "answered"), [("d" * 64, True), ("e" * 64, False)])
def test_save_once_losing_the_race_for_its_key_writes_nothing_and_answers_as_the_twin(
    any_app: Flask, digest: str, answered: bool
) -> None:
    """A twin request with the same key committed while this one worked (its lookup found nothing):
    this one's change is rolled back; it answers as the twin did, or is refused when the twin sent
    other values under the key."""
    with any_app.extensions["hygiene.sessionmaker"]() as session:
        user, county_id = village_clerk(session)
        first = idempotency.Answer(200, "/twin", "已保存（孪生请求）")
        idempotency.remember(session, user, county_id, KEY, "d" * 64, first)
        session.commit()
    with any_app.test_request_context("/", method="POST"):
        user, county_id = village_clerk(get_session())
        saved = save(
            lambda s: s.add(County(code="529905", name="孪生县")),
            done="不会出现",
            once=Once(KEY, digest, user, county_id, lambda _: "/here"),
        )
        assert saved.ok is answered
        assert saved.answer == (first if answered else None)
        assert answered or "另一份内容不同" in str(saved.error)
    with any_app.extensions["hygiene.sessionmaker"]() as session:
        assert county_count(session, "孪生县") == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 1
