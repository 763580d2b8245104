"""Crash-test worker: randomize one participant and stop for good right after its slot is locked.

Run by ``test_concurrency.py`` as a separate process on the test database::

    DATABASE_URL=postgres://…/test_… python randomize_worker.py PARTICIPANT_PK USERNAME FLAG

``allocation.actions.randomization._after_slot_locked`` is replaced by a function that writes
this process's PostgreSQL backend pid to ``FLAG`` (atomically) and sleeps; the test then
SIGKILLs the process in the middle of the transaction. Not a test module (not collected).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def main(participant_pk: int, username: str, flag: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "combat_norse.config.settings")
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection

    from combat_norse.allocation.actions import randomization as actions
    from combat_norse.participants.models import Participant

    def hold_the_slot() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend_pid = cursor.fetchone()[0]
        tmp = flag.with_suffix(".tmp")
        tmp.write_text(str(backend_pid))
        os.replace(tmp, flag)
        time.sleep(300)  # the test kills us long before this ends

    actions._after_slot_locked = hold_the_slot
    participant = Participant.unscoped.select_related("site").get(pk=participant_pk)
    actions.do_randomize(User.objects.get(username=username), participant)
    sys.exit("the worker was not killed: the allocation committed")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
