"""Aggregate pages. Enrollment by site and over time (DSMB, sponsor viewer, data manager,
statistician), from ``participants.access.enrollment_counts``: blinded, no arm anywhere. The
closed report (by arm) from ``allocation.access.access_arm_aggregates``, for the roles §11
allows it (DSMB member, statistician; never the sponsor viewer or any masked reader)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from combat_norse.allocation.access import CLOSED_REPORT_ROLES, access_arm_aggregates
from combat_norse.participants.access import ENROLLMENT_AGGREGATE_ROLES, enrollment_counts
from combat_norse.web.context import page_actor, page_scope
from combat_norse.web.policy import view_policy

COHORTS = ("randomized_cohort", "observational_cohort")


@view_policy(roles=ENROLLMENT_AGGREGATE_ROLES)
def enrollment(request: HttpRequest) -> HttpResponse:
    counts = enrollment_counts(page_scope(request))

    def rows(table: dict[str, dict[str, int]]) -> list[dict[str, object]]:
        return [{"name": name, "n": [by.get(c, 0) for c in COHORTS], "total": sum(by.values())}
                for name, by in table.items()]  # fmt: skip

    total = counts["total"]
    return render(request, "web/pages/enrollment.html", {
        "total": [total.get(c, 0) for c in COHORTS], "grand_total": sum(total.values()),
        "by_site": rows(counts["by_site"]), "by_month": rows(counts["by_month"]),
    })  # fmt: skip


ARMS = ("anakinra", "tocilizumab")


@view_policy(roles=CLOSED_REPORT_ROLES)
def closed_report(request: HttpRequest) -> HttpResponse:
    """Allocations by arm in all and per site (the access function refuses a masked reader)."""
    counts = access_arm_aggregates(page_actor(request))
    return render(request, "web/pages/closed_report.html", {
        "arms": ARMS,
        "total": [counts["total"].get(arm, 0) for arm in ARMS],
        "grand_total": sum(counts["total"].values()),
        "by_site": [{"name": site, "arms": [by.get(arm, 0) for arm in ARMS],
                     "total": sum(by.values())} for site, by in counts["by_site"].items()],
        "in_error": [counts["marked_in_error"].get(arm, 0) for arm in ARMS],
    })  # fmt: skip
