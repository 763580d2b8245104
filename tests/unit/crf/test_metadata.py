"""The one metadata source (issue 15, §14): a malformed form fails when it is declared, values
are parsed by their item's type, range and code list, SI alternatives are converted on entry,
and a version's fingerprint changes with any change to its definition."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from combat_norse.crf.catalog import FORMS, form
from combat_norse.crf.metadata import FormDef, ItemDef, ItemError, ItemType

pytestmark = pytest.mark.req("§14")


@pytest.mark.parametrize(
    "make",
    [lambda: ItemDef("Bad Code", ItemType.TEXT, "x"),
     lambda: ItemDef("c", ItemType.CHOICE, "x"),
     lambda: ItemDef("c", ItemType.TEXT, "x", choices=("a",)),
     lambda: ItemDef("c", ItemType.CHOICE, "x", choices=("a", "a")),
     lambda: ItemDef("c", ItemType.TEXT, "x", min=Decimal(1)),
     lambda: ItemDef("c", ItemType.INTEGER, "x", min=Decimal(5), max=Decimal(1)),
     lambda: FormDef("f", 0, "t", items=(), visits=("day30",)),
     lambda: FormDef("f", 1, "t", items=(ItemDef("a", ItemType.TEXT, "x"),) * 2,
                     visits=("day30",)),
     lambda: FormDef("f", 1, "t", items=(), visits=())],
)  # fmt: skip
def test_a_malformed_declaration_fails_at_import_not_at_the_bedside(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


def test_values_are_parsed_by_type_range_and_code_list_with_si_converted() -> None:
    labs = form("labs")
    doc = labs.validate({"collected_at": "2026-11-29T08:00:00-05:00", "anc_1e9_per_l": 1.5,
                         "alt_ukat_l": 0.5})  # fmt: skip
    assert doc == {"collected_at": "2026-11-29T08:00:00-05:00", "anc_per_mm3": 1500.0,
                   "alt_u_l": 30.0}  # fmt: skip
    for submitted, item in (({"anc_per_mm3": True}, "anc_per_mm3"),
                            ({"anc_per_mm3": float("nan")}, "anc_per_mm3"),
                            ({"anc_per_mm3": 1e20}, "anc_per_mm3"),
                            ({"collected_at": "2026-11-29T08:00:00"}, "collected_at"),
                            ({"anc_per_mm3": 1, "anc_1e9_per_l": 1}, "anc_1e9_per_l"),
                            ({"x" * 500: 1}, "x" * 40 + "…")):  # fmt: skip
        with pytest.raises(ItemError) as caught:
            labs.validate(submitted)
        assert caught.value.item == item
    ae = form("adverse_event")
    assert ae.validate({"seriousness": ["hospitalization", "death"]})["seriousness"] == [
        "death", "hospitalization"]  # fmt: skip
    with pytest.raises(ItemError, match="repeated"):
        ae.validate({"seriousness": ["death", "death"]})
    assert form("mrs").validate({"mrs": None}, {"mrs": 3}) == {}  # null clears an item


def test_a_changed_definition_changes_the_fingerprint_and_the_catalog_is_unique() -> None:
    mrs = form("mrs")
    changed = dataclasses.replace(mrs, title="mRS (renamed)")
    assert changed.fingerprint() != mrs.fingerprint()
    assert len({(f.code, f.version) for f in FORMS}) == len(FORMS)
    dose = form("dose")
    assert dose.arm_revealing and all(i.arm_revealing for i in dose.items)
    assert [i["code"] for i in dose.as_json(masked=True)["items"]] == []
