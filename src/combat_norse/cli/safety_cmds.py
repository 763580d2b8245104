"""Treatment and safety commands of §14: ``safety clocks|report|grade``, ``alerts``,
``treatment show|plan|deviations`` and the due-work list ``due`` (same JSON, exit-status and
``--as`` rules as §13)."""

from __future__ import annotations

import argparse
from typing import Any

from combat_norse.cli.common import (
    active_user,
    add_as_option,
    audited_read,
    emit_json,
    optional_site,
    setup_django,
    translate_errors,
)

_read = audited_read


def cmd_due(args: argparse.Namespace) -> int:
    setup_django()
    from django.utils import timezone

    from combat_norse.safety.access import access_due_work
    from combat_norse.safety.presenters import present_due_work
    from combat_norse.sites.access import scope_for

    actor = active_user(args.as_user)
    with translate_errors():
        site = optional_site(args.site)
    now = timezone.now()
    due = access_due_work(scope_for(actor), site=site, now=now)
    emit_json(present_due_work(due, site.code if site is not None else None, now))
    return 0


def cmd_safety_clocks(args: argparse.Namespace) -> int:
    setup_django()
    from django.utils import timezone

    from combat_norse.safety.access import access_clocks
    from combat_norse.safety.presenters import present_clocks

    actor = active_user(args.as_user)
    with translate_errors():
        site = optional_site(args.site)
    clocks = access_clocks(actor, site=site, include_withdrawn=args.all)
    emit_json(present_clocks(clocks, timezone.now()))
    return 0


def cmd_safety_events(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.safety.access import access_adverse_events
    from combat_norse.safety.presenters import present_adverse_events
    from combat_norse.sites.access import scope_for

    actor = active_user(args.as_user)
    with translate_errors():
        site = optional_site(args.site)
    scope = scope_for(actor)
    events = access_adverse_events(scope, site=site, unresolved=args.unresolved)
    emit_json(present_adverse_events(events, scope))
    return 0


def cmd_safety_report(args: argparse.Namespace) -> int:
    setup_django()
    from django.utils import timezone

    from combat_norse.safety.actions.clocks import do_report_safety
    from combat_norse.safety.presenters import present_report

    actor = active_user(args.as_user)
    with translate_errors():
        clock = do_report_safety(actor, args.ae_id, to=args.to, at=args.at)
    emit_json(present_report(clock, timezone.now()))
    return 0


def cmd_safety_grade(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.safety.access import access_grade_suggestions

    actor = active_user(args.as_user)
    with translate_errors(), _read(actor):
        out = access_grade_suggestions(actor, args.study_id)
    emit_json(out)
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.safety.access import access_alerts
    from combat_norse.safety.presenters import present_alerts

    actor = active_user(args.as_user)
    with translate_errors(), _read(actor):
        participant, alerts = access_alerts(actor, args.study_id)
    emit_json(present_alerts(participant, alerts))
    return 0


def cmd_treatment_show(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.safety.access import access_treatment
    from combat_norse.safety.presenters import present_treatment

    actor = active_user(args.as_user)
    with translate_errors(), _read(actor):
        found = access_treatment(actor, args.study_id)
    emit_json(present_treatment(*found))
    return 0


def cmd_treatment_plan(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.safety.actions.treatment import do_update_dose_plan
    from combat_norse.safety.presenters import present_plan

    actor = active_user(args.as_user)
    with translate_errors():
        plan = do_update_dose_plan(actor, args.study_id, weight_kg=_number(args.weight_kg),
                                   reason=args.reason or "")  # fmt: skip
    emit_json(present_plan(plan))
    return 0


def _number(raw: str) -> object:
    try:
        return float(raw) if raw.strip() else raw
    except ValueError:
        return raw  # the action names weight_kg


def cmd_treatment_deviations(args: argparse.Namespace) -> int:
    setup_django()
    from combat_norse.safety.access import access_deviations
    from combat_norse.safety.presenters import present_deviation

    actor = active_user(args.as_user)
    with translate_errors():
        site = optional_site(args.site)
    rows = access_deviations(actor, site=site, include_cleared=args.all)
    emit_json({"deviations": [present_deviation(d) for d in rows]})
    return 0


_as = add_as_option


def register(sub: Any) -> None:
    p = sub.add_parser("due", help="the due-work list: overdue visits and forms, open queries, "
                       "unsigned casebooks, open SAE clocks, overdue safety labs")
    p.add_argument("--site", help="only this site")
    _as(p)
    p.set_defaults(func=cmd_due)

    safety = sub.add_parser("safety", help="SAE reporting clocks and reports (§14)")
    ss = safety.add_subparsers(dest="safety_command", required=True)
    p = ss.add_parser("clocks", help="the SAE clocks (coordinating centre 24 h, regulator)")
    p.add_argument("--site", help="only this site")
    p.add_argument("--all", action="store_true", help="also clocks withdrawn by a correction")
    _as(p)
    p.set_defaults(func=cmd_safety_clocks)
    p = ss.add_parser("report", help="record that an SAE report was sent (meets its clock)")
    p.add_argument("ae_id", help="the adverse event's id, e.g. YNH-001-AE1")
    p.add_argument("--to", required=True, choices=("coordinating_centre", "regulator"))
    p.add_argument("--at", required=True, help="when it was sent: ISO datetime with offset")
    _as(p)
    p.set_defaults(func=cmd_safety_report)
    p = ss.add_parser("events", help="the adverse-event log (follow-up until resolved)")
    p.add_argument("--site", help="only this site")
    p.add_argument("--unresolved", action="store_true", help="only events still followed")
    _as(p)
    p.set_defaults(func=cmd_safety_events)
    p = ss.add_parser("grade", help="CTCAE v5 grades suggested from a participant's labs")
    p.add_argument("study_id")
    _as(p)
    p.set_defaults(func=cmd_safety_grade)

    p = sub.add_parser("alerts", help="a participant's lab alerts (§10; treating team only)")
    p.add_argument("study_id")
    _as(p)
    p.set_defaults(func=cmd_alerts)

    treatment = sub.add_parser("treatment", help="dose plans, dose records and deviations (§7)")
    ts = treatment.add_subparsers(dest="treatment_command", required=True)
    p = ts.add_parser("show", help="the dose plan, doses, deviations and first-dose exposure")
    p.add_argument("study_id")
    _as(p)
    p.set_defaults(func=cmd_treatment_show)
    p = ts.add_parser("plan", help="recompute the dose plan for a new weight")
    p.add_argument("study_id")
    p.add_argument("--weight-kg", required=True)
    p.add_argument("--reason", help="why (required)")
    _as(p)
    p.set_defaults(func=cmd_treatment_plan)
    p = ts.add_parser("deviations", help="dose deviations (flagged, never blocking)")
    p.add_argument("--site", help="only this site")
    p.add_argument("--all", action="store_true", help="also deviations since corrected")
    _as(p)
    p.set_defaults(func=cmd_treatment_deviations)
