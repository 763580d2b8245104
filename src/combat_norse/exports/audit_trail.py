"""Who may export the audit trail, what they see, and the audit of the export itself.

The trail holds every participant's events, so an export is for a central, unmasked role
(COMBAT_NORSE_AUDIT_EXPORT_ROLES, default statistician and data manager). Events that reveal an
arm or a list (``ARM_REVEALING_ACTIONS``) keep their values, and their hashes, only for the
unblinded statistician: §11 lets no one else infer the next arm.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from combat_norse.audit.api import record_event
from combat_norse.audit.export import ExportFilter
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.conf import trial_settings
from combat_norse.core.errors import Reason
from combat_norse.core.refusals import read_refusals_audited
from combat_norse.sites.access import AccessDenied, Scope, scope_for
from combat_norse.sites.roles import Role

DEFAULT_EXPORT_ROLES = frozenset({Role.STATISTICIAN, Role.DATA_MANAGER})


def export_roles() -> frozenset[str]:
    return frozenset(trial_settings().audit_export_roles)


def check_audit_exporter(user: User) -> Scope:
    """A central holder of an export role who is masked nowhere; a refusal is audited."""
    with read_refusals_audited(user, AuditAction.EXPORT):
        scope = scope_for(user)
        allowed = export_roles()
        if not scope.central_roles & allowed:
            raise AccessDenied(Reason.ROLE, "needs " + " or ".join(sorted(allowed)))
        if scope.masked_anywhere:
            raise AccessDenied(Reason.MASKED, "the exporter holds a masked role")
        return scope


def export_filter_for(scope: Scope, **filters: Any) -> ExportFilter:
    """The export's filter; arm-revealing events are shown only to the statistician."""
    reveal = Role.STATISTICIAN in scope.central_roles and not scope.masked_anywhere
    return ExportFilter(reveal_arms=reveal, **filters)


def record_audit_export(user: User, rows: int, filters: dict[str, Any]) -> None:
    with transaction.atomic():
        record_event(actor=user, action=AuditAction.EXPORT, object_type="audit.AuditEvent",
                     changes={"rows": [None, rows], "filters": [None, filters]})  # fmt: skip
