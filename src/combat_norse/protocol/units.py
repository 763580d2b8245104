"""Unit conversion for laboratory counts, and exact decimal views of JSON numbers.

The screening record holds ANC and platelets in cells/mm³ (§3). Laboratories in
Europe and Asia report them in SI units, ×10⁹/L; since 1 L = 10⁶ mm³,
``1 × 10⁹/L = 10⁹ / 10⁶ mm³ = 1000/mm³``: multiply by 1000 on entry.

Conversions go through :class:`~decimal.Decimal` built from the number's shortest decimal
representation, so ``1.1 × 10⁹/L`` gives exactly ``1100``/mm³ (binary floats would give
``1100.0000000000002`` and could flip a threshold comparison).
"""

from __future__ import annotations

from decimal import Decimal

SI_TO_PER_MM3 = Decimal(1000)
"""Cells/mm³ per 10⁹ cells/L."""


def as_decimal(value: int | float | Decimal) -> Decimal:
    """The exact decimal that ``value`` was written as (``0.1`` → ``Decimal("0.1")``).

    Raises ValueError for booleans and for NaN or infinity, which no count or threshold can be.
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    result = value if isinstance(value, Decimal) else Decimal(repr(value))
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result


def _plain(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def si_to_per_mm3(value_1e9_per_l: int | float | Decimal) -> int | float:
    """Convert a cell count from ×10⁹/L to cells/mm³ (multiply by 1000)."""
    return _plain(as_decimal(value_1e9_per_l) * SI_TO_PER_MM3)


def per_mm3_to_si(value_per_mm3: int | float | Decimal) -> int | float:
    """Convert a cell count from cells/mm³ to ×10⁹/L (divide by 1000)."""
    return _plain(as_decimal(value_per_mm3) / SI_TO_PER_MM3)


def anc_si_to_per_mm3(anc_1e9_per_l: int | float | Decimal) -> int | float:
    """Absolute neutrophil count: ×10⁹/L → cells/mm³ (``1.5`` → ``1500``)."""
    return si_to_per_mm3(anc_1e9_per_l)


def platelets_si_to_per_mm3(platelets_1e9_per_l: int | float | Decimal) -> int | float:
    """Platelets: ×10⁹/L → platelets/mm³ (``150`` → ``150000``)."""
    return si_to_per_mm3(platelets_1e9_per_l)
