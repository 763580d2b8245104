"""``access_*`` reads of data capture: through the participant's own access check (site, role,
assessor assignment), and never an arm-revealing form for a masked reader."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from combat_norse.core.errors import BadInput, Reason
from combat_norse.crf.metadata import FormDef
from combat_norse.crf.models import DataQuery, FormInstance, QueryStatus, Signature, Visit
from combat_norse.participants.access import access_participant, access_participants
from combat_norse.participants.models import Participant
from combat_norse.sites.access import AccessDenied, Scope, scope_for
from combat_norse.sites.models import Site
from combat_norse.sites.roles import Role, any_masked


def _scope(user: User | Scope) -> Scope:
    return user if isinstance(user, Scope) else scope_for(user)


def access_visits(
    user: User | Scope, study_id: str
) -> tuple[Participant, list[Visit], list[FormInstance]]:
    """The participant, their visits (scheduled first, by target) and their saved forms."""
    participant = access_participant(_scope(user), study_id)
    visits = list(
        Visit.unscoped.filter(participant=participant).order_by(
            F("target").asc(nulls_last=True), "id"
        )
    )
    saved = list(
        FormInstance.unscoped.filter(participant=participant).order_by("form", "number")
    )
    return participant, visits, saved


#: The visits opened by the form saved in them (besides the scheduled ones made at enrollment
#: and the daily ``inpatient_day_N``).
EVENT_VISIT_CODES = ("se_resolution", "death", "discharge", "interview", "unscheduled")
DAY_VISIT_PREFIX = "inpatient_day_"


def check_visit_code(code: str) -> str:
    """``code`` when it has a visit code's shape (lower-case letters, digits, ``_``; at most 40),
    BadInput otherwise, before any query (PostgreSQL refuses a NUL byte in a text value)."""
    if not (0 < len(code) <= 40 and code.isascii()
            and all(c.islower() or c.isdigit() or c == "_" for c in code)):  # fmt: skip
        raise BadInput("visit", f"unknown visit {code[:40]!r}")
    return code


def is_event_or_day_code(code: str) -> bool:
    """Whether ``code`` names a visit a saved form opens (an event or an inpatient day)."""
    if code.startswith(DAY_VISIT_PREFIX):
        day = code.removeprefix(DAY_VISIT_PREFIX)
        return day.isdigit() and len(day) <= 3
    return code in EVENT_VISIT_CODES


def access_form(
    user: User | Scope, study_id: str, visit_code: str, form: FormDef, instance: int | None
) -> tuple[Participant, FormInstance | None]:
    """The participant and the form instance (None when never saved); a masked reader is
    refused ``masked`` on an arm-revealing form, whether or not it exists."""
    scope = _scope(user)
    participant = access_participant(scope, study_id)
    if form.arm_revealing and scope.is_masked_at(participant.site_id):
        raise AccessDenied(Reason.MASKED)
    check_visit_code(visit_code)
    found = FormInstance.unscoped.filter(
        participant=participant, visit__code=visit_code, form=form.code, number=instance or 1
    ).select_related("visit").first()
    if found is None and not is_event_or_day_code(visit_code) and not Visit.unscoped.filter(
        participant=participant, code=visit_code
    ).exists():
        raise BadInput("visit", f"unknown visit {visit_code[:40]!r}")
    return participant, found


# ------------------------------------------------------------------ data queries (§14)
def _arm_revealing_q() -> Q:
    """Queries on an arm-revealing form, or on an arm-revealing item of any form (every
    version of the catalog)."""
    from combat_norse.crf import catalog

    forms = sorted({f.code for f in catalog.FORMS if f.arm_revealing})
    hidden = Q(form_instance__form__in=forms)
    for f in catalog.FORMS:
        items = sorted(i.code for i in f.items if i.arm_revealing)
        if items and not f.arm_revealing:
            hidden |= Q(form_instance__form=f.code, item__in=items)
    return hidden


def access_queries(
    user: User | Scope, *, site: Site | None = None, status: str | None = None
) -> QuerySet[DataQuery]:
    """The data queries the user may read, oldest first: those on forms of the participants
    they may read (site roles at their sites, central roles everywhere, an outcome assessor only
    the participants assigned to them, aggregate-only roles none), never a query on an
    arm-revealing form or item at a site where the user is masked. ``site`` and ``status``
    filter (a site the user holds no role at gives nothing)."""
    scope = _scope(user)
    readable = access_participants(scope).values("pk")
    qs = DataQuery.unscoped.filter(form_instance__participant__in=readable).select_related(
        "form_instance__participant__site", "form_instance__visit"
    )
    if site is not None:
        qs = qs.filter(form_instance__participant__site=site)
    if status is not None:
        qs = qs.filter(status=status)
    if any_masked(scope.central_roles):
        qs = qs.exclude(_arm_revealing_q())
    else:
        masked_sites = sorted(s for s in scope.roles_by_site if scope.is_masked_at(s))
        if masked_sites:
            qs = qs.exclude(
                _arm_revealing_q() & Q(form_instance__participant__site_id__in=masked_sites)
            )
    return qs.order_by("opened_at", "id")


AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7), ("8-30", 8, 30), ("over_30", 31, None),
)  # fmt: skip


def query_counts(
    user: User | Scope, *, site: Site | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Counts of the queries the user may read (see :func:`access_queries`) for the data
    manager's follow-up: ``open`` and ``answered`` in all, and the open ones per site code, per
    form and by age (whole days since opened: ``0-7``, ``8-30``, ``over_30``)."""
    now = now or timezone.now()
    visible = access_queries(user, site=site)
    by_status = dict(
        visible.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    opened = visible.filter(status=QueryStatus.OPEN).order_by()
    by_site = dict(
        opened.values_list("form_instance__participant__site__code")
        .annotate(n=Count("id")).values_list("form_instance__participant__site__code", "n")
    )  # fmt: skip
    by_form = dict(
        opened.values_list("form_instance__form").annotate(n=Count("id"))
        .values_list("form_instance__form", "n")
    )  # fmt: skip
    by_age: dict[str, int] = {}
    for name, low, high in AGE_BUCKETS:
        window = Q(opened_at__lte=now - timedelta(days=low)) if low else Q()
        if high is not None:
            window &= Q(opened_at__gt=now - timedelta(days=high + 1))
        by_age[name] = opened.filter(window).count()
    return {
        "open": by_status.get(QueryStatus.OPEN, 0),
        "answered": by_status.get(QueryStatus.ANSWERED, 0),
        "by_site": dict(sorted(by_site.items())),
        "by_form": dict(sorted(by_form.items())),
        "by_age_days": by_age,
    }

def access_signatures(
    user: User | Scope, study_id: str
) -> tuple[Participant, list[Signature]]:
    """The participant and their signatures, oldest first (whoever may read the participant;
    the presenter hides arm-revealing covered entries from a masked reader)."""
    participant = access_participant(_scope(user), study_id)
    found = list(
        Signature.unscoped.filter(participant=participant).select_related("signer")
        .order_by("signed_at", "id")
    )  # fmt: skip
    return participant, found


# ------------------------------------------------------------------ the due-work list (§14)
def access_due(
    user: User | Scope, *, site: Site | None = None, now: datetime | None = None
) -> dict[str, list[Any]]:
    """The site's due work the user may read (§14 ``due``): visits past their window and not
    done (by each site's local date, whether or not the clock has run), forms left in progress,
    open queries, and participants with complete forms but no valid casebook signature. The
    safety app adds SAE clocks and safety labs (``safety.access.access_due_work``)."""
    from combat_norse.crf.actions.signatures import validity
    from combat_norse.crf.actions.visits import CLOSED, local_date
    from combat_norse.crf.models import FormStatus, SignatureMeaning

    scope = _scope(user)
    now = now or timezone.now()
    participants = access_participants(scope).select_related("site", "screening")
    if site is not None:
        participants = participants.filter(site=site)
    readable = {p.pk: p for p in participants}
    overdue = []
    for v in (
        Visit.unscoped.filter(participant_id__in=list(readable), latest__isnull=False)
        .exclude(status__in=CLOSED).order_by("latest", "id")
    ):  # fmt: skip
        p = readable[v.participant_id]
        if v.latest is not None and v.latest < local_date(now, p.zone):
            overdue.append(v)
    hidden_forms = {f.code for f in _catalog_forms() if f.arm_revealing}
    incomplete = [
        fi for fi in FormInstance.unscoped.filter(
            participant_id__in=list(readable), status=FormStatus.IN_PROGRESS
        ).select_related("visit", "participant").order_by("saved_at", "id")
        if not (fi.form in hidden_forms and scope.is_masked_at(readable[fi.participant_id].site_id))
    ]  # fmt: skip
    unsigned = []
    with_data = set(
        FormInstance.unscoped.filter(
            participant_id__in=list(readable), status__in=(FormStatus.COMPLETE, FormStatus.LOCKED)
        ).values_list("participant_id", flat=True)
    )
    # the casebook signatures of all of them in one read; only a signed casebook's digest is
    # recomputed (the unsigned ones are unsigned without reading their records)
    casebooks: dict[int, list[Signature]] = {}
    for sig in Signature.unscoped.filter(participant_id__in=with_data,
                                         meaning=SignatureMeaning.CASEBOOK).order_by("id"):
        casebooks.setdefault(sig.participant_id, []).append(sig)
    for pk in sorted(with_data, key=lambda k: readable[k].study_id):
        sigs = casebooks.get(pk, [])
        if not sigs or not any(validity(readable[pk], sigs).values()):
            unsigned.append(readable[pk])
    return {
        "overdue_visits": overdue,
        "incomplete_forms": incomplete,
        "open_queries": list(access_queries(scope, site=site, status=QueryStatus.OPEN)),
        "unsigned_casebooks": unsigned,
    }


def _catalog_forms() -> tuple[Any, ...]:
    from combat_norse.crf import catalog

    return catalog.FORMS


# ------------------------------------------------------------------ missing forms (issue 17)
#: Who reads the missing forms by site (the page ``/missing/``): the monitor and the data manager.
MISSING_FORMS_ROLES = frozenset({Role.MONITOR, Role.DATA_MANAGER})


@dataclass(frozen=True)
class MissingForm:
    """A form a visit expects that was never started; ``today`` is the site's local date."""

    visit: Visit
    form: FormDef
    today: date

    @property
    def days_overdue(self) -> int:
        latest = self.visit.latest  # only visits with a window are listed
        return (self.today - latest).days if latest is not None else 0


def access_missing_forms(
    user: User | Scope, *, site: Site | None = None, now: datetime | None = None
) -> list[MissingForm]:
    """Each form a visit expects (``catalog.expected_forms`` for the participant's age) with no
    saved instance, for the visits whose window has closed by the site's local date and that
    are not marked missed or not applicable (a visit marked done with a form never started
    keeps it), ordered by site, window close, study id, visit and form. For the monitor and the
    data manager only (refused ``role`` otherwise), the participants of the sites where they
    hold one of those roles (every row: a list that stops short would hide missing data; the
    API pages it); never an arm-revealing form at a site where the reader is masked."""
    from combat_norse.crf.actions.visits import local_date
    from combat_norse.crf.catalog import expected_forms
    from combat_norse.crf.models import VisitStatus

    scope = _scope(user)
    if not scope.has_role(MISSING_FORMS_ROLES):
        raise AccessDenied(Reason.ROLE, "needs monitor or data_manager")
    now = now or timezone.now()
    participants = access_participants(scope, roles=MISSING_FORMS_ROLES).select_related(
        "site", "screening")  # fmt: skip
    if site is not None:
        participants = participants.filter(site=site)
    readable = {p.pk: p for p in participants}
    today = {pk: local_date(now, p.zone) for pk, p in readable.items()}
    closed = [
        v for v in Visit.unscoped.filter(participant_id__in=list(readable), latest__isnull=False)
        .exclude(status__in=(VisitStatus.MISSED, VisitStatus.NOT_APPLICABLE))
        if v.latest is not None and v.latest < today[v.participant_id]
    ]  # fmt: skip
    started = set(FormInstance.unscoped.filter(visit_id__in=[v.pk for v in closed])
                  .values_list("visit_id", "form"))  # fmt: skip
    found = []
    for v in closed:
        p = readable[v.participant_id]
        v.participant = p
        age = p.screening.age_years
        masked = scope.is_masked_at(p.site_id)
        for f in expected_forms(v.code, age_years=int(age) if age is not None else None):
            if (v.pk, f.code) not in started and not (masked and f.arm_revealing):
                found.append(MissingForm(v, f, today[v.participant_id]))
    order = {f.code: i for i, f in enumerate(_catalog_forms())}
    found.sort(key=lambda m: (m.visit.participant.site.code, m.visit.latest, m.visit.participant
                              .study_id, m.visit.code, order[m.form.code]))  # fmt: skip
    return found


# ------------------------------------------------------------------ review worklists (§14)
#: Who works the review worklist: the monitor verifies (SDV), the data manager locks.
REVIEW_ROLES = frozenset({Role.MONITOR, Role.DATA_MANAGER})
REVIEW_STAGES = ("sdv", "lock", "locked")


def access_review_forms(
    user: User | Scope, *, site: Site | None = None, stage: str = "sdv"
) -> list[FormInstance]:
    """Saved forms waiting for review at the reader's sites, oldest save first: ``stage``
    ``sdv`` (complete or locked, not verified or changed after SDV), ``lock`` (complete and
    verified: ready to lock) or ``locked``. For the monitor and the data manager only (refused
    ``role`` otherwise), the participants of the sites where they hold one of those roles
    (every form: a worklist cut short hides work; the API pages it), never an arm-revealing
    form at a site where the reader is masked."""
    from combat_norse.crf.models import FormStatus, SdvStatus

    stages = {
        "sdv": Q(status__in=(FormStatus.COMPLETE, FormStatus.LOCKED))
        & ~Q(sdv=SdvStatus.VERIFIED),
        "lock": Q(status=FormStatus.COMPLETE, sdv=SdvStatus.VERIFIED),
        "locked": Q(status=FormStatus.LOCKED),
    }
    if stage not in stages:
        from combat_norse.core.errors import BadInput

        raise BadInput("stage", "sdv, lock or locked")
    scope = _scope(user)
    if not scope.has_role(REVIEW_ROLES):
        raise AccessDenied(Reason.ROLE, "needs monitor or data_manager")
    participants = access_participants(scope, roles=REVIEW_ROLES)
    if site is not None:
        participants = participants.filter(site=site)
    hidden_forms = {f.code for f in _catalog_forms() if f.arm_revealing}
    found = (
        FormInstance.unscoped.filter(stages[stage], participant__in=participants.values("pk"))
        .select_related("visit", "participant__site", "participant__screening")
        .order_by("saved_at", "id")
    )  # fmt: skip
    return [fi for fi in found
            if not (fi.form in hidden_forms and scope.is_masked_at(fi.participant.site_id))]


# ------------------------------------------------------------------ a participant's audit trail
#: Who reads a participant's audit trail on the pages: the data manager and the site's monitor.
AUDIT_TRAIL_ROLES = frozenset({Role.DATA_MANAGER, Role.MONITOR})


def access_participant_audit(user: User | Scope, study_id: str) -> tuple[Participant, list[Any]]:
    """The audit events of one participant (by study id and by screening id), oldest first,
    for the data manager and the monitor of its site. A reader masked at the site gets no
    arm-revealing event (``ARM_REVEALING_ACTIONS``) and no event of an arm-revealing form; the
    presenter drops arm-revealing items from the rest."""
    from combat_norse.audit.models import AuditEvent
    from combat_norse.audit.vocabulary import ARM_REVEALING_ACTIONS

    scope = _scope(user)
    participant = access_participant(scope, study_id, roles=AUDIT_TRAIL_ROLES)
    refs = [participant.study_id, participant.screening.screening_id]
    events = AuditEvent.objects.filter(participant_ref__in=refs).order_by("seq")
    if scope.is_masked_at(participant.site_id):
        events = events.exclude(action__in=sorted(a.value for a in ARM_REVEALING_ACTIONS))
        hidden_forms = sorted(f.code for f in _catalog_forms() if f.arm_revealing)
        hidden_ids = [str(pk) for pk in FormInstance.unscoped.filter(
            participant=participant, form__in=hidden_forms).values_list("pk", flat=True)]
        hidden_queries = [str(pk) for pk in DataQuery.unscoped.filter(
            _arm_revealing_q(), form_instance__participant=participant,
        ).values_list("pk", flat=True)]  # fmt: skip
        events = events.exclude(object_type=FormInstance._meta.label, object_id__in=hidden_ids)
        events = events.exclude(object_type=DataQuery._meta.label, object_id__in=hidden_queries)
    # whole: a trail cut short (it was the oldest 2000) would hide the newest changes
    return participant, list(events)
