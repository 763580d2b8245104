"""Randomization under concurrency (issue #10, §6), on PostgreSQL.

Many treating teams randomize at once: no slot is used twice, no participant gets two
allocations, each stratum's list is used in order (a prefix; ``gaps()`` accounts for any
hole), minimization stays a gap-free sequence that replays from the seed, and a worker killed
in the middle of a randomization loses nothing and duplicates nothing. Skipped on SQLite, where
``BEGIN IMMEDIATE`` serializes every transaction.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from combat_norse.accounts.actions import do_add_user
from combat_norse.allocation.actions import balance_report, do_randomize, do_setup_list, gaps
from combat_norse.allocation.models import Allocation, Design, ListSlot, RandomizationList
from combat_norse.audit.models import AuditEvent
from combat_norse.audit.verify import verify_chain
from combat_norse.participants.models import Participant
from combat_norse.randomization import (
    STRATA,
    default_minimization_config,
    minimization_code,
    replay_minimization,
)

pytestmark = [pytest.mark.req("#10", "§6"), pytest.mark.postgres]

WORKER = Path(__file__).with_name("randomize_worker.py")
SEED = 2**60 + 20261126
# Four sites on three continents (three regions, four time zones): site code -> coordinator.
SITE_COORDINATORS = {"YNH": "coord", "SNU": "othercoord", "PSL": "coord_psl",
                     "OHS": "coord_ohs"}  # fmt: skip
OWNER_THREADS = 8  # each randomizes its own share
CONTENDER_THREADS = 4  # each re-randomizes participants that an owner randomizes at that moment
JOIN_TIMEOUT_S = 120


# ------------------------------------------------------------------------ set-up
@pytest.fixture
def coordinators(on_postgres: None, trial_sites: None,
                 personas: Any) -> dict[str, User]:  # fmt: skip
    """Site code -> a site coordinator of that site (the treating team who randomizes)."""
    out = {}
    for code, username in SITE_COORDINATORS.items():
        user = personas.users.get(username) or do_add_user(username, "site_coordinator",
                                                           (code,)).user  # fmt: skip
        out[code] = user
    return out


def _profile(i: int) -> dict[str, Any]:
    """Screening overrides that cycle through the four strata and both FIRES levels."""
    now = timezone.now()
    adult, late = i % 2 == 0, (i // 2) % 2 == 1
    onset = now - timedelta(days=5 if late else 2, hours=i % 7)
    fires = (i // 4) % 2 == 1
    return {
        "date_of_birth": "1990-03-01" if adult else "2015-09-20",
        "se_onset": onset.isoformat(),
        "febrile_illness_onset": (onset - timedelta(days=3)).isoformat() if fires else None,
    }


def _enroll_many(enroll: Callable[..., Participant], coordinators: dict[str, User],
                 n: int) -> list[Participant]:  # fmt: skip
    """``n`` randomized-cohort participants through the real do_* actions (screen, consent,
    enroll), spread over the four sites and the four strata; the sites enroll concurrently."""
    codes = list(coordinators)
    enrolled: list[Participant] = []

    def enroll_at(k: int) -> Callable[[], None]:
        def job() -> None:
            code = codes[k]
            for i in (i for i in range(n) if (i // 4) % len(codes) == k):  # every stratum
                enrolled.append(enroll(site=code, actor=coordinators[code], **_profile(i)))

        return job

    _run_concurrently([enroll_at(k) for k in range(len(codes))])
    assert len(enrolled) == n
    return list(Participant.unscoped.select_related("site").filter(
        pk__in=[p.pk for p in enrolled]).order_by("pk"))  # fmt: skip


def _run_concurrently(jobs: list[Callable[[], None]]) -> None:
    """Start every job in its own thread at the same moment; re-raise the first failure.
    Each thread closes its own database connection when it ends."""
    start = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def wrap(job: Callable[[], None]) -> None:
        try:
            start.wait(timeout=30)
            job()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(job,), daemon=True) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=JOIN_TIMEOUT_S)
    assert not [t for t in threads if t.is_alive()], "a randomizing thread hung (deadlock?)"
    if errors:
        raise errors[0]


def _randomize_all_at_once(participants: list[Participant],
                           coordinators: dict[str, User]) -> dict[int, set[int]]:  # fmt: skip
    """Owners randomize disjoint shares while contenders randomize the first participants of
    every share again, in the same order, so most of those calls meet an owner's call for
    the same participant. Returns participant pk -> the allocation pks the calls returned."""
    order = participants[:]
    random.Random(SEED).shuffle(order)
    returned: dict[int, list[int]] = defaultdict(list)
    spans: dict[int, list[tuple[float, float]]] = defaultdict(list)

    def randomize(share: list[Participant]) -> Callable[[], None]:
        def job() -> None:
            for p in share:
                began = time.monotonic()
                allocation = do_randomize(coordinators[p.site.code], p)
                spans[p.pk].append((began, time.monotonic()))
                returned[p.pk].append(allocation.pk)

        return job

    contended = order[: OWNER_THREADS * 12]
    jobs = [randomize(order[i::OWNER_THREADS]) for i in range(OWNER_THREADS)]
    jobs += [randomize(contended if j % 2 == 0 else contended[::-1])
             for j in range(CONTENDER_THREADS)]  # fmt: skip
    _run_concurrently(jobs)
    calls = sum(len(v) for v in returned.values())
    assert calls == len(participants) + CONTENDER_THREADS * len(contended)
    # The contention was real: many participants had calls that overlapped in time.
    overlapping = [pk for pk, v in spans.items()
                   if any(a0 < b1 and b0 < a1 for (a0, a1), (b0, b1) in combinations(v, 2))]
    assert len(overlapping) >= 10, f"only {len(overlapping)} contended participants"
    return {pk: set(v) for pk, v in returned.items()}


def _assert_audit_trail(n_randomized: int) -> None:
    result = verify_chain(chunk_size=500)
    assert result.ok, result.as_json()
    randomize_events = Counter(AuditEvent.objects.filter(action="randomize")
                               .values_list("object_id", flat=True))  # fmt: skip
    assert len(randomize_events) == n_randomized
    assert set(randomize_events.values()) == {1}  # one event per allocation, none for repeats
    assert set(randomize_events) == {str(pk) for pk in Allocation.unscoped.values_list("pk",
                                                                                       flat=True)}
    assert not AuditEvent.objects.filter(action="randomize_refused").exists()


# ------------------------------------------------------------------------ permuted blocks
@pytest.mark.django_db(transaction=True)
def test_many_teams_randomizing_at_once_use_each_slot_once_and_each_stratum_list_in_order(
    on_postgres: None, coordinators: dict[str, User], personas: Any,
    enroll: Callable[..., Participant],
) -> None:  # fmt: skip
    n = 400
    rlist = do_setup_list(personas.statistician, design=Design.PERMUTED_BLOCKS, seed=None,
                          environment="production", blocks_per_stratum=60)  # fmt: skip
    participants = _enroll_many(enroll, coordinators, n)

    returned = _randomize_all_at_once(participants, coordinators)

    # One allocation per participant; a repeated or concurrent call returned that same one.
    allocations = {a.participant_id: a for a in Allocation.unscoped.select_related("slot")}
    assert set(allocations) == {p.pk for p in participants}
    assert all(returned[pk] == {allocations[pk].pk} for pk in allocations)
    # Each slot used once, by its allocation, with the slot's arm and code.
    assert len({a.slot_id for a in allocations.values()}) == n
    used = ListSlot.unscoped.filter(randomization_list=rlist, participant__isnull=False)
    assert used.count() == n
    for a in allocations.values():
        assert a.slot is not None and a.slot.participant_id == a.participant_id
        assert (a.slot.arm, a.slot.code, a.slot.stratum) == (a.arm, a.code, a.stratum)
        assert a.slot.used_at is not None and a.randomization_list_id == rlist.pk
    # Per stratum the used slots are the first ones of the list: no hole for gaps() to report.
    per_stratum = Counter(a.stratum for a in allocations.values())
    assert set(per_stratum) == set(STRATA) and min(per_stratum.values()) >= n // 4 - 10
    for stratum in STRATA:
        sequences = list(ListSlot.unscoped.filter(randomization_list=rlist, stratum=stratum)
                         .order_by("sequence").values_list("sequence", flat=True))  # fmt: skip
        taken = sorted(used.filter(stratum=stratum).values_list("sequence", flat=True))
        assert taken == sequences[: per_stratum[stratum]], stratum
    assert gaps(rlist) == {}
    report = balance_report(personas.statistician)
    assert sum(report["total"].values()) == n
    assert {k: sum(v.values()) for k, v in report["by_stratum"].items()} == dict(per_stratum)
    _assert_audit_trail(n)


# ------------------------------------------------------------------------ minimization
@pytest.mark.django_db(transaction=True)
def test_concurrent_minimization_is_one_gap_free_sequence_that_replays_from_the_seed(
    on_postgres: None, coordinators: dict[str, User], personas: Any,
    enroll: Callable[..., Participant],
) -> None:  # fmt: skip
    n = 120
    rlist = do_setup_list(personas.statistician, design=Design.MINIMIZATION, seed=None,
                          environment="production")  # fmt: skip
    participants = _enroll_many(enroll, coordinators, n)

    returned = _randomize_all_at_once(participants, coordinators)

    allocations = list(Allocation.unscoped.filter(randomization_list=rlist)
                       .order_by("sequence_number"))  # fmt: skip
    assert sorted(a.participant_id for a in allocations) == sorted(p.pk for p in participants)
    assert all(returned[a.participant_id] == {a.pk} for a in allocations)
    assert [a.sequence_number for a in allocations] == list(range(1, n + 1))
    assert all(a.slot_id is None for a in allocations)
    assert [a.code for a in allocations] == [minimization_code(rlist.seed_value, k)
                                             for k in range(1, n + 1)]  # fmt: skip
    # Every decision is reproduced from the seed and the stored factor levels, in order.
    rlist = RandomizationList.unscoped.get(pk=rlist.pk)
    config = default_minimization_config(rlist.parameters["sites"],
                                         p_best=rlist.parameters["p_best"])  # fmt: skip
    replayed = replay_minimization(config, rlist.seed_value, [a.factors for a in allocations])
    assert [d.arm for d in replayed] == [a.arm for a in allocations]
    assert {a.factors["site"] for a in allocations} == set(SITE_COORDINATORS)
    assert len({a.factors["fires"] for a in allocations}) >= 2
    assert {a.stratum for a in allocations} == set(STRATA)
    _assert_audit_trail(n)


# ------------------------------------------------------------------------ killed worker
def _test_database_url() -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return (f"postgres://{user}{password}@{s.get('HOST') or '127.0.0.1'}:"
            f"{s.get('PORT') or 5432}/{s['NAME']}")  # fmt: skip


@pytest.fixture
def worker_process() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        env = {**os.environ, "DATABASE_URL": _test_database_url(),
               "DJANGO_SETTINGS_MODULE": "combat_norse.config.settings"}  # fmt: skip
        proc = subprocess.Popen([sys.executable, str(WORKER), *args], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        started.append(proc)
        return proc

    yield start
    for proc in started:  # only the processes this test started
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _wait_for(what: str, ready: Callable[[], bool], proc: subprocess.Popen[str] | None = None,
              timeout: float = 30.0) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while not ready():
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"worker ended (status {proc.returncode}) before {what}:\n{out}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _slot_is_locked(slot: ListSlot) -> bool:
    try:
        with transaction.atomic():
            list(ListSlot.unscoped.select_for_update(nowait=True).filter(pk=slot.pk))
    except DatabaseError:
        return True
    return False


def _backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return bool(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_randomization_loses_nothing_and_duplicates_nothing(
    on_postgres: None, coordinators: dict[str, User], personas: Any,
    enroll: Callable[..., Participant], worker_process: Callable[..., subprocess.Popen[str]],
    tmp_path: Path,
) -> None:  # fmt: skip
    rlist = do_setup_list(personas.statistician, design=Design.PERMUTED_BLOCKS, seed=None,
                          environment="production", blocks_per_stratum=10)  # fmt: skip
    coord = coordinators["YNH"]
    victim, bystander = (enroll(site="YNH", actor=coord, **_profile(0)) for _ in range(2))
    first = do_randomize(coord, enroll(site="YNH", actor=coord, **_profile(0)))
    stratum = first.stratum
    free = ListSlot.unscoped.filter(randomization_list=rlist, stratum=stratum,
                                    participant__isnull=True).order_by("sequence")  # fmt: skip
    expected = free.first()
    assert expected is not None and expected.sequence > first.slot.sequence
    events_before = AuditEvent.objects.count()

    flag = tmp_path / "slot-locked"
    proc = worker_process(str(victim.pk), coord.username, str(flag))
    _wait_for("the worker locked a slot", flag.exists, proc)
    backend_pid = int(flag.read_text())
    # The worker holds exactly the first free slot, uncommitted; another randomization in the
    # stratum does not wait for it: it skips to the next slot, leaving a hole gaps() reports.
    assert _slot_is_locked(expected)
    other = do_randomize(coord, bystander)
    assert other.slot.sequence > expected.sequence
    assert gaps(rlist) == {stratum: [expected.sequence]}

    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    _wait_for("the server to end the killed worker's session", lambda: not _backend_alive(
        backend_pid), timeout=15)  # fmt: skip

    # Nothing of the killed transaction survived: no allocation, no event, the slot free again.
    assert not Allocation.unscoped.filter(participant=victim).exists()
    expected.refresh_from_db()
    assert (expected.participant_id, expected.used_at) == (None, None)
    assert not _slot_is_locked(expected)
    # the bystander's allocation and the dose plan it started, nothing of the victim's
    assert list(AuditEvent.objects.order_by("seq").values_list("action", flat=True)
                [events_before:]) == ["randomize", "dose_plan"]  # fmt: skip
    assert not AuditEvent.objects.filter(participant_ref=victim.study_id,
                                         action__in=("randomize", "dose_plan")).exists()
    # Randomizing again takes that slot, closing the hole; nothing is duplicated.
    again = do_randomize(coord, victim)
    assert again.slot_id == expected.pk
    assert gaps(rlist) == {}
    assert do_randomize(coord, victim).pk == again.pk
    allocations = list(Allocation.unscoped.all())
    assert len(allocations) == 3
    assert len({a.slot_id for a in allocations}) == 3
    assert len({a.participant_id for a in allocations}) == 3
    assert ListSlot.unscoped.filter(participant__isnull=False).count() == 3
    _assert_audit_trail(3)


# ------------------------------------------------------------------------ lock order
# Django's foreign keys on PostgreSQL are DEFERRABLE INITIALLY DEFERRED: a transaction that
# inserts a row checks its parents at COMMIT, taking FOR KEY SHARE locks on them. Before issue
# 19 that came after the audit chain's lock, and a FOR UPDATE holder waiting for that lock
# closed a cycle; the races below stay as regression tests now that appending takes no lock.
def _start(name: str, job: Callable[[], Any], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            job()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def _pause_after(func: Callable[..., Any], thread_name: str, paused: threading.Event,
                 resume: threading.Event) -> Callable[..., Any]:  # fmt: skip
    """``func``, but the thread named ``thread_name`` stops after it until ``resume``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        if threading.current_thread().name == thread_name:
            paused.set()
            assert resume.wait(timeout=60)
        return result

    return wrapper


