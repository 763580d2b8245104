"""The protocol rules of COMBAT-NORSE (§2–§10), pure Python, no Django.

The names below are the public API that the Django apps, the API and the command line call.
"""

from __future__ import annotations

from combat_norse.protocol.dosing import (
    DoseError,
    DoseSuggestion,
    Drug,
    dose_deviation,
    suggested_dose,
)
from combat_norse.protocol.eligibility import (
    AgeGroup,
    CriterionStatus,
    Decision,
    OnsetWindow,
    ScreeningResult,
    Strata,
    age_in_years,
    evaluate,
    is_fires,
    randomization_deadline,
    strata_for,
    study_day,
)
from combat_norse.protocol.parameters import DEFAULT, RULES_VERSION, ProtocolParameters
from combat_norse.protocol.records import (
    ParsedRecord,
    PlannedTherapy,
    RecordError,
    ScreeningRecord,
    parse_aware_datetime,
    parse_screening_record,
    record_to_json,
)
from combat_norse.protocol.schedule import VisitWindow, safety_lab_days, visit_schedule

__all__ = [
    "DEFAULT",
    "RULES_VERSION",
    "AgeGroup",
    "CriterionStatus",
    "Decision",
    "DoseError",
    "DoseSuggestion",
    "Drug",
    "OnsetWindow",
    "ParsedRecord",
    "PlannedTherapy",
    "ProtocolParameters",
    "RecordError",
    "ScreeningRecord",
    "ScreeningResult",
    "Strata",
    "VisitWindow",
    "age_in_years",
    "dose_deviation",
    "evaluate",
    "is_fires",
    "parse_aware_datetime",
    "parse_screening_record",
    "randomization_deadline",
    "record_to_json",
    "safety_lab_days",
    "strata_for",
    "study_day",
    "suggested_dose",
    "visit_schedule",
]
