"""Two people editing the same form (§14 ``--if-version``): both read version N and save with
``if_version=N``; exactly one save is accepted, the other is refused ``conflict`` naming the
items changed since N, and nothing is silently overwritten.

The sequential test runs on both databases. The concurrent one (two threads, each its own
connection, saving at the same moment) runs on PostgreSQL only: SQLite serializes every write
transaction, so the race cannot happen there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from combat_norse.audit.models import AuditEvent
from combat_norse.audit.verify import verify_chain
from combat_norse.core.errors import Reason, Refused
from combat_norse.crf.access import access_form
from combat_norse.crf.actions.forms import do_save_form, form_def
from combat_norse.crf.metadata import FormDef
from combat_norse.crf.models import FormInstance

pytestmark = [pytest.mark.req("§14", "#18"),
              pytest.mark.usefixtures("cli_face")]  # locally and through the API
FIRST = {"weight_kg": 70, "premorbid_mrs": 0}  # version 1: in progress (items missing)
EDITS = {
    "coord": {"weight_kg": 72, "anesthetic_infusion": True},
    "investigator": {"weight_kg": 75, "premorbid_mrs": 2},
}
JOIN_TIMEOUT_S = 60


def _baseline_at_version_1(personas: Any, enroll: Callable[..., Any]) -> Any:
    p = enroll()
    found, _ = do_save_form(personas.coord, p.study_id, "baseline", "baseline", FIRST)
    assert (found.version, found.status) == (1, "in_progress")
    return p


def _form_saves(study_id: str) -> int:
    return AuditEvent.objects.filter(action="form_save", participant_ref=study_id).count()


def _changed_items(winner: str) -> list[str]:
    edit = EDITS[winner]
    return sorted(k for k, v in edit.items() if FIRST.get(k) != v)


def _assert_one_won(p: Any, outcomes: dict[str, Any], saves_before: int) -> None:
    """Exactly one accepted save; the other refused ``conflict`` naming the winner's changes;
    the stored form is version 1 plus the winner's edit (the loser's values are nowhere)."""
    won = [u for u, o in outcomes.items() if isinstance(o, FormInstance)]
    lost = [u for u, o in outcomes.items() if isinstance(o, Refused)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    winner, loser = won[0], lost[0]
    refusal = outcomes[loser]
    assert refusal.code == Reason.CONFLICT
    assert refusal.detail == f"version 2, not 1; changed: {', '.join(_changed_items(winner))}"
    stored = FormInstance.unscoped.get(participant=p, form="baseline")
    assert stored.version == 2
    assert stored.values == {**FIRST, **EDITS[winner]}
    assert stored.saved_by.username == winner
    assert sorted(stored.history.values_list("version", flat=True)) == [1, 2]
    assert _form_saves(p.study_id) == saves_before + 1
    refused = AuditEvent.objects.filter(action="form_save_refused", participant_ref=p.study_id)
    assert [(e.actor_username, e.changes["code"]) for e in refused] == [
        (loser, [None, "conflict"])
    ]


@pytest.mark.django_db
def test_a_save_on_a_stale_version_is_refused_conflict_naming_the_changed_items(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    p = _baseline_at_version_1(personas, enroll)
    saves_before = _form_saves(p.study_id)
    read = {u: access_form(personas.users[u], p.study_id, "baseline", form_def("baseline"),
                           None)[1].version for u in EDITS}  # fmt: skip
    assert read == {"coord": 1, "investigator": 1}
    outcomes: dict[str, Any] = {}
    for user in ("coord", "investigator"):  # one after the other, both on version 1
        try:
            outcomes[user] = do_save_form(personas.users[user], p.study_id, "baseline",
                                          "baseline", EDITS[user], if_version=read[user])[0]
        except Refused as exc:
            outcomes[user] = exc
    assert isinstance(outcomes["coord"], FormInstance)
    _assert_one_won(p, outcomes, saves_before)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_editors_saving_the_same_version_at_once_one_wins_one_is_refused_conflict(
    on_postgres: None, trial_sites: None, personas: Any, enroll: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    p = _baseline_at_version_1(personas, enroll)
    saves_before = _form_saves(p.study_id)
    # Widen the race: validation runs after the version check and before the write, so without
    # the row locks both saves would pass the check on version 1 and both would write.
    real_validate = FormDef.validate
    in_validate = threading.Barrier(2, timeout=1.0)
    overlapped: list[bool] = []

    def slow_validate(self: FormDef, *args: Any, **kwargs: Any) -> Any:
        try:
            in_validate.wait()  # both callers here at once: the check did not serialize them
            overlapped.append(True)
        except threading.BrokenBarrierError:
            pass
        time.sleep(0.2)
        return real_validate(self, *args, **kwargs)

    monkeypatch.setattr(FormDef, "validate", slow_validate)
    start = threading.Barrier(2)
    outcomes: dict[str, Any] = {}
    read: dict[str, int] = {}

    def editor(user: str) -> None:
        try:
            actor = personas.users[user]
            _, found = access_form(actor, p.study_id, "baseline", form_def("baseline"), None)
            read[user] = found.version  # both read version 1 before either saves
            start.wait(timeout=30)
            outcomes[user] = do_save_form(actor, p.study_id, "baseline", "baseline",
                                          EDITS[user], if_version=read[user])[0]  # fmt: skip
        except Refused as exc:
            outcomes[user] = exc
        except BaseException as exc:  # reported by the test thread
            outcomes[user] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=editor, args=(u,), daemon=True) for u in EDITS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=JOIN_TIMEOUT_S)
    assert not [t for t in threads if t.is_alive()], "an editor hung (deadlock?)"
    assert read == {"coord": 1, "investigator": 1}
    unexpected = [o for o in outcomes.values() if not isinstance(o, FormInstance | Refused)]
    assert not unexpected, unexpected
    assert not overlapped, "both saves were past the version check at the same time"
    _assert_one_won(p, outcomes, saves_before)
    assert verify_chain().ok
