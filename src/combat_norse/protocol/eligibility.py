"""Eligibility criteria, cohort routing, strata and FIRES (§2, §4, §5, §6).

:func:`evaluate` applies the 13 criteria of §4 to a :class:`ScreeningRecord` and routes it as
§5 says. Each criterion is *met*, *failed* or *unknown*; it is unknown when a field it needs is
absent or null and the known fields do not already decide it (never guessed).

Clock and calendar rules:

* **Study day** = local calendar date of ``evaluated_at`` − local calendar date of
  ``se_onset``, both in ``site_timezone`` (day 0 = onset date). Daylight-saving changes
  therefore never move a study day; ``elapsed_hours`` is the true elapsed time.
* **Age** = completed years at the local date of ``se_onset``; a 29 February birthday is
  reached on 1 March in non-leap years (and on 29 February in leap years).
* **FIRES** (§2): a febrile infection that started between 14 days and 24 hours before the
  onset of RSE, **both ends inclusive** (exactly 24 h before counts, exactly 14 days before
  counts), in true elapsed time. ``se_onset`` stands in for the RSE onset
  (:data:`~combat_norse.protocol.parameters.FIRES_ANCHOR_FIELD`). FIRES is a form of NORSE,
  so the reported ``fires`` is the three-valued *and* of criterion I3 and the fever window:
  ``false`` when either is false (``febrile_illness_onset: null`` means no febrile illness),
  ``null`` when either is unknown (``febrile_illness_onset`` absent, ``se_onset`` unknown, or
  I3 unknown), ``true`` otherwise.
* **Strata** (§6): ``pediatric`` for 2–17 completed years, ``adult`` from 18; ``early`` for
  study day 0–3, ``late`` for 4–7. Reported only for ``randomized_cohort``.

``missing`` lists the fields with no value (absent *or* null) that leave some criterion
unknown; a field that a decided criterion would also have used is not listed (ALT 2 × ULN
fails E7 whatever AST is, so the AST fields are not missing). ``febrile_illness_onset`` is
never listed: FIRES is no criterion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

from combat_norse.protocol.parameters import DEFAULT, RULES_VERSION, ProtocolParameters
from combat_norse.protocol.records import PlannedTherapy, ScreeningRecord
from combat_norse.protocol.units import as_decimal


class CriterionStatus(StrEnum):
    MET = "met"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Decision(StrEnum):
    """The routing decision of §5."""

    NOT_ELIGIBLE = "not_eligible"
    INCOMPLETE = "incomplete"
    OBSERVATIONAL_COHORT = "observational_cohort"
    RANDOMIZED_COHORT = "randomized_cohort"


class AgeGroup(StrEnum):
    PEDIATRIC = "pediatric"
    ADULT = "adult"


class OnsetWindow(StrEnum):
    EARLY = "early"
    LATE = "late"


@dataclass(frozen=True)
class Strata:
    """The randomization stratum of §6."""

    age_group: AgeGroup
    onset_window: OnsetWindow

    def to_json(self) -> dict[str, str]:
        return {"age_group": self.age_group.value, "onset_window": self.onset_window.value}


CRITERION_FIELDS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "I1": ("date_of_birth", "se_onset", "site_timezone"),
        "I2": ("usual_health_before_se",),
        "I3": (
            "failed_asm_count",
            "active_epilepsy",
            "preexisting_neuro_disorder",
            "acute_cause_identified",
        ),
        "I4": ("planned_therapy",),
        "I5": ("se_onset", "evaluated_at", "site_timezone"),
        "E1": ("systemic_illness",),
        "E2": ("hypersensitivity",),
        "E3": ("active_serious_infection",),
        "E4": ("tnf_blocker",),
        "E5": ("anc_per_mm3",),
        "E6": ("platelets_per_mm3",),
        "E7": ("alt_u_l", "alt_uln_u_l", "ast_u_l", "ast_uln_u_l"),
        "E8": ("gi_perforation_risk",),
    }
)
"""The record fields each criterion reads (§4)."""


@dataclass(frozen=True)
class CriterionOutcome:
    """One criterion's status and the unknown fields that keep it unknown (empty unless so)."""

    status: CriterionStatus
    missing: tuple[str, ...] = ()


