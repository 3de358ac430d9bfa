"""Serving: gunicorn in production (``hygiene serve`` outside development, or ``gunicorn
'web:create_app()'``), Werkzeug's server for ``make run``; neither tells clients its version."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from werkzeug.serving import WSGIRequestHandler

REQUEST_TIMEOUT_SECONDS = 300


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's development server without "Server: Werkzeug/3.1 Python/3.11" (a version
    announced is a version to look up vulnerabilities for)."""

    server_version = "hygiene"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version


def run_development(app: Flask, host: str, port: int) -> None:
    app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True, request_handler=QuietRequestHandler)


class _Server(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def run_gunicorn(app: Flask, host: str, port: int, workers: int) -> None:
    _Server(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "control_socket_disable": True,
            # A county-wide roster (about 200,000 households) is checked and written within one
            # request, up to a minute and a half on PostgreSQL (docs/performance.md); gunicorn's
            # default 30 s would kill the worker half-way. The import is all-or-nothing regardless.
            "timeout": REQUEST_TIMEOUT_SECONDS,
            "accesslog": "-",
        },
    ).run()
