"""The simulated users of ``benchmarks/web.py`` (locust; run by that script, not by hand).

Each user is a site coordinator's signed-in browser (a session made by web.py, second factor
done) who opens participant pages of their site and saves a ``labs`` form (a new instance at
the ``unscheduled`` visit each time, through the page's POST: parse, ``do_save_form``, the
redirect). ``BENCH_WEB_MODE``: ``think`` (1–3 s between requests), ``saturate`` (none), or
``bare`` (the bare view, none).
"""

from __future__ import annotations

import itertools
import json
import os
import random
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from locust import between, constant, task
from locust.contrib.fasthttp import FastHttpUser

MODE = os.environ.get("BENCH_WEB_MODE", "think")
with open(os.environ["BENCH_WEB_SESSIONS"], encoding="utf-8") as fh:
    SESSIONS: list[dict[str, Any]] = json.load(fh)
_next_session = itertools.count()

LABS = {"if_version": "0", "anc_per_mm3": "2400", "platelets_per_mm3": "210000",
        "eosinophils_per_mm3": "150", "alt_u_l": "31", "alt_uln_u_l": "40", "ast_u_l": "28",
        "ast_uln_u_l": "40", "reason": ""}  # fmt: skip


class Coordinator(FastHttpUser):
    wait_time = between(1, 3) if MODE == "think" else constant(0)

    def on_start(self) -> None:
        self.me = SESSIONS[next(_next_session) % len(SESSIONS)]
        self.cookies = f"sessionid={self.me['session']}; csrftoken={self.me['csrf']}"

    def _participant(self) -> dict[str, str]:
        return random.choice(self.me["participants"])

    @task
    def participant_page(self) -> None:
        if MODE == "bare":
            self.client.get("/bench/bare/", headers={"Cookie": self.cookies}, name="bare view")
            return
        p = self._participant()
        with self.client.get(f"/participants/{p['study_id']}/", name="participant page",
                             headers={"Cookie": self.cookies}, catch_response=True) as r:
            if r.status_code != 200 or p["study_id"] not in (r.text or ""):
                r.failure(f"status {r.status_code}")

    @task
    def form_save(self) -> None:
        if MODE == "bare":
            self.client.get("/bench/bare/", headers={"Cookie": self.cookies}, name="bare view")
            return
        p = self._participant()
        local = datetime.now(ZoneInfo(p["zone"])) - timedelta(minutes=random.randint(30, 600))
        data = {**LABS, "collected_at": local.strftime("%Y-%m-%dT%H:%M")}
        url = f"/participants/{p['study_id']}/visits/unscheduled/forms/labs/"
        with self.client.post(url, data=data, name="form save", allow_redirects=False,
                              headers={"Cookie": self.cookies, "X-CSRFToken": self.me["csrf"],
                                       "Referer": self.host + url},
                              catch_response=True) as r:  # fmt: skip
            if r.status_code != 302:
                r.failure(f"status {r.status_code}: {(r.text or '')[:200]}")
