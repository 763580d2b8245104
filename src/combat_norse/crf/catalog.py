"""The trial's forms, declared once (§8–§10, fixed items of §14).

Item codes of the §14 forms are fixed (tests and exports use them). To change a form that has
been used, add a new version beside it (``version=2``) and keep the old one: instances keep the
version they were entered on.
"""

from __future__ import annotations

from decimal import Decimal

from combat_norse.crf.metadata import FormDef, ItemDef, ItemType, SIAlternative, catalog_errors

INT, D, B, DT, TS, T, C, M = (
    ItemType.INTEGER, ItemType.DECIMAL, ItemType.BOOLEAN, ItemType.DATE, ItemType.DATETIME,
    ItemType.TEXT, ItemType.CHOICE, ItemType.MULTI,
)  # fmt: skip
OUTCOME_VISITS = ("discharge", "day30", "month3", "month6", "month12", "annual_N")
SERIOUSNESS = ("death", "life_threatening", "hospitalization", "persistent_disability",
               "congenital_anomaly", "important_medical_event")  # fmt: skip
RELATEDNESS = ("not_related", "unlikely", "possible", "probable", "definite")
AE_OUTCOMES = ("recovered", "recovering", "not_recovered", "recovered_with_sequelae", "fatal",
               "unknown")  # fmt: skip


def _count(code: str, label: str, cdash: str = "", si_code: str = "") -> ItemDef:
    si = (SIAlternative(si_code, "10^9/L", Decimal(1000)),) if si_code else ()
    return ItemDef(code, D, label, unit="/mm3", min=Decimal(0), max=Decimal(10_000_000),
                   cdash=cdash, sdtm="LBSTRESN", si=si)  # fmt: skip


def _enzyme(code: str, label: str, si_code: str) -> ItemDef:
    si = (SIAlternative(si_code, "µkat/L", Decimal(60)),)
    return ItemDef(code, D, label, unit="U/L", min=Decimal(0), max=Decimal(100_000),
                   sdtm="LBSTRESN", si=si)  # fmt: skip


