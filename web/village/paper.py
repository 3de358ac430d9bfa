"""Paper for the village (RULES.md §6-7): the printed notice for the village board and the plaque
certificates, as PDF downloads, for whoever can view the village."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, request, url_for
from werkzeug.wrappers import Response

from hygiene.io import pdf
from hygiene.services.awards import certificates
from hygiene.services.errors import ServiceError
from web.database import get_session
from web.downloads import download
from web.handlers import load
from web.security import login_required
from web.village.views import _village, bp

PDF_MIMETYPE = "application/pdf"


def printed_url(endpoint: str, **values: Any) -> str:
    """An absolute link to print on paper: the configured public address (HYGIENE_PUBLIC_URL) and
    the page's path, never the request's Host header, which anyone can set (issue 28: a certificate
    requested with ``Host: evil.example`` printed a QR code for evil.example). A production server
    without the address refuses to print (503) rather than guess it."""
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return f"{base}{url_for(endpoint, **values)}"
    if current_app.config["ENV"] == "development" or current_app.testing:
        return url_for(endpoint, **values, _external=True)
    abort(503, "未设置网站对外地址 HYGIENE_PUBLIC_URL，不能打印带链接的公示和证书；请联系系统管理员设置")


def _verify_url(token: str) -> str:
    return printed_url("public.verify", token=token)


@bp.get("/periods/<period_code>/notice.pdf")
@login_required
def notice_pdf(village_code: str, period_code: str) -> Response:
    """The notice of a published or final period, ``?size=A4`` (default) or ``A3``, landscape."""
    village = _village(village_code)
    size = request.args.get("size", "A4").upper()
    if size not in pdf.PAGE_SIZES:
        abort(404)
    try:
        notice = certificates.notice(
            get_session(),
            village,
            period_code,
            objection_url=printed_url("public.village", village_code=village.code),
        )
    except ServiceError:  # not published, or no such period
        abort(404)
    data = pdf.notice_pdf(notice, size)
    return download(data, f"{village.name}{notice.period_code}公示（{size}）.pdf", PDF_MIMETYPE)


@bp.get("/plaques/<serial>/certificate.pdf")
@login_required
def certificate_pdf(village_code: str, serial: str) -> Response:
    """One valid plaque's certificate."""
    village = _village(village_code)
    session = get_session()
    plaque = load(certificates.village_plaque, village, serial)
    cert = certificates.certificate(session, plaque, secret=current_app.config["SECRET_KEY"], verify_url=_verify_url)
    return download(pdf.certificates_pdf([cert]), f"牌匾证书{plaque.serial}.pdf", PDF_MIMETYPE)


@bp.get("/periods/<period_code>/certificates.pdf")
@login_required
def period_certificates_pdf(village_code: str, period_code: str) -> Response:
    """The certificates of every plaque the village got in the period and still holds, one a page."""
    village = _village(village_code)
    session = get_session()
    issued = load(certificates.period_plaques, village, period_code, belongs=bool)
    secret = current_app.config["SECRET_KEY"]
    data = pdf.certificates_pdf(
        [certificates.certificate(session, p, secret=secret, verify_url=_verify_url) for p in issued]
    )
    return download(data, f"{village.name}{period_code}牌匾证书.pdf", PDF_MIMETYPE)
