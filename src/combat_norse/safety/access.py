"""``access_*`` reads of treatment and safety: through the participant's own access check, and
never an arm-revealing record (dose plan, dose, deviation, lab alert, drug-specific labs due)
for a reader masked at the participant's site, unless deliberately unmasked for them (§11)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from combat_norse.core.errors import Reason
from combat_norse.crf.access import access_due
from combat_norse.crf.metadata import stored_datetime
from combat_norse.crf.models import FormInstance
from combat_norse.participants.access import (
    access_participant,
    access_participants,
    refusal_names,
)
from combat_norse.participants.models import Participant, ParticipantStatus
from combat_norse.protocol.safety import (
    anakinra_labs_due,
    grade_anc,
    grade_platelets,
    grade_transaminase,
)
from combat_norse.safety.actions.common import (
    CLOCK_READ_ROLES,
    TREATMENT_READ_ROLES,
    given_doses,
)
from combat_norse.safety.models import DoseDeviation, DosePlan, LabAlert, SafetyClock
from combat_norse.sites.access import AccessDenied, Scope, scope_for
from combat_norse.sites.models import Site


def _scope(user: User | Scope) -> Scope:
    return user if isinstance(user, Scope) else scope_for(user)


def _arm_readable(scope: Scope, study_id: str) -> Participant:
    """The participant, for a reader of its treatment records: a masked reader (an assigned
    outcome assessor, even one unmasked on purpose: treatment records are not an assessor's
    work) is refused ``masked``, like the dose form; other readers need a treating role."""
    participant = access_participant(scope, study_id)
    with refusal_names(participant):
        if scope.is_masked_at(participant.site_id):
            raise AccessDenied(Reason.MASKED)
        scope.require(participant.site_id, roles=TREATMENT_READ_ROLES,
                      action="read treatment records")  # fmt: skip
    return participant


def access_treatment(
    user: User | Scope, study_id: str
) -> tuple[Participant, list[DosePlan], list[FormInstance], list[DoseDeviation]]:
    """A participant's dose plans (newest last), dose records and deviations (treating team,
    data manager, monitor; refused ``masked`` for a masked reader)."""
    participant = _arm_readable(_scope(user), study_id)
    plans = list(DosePlan.unscoped.filter(participant=participant).order_by("created_at", "id"))
    doses = list(FormInstance.unscoped.filter(participant=participant, form="dose")
                 .order_by("number"))  # fmt: skip
    deviations = list(DoseDeviation.unscoped.filter(participant=participant)
                      .select_related("dose").order_by("detected_at", "id"))  # fmt: skip
    return participant, plans, doses, deviations


def _unmasked_participants(scope: Scope, site: Site | None) -> list[Participant]:
    qs = access_participants(scope, roles=TREATMENT_READ_ROLES).select_related("screening")
    if site is not None:
        qs = qs.filter(site=site)
    return [p for p in qs if not scope.is_masked_at(p.site_id)]


def access_deviations(user: User | Scope, *, site: Site | None = None,
                      include_cleared: bool = False) -> list[DoseDeviation]:  # fmt: skip
    """Dose deviations of the participants the reader may see the arm of, oldest first."""
    scope = _scope(user)
    readable = [p.pk for p in _unmasked_participants(scope, site)]
    qs = DoseDeviation.unscoped.filter(participant_id__in=readable) \
        .select_related("participant__site", "participant__screening", "dose")  # fmt: skip
    if not include_cleared:
        qs = qs.filter(cleared_at__isnull=True)
    return list(qs.order_by("detected_at", "id"))


def access_clocks(user: User | Scope, *, site: Site | None = None,
                  include_withdrawn: bool = False) -> list[SafetyClock]:  # fmt: skip
    """SAE clocks of the participants the reader may read (site team, data manager, monitor),
    earliest due first; ``include_withdrawn`` adds the clocks of events corrected to
    non-serious (or no longer a SUSAR) before a report. Clocks carry ids and deadlines only,
    so masking does not apply."""
    scope = _scope(user)
    readable = access_participants(scope, roles=CLOCK_READ_ROLES).values("pk")
    qs = SafetyClock.unscoped.filter(participant__in=readable).select_related(
        "participant__site", "participant__screening", "adverse_event__participant")
    if site is not None:
        qs = qs.filter(participant__site=site)
    if not include_withdrawn:
        qs = qs.filter(withdrawn_at__isnull=True)
    return list(qs.order_by("due", "id"))


RESOLVED = frozenset({"recovered", "recovered_with_sequelae", "fatal"})


def access_adverse_events(user: User | Scope, *, site: Site | None = None,
                          unresolved: bool = False) -> list[FormInstance]:  # fmt: skip
    """The adverse events of the participants the reader may read (their sites, the assessor's
    assigned participants, central roles everywhere), by study id and number; ``unresolved``:
    only those still followed (an outcome other than recovered, recovered with sequelae or
    fatal)."""
    readable = access_participants(_scope(user)).values("pk")
    qs = FormInstance.unscoped.filter(participant__in=readable, form="adverse_event") \
        .select_related("participant__site", "participant__screening")  # fmt: skip
    if site is not None:
        qs = qs.filter(participant__site=site)
    rows = list(qs.order_by("participant__study_id", "number"))
    if unresolved:
        rows = [ae for ae in rows if ae.values.get("outcome") not in RESOLVED]
    return rows


def access_alerts(user: User | Scope, study_id: str) -> tuple[Participant, list[LabAlert]]:
    """A participant's standing lab alerts (arm-revealing: refused ``masked``)."""
    participant = _arm_readable(_scope(user), study_id)
    alerts = list(LabAlert.unscoped.filter(participant=participant, cleared_at__isnull=True)
                  .order_by("raised_at", "id"))  # fmt: skip
    return participant, alerts


