"""File downloads with a Chinese file name that every browser keeps (RFC 6266 ``filename*``)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"


def download(data: bytes, file_name: str, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    ascii_name = "download" + (file_name[file_name.rfind(".") :] if "." in file_name else "")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name)}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response
