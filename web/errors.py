"""Error pages in Chinese, in the shared layout.

One error path: a 409 or a 5xx page is rendered from a fresh session (``database.reset_session``),
never from the failed request's, whose transaction may be unusable (a failed flush, an aborted
PostgreSQL transaction) and whose loaded rows, the signed-in user among them, would be read again
by the layout."""

from __future__ import annotations

import sqlite3

import psycopg
import sqlalchemy as sa
from flask import Flask, current_app, render_template
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from hygiene.io.pdf import FontMissing
from hygiene.services.errors import Conflict
from web import database
from web.uploads import UploadNotStored

MESSAGES = {
    400: ("请求无效", "提交的内容无效，请返回重试。"),
    403: ("无权访问", "您的账号没有访问此页面的权限。"),
    404: ("页面不存在", "您要找的页面不存在，请检查地址。"),
    405: ("请求方式不允许", "此页面不接受这种请求。"),
    409: ("数据已被他人修改", Conflict.DEFAULT),
    413: ("文件过大", "上传的文件超过大小上限。"),
    500: ("系统错误", "系统出现错误，请稍后重试；如持续出现请联系县管理员。"),
    503: ("暂时无法提供", "服务器缺少所需组件，请联系县管理员。"),
}


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    # One path for every write that loses a race, on SQLite and PostgreSQL alike.
    app.register_error_handler(Conflict, _conflict)
    app.register_error_handler(StaleDataError, _conflict)
    app.register_error_handler(sa.exc.DBAPIError, _database_error)
    # A server set up without the CJK fonts: say which package, not a bare 500.
    app.register_error_handler(FontMissing, _font_missing)
    # The upload folder's disk full: say so, nothing recorded (issue 32).
    app.register_error_handler(UploadNotStored, _upload_not_stored)


def _upload_not_stored(error: Exception) -> tuple[str, int]:
    current_app.logger.error("%s", error)
    return _render(503, str(error))


def _font_missing(error: FontMissing) -> tuple[str, int]:
    current_app.logger.error("%s", error)
    return _render(503, f"{error}（scripts/system-packages.sh run 会安装），请联系县管理员。")


def _conflict(error: Exception) -> tuple[str, int]:
    database.reset_session()
    return _render(409, str(error) if isinstance(error, Conflict) else None)


def lost_a_race(error: sa.exc.DBAPIError) -> bool:
    """A unique index met a row saved a moment earlier, or PostgreSQL gave up a serialization or a
    deadlock: what two people saving at once cause, not a bug."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in ("23505", "40001", "40P01"):  # unique_violation, serialization_failure, deadlock_detected
        return True
    return isinstance(error, sa.exc.IntegrityError) and "UNIQUE constraint failed" in str(error.orig)


BUSY = "数据库正忙（另一项写入尚未完成），本次操作未保存，请稍后重试。"
UNREACHABLE = "暂时无法连接数据库，本次操作未保存，请稍后重试；如持续出现请联系县管理员。"


def unavailable(error: sa.exc.DBAPIError) -> str | None:
    """Why the database could not serve now, for a 503 page (issue 32): SQLite locked by another
    writer beyond its busy timeout, or a PostgreSQL connection lost (a restart, a failover, a
    terminated backend). Nothing of the request was saved: its transaction is gone."""
    if isinstance(error.orig, sqlite3.OperationalError) and "locked" in str(error.orig):
        return BUSY
    # psycopg's OperationalError: no server to connect to (a restart, a failover: "session is
    # read-only" from a standby not yet promoted), a connection lost or terminated (SQLSTATE 08, 57P0x).
    if error.connection_invalidated or isinstance(error.orig, psycopg.OperationalError):
        return UNREACHABLE
    return None


def _database_error(error: sa.exc.DBAPIError) -> tuple[str, int]:
    if lost_a_race(error):
        return _conflict(error)
    busy = unavailable(error)
    if busy is not None:
        current_app.logger.warning("database unavailable: %s", error.orig)
        database.reset_session()
        return _render(503, busy)
    current_app.logger.exception("database error", exc_info=error)
    database.reset_session()
    return _render(500)


def _render(code: int, detail: str | None = None) -> tuple[str, int]:
    if code == 409 or code >= 500:
        database.reset_session()
    title, message = MESSAGES.get(code, ("出错了", "请求未能完成。"))
    if request_ctx.url_adapter is None:  # a Host outside TRUSTED_HOSTS: no link can be built
        body = escape(detail or message)
        page = f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{title}</title><p>{body}</p></html>'
        return page, code
    return render_template("errors/error.html", code=code, title=title, message=detail or message), code


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return _render(400, "页面已过期或缺少安全令牌，请刷新页面后重新提交。")


def _http_error(error: HTTPException) -> tuple[str, int]:
    # A view's own Chinese description (abort(503, "...")); werkzeug's English texts are not shown.
    own = error.description if error.code == 503 and error.description != type(error).description else None
    return _render(error.code or 500, own)
