"""The inspector's spot-check sample page (issue 19): the sample with its reasons, reproducible by
its seed, in the inspector's own county only."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.web.conftest import Auth, csrf_token

PAGE = "/inspection/520999/townships/52099901/sample"


def drawn(html: str) -> list[str]:
    return re.findall(r'<td class="card-last" data-label="户编号">(\d+)</td>', html)


def test_an_inspector_draws_a_sample_that_says_why_and_repeats_with_its_seed(client: FlaskClient, auth: Auth) -> None:
    auth.login("inspector")
    html = client.get(PAGE, query_string={"period": "2026Q3", "size": "15"}).get_data(as_text=True)
    codes = drawn(html)
    assert len(codes) == 15 == len(set(codes)) and all(c.startswith("52099901") for c in codes)
    seed = re.search(r"随机种子 (\d+)", html)
    assert seed and "从 227 户中抽取 15 户" in html
    assert re.search(r'<td class="card-grade">(缺自评|互评不足|自评差距大|互评差距大)', html)
    again = client.get(PAGE, query_string={"period": "2026Q3", "size": "15", "seed": seed[1]})
    assert drawn(again.get_data(as_text=True)) == codes
    other = client.get(PAGE, query_string={"period": "2026Q3", "size": "15", "seed": "12345"})
    assert drawn(other.get_data(as_text=True)) != codes
    bad = client.get(PAGE, query_string={"period": "2026Q3", "size": "十五"}).get_data(as_text=True)
    assert "抽查户数或随机种子有误" in bad


def test_only_the_countys_inspectors_see_a_sample(client: FlaskClient, auth: Auth) -> None:
    for username, status in (
        ("inspector", 200),
        ("county", 403),
        ("township", 403),
        ("village", 403),
        ("inspector2", 403),
    ):
        auth.login(username)
        assert client.get(PAGE).status_code == status, username
        auth.logout()
    auth.login("inspector")
    assert client.get("/inspection/520999/townships/52099801/sample").status_code == 404  # another county's


def test_the_inspectors_home_leads_to_each_townships_sample(client: FlaskClient, auth: Auth) -> None:
    auth.login("inspector")
    html = client.get("/inspection/520999/?period=2026Q3").get_data(as_text=True)
    for code in ("52099901", "52099902", "52099903"):
        assert f"/inspection/520999/townships/{code}/sample?period=2026Q3" in html


ADOPT = "/inspection/520999/townships/52099901/sample/adopt?period=2026Q3"


def test_the_holding_teams_inspector_adopts_the_sample_shown(client: FlaskClient, auth: Auth) -> None:
    auth.login("inspector")
    shown = PAGE + "?period=2026Q3&size=8&seed=99"
    html = client.get(shown).get_data(as_text=True)
    assert "采用此样本（8 户，随机种子 99）" in html and "第一督查组" in html
    response = auth.post(ADOPT, {"size": "8", "seed": "99"}, token_from=shown)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/inspection/520999/townships/52099901/periods/2026Q3/checks")
    after = client.get(PAGE + "?period=2026Q3").get_data(as_text=True)
    assert "已采用样本：8 户，随机种子 99（县督查组" in after
    # the page showed no adopted sample: adopting over the one adopted since is refused
    stale = client.post(ADOPT, data={"csrf_token": csrf_token(html), "size": "5", "seed": "1", "state": "x"})
    assert stale.status_code == 409
    bad = auth.post(ADOPT, {"size": "0", "seed": "99"}, token_from=PAGE + "?period=2026Q3")
    assert bad.status_code == 303
    assert "抽查户数“0”不是1–200之间的整数" in client.get(bad.headers["Location"]).get_data(as_text=True)


def test_only_the_holding_team_adopts(client: FlaskClient, auth: Auth) -> None:
    auth.login("inspector")
    other = "/inspection/520999/townships/52099902/sample?period=2026Q3"
    html = client.get(other).get_data(as_text=True)
    assert "采用此样本" not in html and "只有第二督查组的督查员可以采用样本" in html
    adopt_other = "/inspection/520999/townships/52099902/sample/adopt?period=2026Q3"
    assert auth.post(adopt_other, {"size": "5", "seed": "1"}, token_from=other).status_code == 403
    auth.logout()
    for username in ("county", "township", "inspector2"):
        auth.login(username)
        assert auth.post(ADOPT, {"size": "5", "seed": "1"}, token_from="/").status_code == 403, username
        auth.logout()
