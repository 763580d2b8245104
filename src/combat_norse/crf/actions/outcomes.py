"""Outcome forms and the assessor's masking (§9, §11): an outcome form (``outcome=True`` in the
catalog) records its assessor and whether they had been unmasked for the participant when they
saved it. ``do_save_form`` sets the flag on each save; :func:`flag_outcomes_after_unmasking`
sets it on instances already saved when an unmasking is recorded late (the crf receiver of the
``unmasked`` domain event calls it inside the unmasking's transaction)."""

from __future__ import annotations

from django.contrib.auth.models import User

from combat_norse.audit.api import Actor, save_with_history
from combat_norse.crf import catalog
from combat_norse.crf.models import FormInstance
from combat_norse.participants.models import Participant, Unmasking

OUTCOME_FORMS = frozenset(f.code for f in catalog.FORMS if f.outcome)


def flag_outcomes_after_unmasking(participant: Participant, user: User, actor: Actor) -> int:
    """Flag ``assessed_unmasked`` on ``user``'s outcome form instances for ``participant``
    saved at or after the earliest time they were unmasked for them (history rows with the
    actor and the unmasking record); returns how many were flagged."""
    unmaskings = Unmasking.unscoped.filter(participant=participant, user=user)
    first = unmaskings.order_by("occurred_at", "id").first()
    if first is None:
        return 0
    latest = unmaskings.latest("id")
    flagged = 0
    for found in FormInstance.unscoped.select_for_update(no_key=True).filter(
        participant=participant,
        form__in=OUTCOME_FORMS,
        assessed_by=user,
        saved_at__gte=first.occurred_at,
        assessed_unmasked=False,
    ).order_by("id"):
        found.assessed_unmasked = True
        save_with_history(found, actor=actor,
                          reason=f"assessor unmasked (record {latest.pk})",
                          update_fields=["assessed_unmasked"])  # fmt: skip
        flagged += 1
    return flagged
