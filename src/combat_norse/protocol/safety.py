"""Safety rules of §10: CTCAE v5 grading, tocilizumab lab alerts, DRESS watch,
SAE seriousness criteria and the events expected in the disease.

CTCAE v5 boundaries (counts in cells/mm³; a band "<1500–1000" means ``1000 <= x < 1500``):

* ANC: G4 < 500, G3 < 1000, G2 < 1500, G1 < LLN, else 0. A value at or above the LLN is
  grade 0 even when the laboratory's LLN is below 1500 (no grade without a low value).
* Platelets: G4 < 25,000, G3 < 50,000, G2 < 75,000, G1 < LLN, else 0 (same LLN rule).
* ALT/AST in multiples of the ULN: G4 > 20, G3 > 5, G2 > 3, G1 > 1, else 0. Each boundary
  belongs to the lower grade: exactly 3 × ULN is G1, exactly 5 × ULN G2, exactly 20 × ULN G3.
  (This is the CTCAE grading for a normal baseline; grade 5 is death and has no lab value.)

Tocilizumab alerts go to the clinician and never stop anything (§10):

* ALT or AST > 3 × ULN up to 5 × ULN inclusive → hold (until < 3 × ULN); > 5 × ULN →
  discontinue. Exactly 3 × ULN raises no alert.
* ANC 500–1000 inclusive → hold; < 500 → discontinue; > 1000 no alert.
* Platelets 50,000–100,000 inclusive → hold; < 50,000 → discontinue; > 100,000 no alert.
  (Inclusive upper ends follow the tocilizumab label: "ANC 500 to 1000: interrupt".)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from combat_norse.protocol.parameters import DEFAULT, ProtocolParameters
from combat_norse.protocol.units import as_decimal

Number = int | float | Decimal


class AlertAction(StrEnum):
    HOLD = "hold"
    DISCONTINUE = "discontinue"
    EVALUATE = "evaluate"  # a pattern to assess now (DRESS), no drug action implied


@dataclass(frozen=True)
class Alert:
    """A message to the treating clinician; never an automatic stop."""

    action: AlertAction
    lab: str  # "alt", "ast", "anc", "platelets" or "dress"
    message: str


# ------------------------------------------------------------------------------------------
# CTCAE v5


def _grade_low_count(
    value: Number, lln: Number, below: tuple[Decimal, Decimal, Decimal], what: str
) -> int:
    x, normal = as_decimal(value), as_decimal(lln)
    if x < 0 or normal <= 0:
        raise ValueError(f"{what}: need value >= 0 and LLN > 0")
    if x >= normal:
        return 0
    g2, g3, g4 = below
    if x < g4:
        return 4
    if x < g3:
        return 3
    if x < g2:
        return 2
    return 1


def grade_anc(value: Number, lln: Number, params: ProtocolParameters = DEFAULT) -> int:
    """CTCAE v5 grade (0–4) of "neutrophil count decreased"; cells/mm³."""
    return _grade_low_count(value, lln, params.ctcae_anc_below, "ANC")


def grade_platelets(value: Number, lln: Number, params: ProtocolParameters = DEFAULT) -> int:
    """CTCAE v5 grade (0–4) of "platelet count decreased"; platelets/mm³."""
    return _grade_low_count(value, lln, params.ctcae_platelets_below, "platelets")


def grade_transaminase(value: Number, uln: Number, params: ProtocolParameters = DEFAULT) -> int:
    """CTCAE v5 grade (0–4) of "ALT/AST increased" from the value and the lab's ULN."""
    x, upper = as_decimal(value), as_decimal(uln)
    if x < 0 or upper <= 0:
        raise ValueError("transaminase: need value >= 0 and ULN > 0")
    grade = 0
    for g, multiple in enumerate(params.ctcae_transaminase_above_uln, start=1):
        if x > multiple * upper:
            grade = g
    return grade


