"""Edit checks that look beyond one item (§14): they never refuse a save; a rule that fails
opens a query on its item, and the query closes itself when a later save satisfies the rule.

A rule is a function of the :class:`RuleContext` returning ``(item, text)`` pairs for what fails
now. Rules are declared here, beside the form metadata, and run on every save of their form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from combat_norse.crf.metadata import stored_datetime
from combat_norse.protocol.safety import expected_in_disease


@dataclass(frozen=True)
class RuleContext:
    form: str
    visit: str
    values: Mapping[str, Any]
    se_onset: datetime | None
    enrolled_at: datetime
    age_years: int | None
    visit_window: tuple[date | None, date | None]
    death_recorded: bool
    enrolled_on: date | None = None  # the enrollment's date at the site (enrolled_at's otherwise)
    item_codes: frozenset[str] = frozenset()  # the items of the form version saved


Finding = tuple[str, str]
Rule = Callable[[RuleContext], Iterator[Finding]]
RULES: dict[str, list[tuple[str, Rule]]] = {}


def rule(form: str, code: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES.setdefault(form, []).append((code, fn))
        return fn

    return register


@rule("se_resolution", "resolution_after_onset")
def _resolution_after_onset(ctx: RuleContext) -> Iterator[Finding]:
    resolved = stored_datetime(ctx.values.get("resolved_at"))
    if resolved is not None and ctx.se_onset is not None and resolved <= ctx.se_onset:
        yield "resolved_at", "SE resolution is not after the SE onset"


@rule("dose", "dose_after_enrollment")
def _dose_after_enrollment(ctx: RuleContext) -> Iterator[Finding]:
    given = stored_datetime(ctx.values.get("given_at"))
    if given is not None and given < ctx.enrolled_at:
        yield "given_at", "a study dose before enrollment"


@rule("mrs", "mrs_6_needs_death")
def _mrs_six_needs_death(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.values.get("mrs") == 6 and not ctx.death_recorded:
        yield "mrs", "mRS 6 (dead) without a death form"


@rule("gose", "gose_for_adults")
def _gose_for_adults(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.age_years is not None and ctx.age_years < 18 and "gose" in ctx.values:
        yield "gose", "GOS-E is for adults: use GOS-E Peds for a child"


@rule("gose_peds", "gose_peds_for_children")
def _gose_peds_for_children(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.age_years is not None and ctx.age_years >= 18 and "gose_peds" in ctx.values:
        yield "gose_peds", "GOS-E Peds is for children: use GOS-E for an adult"


def _outside_window(item: str) -> Rule:
    def check(ctx: RuleContext) -> Iterator[Finding]:
        raw = ctx.values.get(item)
        earliest, latest = ctx.visit_window
        if not isinstance(raw, str) or earliest is None or latest is None:
            return
        day = date.fromisoformat(raw[:10])
        if not earliest <= day <= latest:
            yield item, f"{day.isoformat()} is outside the {ctx.visit} window " \
                        f"({earliest.isoformat()} to {latest.isoformat()})"

    return check


for _form in ("mrs", "gose", "gose_peds"):
    rule(_form, f"{_form}_in_window")(_outside_window("assessed_on"))


# --------------------------------------------------------------------- issue 15: the rest of §9
def _for_children(item: str, name: str, adult_form: str) -> Rule:
    def check(ctx: RuleContext) -> Iterator[Finding]:
        if ctx.age_years is not None and ctx.age_years >= 18 and item in ctx.values:
            yield item, f"{name} is for children: use {adult_form} for an adult"

    return check


def _for_adults(item: str, name: str, child_form: str) -> Rule:
    def check(ctx: RuleContext) -> Iterator[Finding]:
        if ctx.age_years is not None and ctx.age_years < 18 and item in ctx.values:
            yield item, f"{name} is for adults{child_form}"

    return check


rule("pcpc", "pcpc_for_children")(_for_children("pcpc", "PCPC", "mRS or GOS-E"))
rule("pedsql", "pedsql_for_children")(_for_children("pedsql_total", "PedsQL", "QOLIE-31"))
rule("qolie31", "qolie31_for_adults")(_for_adults("qolie31_total", "QOLIE-31",
                                                  ": use PedsQL for a child"))  # fmt: skip
rule("moca", "moca_for_adults")(_for_adults("moca", "MoCA", ""))
for _form in ("pcpc", "neuroqol", "qolie31", "pedsql", "moca"):
    rule(_form, f"{_form}_in_window")(_outside_window("assessed_on"))


@rule("discharge", "discharge_after_enrollment")
def _discharge_after_enrollment(ctx: RuleContext) -> Iterator[Finding]:
    raw = ctx.values.get("discharged_on")
    enrolled_on = ctx.enrolled_on or ctx.enrolled_at.date()
    if isinstance(raw, str) and date.fromisoformat(raw) < enrolled_on:
        yield "discharged_on", f"discharge before enrollment ({enrolled_on.isoformat()})"


@rule("discharge", "discharge_days_within_stay")
def _days_within_stay(ctx: RuleContext) -> Iterator[Finding]:
    stay = ctx.values.get("hospital_days")
    if not isinstance(stay, int):
        return
    for item, name in (("icu_days", "ICU days"), ("ventilator_days", "ventilator days")):
        days = ctx.values.get(item)
        if isinstance(days, int) and days > stay:
            yield item, f"{name} ({days}) exceed the hospital days ({stay})"


@rule("seizure_followup", "asm_count_matches_list")
def _asm_count_matches(ctx: RuleContext) -> Iterator[Finding]:
    listed, count = ctx.values.get("asms"), ctx.values.get("asm_count")
    if isinstance(listed, list) and isinstance(count, int) and len(listed) != count:
        yield "asm_count", f"{count} ASMs counted but {len(listed)} listed"


# --------------------------------------------------------------------- issue 16: adverse events
@rule("adverse_event", "ae_expected_in_disease")
def _ae_expected_in_disease(ctx: RuleContext) -> Iterator[Finding]:
    term = ctx.values.get("term")
    listed = expected_in_disease(term) if isinstance(term, str) else None
    if listed is not None and ctx.values.get("expected_in_disease") is None \
            and "expected_in_disease" in ctx.item_codes:  # fmt: skip
        yield "expected_in_disease", f"{listed.label!r} is expected in the disease (§10): " \
                                     "mark it so it is not expedited"


@rule("dose", "dose_not_given_has_no_amount")
def _dose_not_given(ctx: RuleContext) -> Iterator[Finding]:
    held = ctx.values.get("administered")
    if held in ("held", "missed") and ctx.values.get("dose_mg") is not None:
        yield "dose_mg", f"a {held} dose with an amount: was it given?"


@rule("adverse_event", "ae_seriousness_consistent")
def _ae_seriousness(ctx: RuleContext) -> Iterator[Finding]:
    criteria = ctx.values.get("seriousness") or []
    if ctx.values.get("serious") is False and criteria:
        yield "serious", "not serious, but seriousness criteria are given"
    if ctx.values.get("grade") == 5 and ctx.values.get("outcome") not in (None, "fatal"):
        yield "outcome", "grade 5 (death) with an outcome other than fatal"


def findings(ctx: RuleContext) -> dict[tuple[str, str], str]:
    """Every failing rule of the context's form: (rule code, item) → query text."""
    out: dict[tuple[str, str], str] = {}
    for code, fn in RULES.get(ctx.form, []):
        for item, text in fn(ctx):
            out[(code, item)] = text
    return out
