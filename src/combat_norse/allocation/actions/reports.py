"""The statistician's balance report (allocations by arm within strata and sites)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.contrib.auth.models import User

from combat_norse.allocation.access import check_statistician
from combat_norse.allocation.models import Allocation
from combat_norse.audit.vocabulary import AuditAction


def balance_report(actor: User) -> dict[str, Any]:
    """Allocations by arm within each stratum and each site, for the statistician; allocations
    marked in error are counted (intention to treat) and listed."""
    check_statistician(actor, AuditAction.BALANCE_REPORT)
    by_stratum: dict[str, Counter[str]] = defaultdict(Counter)
    by_site: dict[str, Counter[str]] = defaultdict(Counter)
    errors = []
    total: Counter[str] = Counter()
    for a in Allocation.unscoped.select_related("participant__site").order_by("randomized_at"):
        by_stratum[a.stratum][a.arm] += 1
        by_site[a.participant.site.code][a.arm] += 1
        total[a.arm] += 1
        if a.in_error:
            errors.append(
                {"study_id": a.participant.study_id, "arm": a.arm, "reason": a.error_reason}
            )
    return {
        "total": dict(total),
        "by_stratum": {k: dict(v) for k, v in sorted(by_stratum.items())},
        "by_site": {k: dict(v) for k, v in sorted(by_site.items())},
        "marked_in_error": errors,
    }
