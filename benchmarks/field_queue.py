"""Benchmark: work in the field over a weak connection (issue 31).

1. Page weight: the one-household review form, the group entry screen and the spot-check list as
   Chromium loads them on a phone viewport (bytes on the wire, from the DevTools protocol's
   ``Network.loadingFinished``, and the HTML document alone), first without the service worker,
   then again once the worker controls the page.
2. A queue of 30 group reviews, each with a photo, saved with the connection down (30 entries in
   IndexedDB), then sent when it returns over Chromium's network emulation: the time from the
   connection coming back until the queue is empty, and the reviews written.

The app is ``hygiene serve`` on a fresh copy of the tests' seeded SQLite database; the village
clerk's 2026Q4 group reviews of 青山村 are removed first so that 30 households are open.

    .venv/bin/python benchmarks/field_queue.py                       # "3G" (Chromium's Fast 3G)
    .venv/bin/python benchmarks/field_queue.py --profile "Slow 3G"

Every process it starts (the server, Chromium) is stopped before it returns.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, Response, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hygiene.db import make_engine
from tests.browser.conftest import CHROMIUM_ARGS, PHONE, serving
from tests.conftest import PASSWORDS, build_database

# Chromium DevTools' presets (bytes per second, milliseconds), as Puppeteer's PredefinedNetworkConditions.
PROFILES = {
    "3G": {"download": 1.6e6 / 8 * 0.9, "upload": 750e3 / 8 * 0.9, "latency": 150 * 3.75},  # "Fast 3G"
    "Slow 3G": {"download": 500e3 / 8 * 0.8, "upload": 500e3 / 8 * 0.8, "latency": 400 * 5},
}
VILLAGE, PERIOD = "5209990101", "2026Q4"
V1 = f"/village/{VILLAGE}/periods/{PERIOD}"


def phone_photo(seed: int, side: tuple[int, int] = (1600, 1200)) -> bytes:
    """A photo as the phone's page sends it (resized to 1600 px, JPEG quality 80): textured enough
    to weigh what a real one does (about 250-400 KB)."""
    rng = random.Random(seed)
    small = Image.new("RGB", (side[0] // 8, side[1] // 8))
    small.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(small.width * small.height)]
    )
    image = small.resize(side, Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def weigh(page: Page, url: str) -> dict[str, int]:
    """What loading ``url`` brings (the document, its CSS and scripts), by URL path: body bytes (the
    app serves them uncompressed, so as on the wire, headers aside)."""
    got: dict[str, int] = {}

    def seen(response: Response) -> None:
        with contextlib.suppress(Exception):  # a redirect has no body
            got[response.url.split("?")[0].removeprefix(url.split("/village")[0])] = len(response.body())

    page.on("response", seen)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.remove_listener("response", seen)
    return got


def login(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("village")
    page.get_by_label("密码").fill(PASSWORDS["village"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/village/**")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="3G")
    parser.add_argument("--saves", type=int, default=30)
    parser.add_argument("--weight-only", action="store_true", help="measure the page weight only")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_field_"))
    try:
        database = work / "hygiene.sqlite3"
        engine = make_engine(f"sqlite:///{database}")
        build_database(engine)
        engine.dispose()
        with sqlite3.connect(database) as conn:
            conn.execute(
                "DELETE FROM reviews WHERE kind = 'group' AND period_id IN (SELECT id FROM periods WHERE code = ?)"
                " AND household_id IN (SELECT id FROM households WHERE code LIKE ?)",
                (PERIOD, VILLAGE + "%"),
            )
            codes = [
                r[0]
                for r in conn.execute(
                    "SELECT code FROM households WHERE code LIKE ? AND moved_away_on IS NULL ORDER BY code",
                    (VILLAGE + "%",),
                )
            ][: args.saves]
        if len(codes) < args.saves:
            raise SystemExit(f"only {len(codes)} households in {VILLAGE}")
        photos = [phone_photo(n) for n in range(len(codes))]
        print(f"photos: {len(photos)}, {sum(map(len, photos)) / len(photos) / 1024:.0f} KiB each on average")
        with serving(database) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(locale="zh-CN", **PHONE)
            page = context.new_page()
            login(page, base)
            pages = {
                "one-household form": f"{base}{V1}/households/{codes[0]}/review?kind=group",
                "group entry screen": f"{base}{V1}/groups/{codes[0][:12]}/review",
                "review board": f"{base}{V1}/",
            }
            print("page weight (HTML + CSS + scripts as loaded, bytes; the worker's sw.js counted once):")
            plain = browser.new_context(locale="zh-CN", service_workers="block", **PHONE)
            plain.add_cookies(context.cookies())
            bare = plain.new_page()
            page.goto(pages["review board"])
            page.evaluate("navigator.serviceWorker.ready.then(() => true)")
            page.reload()  # controlled from here on
            worker = len(page.request.get(f"{base}/sw.js").body())
            for name, url in pages.items():
                without = weigh(bare, url)
                weigh(page, url)  # kept by the worker
                controlled = weigh(page, url)
                print(
                    f"  {name:20s} without the worker {sum(without.values()) / 1024:5.1f} KiB"
                    f" ({', '.join(f'{k} {v / 1024:.1f}' for k, v in without.items())});"
                    f" with it {(sum(controlled.values()) + worker) / 1024:5.1f} KiB incl. sw.js {worker / 1024:.1f}"
                )
            plain.close()
            if args.weight_only:
                browser.close()
                return
            for code in codes:  # visited online once, so the forms open offline
                page.goto(f"{base}{V1}/households/{code}/review?kind=group")
            # the page's own connection down (DevTools emulation; the worker still serves the forms)
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send(
                "Network.emulateNetworkConditions",
                {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
            )
            started = time.perf_counter()
            for n, (code, photo) in enumerate(zip(codes, photos, strict=True), start=1):
                page.goto(f"{base}{V1}/households/{code}/review?kind=group")
                page.get_by_label("评比检查小组成员").fill("王组长、李委员")
                cells = page.locator("form.review-form input[inputmode=decimal]")
                for i in range(10):
                    cells.nth(i).fill("9")
                page.locator("input[type=file][name=photo]").set_input_files(
                    {"name": f"IMG_{n:04d}.jpg", "mimeType": "image/jpeg", "buffer": photo}
                )
                page.get_by_role("button", name="保存评议").click()
                page.wait_for_selector(f"#field-queue[data-waiting='{n}']")
            print(f"queued {len(codes)} saves offline in {time.perf_counter() - started:.1f} s (typing included)")
            profile = PROFILES[args.profile]
            started = time.perf_counter()
            cdp.send(  # back, throttled: the page's "online" event starts sending the queue
                "Network.emulateNetworkConditions",
                {
                    "offline": False,
                    "latency": profile["latency"],
                    "downloadThroughput": profile["download"],
                    "uploadThroughput": profile["upload"],
                },
            )
            page.wait_for_selector("#field-queue[data-waiting='0']", state="attached", timeout=900_000)
            elapsed = time.perf_counter() - started
            browser.close()
        with sqlite3.connect(database) as conn:
            written = conn.execute(
                "SELECT count(*) FROM reviews r JOIN periods p ON p.id = r.period_id WHERE r.kind = 'group'"
                " AND p.code = ? AND r.household_id IN (SELECT id FROM households WHERE code LIKE ?)",
                (PERIOD, VILLAGE + "%"),
            ).fetchone()[0]
            shots = conn.execute("SELECT count(*) FROM photos").fetchone()[0]
        print(
            f"sent {len(codes)} queued saves with photos over {args.profile} "
            f"(latency {profile['latency']:.0f} ms, up {profile['upload'] * 8 / 1000:.0f} kbit/s, "
            f"down {profile['download'] * 8 / 1000:.0f} kbit/s) in {elapsed:.1f} s "
            f"({elapsed / len(codes):.2f} s a save); reviews written: {written}, photos: {shots}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
