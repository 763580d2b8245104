"""The installed ``combat-norse`` command: screen, dose and schedule contracts (§5, §7, §8)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

COMMAND = Path(sys.executable).parent / "combat-norse"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SECTION5_KEYS = ["decision", "failed", "unknown", "missing", "study_day", "age_years", "fires",
                 "strata"]  # fmt: skip


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMMAND), *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def ok_json(*args: str, stdin: str | None = None) -> Any:
    done = run(*args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def bad_input_line(*args: str, stdin: str | None = None) -> str:
    """Run a command that must fail with exit 2; return its single stderr line."""
    done = run(*args, stdin=stdin)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


# ------------------------------------------------------------------------------ screen


@pytest.mark.req("§5", "#2")
def test_randomized_example_screens_into_the_randomized_cohort() -> None:
    out = ok_json("screen", str(EXAMPLES / "screening-randomized.json"))
    assert list(out) == SECTION5_KEYS
    assert out["decision"] == "randomized_cohort"
    assert out["strata"] == {"age_group": "adult", "onset_window": "early"}
    assert (out["failed"], out["unknown"], out["missing"]) == ([], [], [])
    assert out["fires"] is True


@pytest.mark.req("§5", "I5", "#2")
def test_late_example_on_day_9_goes_to_the_observational_cohort() -> None:
    out = ok_json("screen", str(EXAMPLES / "screening-late.json"))
    assert list(out) == SECTION5_KEYS
    assert (out["decision"], out["study_day"], out["failed"]) == (
        "observational_cohort",
        9,
        ["I5"],
    )
    assert out["strata"] is None


@pytest.mark.req("§5", "E7", "#2")
def test_incomplete_example_lists_the_missing_ast_fields() -> None:
    out = ok_json("screen", str(EXAMPLES / "screening-incomplete.json"))
    assert out["decision"] == "incomplete"
    assert (out["unknown"], out["missing"]) == (["E7"], ["ast_u_l", "ast_uln_u_l"])


@pytest.mark.req("§5")
def test_screen_reads_standard_input() -> None:
    text = (EXAMPLES / "screening-randomized.json").read_text(encoding="utf-8")
    out = ok_json("screen", "-", stdin=text)
    assert out == ok_json("screen", str(EXAMPLES / "screening-randomized.json"))


@pytest.mark.req("§5")
def test_unknown_extra_field_is_a_warning_and_still_exit_0() -> None:
    data = {**example("screening-randomized.json"), "bed_number": "12B"}
    done = run("screen", "-", stdin=json.dumps(data))
    assert done.returncode == 0
    assert json.loads(done.stdout)["decision"] == "randomized_cohort"
    assert done.stderr.splitlines() == ["warning: unknown field 'bed_number' ignored"]


SCREEN_BAD_INPUTS = [
    # (case, stdin text, field the stderr line must name)
    ("non-object file", "[1, 2, 3]", "record"),
    ("not JSON", "{not json", "file"),
    ("malformed date", '{"date_of_birth": "06/15/1990"}', "date_of_birth"),
    ("datetime without offset", '{"se_onset": "2026-05-04T10:00:00"}', "se_onset"),
    ("negative count", '{"failed_asm_count": -2}', "failed_asm_count"),
    ("string count", '{"failed_asm_count": "3"}', "failed_asm_count"),
    ("fractional count", '{"failed_asm_count": 3.5}', "failed_asm_count"),
    ("string boolean", '{"active_epilepsy": "no"}', "active_epilepsy"),
    ("boolean number", '{"anc_per_mm3": true}', "anc_per_mm3"),
    ("NaN", '{"platelets_per_mm3": NaN}', "platelets_per_mm3"),
    ("Infinity", '{"alt_u_l": Infinity}', "alt_u_l"),
    ("unknown planned_therapy", '{"planned_therapy": "steroids"}', "planned_therapy"),
    ("unknown time zone", '{"site_timezone": "Europe/Atlantis"}', "site_timezone"),
    ("negative lab value", '{"ast_u_l": -3}', "ast_u_l"),
    ("zero ULN", '{"ast_uln_u_l": 0}', "ast_uln_u_l"),
    ("weight out of range", '{"weight_kg": 301}', "weight_kg"),
    ("birth after onset",
     '{"site_timezone": "UTC", "se_onset": "2026-05-04T10:00:00Z", "date_of_birth": "2026-05-05"}',
     "date_of_birth"),
    ("evaluation before onset",
     '{"se_onset": "2026-05-04T10:00:00Z", "evaluated_at": "2026-05-04T09:00:00Z"}',
     "evaluated_at"),
]  # fmt: skip


@pytest.mark.req("§5")
@pytest.mark.parametrize(
    ("text", "field"),
    [(t, f) for _, t, f in SCREEN_BAD_INPUTS],
    ids=[c for c, _, _ in SCREEN_BAD_INPUTS],
)
def test_screen_bad_input_exits_2_with_one_line_naming_the_field(text: str, field: str) -> None:
    line = bad_input_line("screen", "-", stdin=text)
    assert line.startswith(f"error: {field}: "), line


@pytest.mark.req("§5")
def test_screen_missing_file_exits_2() -> None:
    line = bad_input_line("screen", str(EXAMPLES / "no-such-record.json"))
    assert line.startswith("error: file: ")


# ------------------------------------------------------------------------------ dose


SECTION_7_KEYS = ("drug", "weight_kg", "mg_per_kg", "dose_mg", "interval_hours", "doses_per_day",
                  "daily_mg", "capped")


@pytest.mark.req("§7")
def test_dose_anakinra_prints_the_section_7_object() -> None:
    out = ok_json("dose", "--drug", "anakinra", "--weight-kg", "72.5")
    assert out["per_dose"]["mg"] == out["dose_mg"] and out["per_day"]["mg"] == out["daily_mg"]
    assert {k: out[k] for k in SECTION_7_KEYS if k in out} == {
        "drug": "anakinra",
        "weight_kg": 72.5,
        "mg_per_kg": 10,
        "dose_mg": 100.0,
        "interval_hours": 6,
        "doses_per_day": 4,
        "daily_mg": 400.0,
        "capped": True,
    }


@pytest.mark.req("§7")
def test_dose_tocilizumab_at_30_kg_is_8_mg_per_kg_every_336_hours() -> None:
    out = ok_json("dose", "--drug", "tocilizumab", "--weight-kg", "30")
    assert {k: out[k] for k in SECTION_7_KEYS if k in out} == {
        "drug": "tocilizumab",
        "weight_kg": 30,
        "mg_per_kg": 8,
        "dose_mg": 240.0,
        "interval_hours": 336,
        "capped": False,
    }


@pytest.mark.req("§7")
@pytest.mark.parametrize("weight", ["abc", "4.9", "300.5", "-5", "nan", "inf", "1e400", ""])
def test_dose_bad_weight_exits_2_naming_weight_kg(weight: str) -> None:
    line = bad_input_line("dose", "--drug", "anakinra", "--weight-kg", weight)
    assert line.startswith("error: weight_kg: "), line


@pytest.mark.req("§7")
def test_dose_unknown_drug_exits_2_naming_the_option() -> None:
    line = bad_input_line("dose", "--drug", "rituximab", "--weight-kg", "70")
    assert line.startswith("error: ") and "--drug" in line


# ------------------------------------------------------------------------------ schedule


@pytest.mark.req("§8")
def test_schedule_default_runs_to_month12() -> None:
    out = ok_json("schedule", "--se-onset", "2026-03-07")
    assert [v["visit"] for v in out] == ["day30", "month3", "month6", "month12"]
    assert out[0] == {
        "visit": "day30",
        "target": "2026-04-06",
        "earliest": "2026-03-30",
        "latest": "2026-04-13",
    }
    assert all(list(v) == ["visit", "target", "earliest", "latest"] for v in out)


@pytest.mark.req("§8")
def test_schedule_with_years_adds_annual_visits() -> None:
    out = ok_json("schedule", "--se-onset", "2026-03-07", "--years", "3")
    assert [v["visit"] for v in out][-2:] == ["annual_2", "annual_3"]
    assert out[-1] == {
        "visit": "annual_3",
        "target": "2029-03-06",
        "earliest": "2029-01-05",
        "latest": "2029-05-05",
    }


@pytest.mark.req("§8")
@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--se-onset", "07/03/2026"], "se_onset"),
        (["--se-onset", "2026-02-30"], "se_onset"),
        (["--se-onset", "2026-03-07T10:00:00Z"], "se_onset"),
        (["--se-onset", "2026-03-07", "--years", "0"], "years"),
        (["--se-onset", "2026-03-07", "--years", "-1"], "years"),
        (["--se-onset", "2026-03-07", "--years", "two"], "years"),
        (["--se-onset", "2026-03-07", "--years", "1.5"], "years"),
    ],
)
def test_schedule_bad_input_exits_2_naming_the_field(args: list[str], field: str) -> None:
    line = bad_input_line("schedule", *args)
    assert line.startswith(f"error: {field}: "), line


@pytest.mark.req("§5")
def test_hostile_deeply_nested_json_is_bad_input_not_a_crash() -> None:
    line = bad_input_line("screen", "-", stdin="[" * 200_000 + "]" * 200_000)
    assert line.startswith("error: file:")


@pytest.mark.req("§5")
def test_datetime_at_the_edge_of_the_calendar_is_bad_input_not_a_crash() -> None:
    record = json.dumps({"se_onset": "9999-12-31T23:59:00-12:00", "site_timezone": "Asia/Seoul"})
    assert bad_input_line("screen", "-", stdin=record).startswith("error: se_onset:")


@pytest.mark.req("§5")
def test_huge_numbers_oversized_input_and_non_utf8_arguments_are_bad_input() -> None:
    assert bad_input_line("screen", "-", stdin='{"failed_asm_count": ' + "9" * 5000 + "}"
                          ).startswith("error: file:")
    assert bad_input_line("screen", "-", stdin='{"anc_1e9_per_l": ' + "9" * 4000 + "}"
                          ).startswith("error: anc_1e9_per_l:")
    assert bad_input_line("screen", "-", stdin=" " * (2 << 20)).startswith("error: file:")
    done = subprocess.run([str(COMMAND), "dose", "--drug", "anakinra", "--weight-kg",
                           b"5\xff".decode("utf-8", "surrogateescape")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and done.stderr.startswith("error: arguments:")


@pytest.mark.req("#7")
def test_power_json_never_prints_nan() -> None:
    done = run("power", "--odds-ratio", "1.6", "--n", "2", "--sims", "10", "--json")
    assert done.returncode == 0 and "NaN" not in done.stdout
    assert json.loads(done.stdout)["estimated_odds_ratio_median"] is None