FORMS: tuple[FormDef, ...] = (
    FormDef(
        "baseline", 1, "Baseline and NORSE characterization",
        visits=("baseline",),
        items=(
            ItemDef("weight_kg", D, "Weight", unit="kg", min=Decimal(5), max=Decimal(300),
                    required=True, cdash="WEIGHT", sdtm="VSSTRESN"),
            ItemDef("premorbid_mrs", INT, "Pre-morbid mRS", min=Decimal(0), max=Decimal(5),
                    required=True, sdtm="QSSTRESN"),
            ItemDef("first_seizure_at", TS, "First seizure", required=True),
            ItemDef("anesthetic_infusion", B, "Continuous anesthetic infusion", required=True),
            ItemDef("first_line_immunotherapy", M, "First-line immunotherapy",
                    choices=("steroids", "ivig", "plasma_exchange", "none")),
            ItemDef("ketogenic_diet", B, "Ketogenic diet"),
            ItemDef("eeg_done", B, "EEG done"),
            ItemDef("final_etiology", C, "Final etiology",
                    choices=("cryptogenic", "autoimmune", "infectious", "genetic", "other")),
            ItemDef("notes", T, "Notes", names_drug=True),
        ),
    ),
    FormDef(
        "mrs", 1, "Modified Rankin Scale", visits=OUTCOME_VISITS, outcome=True,
        items=(
            ItemDef("mrs", INT, "mRS", min=Decimal(0), max=Decimal(6), required=True,
                    cdash="QSORRES", sdtm="QSSTRESN", help="0 no symptoms … 6 dead"),
            ItemDef("assessed_on", DT, "Assessed on", required=True, cdash="QSDAT"),
        ),
    ),
    FormDef(
        "gose", 1, "Glasgow Outcome Scale-Extended (adults)", visits=OUTCOME_VISITS,
        outcome=True,
        items=(
            ItemDef("gose", INT, "GOS-E", min=Decimal(1), max=Decimal(8), required=True,
                    help="1 dead … 8 upper good recovery"),
            ItemDef("assessed_on", DT, "Assessed on", required=True),
        ),
    ),
    FormDef(
        "gose_peds", 1, "GOS-E Peds (children; reversed direction)", visits=OUTCOME_VISITS,
        outcome=True,
        items=(
            ItemDef("gose_peds", INT, "GOS-E Peds", min=Decimal(1), max=Decimal(8), required=True,
                    help="1 upper good recovery … 8 dead (reversed; stored as scored)"),
            ItemDef("assessed_on", DT, "Assessed on", required=True),
        ),
    ),
    FormDef(
        "labs", 1, "Laboratory values", visits=("baseline", "inpatient_day_N", "unscheduled"),
        repeating=True,
        items=(
            ItemDef("collected_at", TS, "Collected at", required=True, cdash="LBDTC"),
            _count("anc_per_mm3", "Absolute neutrophil count", "LBORRES", "anc_1e9_per_l"),
            _count("platelets_per_mm3", "Platelets", "LBORRES", "platelets_1e9_per_l"),
            _count("eosinophils_per_mm3", "Eosinophils", "LBORRES", "eosinophils_1e9_per_l"),
            _enzyme("alt_u_l", "ALT", "alt_ukat_l"),
            _enzyme("alt_uln_u_l", "ALT upper limit of normal", "alt_uln_ukat_l"),
            _enzyme("ast_u_l", "AST", "ast_ukat_l"),
            _enzyme("ast_uln_u_l", "AST upper limit of normal", "ast_uln_ukat_l"),
        ),
    ),
    FormDef(
        "se_resolution", 1, "Resolution of status epilepticus", visits=("se_resolution",),
        event=True,
        items=(ItemDef("resolved_at", TS, "SE resolved at", required=True,
                       help="after se_onset; the last seizure before the first ≥ 24 h free of "
                            "continuous anesthetics with no EEG seizure recurrence"),),
    ),
    FormDef(
        "death", 1, "Death", visits=("death",), event=True,
        items=(
            ItemDef("died_on", DT, "Date of death", required=True, cdash="DTHDAT"),
            ItemDef("cause", T, "Cause of death", required=True, names_drug=True),
        ),
    ),
    FormDef(
        "dose", 1, "Study drug administration", visits=("unscheduled",), repeating=True,
        arm_revealing=True,
        items=(
            ItemDef("drug", C, "Drug", choices=("anakinra", "tocilizumab"), required=True,
                    arm_revealing=True, cdash="EXTRT"),
            ItemDef("dose_mg", D, "Dose", unit="mg", min=Decimal(0), max=Decimal(2000),
                    required=True, arm_revealing=True, cdash="EXDOSE"),
            ItemDef("given_at", TS, "Given at", required=True, arm_revealing=True,
                    cdash="EXSTDTC"),
            ItemDef("route", C, "Route", choices=("iv", "sc"), required=True,
                    arm_revealing=True, cdash="EXROUTE"),
        ),
    ),
    FormDef(
        "adverse_event", 1, "Adverse event", visits=("unscheduled",), repeating=True,
        items=(
            ItemDef("term", T, "Term (CTCAE v5 where one fits)", required=True, cdash="AETERM",
                    names_drug=True),
            ItemDef("grade", INT, "CTCAE grade", min=Decimal(1), max=Decimal(5), required=True,
                    cdash="AETOXGR"),
            ItemDef("onset_date", DT, "Onset date", required=True, cdash="AESTDAT"),
            ItemDef("serious", B, "Serious", required=True, cdash="AESER"),
            ItemDef("seriousness", M, "Seriousness criteria", choices=SERIOUSNESS),
            ItemDef("awareness_at", TS, "Site aware at", required=True),
            ItemDef("related_to_study_drug", C, "Related to study drug", choices=RELATEDNESS,
                    required=True, cdash="AEREL"),
            ItemDef("expected", B, "Expected (reference safety information)", required=True),
            ItemDef("outcome", C, "Outcome", choices=AE_OUTCOMES, required=True, cdash="AEOUT"),
            ItemDef("narrative", T, "Narrative", names_drug=True),
        ),
    ),
)  # fmt: skip

_problems = catalog_errors(FORMS)
if _problems:  # pragma: no cover - a declaration error stops the import
    raise ValueError("; ".join(_problems))

LATEST: dict[str, FormDef] = {}
for _form in FORMS:
    if _form.code not in LATEST or _form.version > LATEST[_form.code].version:
        LATEST[_form.code] = _form


def form(code: str, version: int | None = None) -> FormDef:
    """The form ``code`` (its latest version by default); KeyError when there is none."""
    if version is None:
        return LATEST[code]
    for f in FORMS:
        if f.code == code and f.version == version:
            return f
    raise KeyError(f"{code} version {version}")
