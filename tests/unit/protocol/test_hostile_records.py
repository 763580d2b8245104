"""Hostile screening records (tests/data/hostile/) read by the pure parser.

Each file is a full record that would otherwise screen into the randomized cohort, with one
attack in it: a float or huge number where a count belongs, a huge number hidden in an unknown
field, a duplicate key, bytes that are not UTF-8, a 4 kB key, a terminal escape sequence.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from combat_norse.protocol.jsoninput import (
    SHOWN_CHARS,
    DuplicateKeyError,
    label,
    loads_strict,
    shown,
)
from combat_norse.protocol.records import (
    RecordError,
    parse_screening_json,
    parse_screening_record,
)

HOSTILE = Path(__file__).resolve().parents[2] / "data" / "hostile"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
LONGEST_LINE = 200
"""No message about a hostile file is longer than this, however long the file's keys."""

EXPECTED = json.loads((HOSTILE.parent / "hostile-expected.json").read_text(encoding="utf-8"))
BAD_INPUT: dict[str, str] = EXPECTED["bad_input"]
"""file name: the field its one error line must name (the start of ``str(RecordError)``)"""
ACCEPTED_WITH_WARNING: dict[str, str] = EXPECTED["warning"]
"""file name: its one warning (the record is otherwise accepted)"""


def test_every_hostile_file_is_tested() -> None:
    on_disk = {p.name for p in HOSTILE.iterdir()}
    assert on_disk == set(BAD_INPUT) | set(ACCEPTED_WITH_WARNING)


@pytest.mark.req("§3")
@pytest.mark.parametrize(("name", "field"), sorted(BAD_INPUT.items()))
def test_hostile_file_is_bad_input_naming_the_field_in_one_short_line(
    name: str, field: str
) -> None:
    with pytest.raises(RecordError) as caught:
        parse_screening_json((HOSTILE / name).read_bytes())
    message = str(caught.value)
    assert message.startswith(f"{field}: "), message
    assert "\n" not in message and len(message) <= LONGEST_LINE, message
    assert "\x1b" not in message


@pytest.mark.req("§3")
@pytest.mark.parametrize(("name", "warning"), sorted(ACCEPTED_WITH_WARNING.items()))
def test_hostile_unknown_key_is_warned_about_cut_and_escaped_never_its_value(
    name: str, warning: str
) -> None:
    parsed = parse_screening_json((HOSTILE / name).read_bytes())
    assert parsed.warnings == (warning,)
    assert "v" * SHOWN_CHARS not in warning


@pytest.mark.req("§3")
def test_duplicate_hypersensitivity_is_not_read_as_its_last_value() -> None:
    """The attack: true then false would screen as eligible if the last key won."""
    text = (HOSTILE / "duplicate-hypersensitivity.json").read_text(encoding="utf-8")
    assert json.loads(text)["hypersensitivity"] is False  # what plain json.loads does
    with pytest.raises(RecordError, match=r"^hypersensitivity: duplicate key"):
        parse_screening_json(text)


@pytest.mark.req("§3")
def test_clean_example_still_parses_from_bytes_and_text() -> None:
    raw = (EXAMPLES / "screening-randomized.json").read_bytes()
    assert parse_screening_json(raw) == parse_screening_json(raw.decode("utf-8"))
    assert parse_screening_json(raw).record.failed_asm_count == 3


@pytest.mark.req("§3")
@pytest.mark.parametrize(
    "value",
    [1e20, -1e20, 1e15 + 2, 10**20, 10**15 + 1, 2.5, 3.0, -0.5, Decimal("1e20"),
     Decimal("2.5"), Decimal("1e999999"), float("nan"), float("inf")],
)  # fmt: skip
def test_count_that_is_not_a_plausible_json_integer_is_bad_input(value: object) -> None:
    with pytest.raises(RecordError) as caught:
        parse_screening_record({"failed_asm_count": value})
    assert caught.value.field == "failed_asm_count"


@pytest.mark.req("§3")
def test_count_at_the_magnitude_limit_is_accepted() -> None:
    parsed = parse_screening_record({"failed_asm_count": 10**15})
    assert parsed.record.failed_asm_count == 10**15


@pytest.mark.req("§3")
@pytest.mark.parametrize(
    "value",
    [1e16, -1e16, 10**16, Decimal("1e16"), Decimal("-1e999999"), [1, {"a": [1e300]}],
     {"deep": {"deeper": 10**40}}],
)  # fmt: skip
def test_any_number_above_1e15_is_bad_input_even_in_an_unknown_field(value: object) -> None:
    with pytest.raises(RecordError, match=r"^bed_number: implausibly large"):
        parse_screening_record({"bed_number": value})
    if not isinstance(value, list | dict):
        with pytest.raises(RecordError, match=r"^anc_per_mm3: implausibly large"):
            parse_screening_record({"anc_per_mm3": value})


@pytest.mark.req("§3")
def test_booleans_and_numbers_up_to_1e15_in_an_unknown_field_are_only_warned_about() -> None:
    parsed = parse_screening_record({"bed_number": [True, 1e15, -(10**15), {"x": None}]})
    assert parsed.warnings == ("unknown field 'bed_number' ignored",)


@pytest.mark.req("§3")
def test_500_kb_key_becomes_a_40_character_warning() -> None:
    key = "k" * 500_000
    parsed = parse_screening_record({key: "v" * 500_000})
    (warning,) = parsed.warnings
    assert warning == "unknown field '" + "k" * SHOWN_CHARS + "…' ignored"
    with pytest.raises(RecordError) as caught:
        parse_screening_record({key: float("nan")})
    assert len(str(caught.value)) < LONGEST_LINE


@pytest.mark.req("§3")
def test_long_or_strange_values_are_cut_in_errors() -> None:
    with pytest.raises(RecordError) as caught:
        parse_screening_record({"site_timezone": "Mars/" + "x" * 10_000})
    assert len(str(caught.value)) < LONGEST_LINE and "…" in str(caught.value)
    with pytest.raises(RecordError) as caught:
        parse_screening_record({"date_of_birth": "\x1b[2J" * 1000})
    assert "\x1b" not in str(caught.value) and len(str(caught.value)) < LONGEST_LINE


def test_shown_and_label_cut_and_escape() -> None:
    assert shown("a" * 41) == "'" + "a" * 40 + "…'"
    assert shown("a" * 40) == "'" + "a" * 40 + "'"
    assert label("bed_number") == "bed_number"
    assert label("a" * 41).endswith("…'")
    assert label("x\ny") == "'x\\ny'"


def test_loads_strict_skips_a_byte_order_mark_that_windows_editors_write() -> None:
    assert loads_strict(b"\xef\xbb\xbf{\"a\": 1}") == {"a": 1}
    with pytest.raises(DuplicateKeyError):
        loads_strict(b'\xef\xbb\xbf{"a": 1, "a": 2}')


@pytest.mark.parametrize(
    ("text", "field"),
    [(b'{"a": 1, "a": 1}', "a"), (b'[{"b": {"c": 1, "c": 2}}]', "c"),
     (b'{"\\u00e9": 1, "\xc3\xa9": 2}', "'é'"), (b"\xff", "file"), (b'{"a": "\\ud800"}', "a")],
)  # fmt: skip
def test_loads_strict_refuses_duplicates_and_non_utf8(text: bytes, field: str | None) -> None:
    with pytest.raises(ValueError) as caught:
        loads_strict(text)
    if field is not None:
        assert str(caught.value).startswith(f"{field}: "), str(caught.value)
