"""Screening history, consent, enrollment, withdrawal, end of follow-up, assessor masking."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from combat_norse.audit.models import AuditEvent
from combat_norse.crf.actions.forms import do_save_form
from combat_norse.crf.actions.reports import unmasking_report
from combat_norse.participants.access import access_participants, access_screenings
from combat_norse.participants.actions import (
    Refused,
    do_assign_assessor,
    do_end_follow_up,
    do_enroll,
    do_record_assessor_unmasked,
    do_record_consent,
    do_rescreen,
    do_screen,
    do_unmask,
    do_withdraw,
    expire_unrandomized,
    valid_consent,
)
from combat_norse.participants.models import Participant, ScreeningDecision
from combat_norse.sites.access import AccessDenied
from combat_norse.sites.models import Site

pytestmark = [pytest.mark.django_db, pytest.mark.req("#10")]

PASSWORD = "correct horse battery staple 42"


def _mrs(score: int) -> dict[str, Any]:
    """An mRS form's values (outcome entries are data capture's ``mrs`` form, issue 15)."""
    return {"mrs": score, "assessed_on": timezone.now().date().isoformat()}


@pytest.mark.req("§5")
def test_rescreening_keeps_every_decision_with_its_rule_version(
    personas: Any, make_record: Callable[..., dict[str, Any]]
) -> None:
    ynh = Site.objects.get(code="YNH")
    incomplete = make_record()
    del incomplete["anc_per_mm3"]
    entry, _ = do_screen(personas.coord, ynh, incomplete)
    assert entry.decision == "incomplete" and entry.missing == ["anc_per_mm3"]
    entry, _ = do_rescreen(personas.coord, entry, make_record(), reason="CBC arrived")
    assert entry.decision == "randomized_cohort"
    history = list(ScreeningDecision.unscoped.filter(screening=entry).order_by("id"))
    assert [d.result["decision"] for d in history] == ["incomplete", "randomized_cohort"]
    assert all(d.rules_version == "1.0" for d in history)
    assert history[0].record.get("anc_per_mm3") is None
    assert entry.history.count() == 2  # row history of the log entry itself
    update = AuditEvent.objects.filter(action="rescreen", participant_ref=entry.screening_id).get()
    assert update.reason == "CBC arrived" and "decision" in update.changes


def test_screening_log_keeps_patients_never_enrolled_with_the_reason(
    personas: Any, make_record: Callable[..., dict[str, Any]]
) -> None:
    from combat_norse.participants.actions import do_record_not_enrolled

    entry, _ = do_screen(personas.coord, Site.objects.get(code="YNH"), make_record())
    do_record_not_enrolled(personas.coord, entry, "family declined")
    log = list(access_screenings(personas.datamanager))
    assert [(e.screening_id, e.reason_not_enrolled) for e in log] == [
        (entry.screening_id, "family declined")
    ]
    assert list(access_screenings(personas.othercoord)) == []
    assert list(access_screenings(personas.assessor)) == []


def test_patient_regaining_capacity_reconsents_and_may_withdraw_optional_consents(
    personas: Any, make_record: Callable[..., dict[str, Any]]
) -> None:
    entry, _ = do_screen(personas.coord, Site.objects.get(code="YNH"), make_record())
    first = do_record_consent(personas.coord, entry, signer="lar", form_version="1.0",
                              optional=["interview", "biosamples"])
    assert not first.is_reconsent
    p = do_enroll(personas.coord, entry)
    later = timezone.now() + timedelta(seconds=1)
    second = do_record_consent(personas.coord, entry, signer="patient", form_version="1.1",
                               optional=["annual_followup"], signed_at=timezone.now(), now=later)
    assert second.is_reconsent
    assert valid_consent(p.screening, purpose="interview", at=later) is None
    assert valid_consent(p.screening, purpose="annual_followup", at=later) == second


def test_consent_rejects_future_signatures_and_unknown_signers(
    personas: Any, make_record: Callable[..., dict[str, Any]]
) -> None:
    from combat_norse.participants.actions import BadRequest

    entry, _ = do_screen(personas.coord, Site.objects.get(code="YNH"), make_record())
    with pytest.raises(BadRequest, match="signed_at"):
        do_record_consent(personas.coord, entry, signer="lar", form_version="1",
                          signed_at=timezone.now() + timedelta(hours=1))
    with pytest.raises(BadRequest, match="signer"):
        do_record_consent(personas.coord, entry, signer="neighbour", form_version="1")
    with pytest.raises(Refused, match="role"):
        do_record_consent(personas.assessor, entry, signer="lar", form_version="1")


def test_withdrawal_from_follow_up_ends_follow_up_and_refuses_later_outcomes(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    do_assign_assessor(personas.coord, p, personas.assessor)
    do_save_form(personas.assessor, p, "day30", "mrs", _mrs(3))
    do_withdraw(personas.coord, p, scope="stop_follow_up", reason="moved abroad")
    p.refresh_from_db()
    assert p.status == "withdrawn" and p.ended_at is not None
    with pytest.raises(Refused, match="follow-up ended"):
        do_save_form(personas.assessor, p, "month3", "mrs", _mrs(2))
    assert AuditEvent.objects.filter(action="form_save_refused").count() == 1


def test_death_ends_follow_up_once(personas: Any, enroll: Callable[..., Any]) -> None:
    p = enroll()
    do_end_follow_up(personas.investigator, p, status="died", reason="")
    p.refresh_from_db()
    assert p.status == "died"
    with pytest.raises(Refused, match="already ended"):
        do_end_follow_up(personas.coord, p, status="lost_to_follow_up", reason="no contact")


@pytest.mark.req("I5", "§6")
def test_unrandomized_candidate_moves_to_observational_after_day_7(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    now = timezone.now()
    late = enroll(now=now - timedelta(days=6), se_onset=(now - timedelta(days=8)).isoformat())
    fresh = enroll()
    assert expire_unrandomized() == [late.study_id]
    late.refresh_from_db()
    fresh.refresh_from_db()
    assert late.cohort == "observational_cohort" and "day 8" in late.cohort_reason
    assert fresh.cohort == "randomized_cohort"
    assert expire_unrandomized() == []  # idempotent


@pytest.mark.req("§11")
def test_outcome_assessor_sees_only_assigned_participants(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    mine, other = enroll(), enroll()
    assert list(access_participants(personas.assessor)) == []
    do_assign_assessor(personas.coord, mine, personas.assessor)
    assert list(access_participants(personas.assessor)) == [mine]
    assert set(access_participants(personas.coord)) == {mine, other}
    with pytest.raises(Refused, match="role"):
        do_assign_assessor(personas.coord, other, personas.pharmacist)


@pytest.mark.req("§11")
def test_incidental_unmasking_flags_later_outcomes_of_that_assessor_only(
    personas: Any, enroll: Callable[..., Any], production_list: Any
) -> None:
    from combat_norse.allocation.actions import do_randomize

    now = timezone.now()
    p = enroll(now=now - timedelta(days=20), se_onset=(now - timedelta(days=22)).isoformat())
    do_randomize(personas.coord, p, now=now - timedelta(days=20))
    do_assign_assessor(personas.coord, p, personas.assessor)
    from combat_norse.accounts.actions import do_add_user

    other = do_add_user("assessor2", "outcome_assessor", ("YNH",)).user
    do_assign_assessor(personas.coord, p, other)
    before, _ = do_save_form(personas.assessor, p, "day30", "mrs", _mrs(3))
    do_record_assessor_unmasked(personas.assessor, p, personas.assessor,
                                how="family mentioned the drug", occurred_at=timezone.now())
    after, _ = do_save_form(personas.assessor, p, "month3", "mrs", _mrs(2))
    theirs, _ = do_save_form(other, p, "month6", "mrs", _mrs(2))
    before.refresh_from_db()
    assert not theirs.assessed_unmasked  # another assessor of the participant is not flagged
    assert (before.assessed_unmasked, after.assessed_unmasked) == (False, True)
    report = unmasking_report(personas.statistician)
    assert [r["type"] for r in report] == ["unmasking", "assessed_unmasked"]
    assert all("arm" not in r for r in report)
    with pytest.raises(AccessDenied):
        unmasking_report(personas.assessor)


@pytest.mark.req("§11")
def test_unmasking_recorded_late_flags_outcomes_already_entered_after_it(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    now = timezone.now()
    p = enroll(now=now - timedelta(days=20), se_onset=(now - timedelta(days=22)).isoformat())
    do_assign_assessor(personas.coord, p, personas.assessor)
    t0 = now - timedelta(days=10)
    o, _ = do_save_form(personas.assessor, p, "day30", "mrs", _mrs(4))
    seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    do_record_assessor_unmasked(personas.coord, p, personas.assessor, how="saw the drug chart",
                                occurred_at=t0)
    o.refresh_from_db()
    assert o.assessed_unmasked
    # one event for the change; the flagged form's own row history (written by data capture's
    # receiver of ``unmasked``, in the same transaction) carries the actor and the reason
    assert list(AuditEvent.objects.filter(seq__gt=seq).values_list("action", flat=True)) == [
        "record_unmasking"]
    last = o.history.order_by("-history_id").first()
    assert last.history_user == personas.coord
    assert last.history_change_reason.startswith("assessor unmasked")


@pytest.mark.req("§11")
def test_deliberate_unmasking_needs_reason_and_password_and_notifies_the_centre(
    personas: Any, enroll: Callable[..., Any], production_list: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from combat_norse.allocation.actions import access_allocation, do_randomize
    from combat_norse.participants.access import may_see_arm

    p = enroll()
    allocation = do_randomize(personas.coord, p)
    do_assign_assessor(personas.coord, p, personas.assessor)
    assert not may_see_arm(personas.assessor, p)
    with pytest.raises(AccessDenied):
        access_allocation(personas.assessor, p)
    with pytest.raises(Refused, match="re-authentication"):
        do_unmask(personas.assessor, p, reason="rash, treating team asks", password="wrong")
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        unmasking, arm = do_unmask(personas.assessor, p, reason="severe rash, safety",
                                   password=PASSWORD)
    assert arm == allocation.arm
    assert may_see_arm(personas.assessor, p)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert p.study_id in message.body and "severe rash" in message.body
    assert allocation.arm not in message.body and allocation.arm not in message.subject
    actions = list(AuditEvent.objects.filter(participant_ref=p.study_id)
                   .values_list("action", flat=True))
    assert "unmask_refused" in actions and actions[-2:] == ["unmask", "unmasking_notified"]
    notified = AuditEvent.objects.filter(participant_ref=p.study_id).order_by("seq").last()
    assert notified is not None and notified.reason == "coordinating centre notified"
    unmasking.refresh_from_db()
    assert unmasking.kind == "deliberate" and unmasking.notified_at is not None


def test_unblinded_user_cannot_be_unmasked(personas: Any, enroll: Callable[..., Any]) -> None:
    p = enroll()
    with pytest.raises(Refused, match="not masked"):
        do_unmask(personas.coord, p, reason="curious", password=PASSWORD)


def test_participant_data_is_read_only_through_access_functions() -> None:
    """No view, API or command reads participant tables directly: the managers are named
    ``unscoped`` and only the access and action modules may use them."""
    import pathlib
    import re

    src = pathlib.Path(__file__).resolve().parents[3] / "src" / "combat_norse"
    offenders = []
    for path in src.rglob("*.py"):
        rel = path.relative_to(src).as_posix()
        app_module = rel.split("/", 1)[-1]
        if app_module in {"access.py", "lookups.py", "checks.py"} or app_module.startswith(
            "actions/"
        ):  # system checks read metadata (form version seals), never participant rows
            continue
        if "/migrations/" in rel:
            continue
        if re.search(r"\.unscoped\b", path.read_text(encoding="utf-8")):
            offenders.append(rel)
    assert offenders == []
    assert not hasattr(Participant, "objects")


@pytest.mark.req("§11")
def test_unmasking_record_names_only_a_masked_user_of_that_site(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    p = enroll()
    with pytest.raises(Refused, match="not masked"):
        do_record_assessor_unmasked(personas.coord, p, personas.statistician, how="told")
    assert AuditEvent.objects.filter(action="record_unmasking_refused").count() == 1


@pytest.mark.req("§11")
def test_free_text_naming_a_drug_is_masked_for_masked_readers(
    personas: Any, enroll: Callable[..., Any]
) -> None:
    from combat_norse.core.masking import MASKED, redact_values

    p = enroll()
    w = do_withdraw(personas.coord, p, scope="stop_treatment", reason="rash after Kineret")
    shown = redact_values(type(w), {"reason": w.reason, "scope": w.scope}, masked=True)
    assert shown == {"reason": MASKED, "scope": "stop_treatment"}
    assert redact_values(type(w), {"reason": w.reason}, masked=False) == {"reason": w.reason}
