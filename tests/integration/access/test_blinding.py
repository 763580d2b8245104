"""The blinding mechanism (§11): what a masked reader gets from ``redact_values``,
and that which roles are masked is a setting the code asks at call time."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from combat_norse.allocation.actions import access_allocation, do_randomize
from combat_norse.allocation.models import Allocation, ListAlert, ListSlot, RandomizationList
from combat_norse.core.masking import (
    MASKED,
    NOT_ARM_REVEALING,
    ArmRevealing,
    mentions_drug,
    redact_values,
)
from combat_norse.participants.access import may_see_arm
from combat_norse.participants.models import Participant
from combat_norse.sites.access import AccessDenied, scope_for
from combat_norse.sites.roles import DEFAULT_MASKED_ROLES, Role, is_masked

pytestmark = [pytest.mark.req("#3", "§11")]


class DoseRecord:
    """Shaped like the dosing model to come: the drug field reveals the arm, the note may."""

    arm_revealing = ArmRevealing(fields={"drug", "interval_hours"}, text_fields={"note"})


class AdverseEvent:
    arm_revealing = ArmRevealing(text_fields={"description"})


class Visit:
    arm_revealing = NOT_ARM_REVEALING


class Undeclared:
    pass


DOSE = {"participant": "YNH-001", "drug": "tocilizumab", "interval_hours": 336,
        "dose_mg": 580.0, "note": "infusion given over 60 min"}  # fmt: skip
DRUG_TEXTS = [
    "anakinra", "ANAKINRA", "Kineret", "kineret started", "tocilizumab", "TocIliZumab",
    "Actemra", "rash after the actemra infusion", "RoActemra", "Tyenne", "Tofidence", "Avtozma",
    "Anakinra-related injection site reaction", "(kineret)",
]  # fmt: skip
PLAIN_TEXTS = ["fever and rash", "ALT 3x ULN", "", "seizure recurrence on day 4"]


def test_masked_reader_gets_declared_fields_masked_and_the_rest_intact() -> None:
    out = redact_values(DoseRecord, DOSE, masked=True)
    assert out == {**DOSE, "drug": MASKED, "interval_hours": MASKED}
    assert DOSE["drug"] == "tocilizumab"  # the caller's values are not changed


def test_unmasked_reader_gets_an_untouched_copy() -> None:
    out = redact_values(DoseRecord, {**DOSE, "note": "Actemra 8 mg/kg"}, masked=False)
    assert out == {**DOSE, "note": "Actemra 8 mg/kg"}
    assert redact_values(Allocation, {"arm": "anakinra", "code": "X1"}, masked=False) == {
        "arm": "anakinra", "code": "X1"}  # fmt: skip


@pytest.mark.parametrize("model", [Allocation, ListSlot, RandomizationList, ListAlert])
def test_a_whole_arm_revealing_record_is_withheld_from_a_masked_reader(model: type) -> None:
    assert redact_values(model, {"arm": "anakinra", "code": "A-17"}, masked=True) is None


@pytest.mark.parametrize("text", DRUG_TEXTS)
def test_free_text_naming_a_study_drug_is_masked_in_any_case(text: str) -> None:
    assert mentions_drug(text)
    out = redact_values(AdverseEvent, {"description": text, "grade": 2}, masked=True)
    assert out == {"description": MASKED, "grade": 2}
    unmasked = redact_values(AdverseEvent, {"description": text, "grade": 2}, masked=False)
    assert unmasked == {"description": text, "grade": 2}


@pytest.mark.parametrize("text", PLAIN_TEXTS)
def test_free_text_without_a_drug_name_reaches_a_masked_reader(text: str) -> None:
    assert not mentions_drug(text)
    assert redact_values(AdverseEvent, {"description": text}, masked=True) == {"description": text}


def test_a_model_declared_not_arm_revealing_passes_unchanged_to_a_masked_reader() -> None:
    values = {"visit": "month3", "note": "Kineret mentioned"}  # no text field is declared
    assert redact_values(Visit, values, masked=True) == values


def test_redacting_an_undeclared_model_is_an_error_not_a_silent_pass() -> None:
    with pytest.raises(TypeError, match="no arm_revealing declaration"):
        redact_values(Undeclared, {"drug": "anakinra"}, masked=True)
    assert not mentions_drug(None) and not mentions_drug(42)


def test_default_masking_is_outcome_assessors_and_sponsor_viewers() -> None:
    assert {r for r in Role if is_masked(r)} == set(DEFAULT_MASKED_ROLES) == {
        Role.OUTCOME_ASSESSOR, Role.SPONSOR_VIEWER}  # fmt: skip


@pytest.mark.django_db
def test_masking_the_investigator_by_setting_hides_the_arm_without_code_changes(
    personas: Any, enroll: Any, production_list: Any,
) -> None:  # fmt: skip
    participant: Participant = enroll()
    do_randomize(personas.coord, participant)
    assert may_see_arm(personas.investigator, participant) is True
    blinded_investigators = [*DEFAULT_MASKED_ROLES, Role.SITE_INVESTIGATOR]
    with override_settings(COMBAT_NORSE_MASKED_ROLES=blinded_investigators):
        assert scope_for(personas.investigator).is_masked_at(participant.site_id)
        assert may_see_arm(personas.investigator, participant) is False
        with pytest.raises(AccessDenied, match="masked"):
            access_allocation(personas.investigator, participant)
        assert may_see_arm(personas.coord, participant) is True
    assert access_allocation(personas.investigator, participant) is not None


@pytest.mark.django_db
def test_unmasking_the_sponsor_viewer_by_setting_still_gives_no_rows(
    personas: Any, enroll: Any, production_list: Any,
) -> None:  # fmt: skip
    """Masking decides the arm, not the scope: an aggregate role reads no row either way."""
    participant = enroll()
    do_randomize(personas.coord, participant)
    with override_settings(COMBAT_NORSE_MASKED_ROLES=[Role.OUTCOME_ASSESSOR]):
        assert not is_masked(Role.SPONSOR_VIEWER)
        assert may_see_arm(personas.sponsor, participant) is False
