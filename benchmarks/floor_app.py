"""The floor of ``benchmarks/public_load.py`` (issue 34): a bare Flask app that serves the posted
list's bytes and headers, exactly as the app sent them, under the same gunicorn settings as
``hygiene serve`` (``web.wsgi_server.run_gunicorn``). No database, session, login or hooks: what
any Flask app pays per request on this machine.

    .venv/bin/python benchmarks/floor_app.py FOLDER PORT WORKERS

FOLDER holds ``page.body`` (the response body) and ``page.json`` (``{"path": ..., "headers": {...}}``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from flask import Flask, Response

from web.wsgi_server import run_gunicorn


def floor_app(folder: Path) -> Flask:
    body = (folder / "page.body").read_bytes()
    meta = json.loads((folder / "page.json").read_text())
    headers = list(meta["headers"].items())
    app = Flask(__name__)

    def page() -> Response:
        return Response(body, status=200, headers=headers)

    def ready() -> str:
        return "ok"

    app.add_url_rule(meta["path"], "page", page)
    app.add_url_rule("/", "ready", ready)
    return app


def main() -> None:
    folder, port, workers = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    run_gunicorn(floor_app(folder), "127.0.0.1", port, workers)


if __name__ == "__main__":
    main()
