"""Data capture reacts to the core's domain events inside the action's transaction: visits are
scheduled on ``enrolled``, re-windowed on ``onset_corrected`` and closed on ``follow_up_ended``
(the core imports nothing of this app)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from combat_norse.core import events
from combat_norse.crf.actions.visits import (
    close_after_end,
    create_visits,
    local_date,
    recompute_windows,
)


@receiver(events.enrolled, dispatch_uid="crf.schedule_visits")
def _schedule(sender: Any, participant: Any, actor: Any, **kwargs: Any) -> None:
    create_visits(participant, actor)


@receiver(events.onset_corrected, dispatch_uid="crf.rewindow_visits")
def _rewindow(sender: Any, participant: Any, actor: Any, **kwargs: Any) -> None:
    participant.screening.refresh_from_db()
    recompute_windows(participant, actor, reason="SE onset corrected")


@receiver(events.follow_up_ended, dispatch_uid="crf.close_visits")
def _close(sender: Any, participant: Any, actor: Any, **kwargs: Any) -> None:
    if participant.ended_at is not None:
        close_after_end(participant, actor, local_date(participant.ended_at, participant.zone))


@receiver(events.onset_corrected, dispatch_uid="crf.note_invalidated_signatures")
def _signatures(sender: Any, participant: Any, actor: Any, **kwargs: Any) -> None:
    from combat_norse.crf.actions.signatures import note_invalidated

    participant.screening.refresh_from_db()
    note_invalidated(actor, participant)


@receiver(events.unmasked, dispatch_uid="crf.flag_outcomes")
def _flag_outcomes(sender: Any, participant: Any, user: Any, actor: Any, **kwargs: Any) -> int:
    """Outcome forms the unmasked user saved from the unmasking on: ``assessed_unmasked``."""
    from combat_norse.crf.actions.outcomes import flag_outcomes_after_unmasking

    return flag_outcomes_after_unmasking(participant, user, actor)
