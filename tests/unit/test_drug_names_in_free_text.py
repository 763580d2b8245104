"""Free text naming a study drug is masked however the name is typed (review of issue 14)."""

from __future__ import annotations

import pytest

from combat_norse.core.masking import mentions_drug

pytestmark = pytest.mark.req("#14", "§11")


@pytest.mark.parametrize(
    "text",
    [
        "stopped_anakinra",  # an underscore is a word character: \b saw no word boundary
        "anakinra100mg q6h",  # so is a digit
        "tocilizumab2",
        "ａｎａｋｉｎｒａ",  # full-width letters (an East Asian keyboard)
        "ana\u200bkinra",  # a zero-width space inside the name
        "toci\u00adlizumab",  # a soft hyphen
        "ACTEMRA®",
        # issue 16 review: shorthand, mechanism phrases and other scripts
        "Infusion related reaction (TCZ)",
        "Toci stopped",
        "toci-related neutropenia",
        "anti-IL-6R given",
        "an IL-6 receptor blocker",
        "IL-1 receptor antagonist dose held",
        "IL-1Ra infusion",
        "IL6 blockade",
        "il-1 inhibitor",
        "2nd IL-6R blocker dose postponed",
        "아나킨라 투여 후",
        "악템라 중단",
        "アクテムラ投与",
        "托珠单抗",
        "Актемра отменена",
        "анакинра",
    ],
)
def test_a_drug_name_is_found_however_it_is_typed(text: str) -> None:
    assert mentions_drug(text)


@pytest.mark.parametrize(
    "text", ["fever and rash", "seizure recurrence on day 4", "anakin", "kinetic tremor", "",
             "IL-6 level 80 pg/mL", "serum IL-1β raised", "tocil",
             "stock count", "Toccata", "ILS-6 score", "mild illness"]
)
def test_text_without_a_drug_name_is_left_alone(text: str) -> None:
    assert not mentions_drug(text)
