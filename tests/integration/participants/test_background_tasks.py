"""With the database task backend (production), e-mail is queued in the same transaction as
the change and sent by the worker: nothing for a rolled-back change, nothing lost after one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from combat_norse.allocation.actions import do_randomize
from combat_norse.participants.actions import Refused, do_assign_assessor, do_unmask

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.req("#10", "§11")]
PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def database_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_unmasking_notice_is_queued_with_the_change_and_sent_by_the_worker(
    database_tasks: None, trial_sites: None, personas: Any, enroll: Callable[..., Any],
    production_list: Any,
) -> None:
    p = enroll()
    do_randomize(personas.coord, p)
    do_assign_assessor(personas.coord, p, personas.assessor)
    with pytest.raises(Refused):
        do_unmask(personas.assessor, p, reason="rash", password="wrong")
    assert DBTaskResult.objects.count() == 0  # a refused change queues nothing
    unmasking, _ = do_unmask(personas.assessor, p, reason="rash", password=PASSWORD)
    assert DBTaskResult.objects.count() == 1 and mail.outbox == []
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert len(mail.outbox) == 1 and p.study_id in mail.outbox[0].body
    unmasking.refresh_from_db()
    assert unmasking.notified_at is not None
