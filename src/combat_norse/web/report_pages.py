"""Blinded aggregate pages: enrollment by site and over time (DSMB, sponsor viewer, data
manager, statistician), from ``participants.access.enrollment_counts``; no arm anywhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from combat_norse.participants.access import ENROLLMENT_AGGREGATE_ROLES, enrollment_counts
from combat_norse.web.context import page_scope
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
