"""Reports of the participants app (read-only; refusals audited)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import Reason
from combat_norse.core.refusals import read_refusals_audited
from combat_norse.participants.models import OutcomeAssessment, Unmasking
from combat_norse.participants.presenters import present_unmasking_entry
from combat_norse.sites.access import AccessDenied, Scope, scope_for
from combat_norse.sites.roles import Role


def unmasking_report(actor: User | Scope) -> list[dict[str, Any]]:
    """Every unmasking record and every outcome entry flagged ``assessed_unmasked``, for the
    statistician and the data manager (names no arm)."""
    scope = actor if isinstance(actor, Scope) else scope_for(actor)
    if not scope.has_role({Role.STATISTICIAN, Role.DATA_MANAGER}):
        denied = AccessDenied(Reason.ROLE, "needs statistician or data_manager")
        if isinstance(actor, Scope):
            raise denied
        with read_refusals_audited(actor, AuditAction.UNMASKING_REPORT):
            raise denied
    rows: list[dict[str, Any]] = []
    for u in Unmasking.unscoped.select_related("participant", "user").order_by("recorded_at"):
        rows.append(present_unmasking_entry(u, scope))  # `how` masked for masked readers
    for o in OutcomeAssessment.unscoped.filter(assessed_unmasked=True).select_related(
        "participant", "assessed_by"
    ):
        rows.append(
            {
                "type": "assessed_unmasked",
                "study_id": o.participant.study_id,
                "user": o.assessed_by.get_username(),
                "visit": o.visit,
                "instrument": o.instrument,
                "occurred_at": o.assessed_at.isoformat(),
            }
        )
    return rows
