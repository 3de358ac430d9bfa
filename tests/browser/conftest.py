"""Real-browser fixtures: the app served by ``hygiene serve`` in a subprocess, on a copy of the
seeded database, driven by Playwright through Debian's Chromium (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

# Playwright's assertions wait 5 s by default; a page served by a subprocess on a 2-core CI machine
# that also runs PostgreSQL can take longer to answer, and a wrong page still fails after 15 s.
expect.set_options(timeout=15_000)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(database: Path) -> Iterator[str]:
    """``hygiene serve`` on this SQLite file in a subprocess, until the block ends: its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "HYGIENE_ENV": "development",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    hygiene = Path(sys.executable).with_name("hygiene")
    server = subprocess.Popen(
        [str(hygiene), "serve"], cwd=database.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError as exc:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(
                    f"hygiene serve did not start: {server.stderr.read().decode() if server.stderr else ''}"
                ) from exc
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stderr:
            server.stderr.close()


@pytest.fixture
def live_database(sqlite_template: Path, tmp_path: Path) -> Path:
    """A copy of the seeded database for one test's server (a test may adjust it before serving)."""
    database = tmp_path / "live.sqlite3"
    shutil.copy(sqlite_template, database)
    return database


@pytest.fixture
def live_server(live_database: Path) -> Iterator[str]:
    with serving(live_database) as base:
        yield base


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError("Debian chromium is not installed: run `make test` (scripts/system-packages.sh test)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(locale="zh-CN", **PHONE)
    yield context
    context.close()


@pytest.fixture
def page(phone: BrowserContext) -> Page:
    return phone.new_page()