_MET: Final = CriterionOutcome(CriterionStatus.MET)
_FAILED: Final = CriterionOutcome(CriterionStatus.FAILED)


def _unknown(record: ScreeningRecord, names: Iterable[str]) -> CriterionOutcome:
    return CriterionOutcome(
        CriterionStatus.UNKNOWN, tuple(n for n in names if not record.is_known(n))
    )


# ------------------------------------------------------------------------------------------
# calendar helpers


def local_date(moment: datetime, tz: str | ZoneInfo) -> date:
    """The calendar date of the aware datetime ``moment`` in the zone ``tz``."""
    if moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware")
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return moment.astimezone(zone).date()


def study_day(se_onset: datetime, at: datetime, tz: str | ZoneInfo) -> int:
    """Local calendar date of ``at`` minus local calendar date of ``se_onset`` in ``tz``.

    Day 0 is the onset date (§4, I5). Both datetimes must be timezone-aware.
    """
    return (local_date(at, tz) - local_date(se_onset, tz)).days


def randomization_deadline(
    se_onset: datetime, tz: str | ZoneInfo, params: ProtocolParameters = DEFAULT
) -> datetime:
    """The first moment I5 fails: local midnight starting study day ``max_study_day + 1`` in
    ``tz`` (randomization is allowed up to and including study day 7, §4). The bedside clock
    shows the time left until it; a DST change on the way is counted in true elapsed time."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    last_day = local_date(se_onset, zone) + timedelta(days=params.max_study_day + 1)
    return datetime.combine(last_day, time(0), tzinfo=zone)


def age_in_years(dob: date, on: date) -> int:
    """Completed years of age on the date ``on``.

    A birthday on 29 February is reached on 1 March in non-leap years. Raises ValueError when
    ``on`` is before ``dob``.
    """
    if on < dob:
        raise ValueError("the date is before the date of birth")
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def elapsed_hours(se_onset: datetime, at: datetime) -> float:
    """True elapsed time from ``se_onset`` to ``at`` in hours (DST changes included)."""
    return (at - se_onset).total_seconds() / 3600.0


def age_group_for(age_years: int, params: ProtocolParameters = DEFAULT) -> AgeGroup:
    """``pediatric`` below ``params.adult_age_years`` (18), ``adult`` from it."""
    return AgeGroup.ADULT if age_years >= params.adult_age_years else AgeGroup.PEDIATRIC


def onset_window_for(day: int, params: ProtocolParameters = DEFAULT) -> OnsetWindow:
    """``early`` up to ``params.early_window_last_day`` (3), ``late`` after it."""
    return OnsetWindow.EARLY if day <= params.early_window_last_day else OnsetWindow.LATE


def strata_for(age_years: int, study_day: int, params: ProtocolParameters = DEFAULT) -> Strata:
    """The §6 stratum of a randomizable participant.

    Raises ValueError outside the randomizable range (age below ``min_age_years``, study day
    below 0 or above ``max_study_day``): such a participant has no stratum.
    """
    if age_years < params.min_age_years:
        raise ValueError(f"age {age_years} is below {params.min_age_years}: no stratum")
    if not 0 <= study_day <= params.max_study_day:
        raise ValueError(f"study day {study_day} is outside 0–{params.max_study_day}: no stratum")
    return Strata(age_group_for(age_years, params), onset_window_for(study_day, params))


def is_fires(
    se_onset: datetime,
    febrile_illness_onset: datetime | None,
    params: ProtocolParameters = DEFAULT,
) -> bool:
    """The fever-timing part of FIRES (§2): did the febrile infection start in the window?

    ``febrile_illness_onset`` None means no febrile illness (False). The window runs from
    ``params.fires_window_earliest`` (14 days) to ``params.fires_window_latest`` (24 h) before
    ``se_onset``, both ends inclusive. Whether the patient has NORSE is criterion I3.
    """
    if febrile_illness_onset is None:
        return False
    lead = se_onset - febrile_illness_onset
    return params.fires_window_latest <= lead <= params.fires_window_earliest


# ------------------------------------------------------------------------------------------
# the criteria


def _flag(record: ScreeningRecord, name: str, *, fails_when: bool) -> CriterionOutcome:
    value: bool | None = getattr(record, name)
    if value is None:
        return _unknown(record, (name,))
    return _FAILED if value is fails_when else _MET


def _i1(record: ScreeningRecord, params: ProtocolParameters) -> CriterionOutcome:
    if record.date_of_birth is None or record.se_onset is None or record.site_timezone is None:
        return _unknown(record, CRITERION_FIELDS["I1"])
    age = age_in_years(record.date_of_birth, local_date(record.se_onset, record.site_timezone))
    return _MET if age >= params.min_age_years else _FAILED


def _i2(record: ScreeningRecord, params: ProtocolParameters) -> CriterionOutcome:
    return _flag(record, "usual_health_before_se", fails_when=False)


def _i3(record: ScreeningRecord, params: ProtocolParameters) -> CriterionOutcome:
    count = record.failed_asm_count
    decides_failure = (count is not None and count < params.min_failed_asms) or any(
        getattr(record, name) is True
        for name in ("active_epilepsy", "preexisting_neuro_disorder", "acute_cause_identified")
    )
    if decides_failure:
        return _FAILED
    if not all(record.is_known(n) for n in CRITERION_FIELDS["I3"]):
        return _unknown(record, CRITERION_FIELDS["I3"])
    return _MET


def _i4(record: ScreeningRecord, params: ProtocolParameters) -> CriterionOutcome:
    if record.planned_therapy is None:
        return _unknown(record, ("planned_therapy",))
    return _FAILED if record.planned_therapy is PlannedTherapy.NONE else _MET


def _i5(record: ScreeningRecord, params: ProtocolParameters) -> CriterionOutcome:
    if record.se_onset is None or record.evaluated_at is None or record.site_timezone is None:
        return _unknown(record, CRITERION_FIELDS["I5"])
    day = study_day(record.se_onset, record.evaluated_at, record.site_timezone)
    return _MET if day <= params.max_study_day else _FAILED


def _below(
    record: ScreeningRecord, name: str, threshold: Decimal
) -> CriterionOutcome:  # E5, E6: fails when value < threshold
    value: int | float | None = getattr(record, name)
    if value is None:
        return _unknown(record, (name,))
    return _FAILED if as_decimal(value) < threshold else _MET


def _e7(record: ScreeningRecord, params: ProtocolParameters) -> CriterionOutcome:
    limit = params.transaminase_max_uln_ratio
    unknown_pairs: list[tuple[str, str]] = []
    for value_name, uln_name in (("alt_u_l", "alt_uln_u_l"), ("ast_u_l", "ast_uln_u_l")):
        value: int | float | None = getattr(record, value_name)
        uln: int | float | None = getattr(record, uln_name)
        if value is None or uln is None:
            unknown_pairs.append((value_name, uln_name))
        elif as_decimal(value) > limit * as_decimal(uln):  # value/uln > limit, uln > 0
            return _FAILED
    if unknown_pairs:
        return _unknown(record, [n for pair in unknown_pairs for n in pair])
    return _MET


_Rule = Callable[[ScreeningRecord, ProtocolParameters], CriterionOutcome]

RULES: Final[Mapping[str, _Rule]] = MappingProxyType(
    {
        "I1": _i1,
        "I2": _i2,
        "I3": _i3,
        "I4": _i4,
        "I5": _i5,
        "E1": lambda r, p: _flag(r, "systemic_illness", fails_when=True),
        "E2": lambda r, p: _flag(r, "hypersensitivity", fails_when=True),
        "E3": lambda r, p: _flag(r, "active_serious_infection", fails_when=True),
        "E4": lambda r, p: _flag(r, "tnf_blocker", fails_when=True),
        "E5": lambda r, p: _below(r, "anc_per_mm3", p.anc_min_per_mm3),
        "E6": lambda r, p: _below(r, "platelets_per_mm3", p.platelets_min_per_mm3),
        "E7": _e7,
        "E8": lambda r, p: _flag(r, "gi_perforation_risk", fails_when=True),
    }
)
"""Criterion code → rule, in the order of §4 (``requirements.CRITERIA``)."""


def evaluate_criteria(
    record: ScreeningRecord, params: ProtocolParameters = DEFAULT
) -> dict[str, CriterionOutcome]:
    """Every criterion's outcome, keyed by code in the §4 order."""
    return {code: rule(record, params) for code, rule in RULES.items()}


