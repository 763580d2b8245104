"""``access_*`` reads of the allocation app: the arm only for a reader who may see it."""

from __future__ import annotations

from django.contrib.auth.models import User

from combat_norse.allocation.models import Allocation, RandomizationList
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, Reason
from combat_norse.core.refusals import read_refusals_audited
from combat_norse.participants.access import may_see_arm
from combat_norse.participants.models import Participant
from combat_norse.sites.access import AccessDenied, Scope, scope_for
from combat_norse.sites.roles import Role


def require_statistician(actor: User | Scope) -> Scope:
    """The unblinded statistician, and only while no other role masks the user (a statistician
    who is also an outcome assessor or a sponsor viewer must not read lists or arms)."""
    scope = actor if isinstance(actor, Scope) else scope_for(actor)
    if Role.STATISTICIAN not in scope.central_roles:
        raise AccessDenied(Reason.ROLE, "needs statistician")
    if scope.masked_anywhere:
        raise AccessDenied(Reason.MASKED, "the statistician also holds a masked role")
    return scope


def check_statistician(actor: User, action: AuditAction) -> Scope:
    """The statistician-only gate for reads (verify, export, balance); a refusal is audited."""
    with read_refusals_audited(actor, action):
        return require_statistician(actor)


def access_active_list(
    actor: User, action: AuditAction, environment: str | None = None
) -> RandomizationList:
    """The active list of ``environment`` (the configured one by default), for the statistician
    only: the gate comes first, so nobody else learns whether a list exists (refusal audited
    as ``<action>_refused``); bad input when there is none."""
    from combat_norse.allocation.actions.common import active_list

    check_statistician(actor, action)
    rlist = active_list(environment)
    if rlist is None:
        raise BadInput("environment", f"no active list ({environment or 'the configured one'})")
    return rlist


def access_allocation(user: User | Scope, participant: Participant) -> Allocation | None:
    """The participant's allocation for a reader who may see the arm; masked readers get
    AccessDenied("masked") whether or not one exists, so absence does not leak either."""
    if not may_see_arm(user, participant):
        raise AccessDenied(Reason.MASKED)
    return Allocation.unscoped.filter(participant=participant).first()

