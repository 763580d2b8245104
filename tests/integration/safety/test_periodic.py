"""The periodic tasks' one entry point: ``combat-norse clocks`` (cron, a systemd timer) and
``manage.py periodic`` (the loop ``make run`` starts) run the same idempotent function."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from tests.integration.safety.conftest import run

from combat_norse.audit.models import AuditEvent

pytestmark = pytest.mark.req("§14", "#16")


def test_clocks_and_the_periodic_loop_send_a_due_alert_once(
    capsys: Any, save: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    aware = timezone.now() - timedelta(hours=19)  # inside the 6-hour window before the lapse
    save(p.study_id, "unscheduled", "adverse_event", {
        "term": "Status epilepticus recurrence", "grade": 4,
        "onset_date": aware.date().isoformat(), "serious": True,
        "seriousness": ["life_threatening"], "awareness_at": aware.isoformat(),
        "related_to_study_drug": "not_related", "expected": False, "outcome": "recovering",
    }, "coord")  # fmt: skip
    code, out, _ = run(capsys, "clocks")
    assert code == 0 and out["clock_alerts_sent"] == 1 and out["clocks_lapsed"] == 0
    assert set(out) == {"moved_to_observational", "visits_updated", "clock_alerts_sent",
                        "clocks_lapsed", "lab_alerts_sent", "first_doses_overdue"}
    printed = io.StringIO()
    call_command("periodic", "--once", stdout=printed)
    assert json.loads(printed.getvalue())["clock_alerts_sent"] == 0  # already sent
    event = AuditEvent.objects.get(action="safety_clock_alert")
    assert event.actor_username == "system"


def test_the_periodic_loop_refuses_a_zero_interval() -> None:
    with pytest.raises(ValueError, match="interval"):
        call_command("periodic", "--interval", "0", "--once")


def test_user_add_takes_the_address_alerts_go_to_and_refuses_a_bad_one(
    capsys: Any, db: Any
) -> None:
    from django.contrib.auth.models import User

    code, _, _ = run(capsys, "user", "add", "nurse.k", "--role", "site_coordinator", "--site",
                       "YNH", "--email", "k@hospital.invalid")
    assert code == 0 and User.objects.get(username="nurse.k").email == "k@hospital.invalid"
    code, _, err = run(capsys, "user", "add", "nurse.j", "--role", "site_coordinator", "--site",
                       "YNH", "--email", "not an address")
    assert code == 2 and err.startswith("error: email") and not User.objects.filter(
        username="nurse.j").exists()
