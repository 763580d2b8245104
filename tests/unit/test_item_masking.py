"""Arm-revealing tags at item level (issue 13; §14 tags the ``dose`` form and AE narratives):
the same ArmRevealing declaration masks a form's items, keyed by item code."""

import pytest

from combat_norse.core.masking import MASKED, ArmRevealing

pytestmark = pytest.mark.req("#13", "§11", "§14")


def test_a_masked_reader_gets_no_arm_revealing_item_and_no_drug_name_in_free_text() -> None:
    adverse_event = ArmRevealing(text_fields={"narrative"})
    values = {"term": "Rash", "grade": 2, "narrative": "rash after the third Kineret dose"}
    assert adverse_event.apply(values, masked=True) == {**values, "narrative": MASKED}
    assert adverse_event.apply(values, masked=False) == values
    plain = {**values, "narrative": "rash on the trunk"}
    assert adverse_event.apply(plain, masked=True) == plain


def test_an_item_tag_masks_that_item_and_a_whole_form_tag_withholds_the_form() -> None:
    lab_panel = ArmRevealing(fields={"il6_pg_ml"})  # a drug-specific lab, say
    values = {"anc_per_mm3": 3100, "il6_pg_ml": 512}
    assert lab_panel.apply(values, masked=True) == {"anc_per_mm3": 3100, "il6_pg_ml": MASKED}
    dose = ArmRevealing(record=True)  # drug, amount and timing all reveal the arm
    assert dose.apply({"drug": "anakinra", "dose_mg": 100}, masked=True) is None
    assert dose.apply({"drug": "anakinra"}, masked=False) == {"drug": "anakinra"}


def test_applying_never_changes_the_stored_values() -> None:
    values = {"narrative": "tocilizumab infusion"}
    ArmRevealing(text_fields={"narrative"}).apply(values, masked=True)
    assert values == {"narrative": "tocilizumab infusion"}
