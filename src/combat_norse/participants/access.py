"""``access_*``: every read of participant data, scoped to the user's sites and roles.

Lookups by identifier distinguish "no such record" (:class:`NotFound`) from "exists at a site
you do not hold" (``AccessDenied("other site")``) so the command line can answer per §13; web
views turn both into 404 so that existence does not leak across sites.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, QuerySet

from combat_norse.core.errors import NotFound, Reason, Refused, shown
from combat_norse.participants.models import (
    AssessorAssignment,
    Participant,
    ScreeningEntry,
    Unmasking,
    UnmaskingKind,
)
from combat_norse.sites.access import AccessDenied, Scope, scope_for
from combat_norse.sites.roles import AGGREGATE_ROLES, PARTICIPANT_ROLES, Role


def _scope(user: User | Scope) -> Scope:
    return user if isinstance(user, Scope) else scope_for(user)


def access_screenings(
    user: User | Scope,
    roles: Iterable[str] = PARTICIPANT_ROLES,
) -> QuerySet[ScreeningEntry]:
    """Screening entries at the sites where the user holds one of ``roles``. Outcome assessors
    never see the screening log (it is not theirs to assess)."""
    scope = _scope(user)
    wanted = frozenset(roles) - {Role.OUTCOME_ASSESSOR}
    if not scope.has_role(wanted):
        return ScreeningEntry.unscoped.none()
    # the participant too: the screening log shows each entry's study id (one query, not N)
    return ScreeningEntry.unscoped.filter(scope.site_q(wanted)).select_related(
        "site", "participant"
    )


def access_screening(
    user: User | Scope, screening_id: str, *, roles: Iterable[str] = PARTICIPANT_ROLES
) -> ScreeningEntry:
    scope = _scope(user)
    try:
        entry = ScreeningEntry.unscoped.select_related("site").get(
            screening_id=screening_id.strip().upper()
        )
    except ScreeningEntry.DoesNotExist:
        raise NotFound("screening_id", f"screening {shown(screening_id)}") from None
    with refusal_names(entry):
        scope.require(
            entry.site_id,
            roles=frozenset(roles) - {Role.OUTCOME_ASSESSOR},
            action="read the screening log",
        )
    return entry


@contextmanager
def refusal_names(record: ScreeningEntry | Participant) -> Iterator[None]:
    """A refusal of a read by id names the record it refused, for the audit of the attempt
    (monitoring sees which record of another site was probed; the user is told nothing)."""
    try:
        yield
    except Refused as exc:
        site_code, ref = record.audit_scope()
        exc.subject = (record._meta.label, str(record.pk), site_code, ref)
        raise


def _assessor_only_at(scope: Scope, site_id: int, roles: frozenset[str]) -> bool:
    held = scope.roles_at(site_id) & roles
    return held == {Role.OUTCOME_ASSESSOR}


def access_participants(
    user: User | Scope,
    roles: Iterable[str] = PARTICIPANT_ROLES,
) -> QuerySet[Participant]:
    """Participants the user may read: site roles at their sites; an outcome assessor only the
    participants assigned to them; central participant roles everywhere."""
    scope = _scope(user)
    wanted = frozenset(roles)
    if not scope.has_role(wanted):
        return Participant.unscoped.none()
    qs = Participant.unscoped.filter(scope.site_q(wanted)).select_related("site")
    other_roles = wanted - {Role.OUTCOME_ASSESSOR}
    full_sites = scope.site_ids_with(other_roles)
    if full_sites is None:
        return qs
    assigned = AssessorAssignment.unscoped.filter(
        participant=OuterRef("pk"), assessor_id=scope.user_id, active=True
    )
    return qs.filter(site_id__in=sorted(full_sites)) | qs.filter(Exists(assigned))


def access_participant(
    user: User | Scope, study_id: str, *, roles: Iterable[str] = PARTICIPANT_ROLES
) -> Participant:
    """One participant by study id, checked against site, role and assessor assignment."""
    scope = _scope(user)
    wanted = frozenset(roles)
    try:
        participant = Participant.unscoped.select_related("site", "screening").get(
            study_id=study_id.strip().upper()
        )
    except Participant.DoesNotExist:
        raise NotFound("study_id", f"participant {shown(study_id)}") from None
    with refusal_names(participant):
        scope.require(participant.site_id, roles=wanted, action="read this participant")
        if _assessor_only_at(scope, participant.site_id, wanted) and not (
            AssessorAssignment.unscoped.filter(
                participant=participant, assessor_id=scope.user_id, active=True
            ).exists()
        ):
            raise AccessDenied(Reason.ROLE, "participant not assigned to this assessor")
    return participant


def may_see_arm(user: User | Scope, participant: Participant) -> bool:
    """False for masked roles at the participant's site, unless the user was deliberately
    unmasked for this participant; aggregate-only roles never read rows at all."""
    scope = _scope(user)
    if not scope.can_read_participants_at(participant.site_id):
        return False
    if not scope.is_masked_at(participant.site_id):
        return True
    if scope.user_id is None:
        return False
    return Unmasking.unscoped.filter(
        participant=participant, user_id=scope.user_id, kind=UnmaskingKind.DELIBERATE
    ).exists()


#: Who reads enrollment aggregates (blinded: counts by site, cohort and month, never by arm).
ENROLLMENT_AGGREGATE_ROLES = AGGREGATE_ROLES | {Role.DATA_MANAGER, Role.STATISTICIAN}


def enrollment_counts(user: User | Scope) -> dict[str, dict[str, Any]]:
    """Enrollment by site and over time (month of enrollment, UTC), per cohort, for the DSMB,
    the sponsor viewer, the data manager and the statistician (§11: aggregates only, blinded:
    nothing here depends on an arm). ``total`` per cohort too."""
    from django.db.models import Count
    from django.db.models.functions import TruncMonth

    scope = _scope(user)
    if not scope.has_role(ENROLLMENT_AGGREGATE_ROLES):
        raise AccessDenied(Reason.ROLE, "needs dsmb_member, sponsor_viewer, data_manager or "
                           "statistician")  # fmt: skip
    rows = Participant.unscoped.values("site__code", "cohort").annotate(n=Count("id"))
    by_site: dict[str, dict[str, int]] = {}
    total: dict[str, int] = {}
    for row in rows.order_by("site__code", "cohort"):
        by_site.setdefault(row["site__code"], {})[row["cohort"]] = row["n"]
        total[row["cohort"]] = total.get(row["cohort"], 0) + row["n"]
    by_month: dict[str, dict[str, int]] = {}
    months = Participant.unscoped.annotate(month=TruncMonth("enrolled_at")) \
        .values("month", "cohort").annotate(n=Count("id")).order_by("month", "cohort")  # fmt: skip
    for row in months:
        by_month.setdefault(row["month"].strftime("%Y-%m"), {})[row["cohort"]] = row["n"]
    return {"total": total, "by_site": by_site, "by_month": by_month}
