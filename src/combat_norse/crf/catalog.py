"""The trial's forms, declared once (§8–§10, fixed items of §14).

Item codes of the §14 forms are fixed (tests and exports use them). To change a form that has
been used, add a new version beside it (``version=2``) and keep the old one: instances keep the
version they were entered on.
"""

from __future__ import annotations

import re
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
        "gose", 1, "Glasgow Outcome Scale-Extended (adults)", ages="adults", visits=OUTCOME_VISITS,
        outcome=True,
        items=(
            ItemDef("gose", INT, "GOS-E", min=Decimal(1), max=Decimal(8), required=True,
                    help="1 dead … 8 upper good recovery"),
            ItemDef("assessed_on", DT, "Assessed on", required=True),
        ),
    ),
    FormDef(
        "gose_peds", 1, "GOS-E Peds (children; reversed direction)", ages="children",
        visits=OUTCOME_VISITS, outcome=True,
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

# --------------------------------------------------------------------- issue 15: the rest of §8/§9
QOL_VISITS = ("month3", "month6", "month12", "annual_N")  # quality of life, seizures (§8)
ASMS = ("levetiracetam", "brivaracetam", "valproate", "lacosamide", "phenytoin", "phenobarbital",
        "carbamazepine", "oxcarbazepine", "eslicarbazepine", "lamotrigine", "topiramate",
        "zonisamide", "perampanel", "cenobamate", "clobazam", "clonazepam", "lorazepam",
        "other")  # fmt: skip
ANESTHETICS = ("midazolam", "propofol", "ketamine", "pentobarbital", "thiopental", "other")
LICENSED = "licensed instrument: scores only, never item text"
DAYS = Decimal(3650)


def _assessed_on() -> ItemDef:
    return ItemDef("assessed_on", DT, "Assessed on", required=True, cdash="QSDAT")


def _score(code: str, label: str, *, required: bool = False, low: int = 0, high: int = 100,
           help: str = LICENSED) -> ItemDef:  # fmt: skip
    return ItemDef(code, D, label, unit="points", min=Decimal(low), max=Decimal(high),
                   required=required, sdtm="QSSTRESN", help=help)  # fmt: skip


def _t_score(code: str, label: str) -> ItemDef:
    return ItemDef(code, D, label, unit="T-score", min=Decimal(0), max=Decimal(100),
                   sdtm="QSSTRESN", help="T-score, mean 50, SD 10 (" + LICENSED + ")")  # fmt: skip


def _cytokine(code: str, label: str, *, arm_revealing: bool = False, why: str = "") -> ItemDef:
    return ItemDef(code, D, label, unit="pg/mL", min=Decimal(0), max=Decimal(10_000_000),
                   cdash="LBORRES", sdtm="LBSTRESN", arm_revealing=arm_revealing,
                   help=why)  # fmt: skip


def _tr(fr: str, it: str, ko: str, sv: str) -> dict[str, str]:
    """Translations of one participant-facing text, in the order of the shipped languages."""
    return {"fr": fr, "it": it, "ko": ko, "sv": sv}


MORE_FORMS: tuple[FormDef, ...] = (
    FormDef(
        "inpatient_daily", 1, "Daily inpatient course", visits=("inpatient_day_N",),
        items=(
            ItemDef("clinical_seizures", B, "Clinical seizures in the past 24 h", required=True),
            ItemDef("eeg_status", C, "EEG in the past 24 h", required=True,
                    choices=("not_done", "no_epileptiform_activity", "periodic_discharges",
                             "electrographic_seizures", "electrographic_status"),
                    help="the worst finding of the day"),
            ItemDef("anesthetic_infusion", B, "Continuous anesthetic infusion running",
                    required=True, help="on at any time of the day"),
            ItemDef("anesthetic_agents", M, "Anesthetic agents infused", choices=ANESTHETICS,
                    cdash="CMTRT"),
            ItemDef("anesthetic_stopped_at", TS, "Last continuous infusion stopped at",
                    cdash="CMENDTC", help="when the infusion was switched off this day"),
            ItemDef("mechanical_ventilation", B, "Mechanically ventilated", required=True),
            ItemDef("in_icu", B, "In the ICU", required=True),
            ItemDef("asm_count", INT, "ASMs given", min=Decimal(0), max=Decimal(20),
                    required=True, help="antiseizure medications given this day"),
            ItemDef("notes", T, "Notes", names_drug=True),
        ),
    ),
    FormDef(
        "discharge", 1, "Hospital discharge", visits=("discharge",), event=True,
        items=(
            ItemDef("discharged_on", DT, "Discharge date", required=True, cdash="DSSTDAT",
                    sdtm="DSSTDTC", help="on or after the enrollment date"),
            ItemDef("icu_days", INT, "ICU days", unit="days", min=Decimal(0), max=DAYS,
                    required=True),
            ItemDef("hospital_days", INT, "Hospital days", unit="days", min=Decimal(0), max=DAYS,
                    required=True),
            ItemDef("ventilator_days", INT, "Ventilator days", unit="days", min=Decimal(0),
                    max=DAYS, required=True),
            ItemDef("asms_at_discharge", M, "ASMs at discharge", choices=(*ASMS, "none"),
                    required=True, cdash="CMTRT", help="\"none\" when none is prescribed"),
            ItemDef("destination", C, "Discharged to",
                    choices=("home", "rehabilitation", "long_term_care", "other_hospital",
                             "other")),
        ),
    ),
    FormDef(
        "pcpc", 1, "Pediatric Cerebral Performance Category (children)", ages="children",
        visits=OUTCOME_VISITS, outcome=True,
        items=(
            ItemDef("pcpc", INT, "PCPC", min=Decimal(1), max=Decimal(6), required=True,
                    cdash="QSORRES", sdtm="QSSTRESN", help="1 normal … 6 brain death"),
            _assessed_on(),
        ),
    ),
    FormDef(
        "neuroqol", 1, "Neuro-QoL", visits=QOL_VISITS, outcome=True,
        items=(
            ItemDef("respondent", C, "Respondent", choices=("self", "proxy"), required=True),
            _t_score("cognitive_function_t", "Cognitive function"),
            _t_score("anxiety_t", "Anxiety"),
            _t_score("depression_t", "Depression"),
            _t_score("fatigue_t", "Fatigue"),
            _t_score("sleep_disturbance_t", "Sleep disturbance"),
            _t_score("social_roles_t", "Ability to participate in social roles"),
            _t_score("upper_extremity_t", "Upper extremity function"),
            _t_score("lower_extremity_t", "Lower extremity function"),
            _assessed_on(),
        ),
    ),
    FormDef(
        "qolie31", 1, "QOLIE-31 (adults)", ages="adults", visits=QOL_VISITS, outcome=True,
        items=(
            _score("qolie31_total", "QOLIE-31 total (0–100, higher better)", required=True),
            _score("seizure_worry", "Seizure worry"),
            _score("overall_qol", "Overall quality of life"),
            _score("emotional_wellbeing", "Emotional well-being"),
            _score("energy_fatigue", "Energy/fatigue"),
            _score("cognitive_functioning", "Cognitive functioning"),
            _score("medication_effects", "Medication effects"),
            _score("social_functioning", "Social functioning"),
            _assessed_on(),
        ),
    ),
    FormDef(
        "pedsql", 1, "PedsQL (children)", ages="children", visits=QOL_VISITS, outcome=True,
        items=(
            ItemDef("respondent", C, "Respondent", choices=("child", "parent"), required=True),
            _score("pedsql_total", "PedsQL total (0–100, higher better)", required=True),
            _score("physical_health", "Physical health summary"),
            _score("psychosocial_health", "Psychosocial health summary"),
            _score("emotional_functioning", "Emotional functioning"),
            _score("social_functioning", "Social functioning"),
            _score("school_functioning", "School functioning"),
            _assessed_on(),
        ),
    ),
    FormDef(
        "moca", 1, "Montreal Cognitive Assessment (adults, month 12)", ages="adults",
        visits=("month12",), outcome=True,
        items=(
            ItemDef("moca", INT, "MoCA total", min=Decimal(0), max=Decimal(30), required=True,
                    cdash="QSORRES", sdtm="QSSTRESN",
                    help="0–30 with the education point included; " + LICENSED),
            ItemDef("education_point_added", B, "1 point added for ≤ 12 years of education"),
            _assessed_on(),
        ),
    ),
    FormDef(
        "seizure_followup", 1, "Seizures and ASMs since the last visit", visits=QOL_VISITS,
        items=(
            ItemDef("seizures_since_last_visit", B, "Seizures since the last visit",
                    required=True),
            ItemDef("last_seizure_on", DT, "Date of the last seizure"),
            ItemDef("post_norse_epilepsy", B, "Post-NORSE epilepsy", required=True,
                    help="an unprovoked seizure more than 2 weeks after the end of SE"),
            ItemDef("asm_count", INT, "Number of ASMs taken now", min=Decimal(0),
                    max=Decimal(20), required=True),
            ItemDef("asms", M, "ASMs taken now", choices=ASMS, cdash="CMTRT"),
        ),
    ),
    FormDef(
        "biosamples", 1, "Biosamples (serum/CSF cytokines)",
        visits=("baseline", "inpatient_day_N", "unscheduled"), repeating=True,
        items=(
            ItemDef("specimen", C, "Specimen", choices=("serum", "csf"), required=True,
                    cdash="LBSPEC", sdtm="LBSPEC"),
            ItemDef("collected_at", TS, "Sample time", required=True, cdash="LBDTC",
                    sdtm="LBDTC", help="the time relative to the first dose is derived"),
            _cytokine("il6_pg_ml", "IL-6", arm_revealing=True,
                      why="rises on tocilizumab (IL-6 receptor blockade): reveals the arm"),
            _cytokine("il1b_pg_ml", "IL-1β"),
            _cytokine("il1ra_pg_ml", "IL-1RA", arm_revealing=True,
                      why="anakinra is recombinant IL-1RA: the assay reveals the arm"),
            _cytokine("tnfa_pg_ml", "TNF-α"),
            _cytokine("cxcl8_pg_ml", "CXCL8 (IL-8)"),
            _cytokine("ccl2_pg_ml", "CCL2 (MCP-1)"),
        ),
    ),
    FormDef(
        "interview", 1, "Optional interview", visits=("interview",), event=True,
        # Participant-facing: the coordinating centre supplies the translations (§14 label per
        # language). PLACEHOLDERS for the demo, to be replaced by the centre's approved texts.
        titles=_tr("Entretien facultatif", "Intervista facoltativa", "선택 면담",
                   "Frivillig intervju"),
        notice="You agreed to this optional interview when you gave consent. You may stop at "
               "any time, and stopping changes nothing in your care.",
        notices=_tr(
            "Vous avez accepté cet entretien facultatif lors de votre consentement. Vous pouvez "
            "l'arrêter à tout moment, sans aucune conséquence sur vos soins.",
            "Ha accettato questa intervista facoltativa al momento del consenso. Può "
            "interromperla in qualsiasi momento, senza alcuna conseguenza sulle sue cure.",
            "귀하는 동의서 작성 시 이 선택 면담에 동의하셨습니다. 언제든지 중단할 수 있으며, "
            "중단해도 치료에는 아무런 영향이 없습니다.",
            "Du gick med på denna frivilliga intervju när du gav ditt samtycke. Du kan avbryta "
            "när som helst, och det påverkar inte din vård.",
        ),
        items=(
            ItemDef("interviewed_on", DT, "Interview date", required=True,
                    labels=_tr("Date de l'entretien", "Data dell'intervista", "면담 날짜",
                               "Intervjudatum")),
            ItemDef("respondent", C, "Interviewed", required=True,
                    choices=("participant", "family", "participant_and_family"),
                    labels=_tr("Personne interrogée", "Persona intervistata", "면담 대상",
                               "Intervjuad")),
            ItemDef("duration_min", INT, "Duration", unit="min", min=Decimal(1),
                    max=Decimal(480),
                    labels=_tr("Durée", "Durata", "소요 시간", "Varaktighet")),
            ItemDef("recorded", B, "Audio recorded",
                    labels=_tr("Enregistrement audio", "Registrazione audio", "음성 녹음",
                               "Ljudinspelning")),
            ItemDef("notes", T, "Notes", names_drug=True,
                    labels=_tr("Remarques", "Note", "메모", "Anteckningar")),
        ),
    ),
)  # fmt: skip
FORMS = FORMS + MORE_FORMS

# --------------------------------------------------------------------- issue 16: treatment, safety
ADMINISTERED = ("given", "held", "missed")
NOT_GIVEN = ("held", "missed")
AE_ACTIONS = ("dose_not_changed", "dose_reduced", "drug_interrupted", "drug_withdrawn",
              "not_applicable", "unknown")  # CDASH AEACN
EXPECTED_IN_DISEASE = ("prolonged_icu_stay", "recurrent_seizures", "anesthetic_complications")
SAFETY_FORMS: tuple[FormDef, ...] = (
    FormDef(
        "dose", 2, "Study drug administration", visits=("unscheduled",), repeating=True,
        arm_revealing=True,
        items=(
            ItemDef("drug", C, "Drug", choices=("anakinra", "tocilizumab"), required=True,
                    arm_revealing=True, cdash="EXTRT"),
            ItemDef("administered", C, "Given, held or missed", choices=ADMINISTERED,
                    arm_revealing=True, cdash="EXOCCUR",
                    help="left empty: given; held (decided) or missed (not given) need a reason"),
            ItemDef("dose_mg", D, "Dose", unit="mg", min=Decimal(0), max=Decimal(2000),
                    required_unless=("administered", NOT_GIVEN), arm_revealing=True,
                    cdash="EXDOSE"),
            ItemDef("given_at", TS, "Given at (or due at, when held or missed)", required=True,
                    arm_revealing=True, cdash="EXSTDTC", not_future=True),
            ItemDef("route", C, "Route", choices=("iv", "sc"),
                    required_unless=("administered", NOT_GIVEN), arm_revealing=True,
                    cdash="EXROUTE"),
            ItemDef("given_by", T, "Given by (name or role)", arm_revealing=True),
            ItemDef("not_given_reason", T, "Why held or missed",
                    required_when=("administered", NOT_GIVEN), arm_revealing=True,
                    cdash="EXREASND"),
        ),
    ),
    FormDef(
        "adverse_event", 2, "Adverse event", visits=("unscheduled",), repeating=True,
        items=(
            ItemDef("term", T, "Term (CTCAE v5 where one fits)", required=True, cdash="AETERM",
                    names_drug=True),
            ItemDef("meddra_llt_code", INT, "MedDRA lowest level term code (licensed: "
                    "left empty unless coded by a MedDRA subscriber)", min=Decimal(10_000_000),
                    max=Decimal(99_999_999), cdash="AELLTCD"),
            ItemDef("grade", INT, "CTCAE grade", min=Decimal(1), max=Decimal(5), required=True,
                    cdash="AETOXGR", help="`combat-norse safety grade` suggests it from labs"),
            ItemDef("onset_date", DT, "Onset date", required=True, cdash="AESTDAT",
                    not_future=True),
            ItemDef("serious", B, "Serious", required=True, cdash="AESER"),
            ItemDef("seriousness", M, "Seriousness criteria", choices=SERIOUSNESS,
                    required_when=("serious", (True,))),
            ItemDef("awareness_at", TS, "Site aware at", required=True, not_future=True,
                    help="starts the SAE clocks: a time ahead would silence them"),
            ItemDef("related_to_study_drug", C, "Related to study drug", choices=RELATEDNESS,
                    required=True, cdash="AEREL"),
            ItemDef("expected", B, "Expected (reference safety information)", required=True),
            ItemDef("expected_in_disease", C, "Expected in the disease (§10: not expedited)",
                    choices=EXPECTED_IN_DISEASE),
            ItemDef("action_taken", C, "Action taken with the study drug", choices=AE_ACTIONS,
                    cdash="AEACN"),
            ItemDef("outcome", C, "Outcome", choices=AE_OUTCOMES, required=True, cdash="AEOUT"),
            ItemDef("resolved_on", DT, "Resolved on", cdash="AEENDAT", not_future=True,
                    required_when=("outcome", ("recovered", "recovered_with_sequelae"))),
            ItemDef("narrative", T, "Narrative", names_drug=True),
        ),
    ),
)  # fmt: skip
FORMS = FORMS + SAFETY_FORMS
# a form saved only with an optional consent of the participant (checked by the save action)
CONSENT_FOR: dict[str, str] = {"interview": "interview", "biosamples": "biosamples"}

_problems = catalog_errors(FORMS)
if _problems:  # pragma: no cover - a declaration error stops the import
    raise ValueError("; ".join(_problems))

LATEST: dict[str, FormDef] = {}
for _form in FORMS:
    if _form.code not in LATEST or _form.version > LATEST[_form.code].version:
        LATEST[_form.code] = _form


_NUMBERED_VISIT = re.compile(r"^(annual|inpatient_day)_\d{1,3}$")


def visit_kind(visit_code: str) -> str:
    """The catalogue's name of a visit: ``annual_3`` → ``annual_N``, ``inpatient_day_2`` →
    ``inpatient_day_N``; any other code is its own."""
    return visit_code.rsplit("_", 1)[0] + "_N" if _NUMBERED_VISIT.match(visit_code) else visit_code


def expected_forms(visit_code: str, *, age_years: int | None = None) -> list[FormDef]:
    """The forms a visit collects once (latest versions, catalogue order; repeating forms are
    added at ``unscheduled``). With ``age_years``, only those for the participant's age group
    (GOS-E for an adult, GOS-E Peds for a child, ...); an unknown age keeps them all."""
    kind = visit_kind(visit_code)
    return [f for f in LATEST.values()
            if kind in f.visits and not f.repeating and f.for_age(age_years)]  # fmt: skip


def form(code: str, version: int | None = None) -> FormDef:
    """The form ``code`` (its latest version by default); KeyError when there is none."""
    if version is None:
        return LATEST[code]
    for f in FORMS:
        if f.code == code and f.version == version:
            return f
    raise KeyError(f"{code} version {version}")
