"""The access-function matrix: for every role (generated from ``Role``, so a new role fails
until the table below says what it may do), at its own site and at another site: which
participant rows it reads, whether it writes, whether it sees the arm, and whether it sees the
allocation list. The expectations are §11's table (and §13 for who randomizes),
written once as data; the code under test is the access layer (participants/access.py,
allocation/actions.py) and the ``do_*`` actions' permission checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User

from combat_norse.accounts.actions import do_add_user
from combat_norse.allocation.actions import access_allocation, balance_report, do_randomize
from combat_norse.allocation.models import Allocation
from combat_norse.audit.models import AuditEvent
from combat_norse.participants.access import (
    access_participant,
    access_participants,
    access_screenings,
    may_see_arm,
)
from combat_norse.participants.actions import (
    Refused,
    do_assign_assessor,
    do_record_assessor_unmasked,
    do_screen,
    do_unmask,
    do_withdraw,
)
from combat_norse.participants.models import Participant
from combat_norse.sites.access import AccessDenied, scope_for
from combat_norse.sites.models import Membership, Site
from combat_norse.sites.roles import CENTRAL_ROLES, SITE_ROLES, Role

pytestmark = [pytest.mark.django_db, pytest.mark.req("#3", "§11")]

OWN, OTHER = "YNH", "SNU"


@dataclass(frozen=True)
class May:
    rows: str  # participant rows it reads: "own sites", "all sites", "assigned" or "none"
    arm: bool  # sees a randomized participant's arm (in the rows it reads)
    allocation_list: bool  # the balance report over the allocation list
    screen: bool  # bedside write: add to the screening log (do_screen)
    randomize: bool  # §13: the treating team only (do_randomize)
    follow_up: bool  # end of follow-up / withdrawal (do_withdraw)


# §11 (scope, arm, allocation list) and §13 (randomize); the two other write
# columns: bedside entry is the treating team's, corrections and withdrawals also the central
# data manager's; monitors, statisticians and the aggregate roles only read.
EXPECTED: dict[str, May] = {
    "site_coordinator": May("own sites", arm=True, allocation_list=False, screen=True,
                            randomize=True, follow_up=True),
    "site_investigator": May("own sites", arm=True, allocation_list=False, screen=True,
                             randomize=True, follow_up=True),
    "pharmacist": May("own sites", arm=True, allocation_list=False, screen=False,
                      randomize=False, follow_up=False),
    "outcome_assessor": May("assigned", arm=False, allocation_list=False, screen=False,
                            randomize=False, follow_up=False),
    "data_manager": May("all sites", arm=True, allocation_list=False, screen=False,
                        randomize=False, follow_up=True),
    "monitor": May("own sites", arm=True, allocation_list=False, screen=False,
                   randomize=False, follow_up=False),
    "statistician": May("all sites", arm=True, allocation_list=True, screen=False,
                        randomize=False, follow_up=False),
    "dsmb_member": May("none", arm=False, allocation_list=False, screen=False,
                       randomize=False, follow_up=False),
    "sponsor_viewer": May("none", arm=False, allocation_list=False, screen=False,
                          randomize=False, follow_up=False),
    "admin": May("none", arm=False, allocation_list=False, screen=False,
                 randomize=False, follow_up=False),
}  # fmt: skip


def make_user(role: str, site: str = OWN, name: str = "") -> User:
    """A user holding ``role`` (at ``site`` for a site role; central roles hold all sites)."""
    username = name or f"as-{role.replace('_', '-')}"
    return do_add_user(username, role, [site] if role in SITE_ROLES else []).user


@dataclass
class Trial:
    """At one site: two randomized participants (the first assigned to the subject when the
    subject is an outcome assessor) and one enrolled but not randomized."""

    site: Site
    assigned: Participant
    unassigned: Participant
    unrandomized: Participant

    @property
    def all(self) -> list[Participant]:
        return [self.assigned, self.unassigned, self.unrandomized]


@pytest.fixture
def trial_at(personas: Any, enroll: Callable[..., Participant],
             production_list: Any) -> Callable[[str, User], Trial]:  # fmt: skip
    def _trial(code: str, subject: User) -> Trial:
        team = personas.coord if code == OWN else personas.othercoord
        made = [enroll(site=code) for _ in range(3)]
        for participant in made[:2]:
            do_randomize(team, participant)
        if Role.OUTCOME_ASSESSOR in scope_for(subject).roles_at(made[0].site_id):
            do_assign_assessor(team, made[0], subject)
        return Trial(made[0].site, *made)

    return _trial


def reads(may: May, where: str, trial: Trial) -> set[int]:
    if may.rows == "all sites" or (may.rows == "own sites" and where == OWN):
        return {p.pk for p in trial.all}
    if may.rows == "assigned" and where == OWN:
        return {trial.assigned.pk}
    return set()


def refusal_reason(role: str, where: str) -> str:
    """A site role elsewhere holds no role at that site; every other refusal is about the role."""
    return "other site" if role in SITE_ROLES and where == OTHER else "role"


def test_the_expectation_table_names_every_role_and_only_roles() -> None:
    assert set(EXPECTED) == {r.value for r in Role}, "update EXPECTED for the new/removed role"


@pytest.mark.parametrize("where", [OWN, OTHER], ids=["own site", "other site"])
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_reads_writes_and_sees_the_arm_as_section_11_says(
    role: str, where: str, trial_at: Callable[[str, User], Trial], make_record: Any,
) -> None:  # fmt: skip
    may = EXPECTED.get(role)
    assert may is not None, f"role {role!r} is not in EXPECTED: add what §11 says it may do"
    subject = make_user(role)
    trial = trial_at(where, subject)
    readable = reads(may, where, trial)
    acts_there = where == OWN or role in CENTRAL_ROLES
    denied = refusal_reason(role, where)

    # Reading rows: the list and one by one.
    listed = set(access_participants(subject).filter(site=trial.site).values_list("pk", flat=True))
    assert listed == readable
    for participant in trial.all:
        if participant.pk in readable:
            assert access_participant(subject, participant.study_id.lower()) == participant
        else:
            with pytest.raises(AccessDenied) as refused:
                access_participant(subject, participant.study_id)
            assert refused.value.reason == denied

    # The arm: visible only where the row is readable and the role is unmasked; a masked reader
    # is refused whether or not an allocation exists.
    for participant in trial.all:
        sees = may.arm and participant.pk in readable
        assert may_see_arm(subject, participant) is sees, participant.study_id
        if sees:
            allocation = access_allocation(subject, participant)
            stored = Allocation.unscoped.filter(participant=participant).first()
            assert allocation == stored
        else:
            with pytest.raises(AccessDenied) as masked:
                access_allocation(subject, participant)
            assert masked.value.reason == "masked"

    # The allocation list: the statistician only.
    if may.allocation_list:
        assert balance_report(subject)["total"]
    else:
        with pytest.raises(AccessDenied, match="role"):
            balance_report(subject)

    # Writing: allowed, or refused with the reason, leaving an audited attempt.
    writes: dict[str, tuple[bool, Callable[[], object]]] = {
        "screen": (may.screen, lambda: do_screen(subject, trial.site, make_record())),
        "randomize": (may.randomize, lambda: do_randomize(subject, trial.unrandomized)),
        "withdraw": (may.follow_up, lambda: do_withdraw(
            subject, trial.unassigned, scope="stop_treatment", reason="family request")),
    }  # fmt: skip
    for action, (allowed, attempt) in writes.items():
        if allowed and acts_there:
            assert attempt() is not None
            continue
        before = AuditEvent.objects.filter(action=f"{action}_refused", actor=subject).count()
        with pytest.raises(Refused) as refused_write:
            attempt()
        assert refused_write.value.reason == denied, action
        after = AuditEvent.objects.filter(action=f"{action}_refused", actor=subject).count()
        assert after == before + 1, f"{action}: the refused attempt is not audited"


# ---------------------------------------------------------------------------- named personas
def test_outcome_assessor_sees_only_assigned_participants(personas: Any, enroll: Any) -> None:
    mine, other = enroll(), enroll()
    assert not access_participants(personas.assessor).exists()
    do_assign_assessor(personas.coord, mine, personas.assessor)
    assert list(access_participants(personas.assessor)) == [mine]
    with pytest.raises(AccessDenied, match="not assigned"):
        access_participant(personas.assessor, other.study_id)
    assert not access_screenings(personas.assessor).exists()  # the screening log is not theirs


def test_outcome_assessor_cannot_see_allocation(personas: Any, enroll: Any,
                                                production_list: Any) -> None:  # fmt: skip
    participant = enroll()
    do_assign_assessor(personas.coord, participant, personas.assessor)
    do_randomize(personas.coord, participant)
    assert access_participant(personas.assessor, participant.study_id) == participant
    assert may_see_arm(personas.assessor, participant) is False
    with pytest.raises(AccessDenied) as refused:
        access_allocation(personas.assessor, participant)
    assert refused.value.reason == "masked"
    assert "arm" not in str(refused.value) and production_list.pk


def test_only_a_coordinator_or_investigator_assigns_an_assessor_and_only_an_assessor(
    personas: Any, enroll: Any,
) -> None:  # fmt: skip
    participant = enroll()
    with pytest.raises(Refused, match="role"):
        do_assign_assessor(personas.monitor, participant, personas.assessor)
    with pytest.raises(Refused, match="not an outcome assessor"):
        do_assign_assessor(personas.coord, participant, personas.pharmacist)
    with pytest.raises(Refused, match="other site"):
        do_assign_assessor(personas.othercoord, participant, personas.assessor)


def test_an_incidentally_unmasked_assessor_still_cannot_read_the_arm(
    personas: Any, enroll: Any, production_list: Any,
) -> None:  # fmt: skip
    participant = enroll()
    do_assign_assessor(personas.coord, participant, personas.assessor)
    do_randomize(personas.coord, participant)
    do_record_assessor_unmasked(personas.assessor, participant, personas.assessor,
                                how="family mentioned the drug")  # fmt: skip
    assert may_see_arm(personas.assessor, participant) is False


def test_a_deliberately_unmasked_assessor_sees_that_participants_arm_only(
    personas: Any, enroll: Any, production_list: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    assessor = personas.assessor
    assessor.set_password("an assessor's own passphrase")
    assessor.save()
    told, other = enroll(), enroll()
    for participant in (told, other):
        do_assign_assessor(personas.coord, participant, assessor)
        do_randomize(personas.coord, participant)
    with pytest.raises(Refused, match="re-authentication"):
        do_unmask(assessor, told, reason="suspected SUSAR", password="wrong")
    from django.core import mail

    with django_capture_on_commit_callbacks(execute=True):
        _, arm = do_unmask(
            assessor,
            told,
            reason="suspected SUSAR",
            password="an assessor's own passphrase",
        )
    assert len(mail.outbox) == 1 and arm == Allocation.unscoped.get(participant=told).arm
    assert may_see_arm(assessor, told) is True
    assert may_see_arm(assessor, other) is False
    with pytest.raises(Refused, match="not masked"):
        do_unmask(personas.coord, told, reason="curious", password="x")


def test_sponsor_viewer_and_dsmb_member_read_no_participant_rows(
    personas: Any, enroll: Any, production_list: Any,
) -> None:  # fmt: skip
    participant = enroll()
    do_randomize(personas.coord, participant)
    for reader in (personas.sponsor, personas.dsmb):
        assert not access_participants(reader).exists()
        assert not access_screenings(reader).exists()
        with pytest.raises(AccessDenied, match="role"):
            access_participant(reader, participant.study_id)
        with pytest.raises(AccessDenied, match="masked"):
            access_allocation(reader, participant)


def test_admin_reads_no_participant_data(personas: Any, enroll: Any) -> None:
    participant = enroll()
    admin = personas.sysadmin
    assert admin.is_superuser  # even a superuser gets nothing through the access layer
    assert not access_participants(admin).exists()
    assert not access_screenings(admin).exists()
    with pytest.raises(AccessDenied, match="role"):
        access_participant(admin, participant.study_id)
    assert may_see_arm(admin, participant) is False


def test_monitor_reads_its_sites_but_cannot_write(personas: Any, enroll: Any,
                                                  make_record: Any) -> None:  # fmt: skip
    here, elsewhere = enroll(), enroll(site=OTHER)
    assert list(access_participants(personas.monitor)) == [here]
    assert access_screenings(personas.monitor).count() == 1
    with pytest.raises(AccessDenied) as refused:
        access_participant(personas.monitor, elsewhere.study_id)
    assert refused.value.reason == "other site"
    with pytest.raises(Refused, match=r"^role \(needs "):
        do_screen(personas.monitor, here.site, make_record())
    with pytest.raises(Refused, match=r"^role \(needs "):
        do_withdraw(personas.monitor, here, scope="stop_treatment", reason="x")


def test_another_sites_coordinator_gets_other_site(personas: Any, enroll: Any,
                                                   make_record: Any) -> None:  # fmt: skip
    participant = enroll()
    with pytest.raises(AccessDenied) as refused:
        access_participant(personas.othercoord, participant.study_id)
    assert refused.value.reason == "other site"
    assert not access_participants(personas.othercoord).filter(pk=participant.pk).exists()
    with pytest.raises(Refused, match=r"^other site$"):
        do_screen(personas.othercoord, participant.site, make_record())
    event = AuditEvent.objects.filter(action="screen_refused").latest("seq")
    assert event.actor_username == "othercoord" and event.site_code == OWN
    assert event.reason.startswith("other site")


def test_a_masked_role_at_a_site_masks_the_user_there_even_beside_an_unmasked_one(
    personas: Any, enroll: Any, production_list: Any,
) -> None:  # fmt: skip
    participant = enroll()
    do_randomize(personas.coord, participant)
    both = make_user(Role.SITE_COORDINATOR, name="coord-and-assessor")
    Membership.objects.create(user=both, role=Role.OUTCOME_ASSESSOR,
                              site=participant.site)  # fmt: skip
    assert may_see_arm(both, participant) is False  # fail closed
    with pytest.raises(AccessDenied, match="masked"):
        access_allocation(both, participant)


def test_an_inactive_membership_or_user_grants_nothing(personas: Any, enroll: Any) -> None:
    participant = enroll()
    Membership.objects.filter(user=personas.investigator).update(active=False)
    assert not access_participants(personas.investigator).exists()
    with pytest.raises(AccessDenied, match="other site"):
        access_participant(personas.investigator, participant.study_id)
    personas.pharmacist.is_active = False
    personas.pharmacist.save()
    assert not access_participants(personas.pharmacist).exists()
