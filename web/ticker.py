"""Time moves in the served app too (issue 16: `hygiene tick` from cron must not be the only thing
that finalises due periods, or `make run` on a laptop never would). Before a request, at most once
every ``TICK_SECONDS`` per process, the tick service runs in its own short transaction; a failure is
logged and never reaches the request. With several workers each ticks: the service is idempotent,
and one tick runs at a time (a second one skips, ``tick.run``), so two workers never race."""

from __future__ import annotations

import threading
import time

from flask import Flask, current_app

from hygiene.services import tick

_LOCK = threading.Lock()


def init_app(app: Flask) -> None:
    if int(app.config["TICK_SECONDS"]) > 0:
        app.extensions["hygiene.last_tick"] = float("-inf")  # the first request ticks
        app.before_request(_maybe_tick)


def _maybe_tick() -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    now = time.monotonic()
    if now - app.extensions["hygiene.last_tick"] < int(app.config["TICK_SECONDS"]):
        return
    if not _LOCK.acquire(blocking=False):  # another thread of this process is ticking
        return
    try:
        app.extensions["hygiene.last_tick"] = now
        with app.extensions["hygiene.write_sessionmaker"].begin() as session:
            done = tick.run(session)
        for failure in done.failed:
            app.logger.warning("未能定档 %s：%s", failure.name, failure.reason)
    except Exception:
        app.logger.exception("time-driven steps failed; the next request after the interval tries again")
    finally:
        _LOCK.release()
