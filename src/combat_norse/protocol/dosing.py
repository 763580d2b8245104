"""Suggested doses and dose deviations (§7). Standard of care is followed.

* **Anakinra** IV, 10 mg/kg/day in 4 doses every 6 h, at most 400 mg/day:
  ``daily = min(10 × weight, 400)``, ``dose = daily / 4``.
* **Tocilizumab** IV every 2 weeks (336 h): 12 mg/kg below 30 kg, 8 mg/kg from 30 kg
  (exactly 30 kg → 8 mg/kg), at most 800 mg per dose: ``dose = min(mg/kg × weight, 800)``.

Arithmetic is exact (:class:`~decimal.Decimal` from the weight as written); each reported
amount is rounded once, from the exact value, to one decimal place, half up
(``12.575`` → ``12.6``). ``capped`` is true when the cap lowered the dose, i.e. when the
weight-based amount is strictly above the cap (anakinra at exactly 40 kg is *not* capped:
10 × 40 = 400 mg is what the formula gives). Weight outside 5–300 kg is a :class:`DoseError`.

:func:`dose_deviation` flags a given dose more than 10 % away from the suggestion (exactly
10 % is not a deviation); a deviation is recorded, never blocked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from combat_norse.protocol.parameters import DEFAULT, ProtocolParameters
from combat_norse.protocol.units import as_decimal


class Drug(StrEnum):
    ANAKINRA = "anakinra"
    TOCILIZUMAB = "tocilizumab"


class DoseError(ValueError):
    """A dose cannot be suggested; ``field`` names the input (``drug`` or ``weight_kg``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class DoseSuggestion:
    """A suggested dose; amounts in mg, rounded to ``params.dose_decimal_places`` (1).

    ``doses_per_day`` and ``daily_mg`` are set for anakinra only.
    """

    drug: Drug
    weight_kg: Decimal
    mg_per_kg: Decimal
    dose_mg: Decimal
    interval_hours: int
    capped: bool
    doses_per_day: int | None = None
    daily_mg: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        """The §7 object: anakinra has ``doses_per_day`` and ``daily_mg``, tocilizumab not."""
        out: dict[str, Any] = {
            "drug": self.drug.value,
            "weight_kg": _json_number(self.weight_kg),
            "mg_per_kg": _json_number(self.mg_per_kg),
            "dose_mg": float(self.dose_mg),
            "interval_hours": self.interval_hours,
        }
        if self.doses_per_day is not None and self.daily_mg is not None:
            out["doses_per_day"] = self.doses_per_day
            out["daily_mg"] = float(self.daily_mg)
        out["capped"] = self.capped
        out.update(self.basis_json())
        return out

    def basis_json(self) -> dict[str, Any]:
        """The figures named by their basis, so ``mg_per_kg`` 10 (per day) is not read beside
        ``dose_mg`` (per dose) as one figure: ``per_dose`` and ``per_day`` (anakinra; null for
        tocilizumab, given every 2 weeks) with ``units`` for every §7 key."""
        per_dose_kg = round_mg(self.dose_mg / self.weight_kg * 10) / 10  # mg/kg, 2 decimals
        anakinra = self.daily_mg is not None and self.doses_per_day is not None
        return {
            "mg_per_kg_basis": "per_day" if anakinra else "per_dose",
            "per_dose": {"mg": float(self.dose_mg), "mg_per_kg": _json_number(per_dose_kg),
                         "every_hours": self.interval_hours},
            "per_day": {
                "mg": float(self.daily_mg),
                "mg_per_kg": _json_number(round_mg(self.daily_mg / self.weight_kg * 10) / 10),
                "doses": self.doses_per_day,
            } if anakinra and self.daily_mg is not None else None,
            "units": {
                "weight_kg": "kg", "mg_per_kg": "mg/kg per day" if anakinra else "mg/kg per dose",
                "dose_mg": "mg per dose", "interval_hours": "hours between doses",
                **({"daily_mg": "mg per day", "doses_per_day": "doses per day"}
                   if anakinra else {}),
            },
        }  # fmt: skip


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def round_mg(value: Decimal, params: ProtocolParameters = DEFAULT) -> Decimal:
    """Round an amount in mg half up to ``params.dose_decimal_places`` (one decimal)."""
    return value.quantize(Decimal(1).scaleb(-params.dose_decimal_places), ROUND_HALF_UP)


def check_weight(weight_kg: object, params: ProtocolParameters = DEFAULT) -> Decimal:
    """The weight as an exact decimal, or :class:`DoseError` naming ``weight_kg``."""
    if isinstance(weight_kg, bool) or not isinstance(weight_kg, int | float | Decimal):
        raise DoseError("weight_kg", f"expected a number, got {type(weight_kg).__name__}")
    try:
        weight = as_decimal(weight_kg)
    except ValueError:
        raise DoseError("weight_kg", "must be a finite number") from None
    if not params.min_weight_kg <= weight <= params.max_weight_kg:
        raise DoseError(
            "weight_kg",
            f"{weight} kg is outside {params.min_weight_kg}–{params.max_weight_kg} kg",
        )
    return weight


def suggested_dose(
    drug: Drug | str, weight_kg: float | Decimal, params: ProtocolParameters = DEFAULT
) -> DoseSuggestion:
    """The §7 suggested dose of ``drug`` for ``weight_kg`` (actual body weight)."""
    try:
        which = Drug(drug)
    except ValueError:
        allowed = ", ".join(d.value for d in Drug)
        raise DoseError("drug", f"unknown drug {drug!r}, expected one of {allowed}") from None
    weight = check_weight(weight_kg, params)
    if which is Drug.ANAKINRA:
        per_kg = params.anakinra_mg_per_kg_per_day
        by_weight = per_kg * weight
        daily = min(by_weight, params.anakinra_max_mg_per_day)
        return DoseSuggestion(
            drug=which,
            weight_kg=weight,
            mg_per_kg=per_kg,
            dose_mg=round_mg(daily / params.anakinra_doses_per_day, params),
            interval_hours=params.anakinra_interval_hours,
            capped=by_weight > params.anakinra_max_mg_per_day,
            doses_per_day=params.anakinra_doses_per_day,
            daily_mg=round_mg(daily, params),
        )
    per_kg = (
        params.tocilizumab_mg_per_kg_light
        if weight < params.tocilizumab_band_weight_kg
        else params.tocilizumab_mg_per_kg_heavy
    )
    by_weight = per_kg * weight
    return DoseSuggestion(
        drug=which,
        weight_kg=weight,
        mg_per_kg=per_kg,
        dose_mg=round_mg(min(by_weight, params.tocilizumab_max_mg_per_dose), params),
        interval_hours=params.tocilizumab_interval_hours,
        capped=by_weight > params.tocilizumab_max_mg_per_dose,
    )


def dose_deviation(
    suggested_mg: float | Decimal,
    given_mg: float | Decimal,
    params: ProtocolParameters = DEFAULT,
) -> bool:
    """True when ``given_mg`` differs from ``suggested_mg`` by more than 10 % of it.

    Exactly 10 % is not a deviation. A deviation is flagged, never blocked. Raises ValueError
    when ``suggested_mg`` is not positive or ``given_mg`` is negative.
    """
    suggested = as_decimal(suggested_mg)
    given = as_decimal(given_mg)
    if suggested <= 0:
        raise ValueError("suggested_mg must be greater than 0")
    if given < 0:
        raise ValueError("given_mg must be 0 or more")
    return abs(given - suggested) > params.dose_deviation_fraction * suggested
