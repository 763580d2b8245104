"""``access_*`` reads of the allocation app: the arm only for a reader who may see it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from combat_norse.allocation.models import Allocation, RandomizationList
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, Reason
from combat_norse.core.refusals import read_refusals_audited
from combat_norse.participants.access import access_participants, may_see_arm
from combat_norse.participants.models import Participant
from combat_norse.sites.access import AccessDenied, Scope, scope_for
from combat_norse.sites.roles import Role

#: Who reads by-arm aggregates (the DSMB's closed report, §11); a sponsor viewer never does,
#: and any reader who holds a masked role is refused ``masked`` (core.masking's setting).
CLOSED_REPORT_ROLES: frozenset[str] = frozenset({Role.DSMB_MEMBER, Role.STATISTICIAN})
#: Who reads the allocation list of their sites (the pharmacist's page, ``/pharmacy/``).
PHARMACY_ROLES: frozenset[str] = frozenset({Role.PHARMACIST})


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



def access_arm_aggregates(actor: User) -> dict[str, Any]:
    """The closed report (§11): allocations by arm, in all and per site, and how many were
    marked in error, for the DSMB member and the statistician, and only while no role masks the
    reader (refusals audited ``closed_report_refused``).

    Concealment: only allocations already made are counted. Nothing here reads the list's
    unused rows, block sizes or strata, so no count says what comes next in a stratum (the
    per-stratum balance stays on the statistician's own page). No participant row either."""
    from collections import Counter

    from django.db.models import Count

    with read_refusals_audited(actor, AuditAction.CLOSED_REPORT):
        scope = scope_for(actor)
        if not scope.central_roles & CLOSED_REPORT_ROLES:
            raise AccessDenied(Reason.ROLE, "needs dsmb_member or statistician")
        if scope.masked_anywhere:
            raise AccessDenied(Reason.MASKED, "a role of this user is masked to the arm")
    total: Counter[str] = Counter()
    by_site: dict[str, dict[str, int]] = {}
    in_error: Counter[str] = Counter()
    rows = Allocation.unscoped.values("participant__site__code", "arm", "in_error") \
        .annotate(n=Count("id")).order_by("participant__site__code", "arm")  # fmt: skip
    for row in rows:
        site = by_site.setdefault(row["participant__site__code"], {})
        site[row["arm"]] = site.get(row["arm"], 0) + row["n"]
        total[row["arm"]] += row["n"]
        if row["in_error"]:
            in_error[row["arm"]] += row["n"]
    return {"total": dict(total), "by_site": by_site, "marked_in_error": dict(in_error)}


def access_pharmacy_allocations(actor: User | Scope) -> list[Participant]:
    """The randomized participants of the pharmacist's site(s), by study id (all of them),
    for the pharmacist only (refused ``role`` otherwise; the caller audits a refused read).
    The presenter shows the arm only where the reader may see it."""
    scope = actor if isinstance(actor, Scope) else scope_for(actor)
    if not scope.has_role(PHARMACY_ROLES):
        raise AccessDenied(Reason.ROLE, "needs pharmacist")
    found = (access_participants(scope, roles=PHARMACY_ROLES)
             .select_related("screening", "allocation").order_by("study_id"))  # fmt: skip
    return list(found)
