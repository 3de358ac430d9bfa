"""URL converters that refuse, as "not found" before any query, what no row can be named by: an id
above PostgreSQL's integer range (2³¹−1; SQLite's ceiling 2⁶³−1 is above it), and a NUL byte in a
path segment (PostgreSQL refuses NUL in text, which would be a 500)."""

from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter

MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>``: 0 to 2³¹−1 (every id column is an integer), digits only, else 404."""

    def __init__(self, map: object, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)  # type: ignore[arg-type]


class TextConverter(UnicodeConverter):
    """``<name>`` / ``<string:name>``: any segment without "/" or NUL."""

    def __init__(self, map: object, *args: object, **kwargs: object) -> None:
        super().__init__(map, *args, **kwargs)  # type: ignore[arg-type]
        self.regex = self.regex.replace("[^/]", "[^/\x00]")


class NulFreePathConverter(PathConverter):
    regex = "[^\x00]*?"


def init_app(app: Flask) -> None:
    app.url_map.converters.update(
        {"int": IdConverter, "default": TextConverter, "string": TextConverter, "path": NulFreePathConverter}
    )
    app.before_request(_refuse_nul_in_query)


def _refuse_nul_in_query() -> None:
    """A NUL in a query string's names or values is no filter any page offers: 400."""
    if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.args.lists()):
        abort(400)