# ------------------------------------------------------------------------------------------
# tocilizumab alerts and DRESS


def _transaminase_alert(
    lab: str, value: Number | None, uln: Number | None, params: ProtocolParameters
) -> Alert | None:
    if value is None or uln is None:
        return None
    x, upper = as_decimal(value), as_decimal(uln)
    if upper <= 0:
        raise ValueError(f"{lab}: ULN must be greater than 0")
    name = lab.upper()
    stop, hold = params.toci_transaminase_stop_uln_ratio, params.toci_transaminase_hold_uln_ratio
    if x > stop * upper:
        return Alert(
            AlertAction.DISCONTINUE, lab, f"{name} {value} U/L > {stop} x ULN: discontinue"
        )
    if x > hold * upper:
        return Alert(
            AlertAction.HOLD,
            lab,
            f"{name} {value} U/L > {hold} x ULN: hold until < {hold} x ULN",
        )
    return None


def _low_count_alert(
    lab: str, value: Number | None, stop_below: Decimal, hold_max: Decimal, label: str
) -> Alert | None:
    if value is None:
        return None
    x = as_decimal(value)
    if x < stop_below:
        return Alert(
            AlertAction.DISCONTINUE, lab, f"{label} {value}/mm3 < {stop_below}: discontinue"
        )
    if x <= hold_max:
        return Alert(AlertAction.HOLD, lab, f"{label} {value}/mm3 in {stop_below}–{hold_max}: hold")
    return None


def tocilizumab_alerts(
    anc: Number | None = None,
    platelets: Number | None = None,
    alt: Number | None = None,
    alt_uln: Number | None = None,
    ast: Number | None = None,
    ast_uln: Number | None = None,
    params: ProtocolParameters = DEFAULT,
) -> tuple[Alert, ...]:
    """The §10 alerts for one set of labs on tocilizumab, in the order ALT, AST, ANC, platelets.

    A lab given as None (or a transaminase without its ULN) is skipped.
    """
    candidates = (
        _transaminase_alert("alt", alt, alt_uln, params),
        _transaminase_alert("ast", ast, ast_uln, params),
        _low_count_alert(
            "anc", anc, params.toci_anc_stop_below_per_mm3, params.toci_anc_hold_max_per_mm3, "ANC"
        ),
        _low_count_alert(
            "platelets",
            platelets,
            params.toci_platelets_stop_below_per_mm3,
            params.toci_platelets_hold_max_per_mm3,
            "platelets",
        ),
    )
    return tuple(alert for alert in candidates if alert is not None)


def dress_watch(eosinophilia: bool, new_rash: bool, transaminase_rise: bool) -> Alert | None:
    """DRESS watch for IL-1/IL-6 inhibitors: all three signs together raise an alert."""
    if eosinophilia and new_rash and transaminase_rise:
        return Alert(
            AlertAction.EVALUATE,
            "dress",
            "eosinophilia + new rash + transaminase rise: evaluate for DRESS",
        )
    return None


# ------------------------------------------------------------------------------------------
# serious adverse events


class SeriousnessCriterion(StrEnum):
    """What makes an adverse event serious (§10)."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALIZATION = "hospitalization"  # initial or prolonged
    PERSISTENT_DISABILITY = "persistent_disability"
    CONGENITAL_ANOMALY = "congenital_anomaly"
    IMPORTANT_MEDICAL_EVENT = "important_medical_event"


@dataclass(frozen=True)
class ExpectedEvent:
    """An event expected in the disease: recorded, not expedited as unexpected."""

    code: str
    label: str


EXPECTED_IN_DISEASE: Final[tuple[ExpectedEvent, ...]] = (
    ExpectedEvent("prolonged_icu_stay", "prolonged ICU stay"),
    ExpectedEvent("recurrent_seizures", "recurrent seizures"),
    ExpectedEvent("anesthetic_complications", "anesthetic complications"),
)
