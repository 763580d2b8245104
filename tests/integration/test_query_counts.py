"""The number of SQL statements of the hot actions is fixed (issue 13): a change that adds a
query to ``do_screen``, ``do_enroll`` or ``do_randomize`` fails here and must update the number
on purpose. Measured in the steady state (the site's counters exist; the list has room) inside
the test's transaction, so each action's atomic block is a SAVEPOINT / RELEASE pair (counted).

Both databases issue the same statements: the audit event is one INSERT, with no lock and no
read of the last event (issue 19: the sealer orders events later). Minimization takes an
advisory lock on the list on PostgreSQL (SQLite serializes the whole transaction instead).
The counts do not grow with the number of earlier screenings or allocations.

Where each statement comes from (SQLite):

- ``do_screen`` 11: savepoint; the actor's memberships; the site counter (get, lock, update);
  the entry and its history row; the event; the decision row and its history row; release.
- ``do_enroll`` 20 (16 + data capture's receiver of ``enrolled``: the annual-consent check's
  consent and withdrawals, the visits in one insert and their history rows in one): the
  screening lookup; savepoint; memberships; the entry locked; an existing
  participant; the latest consent and its withdrawals; the decision row and its history row; the
  site counter
  (get, lock, update); the participant and its history row; the event; release.
- ``do_randomize`` (permuted blocks) 20: the participant lookup (with its site only); savepoint;
  memberships; the participant locked with its screening; an existing allocation (its own
  query after the lock: joined into the locking read, PostgreSQL would not see an allocation
  committed while it waited); consent and withdrawals; the active list; the slot locked; the
  slot taken and its history row (with the actor); the allocation and its history row; the
  event; the dose plan (the weight read, the plan, its history row and its event; issue 16);
  the slots left in the stratum (counted up to the alert threshold); release.
- ``do_randomize`` (minimization) 17: as above with the earlier allocations read in one query
  instead of a slot locked, taken and counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from combat_norse.allocation.actions import do_randomize, do_retire_list, do_setup_list
from combat_norse.participants.actions import do_enroll, do_record_consent, do_screen
from combat_norse.sites.models import Site

pytestmark = [pytest.mark.django_db, pytest.mark.req("#13")]

# vendor -> statements
SCREEN = {"sqlite": 11, "postgresql": 11}
ENROLL = {"sqlite": 20, "postgresql": 20}
# since issue 16, the dose plan the randomization starts: the latest recorded weight, the
# plan's row, history, and its audit event (one INSERT since issue 19): + 4
RANDOMIZE_BLOCKS = {"sqlite": 20, "postgresql": 20}
RANDOMIZE_MINIMIZATION = {"sqlite": 17, "postgresql": 18}


def expected(counts: dict[str, int]) -> int:
    if connection.vendor not in counts:
        pytest.skip(f"no query count measured on {connection.vendor}")
    return counts[connection.vendor]


@pytest.fixture
def ynh(personas: Any) -> Site:
    return Site.objects.get(code="YNH")


def test_do_screen_issues_a_fixed_number_of_queries(
    personas: Any, ynh: Site, make_record: Callable[..., dict[str, Any]],
    django_assert_num_queries: Any,
) -> None:
    do_screen(personas.coord, ynh, make_record())  # the site's counter exists from here on
    for _ in range(2):  # the same for the second and the third entry
        with django_assert_num_queries(expected(SCREEN)):
            do_screen(personas.coord, ynh, make_record())


def test_do_enroll_issues_a_fixed_number_of_queries(
    personas: Any, ynh: Site, enroll: Callable[..., Any],
    make_record: Callable[..., dict[str, Any]], django_assert_num_queries: Any,
) -> None:
    enroll()  # the site's study-id counter exists from here on
    for _ in range(2):
        entry, _ = do_screen(personas.coord, ynh, make_record())
        do_record_consent(personas.coord, entry, signer="lar", form_version="1.0")
        with django_assert_num_queries(expected(ENROLL)):
            do_enroll(personas.coord, entry.screening_id)


def test_do_randomize_issues_a_fixed_number_of_queries_with_permuted_blocks(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    django_assert_num_queries: Any,
) -> None:
    participants = [enroll() for _ in range(3)]
    do_randomize(personas.coord, participants[0])
    for p in participants[1:]:
        with django_assert_num_queries(expected(RANDOMIZE_BLOCKS)):
            do_randomize(personas.coord, p.study_id)


def test_do_randomize_issues_a_fixed_number_of_queries_with_minimization(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    django_assert_num_queries: Any,
) -> None:
    do_retire_list(personas.statistician, production_list, reason="switch to minimization")
    do_setup_list(personas.statistician, design="minimization", seed=None,
                  environment="production")  # fmt: skip
    participants = [enroll() for _ in range(3)]
    do_randomize(personas.coord, participants[0])
    for p in participants[1:]:
        with django_assert_num_queries(expected(RANDOMIZE_MINIMIZATION)):
            do_randomize(personas.coord, p.study_id)


def test_a_second_randomization_of_the_same_participant_is_cheap(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    django_assert_max_num_queries: Any,
) -> None:
    p = enroll()
    do_randomize(personas.coord, p)
    with django_assert_max_num_queries(6):  # lookup, savepoint, scope, lock, found, release
        do_randomize(personas.coord, p.study_id)
