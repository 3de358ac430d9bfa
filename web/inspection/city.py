"""A city's inspectors (市级督查, RULES.md §9, issue 33): the counties of their city, each opening
the county's inspection pages (``web.inspection.views``), where they work with the city's teams."""

from __future__ import annotations

from flask import Blueprint, render_template

from hygiene.services.setup import cities
from web.database import get_session
from web.handlers import load
from web.security import current_account, login_required, require

bp = Blueprint("inspection_city", __name__, url_prefix="/inspection-city/<city_code>")


@bp.get("/")
@login_required
def city_home(city_code: str) -> str:
    """The city's counties: only the city's own inspectors (403 for anyone else, 404 for no city)."""
    city = load(cities.get_city, city_code)
    user = current_account()
    require(user.city_id == city.id)
    return render_template("inspection/city.html", city=city, counties=cities.city_counties(get_session(), city))
