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


Finding = tuple[str, str]
Rule = Callable[[RuleContext], Iterator[Finding]]
RULES: dict[str, list[tuple[str, Rule]]] = {}


def rule(form: str, code: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES.setdefault(form, []).append((code, fn))
        return fn

    return register


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


@rule("se_resolution", "resolution_after_onset")
def _resolution_after_onset(ctx: RuleContext) -> Iterator[Finding]:
    resolved = _when(ctx.values.get("resolved_at"))
    if resolved is not None and ctx.se_onset is not None and resolved <= ctx.se_onset:
        yield "resolved_at", "SE resolution is not after the SE onset"


@rule("dose", "dose_after_enrollment")
def _dose_after_enrollment(ctx: RuleContext) -> Iterator[Finding]:
    given = _when(ctx.values.get("given_at"))
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


def findings(ctx: RuleContext) -> dict[tuple[str, str], str]:
    """Every failing rule of the context's form: (rule code, item) → query text."""
    out: dict[tuple[str, str], str] = {}
    for code, fn in RULES.get(ctx.form, []):
        for item, text in fn(ctx):
            out[(code, item)] = text
    return out
