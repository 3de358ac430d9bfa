"""The users of ``benchmarks/load_with_writes.py`` (issue 32), run by it under ``locust --headless``:

* residents (居民) read posted village lists (``/public/villages/<village>/<period>``);
* village clerks (村委会) sign in and save 小组复评 scores of households of their own village, one
  clerk a village, so that no two writers touch the same row; each remembers the last values the
  app acknowledged (a 302 after the save) per household and criterion;
* township reviewers (乡镇审核员) sign in and approve, then publish, the submitted villages of their
  township one after another, then read their township's page once.

The plan (who signs in as whom, which villages and households) is the JSON file named by
``LOAD_PLAN``; the clerks' acknowledged values and the saves still unanswered when the run stopped go
and the villages whose approval or publication the app acknowledged go
to the JSON file named by ``LOAD_ACKS`` when the test stops, for the driver to check against the
database. Every request's name is its kind ("clerk: save review"…): locust's statistics are per kind.
"""

from __future__ import annotations

import html
import json
import os
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
# clerk username -> household code -> criterion -> tenths: the last save the app acknowledged
ACKNOWLEDGED: dict[str, dict[str, dict[str, int]]] = {}
# clerk username -> household code -> criterion -> tenths: a save sent and not (yet) answered
IN_FLIGHT: dict[str, dict[str, dict[str, int]]] = {}
COUNTS: Counter[str] = Counter()  # conflicts (409) and workflow moves done, by kind
MOVED: dict[str, list[str]] = {"approve": [], "publish": []}  # villages whose move the app acknowledged
_free_clerks = list(PLAN["clerks"])
_free_reviewers = list(PLAN["reviewers"])
DONE = {"approve": "approved", "publish": "published"}


def form_field(page: str, name: str, action_suffix: str | None = None) -> str:
    """The value of the input ``name`` on ``page`` (within the form whose action ends with
    ``action_suffix`` when given); "" when the input has no value."""
    if action_suffix is not None:
        form = re.search(rf'<form[^>]*action="[^"]*{re.escape(action_suffix)}"[^>]*>(.*?)</form>', page, re.DOTALL)
        if form is None:
            raise LookupError(f"no form ending in {action_suffix}")
        page = form.group(1)
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', page)
    if tag is None:
        raise LookupError(f"no input {name}")
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else ""


def flashed_error(page: str) -> str | None:
    found = re.search(r'class="flash flash-error"[^>]*>([^<]*)<', page)
    return html.unescape(found.group(1)) if found else None


def sign_in(user: HttpUser, username: str, password: str) -> None:
    page = user.client.get("/login", name="sign in: form").text
    with user.client.post(
        "/login",
        data={"csrf_token": form_field(page, "csrf_token"), "username": username, "password": password},
        name="sign in",
        allow_redirects=False,
        catch_response=True,
    ) as answer:
        if answer.status_code != 302:
            answer.failure(f"sign-in refused ({answer.status_code})")


class Resident(HttpUser):
    """Reads posted lists, as phones do (gzip), a few seconds apart."""

    wait_time = between(1, 3)

    @task
    def posted_list(self) -> None:
        path = random.choice(PLAN["public_paths"])
        self.client.get(path, name="resident: posted list", headers={"Accept-Encoding": "gzip"})


class Clerk(HttpUser):
    """Opens a household's 小组复评 form and saves new scores, again and again, in its own village."""

    fixed_count = len(PLAN["clerks"])
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.account = _free_clerks.pop()
        self.acknowledged = ACKNOWLEDGED.setdefault(self.account["username"], {})
        self.in_flight = IN_FLIGHT.setdefault(self.account["username"], {})
        sign_in(self, self.account["username"], self.account["password"])

    @task
    def save_review(self) -> None:
        household = random.choice(self.account["households"])
        path = f"/village/{self.account['village']}/periods/{PLAN['period']}/households/{household}/review?kind=group"
        with self.client.get(path, name="clerk: review form", catch_response=True) as form:
            if form.status_code != 200:
                form.failure(f"form {form.status_code}")
                return
            page = form.text
        scores = {code: random.randint(0, top) for code, top in PLAN["criteria"].items()}
        data = {
            "csrf_token": form_field(page, "csrf_token"),
            "version": form_field(page, "version"),
            "team_members": "负载测试组",
            "submit": "保存评议",
            **{code: f"{tenths // 10}.{tenths % 10}" for code, tenths in scores.items()},
        }
        self.in_flight[household] = scores
        with self.client.post(
            path, data=data, name="clerk: save review", allow_redirects=False, catch_response=True
        ) as saved:
            if saved.status_code == 302:
                self.acknowledged[household] = scores
                del self.in_flight[household]
            elif saved.status_code == 409:
                COUNTS["clerk conflicts (409)"] += 1
                del self.in_flight[household]  # refused as a whole: nothing of it was written
                saved.failure("409 conflict")
            else:
                del self.in_flight[household]  # a form shown again: nothing written
                saved.failure(f"not saved ({saved.status_code}): {flashed_error(saved.text) or ''}")


class Reviewer(HttpUser):
    """Approves, then publishes, each submitted village of its township; then reads its township's
    page once (a page that scores the whole township: read in a loop, it held a worker for seconds
    at a time and slowed every other user down)."""

    fixed_count = len(PLAN["reviewers"])
    wait_time = between(2, 5)

    def on_start(self) -> None:
        self.account = _free_reviewers.pop()
        self.queue = list(self.account["villages"])
        self.done = False
        sign_in(self, self.account["username"], self.account["password"])

    def _move(self, village: str, move: str, page: str) -> str | None:
        """Post one move from the village's page as shown; the page after it, or None if refused."""
        base = f"/township/{self.account['township']}/periods/{PLAN['period']}/villages/{village}"
        data = {
            "csrf_token": form_field(page, "csrf_token", f"/{move}"),
            "version": form_field(page, "version", f"/{move}"),
            "reason": "负载测试：有缺项仍办理",
            "confirmed": "1",
        }
        with self.client.post(
            f"{base}/{move}", data=data, name=f"reviewer: {move}", allow_redirects=False, catch_response=True
        ) as answer:
            if answer.status_code == 409:
                COUNTS["reviewer conflicts (409)"] += 1
                answer.failure("409 conflict")
                return None
            if answer.status_code != 303:
                answer.failure(f"{move}: {answer.status_code}")
                return None
        with self.client.get(base, name="reviewer: village page", catch_response=True) as after:
            if (error := flashed_error(after.text)) is not None:
                after.failure(f"{move} refused: {error}")
                return None
            COUNTS[f"villages {DONE[move]}"] += 1
            MOVED[move].append(village)
            return after.text

    @task
    def next_village(self) -> None:
        if not self.queue:
            if not self.done:  # the township's page once, as a reviewer looks over the day's work
                self.client.get(f"/township/{self.account['township']}", name="reviewer: township page")
                self.done = True
            return
        village = self.queue.pop(0)
        base = f"/township/{self.account['township']}/periods/{PLAN['period']}/villages/{village}"
        page = self.client.get(base, name="reviewer: village page").text
        approved = self._move(village, "approve", page)
        if approved is not None:
            self._move(village, "publish", approved)


@events.test_stop.add_listener
def keep_what_was_acknowledged(**_: Any) -> None:
    Path(os.environ["LOAD_ACKS"]).write_text(
        json.dumps(
            {"acknowledged": ACKNOWLEDGED, "in_flight": IN_FLIGHT, "counts": dict(COUNTS), "moved": MOVED},
            ensure_ascii=False,
        )
    )
