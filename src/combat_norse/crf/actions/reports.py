"""The unmasking report (§11; read-only, refusals audited): every unmasking record and every
outcome form instance flagged ``assessed_unmasked``, for the statistician and the data manager.
It lives in data capture because the outcome entries do (participants may not import crf)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import Reason
from combat_norse.core.refusals import read_refusals_audited
from combat_norse.crf.actions.outcomes import OUTCOME_FORMS
from combat_norse.crf.models import FormInstance
from combat_norse.crf.presenters import present_assessed_unmasked_entry
from combat_norse.participants.models import Unmasking
from combat_norse.participants.presenters import present_unmasking_entry
from combat_norse.sites.access import AccessDenied, Scope, scope_for
from combat_norse.sites.roles import Role

REPORT_ROLES = frozenset({Role.STATISTICIAN, Role.DATA_MANAGER})


def unmasking_report(actor: User | Scope) -> list[dict[str, Any]]:
    """The unmaskings (``how`` masked for a reader masked at the site), then the outcome
    entries assessed unmasked; names no arm."""
    scope = actor if isinstance(actor, Scope) else scope_for(actor)
    if not scope.has_role(REPORT_ROLES):
        denied = AccessDenied(Reason.ROLE, "needs statistician or data_manager")
        if isinstance(actor, Scope):
            raise denied
        with read_refusals_audited(actor, AuditAction.UNMASKING_REPORT):
            raise denied
    rows: list[dict[str, Any]] = []
    for u in Unmasking.unscoped.select_related("participant", "user").order_by("recorded_at"):
        rows.append(present_unmasking_entry(u, scope))
    for found in (
        FormInstance.unscoped.filter(form__in=OUTCOME_FORMS, assessed_unmasked=True)
        .select_related("participant", "visit", "assessed_by")
        .order_by("saved_at", "id")
    ):
        rows.append(present_assessed_unmasked_entry(found))
    return rows
