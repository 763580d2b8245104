"""Re-authentication with a lockout, for every action that asks a signed-in user for their
password again (deliberate unmasking, marking an allocation in error, changing a password).

Failures are counted from the audit trail itself (the ``<verb>_refused`` events whose reason is
``password``), so there is no second counter to drift from it: after REAUTH_FAILURE_LIMIT wrong
passwords within REAUTH_WINDOW for the same action, every attempt is refused, the right password
included, until the window has passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from combat_norse.audit.models import AuditEvent
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import Reason, Refused

REAUTH_FAILURE_LIMIT = 5
REAUTH_WINDOW = timedelta(minutes=30)


def reauthenticate(
    user: User, password: str, action: AuditAction, *, now: datetime | None = None
) -> None:
    """Refuse (``password``) unless ``password`` is the user's and they are not locked out of
    ``action``; the caller's refusal wrapper audits the refusal, which counts towards the lock."""
    now = now or timezone.now()
    recent = AuditEvent.objects.filter(
        actor_id=user.pk,
        action=action.refused,
        reason__startswith=Reason.PASSWORD.text,
        occurred_at__gte=now - REAUTH_WINDOW,
    ).count()
    if recent >= REAUTH_FAILURE_LIMIT:
        raise Refused(Reason.PASSWORD, "too many failed attempts; try again later")
    if not (password and user.is_active and user.check_password(password)):
        raise Refused(Reason.PASSWORD, "re-authentication failed")
