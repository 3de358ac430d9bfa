"""Error pages in Chinese, in the shared layout.

One error path: a 409 or a 5xx page is rendered from a fresh session (``database.reset_session``),
never from the failed request's, whose transaction may be unusable (a failed flush, an aborted
PostgreSQL transaction) and whose loaded rows, the signed-in user among them, would be read again
by the layout."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from hygiene.io.pdf import FontMissing
from hygiene.services.errors import Conflict
from web import database

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


def _database_error(error: sa.exc.DBAPIError) -> tuple[str, int]:
    if lost_a_race(error):
        return _conflict(error)
    current_app.logger.exception("database error", exc_info=error)
    database.reset_session()
    return _render(500)


def _render(code: int, detail: str | None = None) -> tuple[str, int]:
    if code == 409 or code >= 500:
        database.reset_session()
    title, message = MESSAGES.get(code, ("出错了", "请求未能完成。"))
    return render_template("errors/error.html", code=code, title=title, message=detail or message), code


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return _render(400, "页面已过期或缺少安全令牌，请刷新页面后重新提交。")


def _http_error(error: HTTPException) -> tuple[str, int]:
    return _render(error.code or 500)
