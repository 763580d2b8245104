"""Requirement codes that tests cite with ``@pytest.mark.req(...)`` (DESIGN.md principle 12).

A code is a criterion code of §4, a protocol section (docs/) (``§1`` … ``§14``), or an
issue number (``#2``) for a feature an issue asks for. The test suite refuses any other code,
so a typo cannot silently detach a test from the requirement it proves.
"""

from __future__ import annotations

CRITERIA: tuple[str, ...] = (
    "I1", "I2", "I3", "I4", "I5",
    "E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8",
)  # fmt: skip
SECTIONS: tuple[str, ...] = tuple(f"§{n}" for n in range(1, 15))
ISSUES: tuple[str, ...] = ("#2", "#3", "#7", "#10", "#13", "#14", "#15", "#16", "#17", "#18", "#19")

REQUIREMENT_CODES: frozenset[str] = frozenset(CRITERIA + SECTIONS + ISSUES)


def unknown_codes(codes: tuple[str, ...] | list[str]) -> list[str]:
    """Return the codes in ``codes`` that are not registered requirements."""
    return [c for c in codes if c not in REQUIREMENT_CODES]