def overdue_safety_labs(participants: Iterable[Participant],
                        now: datetime) -> list[tuple[Participant, Any]]:  # fmt: skip
    """(participant, LabsDue) for each active participant on anakinra whose safety labs are
    overdue (§10 anakinra schedule; §14: twice a week means every 3-4 days)."""
    active = {p.pk: p for p in participants if p.status == ParticipantStatus.ACTIVE}
    records: dict[int, dict[str, list[FormInstance]]] = {}
    for fi in FormInstance.unscoped.filter(participant_id__in=list(active),
                                           form__in=("dose", "labs")):  # fmt: skip
        records.setdefault(fi.participant_id, {}).setdefault(fi.form, []).append(fi)
    out = []
    for pk, forms in records.items():  # two queries in all, whatever the number of participants
        p = active[pk]
        doses = [d for d in given_doses(p, forms.get("dose", []))
                 if d.values.get("drug") == "anakinra"]  # fmt: skip
        if not doses:
            continue
        first = stored_datetime(doses[0].values["given_at"])
        last = stored_datetime(doses[-1].values["given_at"])
        if first is None or last is None:  # given_doses keeps only dated doses
            continue
        labs = [t for fi in forms.get("labs", [])
                if (t := stored_datetime(fi.values.get("collected_at"))) is not None]  # fmt: skip
        due = anakinra_labs_due(first, last, labs, now)
        if due is not None and now > due.due_by:
            out.append((p, due))
    return out


def access_due_work(user: User | Scope, *, site: Site | None = None,
                    now: datetime | None = None) -> dict[str, list[Any]]:  # fmt: skip
    """The site's due-work list (§14 ``due``): data capture's (overdue visits, forms in
    progress, open queries, unsigned casebooks) with the open SAE clocks (open or lapsed,
    unreported) and overdue safety labs (arm-revealing: only where the reader is unmasked)."""
    scope = _scope(user)
    now = now or timezone.now()
    due = access_due(scope, site=site, now=now)
    due["open_clocks"] = [c for c in access_clocks(scope, site=site)
                          if c.reported_at is None and c.withdrawn_at is None]  # fmt: skip
    due["overdue_safety_labs"] = overdue_safety_labs(_unmasked_participants(scope, site), now)
    return due


# lower limits of normal where the labs form records none (CTCAE grade 1 starts below the LLN)
ASSUMED_LLN = {"anc_per_mm3": 2000, "platelets_per_mm3": 150_000}
GRADED = (
    ("anc_per_mm3", None, "Neutrophil count decreased"),
    ("platelets_per_mm3", None, "Platelet count decreased"),
    ("alt_u_l", "alt_uln_u_l", "Alanine aminotransferase increased"),
    ("ast_u_l", "ast_uln_u_l", "Aspartate aminotransferase increased"),
)


def access_grade_suggestions(user: User | Scope, study_id: str) -> dict[str, Any]:
    """CTCAE v5 grades (§10 helpers) suggested from the participant's most recent value of
    each graded lab, with the CTCAE term to enter on an adverse event. A suggestion, never the
    grade itself: the investigator grades."""
    participant = access_participant(_scope(user), study_id)
    latest: dict[str, tuple[datetime, FormInstance]] = {}
    for fi in FormInstance.unscoped.filter(participant=participant, form="labs"):
        at = stored_datetime(fi.values.get("collected_at"))
        if at is None:
            continue
        for item, _uln, _term in GRADED:
            if fi.values.get(item) is not None and (item not in latest or at > latest[item][0]):
                latest[item] = (at, fi)
    out = []
    for item, uln_item, term in GRADED:
        if item not in latest:
            continue
        at, fi = latest[item]
        value = fi.values[item]
        if uln_item is None:
            grade = (grade_anc if item == "anc_per_mm3" else grade_platelets)(
                value, ASSUMED_LLN[item])
            basis = f"LLN assumed {ASSUMED_LLN[item]}/mm3"
        elif fi.values.get(uln_item):
            grade = grade_transaminase(value, fi.values[uln_item])
            basis = f"ULN {fi.values[uln_item]} U/L"
        else:
            continue
        out.append({"term": term, "item": item, "value": value, "grade": grade,
                    "basis": basis, "labs_instance": fi.number,
                    "collected_at": at.isoformat()})  # fmt: skip
    return {"study_id": participant.study_id, "suggestions": out}
