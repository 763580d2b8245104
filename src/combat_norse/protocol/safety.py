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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

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


def expected_in_disease(term: str) -> ExpectedEvent | None:
    """The expected-in-disease event a term names (its code or label, any case), or None."""
    wanted = " ".join(term.replace("_", " ").lower().split())
    for event in EXPECTED_IN_DISEASE:
        if wanted in (event.label, event.code.replace("_", " ")):
            return event
    return None


# ------------------------------------------------------------------------------------------
# SAE clocks (§14): the coordinating centre's 24 elapsed hours, the regulator's calendar days

RELATED: Final = frozenset({"possible", "probable", "definite"})
"""Relatedness answers that count as related to the study drug (§14)."""

LIFE_THREATENING: Final = frozenset({"death", "life_threatening"})


def is_susar(
    *, serious: bool, related_to_study_drug: str | None, expected: bool | None, term: str,
    in_disease: str | None = None,
) -> bool:
    """A suspected unexpected serious adverse reaction: serious, related (possible, probable or
    definite) and unexpected. An event on the expected-in-disease list (by its term, or marked
    ``in_disease``) is never a SUSAR, so it is not expedited by mistake (§10)."""
    return (
        serious
        and related_to_study_drug in RELATED
        and expected is False
        and not in_disease
        and expected_in_disease(term) is None
    )


def fatal_or_life_threatening(
    seriousness: Iterable[str], outcome: str | None, grade: int | None
) -> bool:
    """The 7-day regulator clock applies (fatal or life-threatening), else the 15-day one."""
    return bool(LIFE_THREATENING & set(seriousness)) or outcome == "fatal" or grade == 5


def coordinating_centre_due(
    awareness_at: datetime, params: ProtocolParameters = DEFAULT
) -> datetime:
    """Due 24 elapsed hours after the site's awareness (not calendar time: a DST change in
    between does not move it)."""
    if awareness_at.tzinfo is None:
        raise ValueError("awareness_at must carry a UTC offset")
    return awareness_at + timedelta(hours=params.sae_report_hours)


def local_same_time(moment: datetime, zone: str, days: int) -> datetime:
    """``days`` calendar days after ``moment`` at the same wall-clock time in ``zone``.

    Where that wall time does not exist (the spring-forward gap) it is the first instant after
    the gap; where it exists twice (fall back) it is the first of the two (PEP 495 fold=0).
    """
    if moment.tzinfo is None:
        raise ValueError("the moment must carry a UTC offset")
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    wall = (local.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=tz, fold=0)
    utc = wall.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != wall.replace(tzinfo=None):  # in a gap
        # walk whole minutes from the earlier reading (the offset after the gap) to the gap's
        # end: the transition instant, on a whole minute (the seconds of the wall time go)
        utc = wall.replace(fold=1).astimezone(UTC).replace(second=0, microsecond=0)
        while utc.astimezone(tz).replace(tzinfo=None) < wall.replace(tzinfo=None):
            utc += timedelta(minutes=1)
    return utc.astimezone(tz)


def regulator_deadline_days(
    country: str, fatal: bool, params: ProtocolParameters = DEFAULT,
    table: Sequence[tuple[str, int, int]] | None = None,
) -> int | None:
    """Calendar days the regulator of ``country`` allows for a SUSAR (7 fatal or
    life-threatening, 15 other by default), or None for a country with no entry."""
    for code, fatal_days, other_days in table if table is not None else params.regulator_days:
        if code == country.upper():
            return fatal_days if fatal else other_days
    return None


def clock_status(due: datetime, reported_at: datetime | None, now: datetime) -> str:
    """``open`` (not reported, not past due), ``lapsed`` (not reported, past due), ``met``
    (reported by the due time, inclusive) or ``met_late``."""
    if reported_at is None:
        return "lapsed" if now > due else "open"
    return "met" if reported_at <= due else "met_late"


# ------------------------------------------------------------------------------------------
# DRESS watch over time and the anakinra safety-lab schedule (§14)


@dataclass(frozen=True)
class DressSigns:
    """The dated signs of one participant: each a (when, what) pair."""

    eosinophilia: tuple[tuple[datetime, str], ...]  # (collected_at, lab reference)
    rash: tuple[tuple[date, str], ...]  # (onset_date, AE reference)
    transaminase_rise: tuple[tuple[datetime, str], ...]  # (collected_at, lab reference)


def eosinophilia(eosinophils: Number | None, params: ProtocolParameters = DEFAULT) -> bool:
    return eosinophils is not None and as_decimal(eosinophils) >= params.dress_eosinophils_per_mm3


def transaminase_rise(
    value: Number | None, uln: Number | None, params: ProtocolParameters = DEFAULT
) -> bool:
    if value is None or uln is None or as_decimal(uln) <= 0:
        return False
    return as_decimal(value) > params.dress_transaminase_uln_ratio * as_decimal(uln)


def is_rash(term: object) -> bool:
    return isinstance(term, str) and "rash" in term.lower()


def dress_matches(
    signs: DressSigns, params: ProtocolParameters = DEFAULT
) -> list[tuple[str, str, str]]:
    """Every (eosinophilia lab, rash AE, transaminase lab) reference triple whose three dates
    lie within ``dress_window_days`` of each other (latest minus earliest, by calendar date)."""
    window = timedelta(days=params.dress_window_days)
    out = []
    for eos_at, eos_ref in signs.eosinophilia:
        for rash_on, rash_ref in signs.rash:
            for rise_at, rise_ref in signs.transaminase_rise:
                days = (eos_at.date(), rash_on, rise_at.date())
                if max(days) - min(days) <= window:
                    out.append((eos_ref, rash_ref, rise_ref))
    return out


@dataclass(frozen=True)
class LabsDue:
    """The next anakinra safety labs: ``due_by`` and why (``baseline`` or ``follow_up``)."""

    kind: str
    due_by: datetime


def anakinra_labs_due(
    first_dose_at: datetime,
    last_dose_at: datetime,
    lab_times: Iterable[datetime],
    now: datetime,
    params: ProtocolParameters = DEFAULT,
) -> LabsDue | None:
    """The safety labs owed now by a participant on anakinra, or None when none is owed.

    Baseline labs are owed at the first dose (labs collected at or before it). Then twice a
    week (every 3-4 days: at most 4 days between labs) while the next labs fall within the
    first 2 weeks of anakinra, and weekly after, while on drug (a dose within the last 48
    hours). Nothing is owed once off drug.
    """
    if now - last_dose_at > timedelta(hours=params.anakinra_off_drug_hours):
        return None
    times = sorted(lab_times)
    if not any(t <= first_dose_at for t in times):
        return LabsDue("baseline", first_dose_at)
    last = times[-1]
    early_end = first_dose_at + timedelta(days=params.anakinra_lab_early_period_days)
    # twice weekly while the next labs fall within the first 2 weeks, weekly from then on
    early = last + timedelta(days=params.anakinra_lab_gap_early_days)
    if early <= early_end:
        return LabsDue("follow_up", early)
    return LabsDue("follow_up", last + timedelta(days=params.anakinra_lab_weekly_days))
