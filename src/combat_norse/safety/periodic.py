"""The periodic clocks, one idempotent function for every scheduler (``combat-norse clocks``
from cron or a systemd timer, ``manage.py periodic`` in ``make run``): the day-8 move to the
observational cohort, visit statuses by each site's calendar, SAE clock alerts and lapses, lab
alerts no one could be e-mailed yet, and randomized participants with no dose 24 h after
randomization."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone


def run_periodic(now: datetime | None = None) -> dict[str, Any]:
    from combat_norse.crf.actions.visits import run_visit_clock
    from combat_norse.participants.actions import expire_unrandomized
    from combat_norse.safety.actions.alerts import send_unsent_lab_alerts
    from combat_norse.safety.actions.clocks import run_safety_clocks
    from combat_norse.safety.actions.treatment import flag_missing_first_doses

    now = now or timezone.now()
    out: dict[str, Any] = {"moved_to_observational": expire_unrandomized(now),
                           "visits_updated": run_visit_clock(now)}  # fmt: skip
    out.update(run_safety_clocks(now))
    out["lab_alerts_sent"] = send_unsent_lab_alerts()
    out["first_doses_overdue"] = flag_missing_first_doses(now)
    return out
