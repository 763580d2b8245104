"""One audited write per state change (issue 13): the row, its history with the actor, and ONE
event with a semantic action; the system's own changes are audited as ``system``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from combat_norse.allocation.models import Allocation, ListAlert, ListSlot
from combat_norse.audit.models import AuditEvent
from combat_norse.audit.vocabulary import AuditAction

pytestmark = [pytest.mark.django_db, pytest.mark.req("#13")]


def test_randomizing_writes_one_randomize_event_and_history_with_the_actor_on_every_row(
    personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    from combat_norse.allocation.actions import do_randomize

    p = enroll()
    before = AuditEvent.objects.count()
    allocation = do_randomize(personas.coord, p)
    events = list(AuditEvent.objects.order_by("seq")[before:])
    # the allocation, then the dose plan the randomization starts (safety, issue 16)
    assert [e.action for e in events] == [AuditAction.RANDOMIZE, AuditAction.DOSE_PLAN]
    assert {e.actor_username for e in events} == {"coord"}
    assert events[0].changes["arm"] == [None, allocation.arm]
    slot = ListSlot.unscoped.get(participant=p)
    assert slot.history.latest("history_id").history_user == personas.coord
    assert allocation.history.latest("history_id").history_user == personas.coord


def test_the_day_8_move_and_the_list_alert_are_audited_as_the_system(
    personas: Any, enroll: Callable[..., Any], settings: Any
) -> None:
    from combat_norse.allocation.actions import do_randomize, do_setup_list
    from combat_norse.participants.actions import expire_unrandomized

    now = timezone.now()
    late = enroll(now=now - timedelta(days=6), se_onset=(now - timedelta(days=8)).isoformat())
    assert expire_unrandomized(now) == [late.study_id]
    move = AuditEvent.objects.get(action=AuditAction.COHORT_MOVE)
    assert (move.actor_username, move.actor_id, move.participant_ref) == (
        "system", None, late.study_id)  # fmt: skip
    assert move.changes["cohort"] == ["randomized_cohort", "observational_cohort"]

    do_setup_list(personas.statistician, design="permuted_blocks", seed=None,
                  blocks_per_stratum=1)  # 2-4 slots per stratum: alerts at once  # fmt: skip
    do_randomize(personas.coord, enroll())
    alert = AuditEvent.objects.get(action=AuditAction.LIST_ALERT)
    assert alert.actor_username == "system" and ListAlert.unscoped.count() == 1
    assert Allocation.unscoped.count() == 1