def route(
    statuses: Mapping[str, CriterionStatus], params: ProtocolParameters = DEFAULT
) -> Decision:
    """The §5 decision from the 13 criterion statuses, in the protocol's order."""

    def any_with(codes: tuple[str, ...], status: CriterionStatus) -> bool:
        return any(statuses[c] is status for c in codes)

    core, randomization = params.core_criteria, params.randomization_criteria
    if any_with(core, CriterionStatus.FAILED):
        return Decision.NOT_ELIGIBLE
    if any_with(core, CriterionStatus.UNKNOWN):
        return Decision.INCOMPLETE
    if any_with(randomization, CriterionStatus.FAILED):
        return Decision.OBSERVATIONAL_COHORT
    if any_with(randomization, CriterionStatus.UNKNOWN):
        return Decision.INCOMPLETE
    return Decision.RANDOMIZED_COHORT


# ------------------------------------------------------------------------------------------
# the result


@dataclass(frozen=True)
class ScreeningResult:
    """The outcome of :func:`evaluate`; :meth:`to_json` is the §5 object.

    ``criteria`` maps all 13 codes, in the §4 order, to their status (a plain dict so that the
    result pickles and goes through ``dataclasses.asdict``; treat it as read-only).
    """

    decision: Decision
    criteria: Mapping[str, CriterionStatus] = field(hash=False)
    failed: tuple[str, ...]
    unknown: tuple[str, ...]
    missing: tuple[str, ...]
    study_day: int | None
    elapsed_hours: float | None
    age_years: int | None
    fires: bool | None
    strata: Strata | None
    rules_version: str = RULES_VERSION

    def to_json(self) -> dict[str, Any]:
        """Exactly the keys of §5, in its order."""
        return {
            "decision": self.decision.value,
            "failed": list(self.failed),
            "unknown": list(self.unknown),
            "missing": list(self.missing),
            "study_day": self.study_day,
            "age_years": self.age_years,
            "fires": self.fires,
            "strata": None if self.strata is None else self.strata.to_json(),
        }


