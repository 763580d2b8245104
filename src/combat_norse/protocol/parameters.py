"""Every number of the protocol (docs/) that the coordinating centre may change, in one place.

The registration fixes some rules ([R] in the protocol (docs/)); where it is silent the project's
working interpretation ([P]) is used. Both live here as fields of the frozen
:class:`ProtocolParameters`, whose module-level :data:`DEFAULT` instance every rule function
takes as its default ``params`` argument. To change a rule, build a new instance
(``dataclasses.replace(DEFAULT, max_study_day=6)``), pass it explicitly, and bump
:data:`RULES_VERSION`, which the database stores with every screening decision.

Thresholds that are compared with measured values are :class:`~decimal.Decimal` so that a
value written in decimal is compared exactly, without binary floating-point surprises
(``ALT 15.3, ULN 10.2`` is exactly 1.5 × ULN, though ``15.3 / 10.2 > 1.5`` in floats).

Anchoring choice: the registration's FIRES window is measured back from the onset of
*refractory* SE; the screening record has no separate RSE onset, so ``se_onset`` stands in for
it (:data:`FIRES_ANCHOR_FIELD`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final

from combat_norse.protocol.requirements import CRITERIA

RULES_VERSION: Final = "1.0"
"""Version of the rule set below; stored with each screening decision."""

FIRES_ANCHOR_FIELD: Final = "se_onset"
"""The record field used as the onset of RSE for the FIRES window (§2)."""


class VisitKind(StrEnum):
    """How a visit of §8 is placed in time."""

    ENROLLMENT = "enrollment"  # at enrollment (baseline)
    DAILY = "daily"  # every day of a period (inpatient)
    EVENT = "event"  # when something happens (SE resolution, discharge)
    WINDOWED = "windowed"  # a target day after SE onset with a ± window
    ANY_TIME = "any_time"  # any time after an event (interview)


@dataclass(frozen=True)
class VisitDefinition:
    """One row of the visit table of §8.

    ``target_day`` and ``window_days`` are set only for windowed visits; the day count is from
    the SE onset date (day 0). ``annual_N`` visits are generated from
    :attr:`ProtocolParameters.annual_window_days` and are not listed here.
    """

    code: str
    kind: VisitKind
    content: str
    target_day: int | None = None
    window_days: int | None = None


_AS_MONTH3 = "functional scales, seizures, ASMs, quality of life, adverse events"

DEFAULT_VISITS: Final[tuple[VisitDefinition, ...]] = (
    VisitDefinition(
        "baseline",
        VisitKind.ENROLLMENT,
        "eligibility record, weight, pre-morbid mRS, SE timeline, ASMs, anesthetics, "
        "first-line immunotherapy (steroids, IVIG, plasma exchange), ketogenic diet, EEG, "
        "CBC with differential, ALT, AST, bilirubin, creatinine, CRP, "
        "optional serum/CSF samples",
    ),
    VisitDefinition(
        "inpatient_daily",
        VisitKind.DAILY,
        "each day from enrollment to SE resolution: seizure/EEG status, anesthetic infusions "
        "on/off, doses given, adverse events",
    ),
    VisitDefinition(
        "se_resolution",
        VisitKind.EVENT,
        "end of SE: last seizure before the first >=24 h free of continuous anesthetics with "
        "no EEG seizure recurrence",
    ),
    VisitDefinition(
        "discharge",
        VisitKind.EVENT,
        "functional scales, ICU and hospital days, ventilator days, ASMs at discharge",
    ),
    VisitDefinition(
        "day30", VisitKind.WINDOWED, "vital status, functional scales, adverse events", 30, 7
    ),
    VisitDefinition("month3", VisitKind.WINDOWED, _AS_MONTH3, 90, 14),
    VisitDefinition("month6", VisitKind.WINDOWED, _AS_MONTH3, 180, 30),
    VisitDefinition(
        "month12",
        VisitKind.WINDOWED,
        _AS_MONTH3 + ", cognitive testing; primary outcome",
        365,
        30,
    ),
    VisitDefinition(
        "interview",
        VisitKind.ANY_TIME,
        "any time after discharge: optional 60-minute interview, own consent",
    ),
)

ANNUAL_VISIT_CONTENT: Final = (
    "functional status, seizures, quality of life (consenting participants)"
)


@dataclass(frozen=True)
class ProtocolParameters:
    """The protocol's numbers (§4–§10). Field comments name the source section.

    ``rules_version`` travels with the numbers: a rule set other than :data:`DEFAULT` should
    carry its own version, which :func:`~combat_norse.protocol.eligibility.evaluate` reports.
    """

    rules_version: str = RULES_VERSION

    # --- §4 criteria -------------------------------------------------------------------
    min_age_years: int = 2  # I1: completed years at the local date of SE onset
    min_failed_asms: int = 2  # I3: RSE = SE persisting after 2 ASMs (benzodiazepine counts)
    max_study_day: int = 7  # I5: study day <= 7 (day 0 = onset date)
    anc_min_per_mm3: Decimal = Decimal(2000)  # E5: ANC < 2000 excludes; 2000 passes
    platelets_min_per_mm3: Decimal = Decimal(100000)  # E6: < 100,000 excludes
    transaminase_max_uln_ratio: Decimal = Decimal("1.5")  # E7: > 1.5 x ULN excludes

    # --- §5 routing ----------------------------------------------------------------------
    core_criteria: tuple[str, ...] = ("I1", "I2", "I3", "E1")
    randomization_criteria: tuple[str, ...] = (
        "I4", "I5", "E2", "E3", "E4", "E5", "E6", "E7", "E8",
    )  # fmt: skip

    # --- §2 FIRES (anchored at se_onset, see FIRES_ANCHOR_FIELD); both ends inclusive --------
    fires_window_earliest: timedelta = timedelta(days=14)  # fever began at most 14 d before
    fires_window_latest: timedelta = timedelta(hours=24)  # ... and at least 24 h before

    # --- §6 strata -----------------------------------------------------------------------
    adult_age_years: int = 18  # pediatric: min_age_years..17, adult: >= 18
    early_window_last_day: int = 3  # early: study day 0..3, late: 4..max_study_day

    # --- §3 / §7 weight and dosing -------------------------------------------------------
    min_weight_kg: Decimal = Decimal(5)
    max_weight_kg: Decimal = Decimal(300)
    anakinra_mg_per_kg_per_day: Decimal = Decimal(10)
    anakinra_doses_per_day: int = 4
    anakinra_interval_hours: int = 6
    anakinra_max_mg_per_day: Decimal = Decimal(400)
    tocilizumab_band_weight_kg: Decimal = Decimal(30)  # < 30 kg: light band; 30 kg is heavy
    tocilizumab_mg_per_kg_light: Decimal = Decimal(12)
    tocilizumab_mg_per_kg_heavy: Decimal = Decimal(8)
    tocilizumab_max_mg_per_dose: Decimal = Decimal(800)
    tocilizumab_interval_hours: int = 336  # every 2 weeks
    dose_decimal_places: int = 1
    dose_deviation_fraction: Decimal = Decimal("0.10")  # > 10 % off the suggestion: deviation

    # --- §8 visits and safety labs -------------------------------------------------------
    visits: tuple[VisitDefinition, ...] = DEFAULT_VISITS
    days_per_year: int = 365  # annual_N target day = days_per_year * N
    annual_window_days: int = 60
    default_follow_up_years: int = 1  # schedule default: up to month12
    max_schedule_years: int = 100  # sanity bound on a requested schedule, not a protocol rule
    anakinra_lab_early_days: tuple[int, ...] = (3, 7, 10, 14)  # twice weekly for 2 weeks
    anakinra_lab_weekly_days: int = 7  # then weekly while on drug

    # --- §10 tocilizumab alerts (to the clinician, never an automatic stop) --------------
    toci_transaminase_hold_uln_ratio: Decimal = Decimal(3)  # > 3 x ULN: hold until < 3 x ULN
    toci_transaminase_stop_uln_ratio: Decimal = Decimal(5)  # > 5 x ULN: discontinue
    toci_anc_hold_max_per_mm3: Decimal = Decimal(1000)  # 500..1000 (inclusive): hold
    toci_anc_stop_below_per_mm3: Decimal = Decimal(500)  # < 500: discontinue
    toci_platelets_hold_max_per_mm3: Decimal = Decimal(100000)  # 50,000..100,000: hold
    toci_platelets_stop_below_per_mm3: Decimal = Decimal(50000)  # < 50,000: discontinue

    # --- §10 CTCAE v5 grading (lower bound of each grade, strict "<" / ">") --------------
    ctcae_anc_below: tuple[Decimal, Decimal, Decimal] = (
        Decimal(1500), Decimal(1000), Decimal(500),
    )  # G2 < 1500, G3 < 1000, G4 < 500 (G1: < LLN)  # fmt: skip
    ctcae_platelets_below: tuple[Decimal, Decimal, Decimal] = (
        Decimal(75000), Decimal(50000), Decimal(25000),
    )  # G2 < 75,000, G3 < 50,000, G4 < 25,000 (G1: < LLN)  # fmt: skip
    ctcae_transaminase_above_uln: tuple[Decimal, Decimal, Decimal, Decimal] = (
        Decimal(1), Decimal(3), Decimal(5), Decimal(20),
    )  # G1 > 1, G2 > 3, G3 > 5, G4 > 20 x ULN  # fmt: skip

    # --- §10 SAE clock -------------------------------------------------------------------
    sae_report_hours: int = 24  # site -> coordinating centre, from awareness
    sae_alert_hours_before: int = 6  # the one alert before the 24-hour clock lapses
    regulator_alert_days_before: int = 2  # ... and before a regulator clock lapses
    # per country: (fatal or life-threatening, other) calendar days from awareness (§14)
    regulator_days: tuple[tuple[str, int, int], ...] = (
        ("CA", 7, 15), ("FR", 7, 15), ("GB", 7, 15), ("IT", 7, 15), ("KR", 7, 15),
        ("SE", 7, 15), ("US", 7, 15),
    )  # fmt: skip

    # --- §14 treatment deviations and safety rules -----------------------------------------
    first_dose_late_hours: int = 24  # a first dose later than this after randomization
    dress_eosinophils_per_mm3: Decimal = Decimal(1500)  # eosinophilia: >= this
    dress_transaminase_uln_ratio: Decimal = Decimal(2)  # ALT or AST > 2 x ULN
    dress_window_days: int = 14  # the three signs within this many days of each other
    anakinra_lab_gap_early_days: int = 4  # twice weekly (every 3-4 days) for ...
    anakinra_lab_early_period_days: int = 14  # ... the first 2 weeks of anakinra
    anakinra_off_drug_hours: int = 48  # no anakinra dose for this long: off drug (no labs due)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.min_age_years < 0 or self.adult_age_years <= self.min_age_years:
            problems.append("need 0 <= min_age_years < adult_age_years")
        if not 0 <= self.early_window_last_day < self.max_study_day:
            problems.append("need 0 <= early_window_last_day < max_study_day")
        if not timedelta(0) <= self.fires_window_latest <= self.fires_window_earliest:
            problems.append("need 0 <= fires_window_latest <= fires_window_earliest")
        if not 0 < self.min_weight_kg < self.max_weight_kg:
            problems.append("need 0 < min_weight_kg < max_weight_kg")
        if self.anakinra_doses_per_day < 1 or self.dose_decimal_places < 0:
            problems.append("need anakinra_doses_per_day >= 1 and dose_decimal_places >= 0")
        groups = self.core_criteria + self.randomization_criteria
        if sorted(groups) != sorted(CRITERIA):
            problems.append("each criterion must be exactly once core or randomization-only")
        if self.days_per_year < 1 or self.annual_window_days < 0:
            problems.append("need days_per_year >= 1 and annual_window_days >= 0")
        if self.sae_alert_hours_before >= self.sae_report_hours or any(
            not 0 < fatal <= other for _c, fatal, other in self.regulator_days
        ):
            problems.append("need alerts before the clocks and 0 < fatal days <= other days")
        if problems:
            raise ValueError("invalid protocol parameters: " + "; ".join(problems))


DEFAULT: Final = ProtocolParameters()
"""The rule set of the protocol (docs/) as written (:data:`RULES_VERSION`)."""
