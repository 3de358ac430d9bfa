"""The inspector's spot-check sample page (issue 19): the sample with its reasons, reproducible by
its seed, in the inspector's own county only."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.web.conftest import Auth

PAGE = "/inspection/520999/townships/52099901/sample"


def drawn(html: str) -> list[str]:
    return re.findall(r'<td class="card-name">(\d+)</td>', html)


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