def _waiting_on_a_lock(wait_event: str | None = None) -> bool:
    """Whether a session of this database (not ours) waits on a heavyweight lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' "
            "AND (%s::text IS NULL OR wait_event = %s::text)", [wait_event, wait_event])
        return bool(cursor.fetchone()[0])


def _join(*threads: threading.Thread) -> None:
    for t in threads:
        t.join(timeout=JOIN_TIMEOUT_S)
    assert not [t for t in threads if t.is_alive()], "a thread hung"


@pytest.mark.django_db(transaction=True)
def test_randomizing_while_an_assessor_is_assigned_to_the_participant_does_not_deadlock(
    on_postgres: None, coordinators: dict[str, User], personas: Any,
    enroll: Callable[..., Participant], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from combat_norse.participants.actions import masking as participant_actions

    do_setup_list(personas.statistician, design=Design.PERMUTED_BLOCKS, seed=None,
                  environment="production", blocks_per_stratum=10)  # fmt: skip
    coord = coordinators["YNH"]
    participant = enroll(site="YNH", actor=coord, **_profile(0))
    paused, resume, errors = threading.Event(), threading.Event(), []
    monkeypatch.setattr(participant_actions, "audited_save", _pause_after(
        participant_actions.audited_save, "assigner", paused, resume))  # fmt: skip

    # The assignment is written and audited (its row locks held), its commit not yet run …
    assigner = _start("assigner", lambda: participant_actions.do_assign_assessor(
        coord, participant, personas.assessor), errors)  # fmt: skip
    _wait_for("the assignment to be written", paused.is_set)
    # … when the randomization runs (there is no chain lock to queue for since issue 19: it
    # commits, or waits on a row lock of the assignment).
    randomizer = _start("randomizer", lambda: do_randomize(coord, participant), errors)
    _wait_for("the randomization to commit or wait",
              lambda: not randomizer.is_alive() or _waiting_on_a_lock())  # fmt: skip
    resume.set()
    _join(assigner, randomizer)

    assert not errors, errors
    assert Allocation.unscoped.filter(participant=participant).count() == 1
    assert participant.assessor_assignments.count() == 1
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_extending_the_list_while_randomizing_does_not_deadlock(
    on_postgres: None, coordinators: dict[str, User], personas: Any,
    enroll: Callable[..., Participant], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from combat_norse.allocation.actions import lists as allocation_actions

    rlist = do_setup_list(personas.statistician, design=Design.PERMUTED_BLOCKS, seed=None,
                          environment="production", blocks_per_stratum=10)  # fmt: skip
    coord = coordinators["YNH"]
    participant = enroll(site="YNH", actor=coord, **_profile(0))
    stratum = STRATA[0]
    before = ListSlot.unscoped.filter(randomization_list=rlist, stratum=stratum).count()
    paused, resume, errors = threading.Event(), threading.Event(), []
    monkeypatch.setattr(allocation_actions, "_store_slots", _pause_after(
        allocation_actions._store_slots, "extender", paused, resume))  # fmt: skip

    # The statistician's extension holds the list row and has stored its slots …
    extender = _start("extender", lambda: allocation_actions.do_extend_list(
        personas.statistician, rlist, stratum=stratum, n_blocks=2, reason="running low"),
        errors)  # fmt: skip
    _wait_for("the extension to lock the list", paused.is_set)
    # … while a randomization runs to its commit (where it checks its list foreign key).
    randomizer = _start("randomizer", lambda: do_randomize(coord, participant), errors)
    _wait_for("the randomization to commit or wait",
              lambda: not randomizer.is_alive() or _waiting_on_a_lock())  # fmt: skip
    resume.set()
    _join(extender, randomizer)

    assert not errors, errors
    assert Allocation.unscoped.filter(participant=participant).count() == 1
    assert ListSlot.unscoped.filter(randomization_list=rlist, stratum=stratum).count() > before
    assert verify_chain().ok
