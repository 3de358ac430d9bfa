"""Error pages in Chinese, in the shared layout."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: ("请求无效", "提交的内容无效，请返回重试。"),
    403: ("无权访问", "您的账号没有访问此页面的权限。"),
    404: ("页面不存在", "您要找的页面不存在，请检查地址。"),
    405: ("请求方式不允许", "此页面不接受这种请求。"),
    413: ("文件过大", "上传的文件超过大小上限。"),
    500: ("系统错误", "系统出现错误，请稍后重试；如持续出现请联系县管理员。"),
}


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)


def _render(code: int, detail: str | None = None) -> tuple[str, int]:
    title, message = MESSAGES.get(code, ("出错了", "请求未能完成。"))
    return render_template("errors/error.html", code=code, title=title, message=detail or message), code


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return _render(400, "页面已过期或缺少安全令牌，请刷新页面后重新提交。")


def _http_error(error: HTTPException) -> tuple[str, int]:
    return _render(error.code or 500)
