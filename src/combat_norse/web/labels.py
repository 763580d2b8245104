"""Plain words for the codes the pages show (criteria, decisions, statuses): translatable
labels only; every rule stays in ``protocol`` and the actions."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

CRITERIA: dict[str, Promise] = {
    "I1": _("Aged 2 years or older at the onset of status epilepticus"),
    "I2": _("In the usual state of health before status epilepticus"),
    "I3": _("NORSE: at least 2 failed anti-seizure medications, no active epilepsy, no "
            "pre-existing neurological disorder, no acute structural, toxic or metabolic cause"),
    "I4": _("Anakinra and/or tocilizumab planned or considered by the treating team"),
    "I5": _("Onset of status epilepticus within the prior 7 days (study day 7 at the latest)"),
    "E1": _("Acute or active systemic illness"),
    "E2": _("Hypersensitivity to E. coli-derived proteins or a study drug"),
    "E3": _("Active serious infection"),
    "E4": _("Concomitant TNF-blocking agent"),
    "E5": _("Neutrophils (ANC) below 2000/mm³"),
    "E6": _("Platelets below 100,000/mm³"),
    "E7": _("ALT or AST above 1.5 × the upper limit of normal"),
    "E8": _("Elevated risk of gastrointestinal perforation"),
}

DECISIONS: dict[str, Promise] = {
    "randomized_cohort": _("Eligible for the randomized cohort"),
    "observational_cohort": _("Eligible for the observational cohort"),
    "not_eligible": _("Not eligible"),
    "incomplete": _("Incomplete: some criteria are unknown"),
}

FIELDS: dict[str, Promise] = {
    "date_of_birth": _("Date of birth"),
    "se_onset": _("Onset of status epilepticus"),
    "usual_health_before_se": _("Usual state of health before status epilepticus"),
    "failed_asm_count": _("Anti-seizure medications that failed (benzodiazepine included)"),
    "active_epilepsy": _("Active epilepsy"),
    "preexisting_neuro_disorder": _("Pre-existing relevant neurological disorder"),
    "acute_cause_identified": _("Acute structural, toxic or metabolic cause found (first 72 h)"),
    "planned_therapy": _("Therapy the treating team plans or considers"),
    "systemic_illness": _("Acute or active systemic illness"),
    "hypersensitivity": _("Hypersensitivity to E. coli-derived proteins or a study drug"),
    "active_serious_infection": _("Active serious infection"),
    "tnf_blocker": _("Concomitant TNF-blocking agent"),
    "anc_per_mm3": _("Neutrophils (ANC), cells/mm³"),
    "platelets_per_mm3": _("Platelets, /mm³"),
    "alt_u_l": _("ALT, U/L"),
    "alt_uln_u_l": _("ALT upper limit of normal, U/L"),
    "ast_u_l": _("AST, U/L"),
    "ast_uln_u_l": _("AST upper limit of normal, U/L"),
    "gi_perforation_risk": _("Elevated risk of gastrointestinal perforation"),
    "febrile_illness_onset": _("Start of a febrile infection before status epilepticus"),
    "weight_kg": _("Weight, kg"),
    "evaluated_at": _("Time of the decision"),
}


def field_label(code: str) -> str:
    found = FIELDS.get(code)
    return str(found) if found is not None else code.replace("_", " ")
