"""Whom a form is for (``FormDef.ages``, issue 17's missing forms): the declaration agrees with
the age rules that query a form entered for the wrong age group, and a visit expects of an
adult and of a child only their own forms (pure: no database)."""

from __future__ import annotations

import pytest

from combat_norse.crf import catalog, rules
from combat_norse.crf.metadata import ADULT_AGE, FormDef, ItemDef, ItemType

pytestmark = pytest.mark.req("§14", "§9", "#17")


def test_each_form_declared_for_an_age_group_has_the_rule_that_queries_the_other() -> None:
    for form in catalog.LATEST.values():
        names = {name for name, _ in rules.RULES.get(form.code, [])}
        assert (f"{form.code}_for_adults" in names) == (form.ages == "adults"), form.code
        assert (f"{form.code}_for_children" in names) == (form.ages == "children"), form.code


@pytest.mark.parametrize(("age", "day30"), [
    (ADULT_AGE, ["mrs", "gose"]),
    (ADULT_AGE - 1, ["mrs", "gose_peds", "pcpc"]),
    (None, ["mrs", "gose", "gose_peds", "pcpc"]),  # an unknown age: every one of them
])  # fmt: skip
def test_a_visit_expects_the_forms_of_the_participants_age_group(
    age: int | None, day30: list[str]
) -> None:
    assert [f.code for f in catalog.expected_forms("day30", age_years=age)] == day30
    assert [f.code for f in catalog.expected_forms("annual_3", age_years=age)][:len(day30)] \
        == day30  # fmt: skip


def test_an_age_group_is_adults_children_or_everyone() -> None:
    item = ItemDef("x", ItemType.INTEGER, "X")
    with pytest.raises(ValueError, match="ages"):
        FormDef("f", 1, "F", items=(item,), visits=("day30",), ages="elderly")
    assert FormDef("f", 1, "F", items=(item,), visits=("day30",)).for_age(3)
