"""Help pages (使用帮助, issue 30): one page per role in Chinese, linked from every page's footer
(to the signed-in account's own role, or to the index). Public: they explain, they show no data."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from hygiene.enums import Role

bp = Blueprint("help", __name__, url_prefix="/help")

# The pages: the staff roles, and residents.
PAGES = {role.value: role.label for role in Role} | {"resident": "村民"}


@bp.get("/")
def index() -> str:
    return render_template("help/index.html", pages=PAGES)


@bp.get("/<role>")
def page(role: str) -> str:
    if role not in PAGES:
        abort(404)
    return render_template(f"help/{role}.html", pages=PAGES, role=role, title=PAGES[role])
