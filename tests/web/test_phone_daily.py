"""Issue 30's phone points, at the level a clerk meets them: a refused group save says at the top
how many cells to fix and focuses the first; the board, the roster, the group grid and the county's
progress table carry the labels their phone cards show."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from hygiene.enums import CRITERIA
from tests.web.conftest import Auth
from tests.web.test_village_reviews import DRAFT, GROUP_ENTRY, H1, H3, V1, group_cells


def test_a_refused_group_save_names_the_count_at_the_top_and_focuses_the_first_error(
    client: FlaskClient, auth: Auth
) -> None:
    auth.login("village")
    cells = group_cells(client.get(GROUP_ENTRY).get_data(as_text=True))
    bad = cells | {f"s_{H1}_{c}": "9" for c in CRITERIA} | {f"s_{H3}_{c}": "8" for c in CRITERIA}
    bad |= {f"s_{H1}_c02": "10.5", f"s_{H3}_c04": ""}
    refused = auth.post(GROUP_ENTRY, bad)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    banner = html[html.index('class="save-failed"') : html.index("</div>", html.index('class="save-failed"'))]
    assert "未保存：有 2 处需要修改" in banner
    assert html.index('class="save-failed"') < html.index('class="entry-grid"')  # above the grid
    first = re.search(r'<a href="#([^"]+)">转到第一处：', banner)
    assert first and first.group(1) == f"s_{H1}_c02"
    focused = re.findall(r"<input[^>]*autofocus[^>]*>", html)
    assert len(focused) == 1 and f'name="s_{H1}_c02"' in focused[0]
    assert f'<label class="phone-only cell-label" for="s_{H1}_c02">' in html  # the cell's label on a card


def test_the_board_roster_and_progress_tables_are_labelled_cards_on_a_phone(client: FlaskClient, auth: Auth) -> None:
    auth.login("village")
    board = client.get(f"{V1}/").get_data(as_text=True)
    assert '<table class="board cards">' in board and 'class="card-grade" data-label="等级"' in board
    roster = client.get(f"/village/{DRAFT}/").get_data(as_text=True)
    assert '<table class="roster cards">' in roster and 'data-label="人口"' in roster
    auth.logout()
    auth.login("county")
    home = client.get("/county/520999/").get_data(as_text=True)
    assert '<table class="cards state-matrix">' in home and 'data-label="公示中"' in home
