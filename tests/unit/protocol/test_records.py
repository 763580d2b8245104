"""Parsing the screening record at the boundary (§3 and the bad-input rules of §5)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from combat_norse.protocol.records import (
    RECORD_FIELDS,
    PlannedTherapy,
    RecordError,
    ScreeningRecord,
    parse_screening_record,
    record_to_json,
)

from .builders import BASE_RECORD, build_json, build_record


def _error(data: object) -> RecordError:
    with pytest.raises(RecordError) as info:
        parse_screening_record(data)
    return info.value


# ------------------------------------------------------------------------------ good input


@pytest.mark.req("§3")
def test_complete_record_parses_into_typed_fields() -> None:
    parsed = parse_screening_record(BASE_RECORD)
    record = parsed.record
    assert parsed.warnings == ()
    assert record.date_of_birth == date(1990, 6, 15)
    assert record.se_onset == datetime(2026, 5, 4, 14, 0, tzinfo=UTC)
    assert record.se_onset is not None and record.se_onset.utcoffset() == timedelta(hours=-4)
    assert record.planned_therapy is PlannedTherapy.EITHER
    assert record.failed_asm_count == 2
    assert record.usual_health_before_se is True


@pytest.mark.req("§3")
def test_record_fields_are_exactly_the_protocol_table() -> None:
    assert set(RECORD_FIELDS) == set(BASE_RECORD)
    assert len(RECORD_FIELDS) == 23


@pytest.mark.req("§3")
def test_empty_object_is_a_record_with_every_field_absent() -> None:
    record = parse_screening_record({}).record
    assert all(record.is_absent(name) for name in RECORD_FIELDS)
    assert record.null_fields == frozenset()


@pytest.mark.req("§3")
def test_null_and_absent_are_told_apart() -> None:
    record = build_record(drop=("weight_kg",), tnf_blocker=None)
    assert record.is_absent("weight_kg") and not record.is_null("weight_kg")
    assert record.is_null("tnf_blocker") and not record.is_absent("tnf_blocker")
    assert record.is_null("febrile_illness_onset")
    assert not record.is_known("tnf_blocker") and not record.is_known("weight_kg")


@pytest.mark.req("§3")
def test_direct_construction_treats_none_as_absent_unless_named_null() -> None:
    record = ScreeningRecord(febrile_illness_onset=None, null_fields=frozenset({"tnf_blocker"}))
    assert record.is_absent("febrile_illness_onset")
    assert record.is_null("tnf_blocker")
    named_but_known = ScreeningRecord(tnf_blocker=True, null_fields=frozenset({"tnf_blocker"}))
    assert named_but_known.null_fields == frozenset()
    with pytest.raises(ValueError, match="unknown fields"):
        ScreeningRecord(null_fields=frozenset({"shoe_size"}))


@pytest.mark.req("§3")
@pytest.mark.parametrize(
    "text",
    [
        "2026-05-04T10:00:00Z",
        "2026-05-04T10:00Z",
        "2026-05-04 10:00:00+00:00",
        "2026-05-04T19:00:00.250+09:00",
        "2026-05-04T10:00:00+0000",
        "2026-05-04T10:00:00z",
    ],
)
def test_iso_datetimes_with_an_offset_are_accepted(text: str) -> None:
    record = build_record(se_onset=text, drop=("evaluated_at",))
    assert record.se_onset is not None and record.se_onset.utcoffset() is not None


@pytest.mark.req("§5")
def test_unknown_extra_fields_give_sorted_warnings_and_are_ignored() -> None:
    parsed = parse_screening_record(build_json(zeta=1, alpha={"x": [1, 2]}))
    assert parsed.warnings == ("unknown field 'alpha' ignored", "unknown field 'zeta' ignored")
    assert parsed.record == build_record()


@pytest.mark.req("§3")
def test_finite_decimals_are_accepted_as_numbers() -> None:
    record = build_record(alt_u_l=Decimal("45.15"), anc_per_mm3=Decimal("2000"))
    assert record.alt_u_l == 45.15
    assert record.anc_per_mm3 == 2000 and isinstance(record.anc_per_mm3, int)


@pytest.mark.req("§3")
def test_zero_counts_and_zero_lab_values_are_valid() -> None:
    record = build_record(failed_asm_count=0, anc_per_mm3=0, alt_u_l=0)
    assert record.failed_asm_count == 0 and record.anc_per_mm3 == 0 and record.alt_u_l == 0


@pytest.mark.req("§3")
@pytest.mark.parametrize("weight", [5, 5.0, 300, 299.99])
def test_weight_limits_are_inclusive(weight: float) -> None:
    assert build_record(weight_kg=weight).weight_kg == weight


@pytest.mark.req("§3")
def test_date_of_birth_on_the_local_onset_date_is_valid() -> None:
    # 2026-05-04T23:30 in New York is already 2026-05-05 in UTC; the local date counts.
    record = build_record(date_of_birth="2026-05-04", se_onset="2026-05-04T23:30:00-04:00")
    assert record.date_of_birth == date(2026, 5, 4)


@pytest.mark.req("§3")
def test_evaluated_at_equal_to_onset_is_valid() -> None:
    record = build_record(evaluated_at=BASE_RECORD["se_onset"])
    assert record.evaluated_at == record.se_onset


# ------------------------------------------------------------------------------ bad input

BAD_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    # (case, changes, field named)
    ("malformed date", {"date_of_birth": "15/06/1990"}, "date_of_birth"),
    ("week date", {"date_of_birth": "1990-W24-5"}, "date_of_birth"),
    ("compact date", {"date_of_birth": "19900615"}, "date_of_birth"),
    ("impossible date", {"date_of_birth": "1990-02-30"}, "date_of_birth"),
    ("datetime for a date", {"date_of_birth": "1990-06-15T00:00:00Z"}, "date_of_birth"),
    ("datetime without offset", {"se_onset": "2026-05-04T10:00:00"}, "se_onset"),
    ("date for a datetime", {"evaluated_at": "2026-05-07"}, "evaluated_at"),
    ("malformed datetime", {"evaluated_at": "yesterday at noon"}, "evaluated_at"),
    ("impossible time", {"evaluated_at": "2026-05-07T25:00:00Z"}, "evaluated_at"),
    ("febrile onset without offset", {"febrile_illness_onset": "2026-05-01T08:00"},
     "febrile_illness_onset"),
    ("negative count", {"failed_asm_count": -1}, "failed_asm_count"),
    ("string count", {"failed_asm_count": "3"}, "failed_asm_count"),
    ("fractional count", {"failed_asm_count": 3.5}, "failed_asm_count"),
    ("float-typed count", {"failed_asm_count": 3.0}, "failed_asm_count"),
    ("boolean count", {"failed_asm_count": True}, "failed_asm_count"),
    ("string boolean", {"active_epilepsy": "no"}, "active_epilepsy"),
    ("integer boolean", {"tnf_blocker": 0}, "tnf_blocker"),
    ("boolean number", {"anc_per_mm3": True}, "anc_per_mm3"),
    ("string number", {"platelets_per_mm3": "150000"}, "platelets_per_mm3"),
    ("NaN", {"alt_u_l": float("nan")}, "alt_u_l"),
    ("Infinity", {"ast_u_l": float("inf")}, "ast_u_l"),
    ("-Infinity", {"weight_kg": float("-inf")}, "weight_kg"),
    ("Decimal NaN", {"alt_u_l": Decimal("NaN")}, "alt_u_l"),
    ("unknown planned_therapy", {"planned_therapy": "rituximab"}, "planned_therapy"),
    ("wrong-case planned_therapy", {"planned_therapy": "Anakinra"}, "planned_therapy"),
    ("list planned_therapy", {"planned_therapy": ["anakinra"]}, "planned_therapy"),
    ("unknown time zone", {"site_timezone": "Mars/Olympus_Mons"}, "site_timezone"),
    ("zone directory", {"site_timezone": "America"}, "site_timezone"),
    ("machine-local zone", {"site_timezone": "localtime"}, "site_timezone"),
    ("offset as zone", {"site_timezone": "+02:00"}, "site_timezone"),
    ("number as zone", {"site_timezone": 5}, "site_timezone"),
    ("negative ANC", {"anc_per_mm3": -1}, "anc_per_mm3"),
    ("negative ALT", {"alt_u_l": -0.5}, "alt_u_l"),
    ("zero ULN", {"alt_uln_u_l": 0}, "alt_uln_u_l"),
    ("negative ULN", {"ast_uln_u_l": -40}, "ast_uln_u_l"),
    ("weight below 5 kg", {"weight_kg": 4.99}, "weight_kg"),
    ("weight above 300 kg", {"weight_kg": 300.01}, "weight_kg"),
    ("date of birth after onset", {"date_of_birth": "2026-05-05"}, "date_of_birth"),
    ("evaluation before onset", {"evaluated_at": "2026-05-04T09:59:59-04:00"}, "evaluated_at"),
    ("NaN inside an extra field", {"notes": {"temp": [38.5, float("nan")]}}, "notes"),
]  # fmt: skip


@pytest.mark.req("§5", "§3")
@pytest.mark.parametrize(
    ("changes", "field"), [(c, f) for _, c, f in BAD_INPUTS], ids=[i for i, _, _ in BAD_INPUTS]
)
def test_bad_input_names_the_field(changes: dict[str, Any], field: str) -> None:
    error = _error(build_json(**changes))
    assert error.field == field
    assert str(error).startswith(f"{field}: ")
    assert "\n" not in str(error)


@pytest.mark.req("§5")
@pytest.mark.parametrize("document", [[], [BASE_RECORD], "record", 3, None, True])
def test_non_object_document_is_bad_input_on_record(document: object) -> None:
    error = _error(document)
    assert error.field == "record"
    assert "expected a JSON object" in str(error)


@pytest.mark.req("§5")
def test_nan_from_pythons_json_module_is_rejected() -> None:
    data = json.loads('{"anc_per_mm3": NaN}')  # Python's json accepts what JSON forbids
    assert _error(data).field == "anc_per_mm3"


@pytest.mark.req("§5")
def test_datetime_without_offset_says_so() -> None:
    assert "no UTC offset" in str(_error(build_json(se_onset="2026-05-04T10:00:00")))


@pytest.mark.req("§5")
def test_wrong_type_message_names_the_json_type() -> None:
    message = str(_error(build_json(active_epilepsy="no")))
    assert message == "active_epilepsy: expected a boolean (true or false), got string 'no'"


@pytest.mark.req("§5")
def test_date_of_birth_is_checked_against_the_local_onset_date() -> None:
    # Onset 2026-05-05 01:00 in Seoul is still 2026-05-04 in UTC: born 05-05 is fine in Seoul.
    seoul = build_json(
        site_timezone="Asia/Seoul",
        date_of_birth="2026-05-05",
        se_onset="2026-05-04T16:00:00Z",
        evaluated_at="2026-05-06T16:00:00Z",
    )
    assert parse_screening_record(seoul).record.date_of_birth == date(2026, 5, 5)
    # The same instant in New York is 2026-05-04 12:00: a birth on 05-05 is after onset.
    new_york = {**seoul, "site_timezone": "America/New_York"}
    assert _error(new_york).field == "date_of_birth"


@pytest.mark.req("§5")
def test_date_of_birth_without_a_zone_is_rejected_only_when_after_onset_everywhere() -> None:
    onset = "2026-05-04T16:00:00Z"  # 2026-05-05 06:00 at UTC+14
    ok = build_json(drop=("site_timezone",), se_onset=onset, date_of_birth="2026-05-05")
    assert parse_screening_record(ok).record.date_of_birth == date(2026, 5, 5)
    late = build_json(drop=("site_timezone",), se_onset=onset, date_of_birth="2026-05-06")
    assert _error(late).field == "date_of_birth"


# ------------------------------------------------------------------------------ round trip


@pytest.mark.req("§3")
def test_record_to_json_round_trips_and_keeps_null_versus_absent() -> None:
    record = build_record(drop=("weight_kg",), tnf_blocker=None, se_onset="2026-05-04T14:00Z")
    data = record_to_json(record)
    assert "weight_kg" not in data
    assert data["tnf_blocker"] is None and data["febrile_illness_onset"] is None
    assert data["se_onset"] == "2026-05-04T14:00:00+00:00"
    assert json.loads(json.dumps(data)) == data
    again = parse_screening_record(data).record
    assert again == record
    assert again.null_fields == record.null_fields


_offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(
    lambda q: timezone(timedelta(minutes=15 * q))
)
_moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=_offsets
)


@pytest.mark.req("§3")
@settings(max_examples=60, deadline=None)
@given(
    onset=_moments,
    delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
    weight=st.floats(min_value=5, max_value=300),
    count=st.integers(min_value=0, max_value=50),
    drop=st.sets(st.sampled_from(RECORD_FIELDS), max_size=6),
    nulls=st.sets(st.sampled_from(RECORD_FIELDS), max_size=6),
)
def test_any_valid_record_round_trips_through_json(
    onset: datetime,
    delay: timedelta,
    weight: float,
    count: int,
    drop: set[str],
    nulls: set[str],
) -> None:
    changes: dict[str, Any] = {
        "se_onset": onset.isoformat(),
        "evaluated_at": (onset + delay).isoformat(),
        "febrile_illness_onset": (onset - delay).isoformat(),
        "date_of_birth": "1950-01-01",
        "weight_kg": weight,
        "failed_asm_count": count,
    }
    changes.update(dict.fromkeys(nulls - drop))
    record = build_record(drop=tuple(drop), **changes)
    text = json.dumps(record_to_json(record), allow_nan=False)
    assert parse_screening_record(json.loads(text)).record == record


@pytest.mark.req("§3", "§5")
@pytest.mark.parametrize(
    ("field", "value"),
    [("se_onset", "9999-12-31T23:59:00-12:00"), ("se_onset", "0001-01-01T00:00:00+14:00"),
     ("evaluated_at", "2301-01-01T00:00:00Z"), ("date_of_birth", "1850-06-01")],
)  # fmt: skip
def test_implausible_years_are_bad_input_naming_the_field(field: str, value: str) -> None:
    with pytest.raises(RecordError) as excinfo:
        parse_screening_record({field: value})
    assert excinfo.value.field == field


@pytest.mark.req("§3", "E5", "E6")
def test_si_lab_counts_are_converted_on_entry_and_decide_like_the_mm3_values() -> None:
    from combat_norse.protocol import evaluate

    si = dict(BASE_RECORD)
    del si["anc_per_mm3"], si["platelets_per_mm3"]
    si.update({"anc_1e9_per_l": 1.999, "platelets_1e9_per_l": 100})
    parsed = parse_screening_record(si)
    assert parsed.warnings == ()
    assert (parsed.record.anc_per_mm3, parsed.record.platelets_per_mm3) == (1999, 100000)
    result = evaluate(parsed.record)
    assert result.criteria["E5"] == "failed" and result.criteria["E6"] == "met"
    assert record_to_json(parsed.record)["anc_per_mm3"] == 1999


@pytest.mark.req("§3")
@pytest.mark.parametrize(
    ("extra", "field", "problem"),
    [({"anc_1e9_per_l": 2.5}, "anc_1e9_per_l", "not both"),  # beside anc_per_mm3
     ({"platelets_1e9_per_l": "150"}, "platelets_1e9_per_l", "number"),
     ({"platelets_1e9_per_l": -1}, "platelets_1e9_per_l", ">= 0")],
)  # fmt: skip
def test_si_lab_counts_reject_ambiguity_and_bad_values(
    extra: dict[str, Any], field: str, problem: str
) -> None:
    record = dict(BASE_RECORD)
    if problem != "not both":
        del record["platelets_per_mm3"]
    with pytest.raises(RecordError) as excinfo:
        parse_screening_record({**record, **extra})
    assert excinfo.value.field == field and problem in str(excinfo.value)
