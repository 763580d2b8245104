"""``access_*`` reads of the allocation app: the arm only for a reader who may see it."""

from __future__ import annotations

from django.contrib.auth.models import User

from combat_norse.allocation.models import Allocation
from combat_norse.core.errors import Reason
from combat_norse.participants.access import may_see_arm
from combat_norse.participants.models import Participant
from combat_norse.sites.access import AccessDenied, Scope


def access_allocation(user: User | Scope, participant: Participant) -> Allocation | None:
    """The participant's allocation for a reader who may see the arm; masked readers get
    AccessDenied("masked") whether or not one exists, so absence does not leak either."""
    if not may_see_arm(user, participant):
        raise AccessDenied(Reason.MASKED)
    return Allocation.unscoped.filter(participant=participant).first()