def _fires(record: ScreeningRecord, i3: CriterionStatus, params: ProtocolParameters) -> bool | None:
    if i3 is CriterionStatus.FAILED:
        return False
    if record.se_onset is None or record.is_absent("febrile_illness_onset"):
        timing: bool | None = None
    else:
        timing = is_fires(record.se_onset, record.febrile_illness_onset, params)
    if timing is False:
        return False
    if timing is None or i3 is CriterionStatus.UNKNOWN:
        return None
    return True


def evaluate(record: ScreeningRecord, params: ProtocolParameters = DEFAULT) -> ScreeningResult:
    """Apply §4 and route per §5; see the module docstring for the conventions."""
    outcomes = evaluate_criteria(record, params)
    statuses = {code: outcome.status for code, outcome in outcomes.items()}
    decision = route(statuses, params)

    day: int | None = None
    hours: float | None = None
    age: int | None = None
    if record.se_onset is not None and record.evaluated_at is not None:
        hours = elapsed_hours(record.se_onset, record.evaluated_at)
        if record.site_timezone is not None:
            day = study_day(record.se_onset, record.evaluated_at, record.site_timezone)
    if (
        record.se_onset is not None
        and record.site_timezone is not None
        and record.date_of_birth is not None
    ):
        age = age_in_years(record.date_of_birth, local_date(record.se_onset, record.site_timezone))

    strata: Strata | None = None
    if decision is Decision.RANDOMIZED_COHORT:
        if age is None or day is None:  # pragma: no cover - I1 and I5 are met
            raise AssertionError("a randomized_cohort decision needs age and study day")
        strata = strata_for(age, day, params)

    return ScreeningResult(
        decision=decision,
        criteria=statuses,
        failed=tuple(sorted(c for c, s in statuses.items() if s is CriterionStatus.FAILED)),
        unknown=tuple(sorted(c for c, s in statuses.items() if s is CriterionStatus.UNKNOWN)),
        missing=tuple(sorted({name for o in outcomes.values() for name in o.missing})),
        study_day=day,
        elapsed_hours=hours,
        age_years=age,
        fires=_fires(record, statuses["I3"], params),
        strata=strata,
        rules_version=params.rules_version,
    )
