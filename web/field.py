"""Work in the field on a phone (issue 31): saves that survive a dropped connection, photos, and the
household check sheet.

* ``SaveOnce``: a save carries an idempotency key (the ``Idempotency-Key`` header from the page's
  offline queue, or the hidden ``idempotency_key`` field of a page without script); the first save
  under a key stores its answer, a repeat gets that answer and writes nothing, the same key with
  other values is the 422 answer. A request from the queue (``Accept: application/json``) is
  answered in JSON; a plain form post with the usual flash and redirect.
* ``/sw.js`` (the service worker, scoped to the whole site), ``/field/session`` (the queue asks for a
  fresh CSRF token and which account is signed in before it sends), the photos, the check sheet.
* Logging out answers ``Clear-Site-Data``, so that the worker's caches and the queue of that account
  go with the session; the worker and the page clear them too (web/static/field.js).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from hygiene import config, permissions
from hygiene.models import Notice, Photo, Review, SpotCheck
from hygiene.services import idempotency, photos
from hygiene.services.rating import check_sheets
from hygiene.services.setup import periods, units
from hygiene.services.supervision import notices
from web.database import get_session
from web.forms import BaseForm, VersionField
from web.handlers import Once, Saved, load, save
from web.security import current_account, login_required, require

bp = Blueprint("field", __name__)

# The pages a phone keeps for working offline once visited (the service worker caches a page only
# when it says so with this header): the entry forms and the lists they are reached from.
OFFLINE_ENDPOINTS = frozenset(
    {
        "village.board",
        "village.review",
        "village.group_entry",
        "village.household_reviews",
        "inspection.spot_checks",
        "inspection.spot_check",
        "village.notice_list",
    }
)
OFFLINE_HEADER = "X-Offline-Page"


def init_app(app: Flask) -> None:
    app.config.setdefault("MEDIA_PATH", str(config.media_path()))
    app.after_request(_field_headers)
    app.jinja_env.globals["new_idempotency_key"] = new_key
    app.register_blueprint(bp)


def media_root() -> Path:
    return Path(current_app.config["MEDIA_PATH"])


def _field_headers(response: Response) -> Response:
    if request.endpoint == "auth.logout" and request.method == "POST":
        # The browser drops the site's caches, storage (the offline queue) and service worker.
        response.headers["Clear-Site-Data"] = '"cache", "storage"'
    elif request.endpoint in OFFLINE_ENDPOINTS and request.method == "GET" and response.status_code == 200:
        response.headers[OFFLINE_HEADER] = "1"
        response.headers["X-Offline-User"] = str(current_user.id) if current_user.is_authenticated else ""
    return response


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def new_key() -> str:
    """A key for a form rendered without script: a double tap posts the same key twice."""
    return str(uuid.uuid4())


# --- saving once ----------------------------------------------------------------------------------


class SaveOnce:
    """The idempotency of one save request (see the module's docstring). A view calls ``start()``
    before its change: a replay or a refusal is returned at once; then it saves with
    ``save(..., once=started.once(county_id, location))`` and answers with ``answered(saved)``."""

    def __init__(self, key: str | None, digest: str) -> None:
        self.key = key
        self.digest = digest

    @classmethod
    def start(cls) -> tuple[SaveOnce, ResponseReturnValue | None]:
        raw = request.headers.get(idempotency.HEADER) or request.form.get(idempotency.FIELD) or ""
        files = [(name, f.stream.read()) for name, f in request.files.items(multi=True)]
        for _, f in request.files.items(multi=True):
            f.stream.seek(0)
        digest = idempotency.fingerprint(request.method, request.full_path, request.form.items(multi=True), files)
        if not raw:
            return cls(None, digest), None
        try:
            key = idempotency.check_key(raw)
            stored = idempotency.lookup(get_session(), current_account(), key, digest)
        except idempotency.KeyRejected as exc:
            return cls(None, digest), refused(str(exc))
        if stored is not None:
            return cls(key, digest), answer(stored, 303 if request.endpoint != "village.review" else 302)
        return cls(key, digest), None

    def once(self, county_id: int, location: Callable[[Any], str]) -> Once:
        """What ``web.handlers.save`` needs to store this save's answer under its key (if any)."""
        return Once(self.key, self.digest, current_account(), county_id, location)


def answered(saved: Saved[Any], redirect_code: int = 303) -> ResponseReturnValue:
    """The answer of a save made with ``once``: JSON for the queue, a flash and a redirect for a page."""
    assert saved.answer is not None
    return answer(saved.answer, redirect_code)


def refusal(saved: Saved[Any]) -> ResponseReturnValue | None:
    """For the queue (JSON), a refused save is the 422 answer with its message; a page shows itself
    again with the errors (None)."""
    if wants_json():
        return refused(str(saved.error) if saved.error else "内容有误，未保存")
    return None


def answer(done: idempotency.Answer, redirect_code: int = 303) -> ResponseReturnValue:
    if wants_json():
        return jsonify(ok=True, location=done.location, message=done.message), done.status
    flash(done.message, "success")
    return redirect(done.location, redirect_code)


def refused(message: str) -> ResponseReturnValue:
    if wants_json():
        return jsonify(ok=False, message=message), 422
    return render_template("errors/error.html", code=422, title="未保存", message=message), 422


def checked_photos(field_names: tuple[str, ...] = ("photo",)) -> list[photos.CheckedPhoto]:
    """The photos of the request's file fields, each checked; raises ``PhotoRejected``."""
    found = []
    for name in field_names:
        for upload in request.files.getlist(name):
            if upload and upload.filename:
                found.append(photos.check(upload.stream.read(), upload.filename))
    return found


# --- routes ---------------------------------------------------------------------------------------


@bp.get("/sw.js")
def service_worker() -> Response:
    response = send_file(Path(current_app.static_folder or "") / "sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/field/session")
def field_session() -> ResponseReturnValue:
    """Who is signed in and a fresh CSRF token, for the offline queue before it sends; 401 when the
    session is over (the page then asks to log in, and sends the queue afterwards)."""
    if not current_user.is_authenticated:
        return jsonify(ok=False, login=url_for("auth.login")), 401
    return jsonify(ok=True, user=current_user.id, csrf=generate_csrf())


def _photo(photo_id: int) -> Photo:
    session = get_session()
    photo = session.get(Photo, photo_id)
    if photo is None or not photos.can_view(session, current_account(), photo):
        abort(404)  # another unit's photo is "not found": its existence is not told
    return photo


@bp.get("/photos/<int:photo_id>/<variant>")
@login_required
def photo_file(photo_id: int, variant: str) -> Response:
    photo = _photo(photo_id)
    try:
        kind = photos.Variant(variant)
    except ValueError:
        abort(404)
    if kind is photos.Variant.ORIGINAL:
        require(photos.can_see_location(current_account(), photo))
    path = photos.file_path(media_root(), photo.sha256, photo.file_format, kind)
    if not path.is_file():
        abort(404)
    mimetype = {"jpeg": "image/jpeg", "png": "image/png", "heif": "image/heif"}[photo.file_format]
    response = Response(path.read_bytes(), mimetype=mimetype if kind is photos.Variant.ORIGINAL else "image/jpeg")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def photos_for(
    *, review: Review | None = None, spot_check: SpotCheck | None = None, notice: Notice | None = None
) -> list[Photo]:
    return photos.photos_of(get_session(), review=review, spot_check=spot_check, notice=notice)


@bp.get("/village/<village_code>/periods/<period_code>/check-sheets.pdf")
@login_required
def check_sheet(village_code: str, period_code: str) -> Response:
    """The household check sheets (评比检查表) of the village, or of ``?group=CODE``."""
    session = get_session()
    village = load(units.get_village, village_code)
    require(permissions.can_view_village(current_account(), village))
    period = load(periods.get_period, village.township.county_id, period_code)
    group = load(units.get_group, village, request.args["group"]) if request.args.get("group") else None

    def entry_url(code: str) -> str:
        return url_for(
            "village.review",
            village_code=village.code,
            period_code=period.code,
            household_code=code,
            kind="group",
            _external=True,
        )

    content = check_sheets.check_sheets_pdf(session, village, period, entry_url, group)
    name = f"check-sheets-{village.code}-{period.code}" + (f"-{group.code}" if group else "") + ".pdf"
    response = make_response(content)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response


class WaiverForm(BaseForm):
    version = VersionField()


@bp.post("/inspection/<county_code>/notices/<int:notice_id>/photo-waiver")
@login_required
def waive_photo(county_code: str, notice_id: int) -> ResponseReturnValue:
    """The inspector lets the addressee report without a photo, or asks for one again."""
    county = load(units.get_county, county_code)
    notice = load(notices.get_notice, notice_id, belongs=lambda n: n.county_id == county.id)
    require(permissions.can_inspect_county(current_account(), county))
    form = WaiverForm()
    if not form.validate_on_submit():
        abort(400)
    waived = request.form.get("waived") == "1"
    save(
        lambda s: photos.waive_report_photo(s, current_account(), notice, form.version.data, waived),
        done="已免除整改照片" if waived else "已要求上报整改照片",
    )
    return redirect(url_for("inspection.notice", county_code=county.code, notice_id=notice.id), 303)
