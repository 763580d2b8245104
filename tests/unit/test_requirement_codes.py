"""Requirement codes: §14 (data capture) is a registered code; others are not."""

import pytest

from combat_norse.protocol.requirements import REQUIREMENT_CODES, unknown_codes


@pytest.mark.req("§14")
def test_data_capture_section_is_a_requirement_code_tests_can_cite() -> None:
    assert "§14" in REQUIREMENT_CODES
    assert unknown_codes(["§14", "§15", "#13", "#99"]) == ["§15", "#99"]
