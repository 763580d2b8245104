"""Visit schedule and safety-lab days (§8).

Outcome visits are anchored to the SE onset date (day 0) so both cohorts line up: a windowed
visit with target day ``t`` and window ``±w`` may happen on any date from ``onset + t − w`` to
``onset + t + w``, both inclusive. ``annual_N`` (N ≥ 2) has target day 365·N and window ±60.

The full visit catalogue (event visits included) is :data:`VISIT_CATALOGUE`, i.e.
``params.visits``; :func:`visit_schedule` lists the windowed ones with dates.

Safety labs (CBC with differential, ALT, AST) — interpretation of "twice weekly for 2 weeks,
then weekly while on drug" for anakinra: day 0 (baseline, the first-dose date), then days 3, 7,
10 and 14 after it, then every 7 days (21, 28, …) up to the last day on drug. For tocilizumab:
the day of each infusion (every 14 days from the first dose), the draw preceding the infusion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from combat_norse.protocol.dosing import Drug
from combat_norse.protocol.parameters import DEFAULT, ProtocolParameters, VisitDefinition, VisitKind

VISIT_CATALOGUE: Final[tuple[VisitDefinition, ...]] = DEFAULT.visits
"""Every visit of §8 in table order (``annual_N`` visits are generated, not listed)."""


@dataclass(frozen=True)
class VisitWindow:
    """A windowed visit in calendar dates: ``earliest <= target <= latest``."""

    visit: str
    target: date
    earliest: date
    latest: date

    def contains(self, day: date) -> bool:
        return self.earliest <= day <= self.latest

    def to_json(self) -> dict[str, str]:
        return {
            "visit": self.visit,
            "target": self.target.isoformat(),
            "earliest": self.earliest.isoformat(),
            "latest": self.latest.isoformat(),
        }


def _window(code: str, onset: date, target_day: int, window_days: int) -> VisitWindow:
    target = onset + timedelta(days=target_day)
    spread = timedelta(days=window_days)
    return VisitWindow(code, target, target - spread, target + spread)


def visit_schedule(
    se_onset: date, years: int = 1, params: ProtocolParameters = DEFAULT
) -> list[VisitWindow]:
    """The windowed visits from ``se_onset`` (local date, day 0) through ``annual_<years>``.

    ``years=1`` (the default) ends at ``month12``; ``years=N`` adds ``annual_2`` …
    ``annual_N``. Raises ValueError when ``years`` is below 1 or above
    ``params.max_schedule_years``, or when a date would fall outside the calendar, and
    TypeError for a datetime (pass the local calendar date of SE onset).
    """
    if isinstance(se_onset, datetime) or not isinstance(se_onset, date):
        raise TypeError("se_onset must be a date (the local calendar date of SE onset)")
    if isinstance(years, bool) or not isinstance(years, int):
        raise TypeError("years must be an int")
    if not 1 <= years <= params.max_schedule_years:
        raise ValueError(f"years must be between 1 and {params.max_schedule_years}")
    try:
        windows = [
            _window(v.code, se_onset, v.target_day, v.window_days)
            for v in params.visits
            if v.kind is VisitKind.WINDOWED
            and v.target_day is not None
            and v.window_days is not None
        ]
        windows.extend(
            _window(f"annual_{n}", se_onset, params.days_per_year * n, params.annual_window_days)
            for n in range(2, years + 1)
        )
    except OverflowError:
        raise ValueError("the schedule runs past the end of the calendar") from None
    return sorted(windows, key=lambda w: w.target)


def safety_lab_days(
    drug: Drug | str,
    first_dose: date,
    last_dose: date,
    params: ProtocolParameters = DEFAULT,
) -> tuple[date, ...]:
    """Dates of the safety labs for a participant on ``drug`` from ``first_dose`` to ``last_dose``.

    See the module docstring for the rule. Dates after ``last_dose`` are not listed (for
    tocilizumab, ``last_dose`` is the date of the last infusion given or planned).
    """
    which = Drug(drug)
    if last_dose < first_dose:
        raise ValueError("last_dose is before first_dose")
    span = (last_dose - first_dose).days
    if which is Drug.TOCILIZUMAB:
        step = params.tocilizumab_interval_hours // 24
        offsets = list(range(0, span + 1, step))
    else:
        early = [0, *params.anakinra_lab_early_days]
        weekly_from = early[-1] + params.anakinra_lab_weekly_days
        offsets = early + list(range(weekly_from, span + 1, params.anakinra_lab_weekly_days))
        offsets = [d for d in offsets if d <= span]
    return tuple(first_dose + timedelta(days=d) for d in offsets)
