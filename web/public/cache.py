"""Rendered public pages kept in memory, by what they show.

A posted list is a record: it changes only when the record, the period's state, its objections or
the day (the days left of the posting) change. The view computes that version with one small query
and renders the page once per version; every later request is served from memory, gzip-compressed
for the phones that accept it, with a strong ETag so that a phone's second visit costs a 304.

Only anonymous requests share pages: a logged-in user's page carries their name and a logout form,
and a pending flashed message must be shown, so those are rendered each time and never cached by
anyone else ("private, no-store").
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import cast

from flask import Response, current_app, request, session
from flask_login import current_user

MAX_BYTES = 64 * 1024 * 1024  # per worker: some 8,000 gzipped village lists (a 430-household list is ~8 KB)
BROWSER_MAX_AGE = 60  # seconds a phone may reuse a page without asking (a posting's days left change daily)
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Page:
    """A rendered page kept compressed only: phones accept gzip; the rare client that does not
    gets it decompressed on the way out."""

    gzipped: bytes
    etag: str

    @classmethod
    def of(cls, html: str) -> Page:
        body = html.encode()
        return cls(gzip.compress(body, GZIP_LEVEL, mtime=0), hashlib.sha256(body).hexdigest()[:32])

    def response(self, *, shared: bool) -> Response:
        """The page for this request: 304 when the phone has it, gzip when it accepts gzip."""
        if request.if_none_match.contains(self.etag):
            response = Response(status=304)
        elif request.accept_encodings.quality("gzip") > 0:
            response = Response(self.gzipped, mimetype="text/html")
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = Response(gzip.decompress(self.gzipped), mimetype="text/html")
        response.set_etag(self.etag)
        response.vary.add("Accept-Encoding")
        response.vary.add("Cookie")
        if shared:
            response.cache_control.public = True
            response.cache_control.max_age = BROWSER_MAX_AGE
        else:
            response.cache_control.private = True
            response.cache_control.no_store = True
        return response


class PageCache:
    """A least-recently-used map from a page's version key to the rendered page, bounded in bytes."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self._pages: OrderedDict[Hashable, Page] = OrderedDict()
        self._lock = threading.Lock()  # the development server is threaded; gunicorn's workers are not
        self.max_bytes = max_bytes
        self.size = 0

    def get(self, key: Hashable, render: Callable[[], str]) -> Page:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
                return page
        page = Page.of(render())
        with self._lock:
            if key not in self._pages:
                self._pages[key] = page
                self.size += len(page.gzipped)
            while self.size > self.max_bytes and self._pages:
                _, dropped = self._pages.popitem(last=False)
                self.size -= len(dropped.gzipped)
        return page

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self.size = 0


def pages() -> PageCache:
    """This app's cache (one per app: a test's app never sees another database's pages)."""
    return cast(PageCache, current_app.extensions.setdefault("hygiene.public_pages", PageCache()))


def shareable() -> bool:
    """Whether this request sees the page everyone sees (anonymous, no message waiting)."""
    return not current_user.is_authenticated and not session.get("_flashes")


def serve(key: Hashable, render: Callable[[], str]) -> Response:
    """A public page by its version key: from memory when anyone may share it, rendered otherwise."""
    if shareable():
        return pages().get(key, render).response(shared=True)
    return Page.of(render()).response(shared=False)
