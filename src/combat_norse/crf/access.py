"""``access_*`` reads of data capture: through the participant's own access check (site, role,
assessor assignment), and never an arm-revealing form for a masked reader."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import F

from combat_norse.core.errors import Reason
from combat_norse.crf.metadata import FormDef
from combat_norse.crf.models import FormInstance, Signature, Visit
from combat_norse.participants.access import access_participant
from combat_norse.participants.models import Participant
from combat_norse.sites.access import AccessDenied, Scope, scope_for


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


def access_form(
    user: User | Scope, study_id: str, visit_code: str, form: FormDef, instance: int | None
) -> tuple[Participant, FormInstance | None]:
    """The participant and the form instance (None when never saved); a masked reader is
    refused ``masked`` on an arm-revealing form, whether or not it exists."""
    scope = _scope(user)
    participant = access_participant(scope, study_id)
    if form.arm_revealing and scope.is_masked_at(participant.site_id):
        raise AccessDenied(Reason.MASKED)
    found = FormInstance.unscoped.filter(
        participant=participant, visit__code=visit_code, form=form.code, number=instance or 1
    ).select_related("visit").first()
    return participant, found


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
