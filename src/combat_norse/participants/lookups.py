"""Unchecked lookups by identifier, for ``do_*`` actions ONLY.

An action looks its record up here, then performs (and audits) its own site and role check, so
that a refused attempt on an existing record leaves its ``<verb>_refused`` event. Faces (command
line, pages, API, exports) never import this module: they read through ``access_*`` or hand the
identifier to an action (a test scans the faces for it).
"""

from __future__ import annotations

from combat_norse.core.errors import NotFound, shown
from combat_norse.participants.models import Participant, ScreeningEntry


def screening_by_id(ref: ScreeningEntry | str) -> ScreeningEntry:
    """The screening entry ``ref`` (returned as is when it is one); NotFound otherwise."""
    if isinstance(ref, ScreeningEntry):
        return ref
    try:
        return ScreeningEntry.unscoped.select_related("site").get(
            screening_id=str(ref).strip().upper()
        )
    except ScreeningEntry.DoesNotExist:
        raise NotFound("screening_id", f"screening {shown(ref)}") from None


def participant_by_study_id(
    ref: Participant | str, *, related: tuple[str, ...] = ("site", "screening")
) -> Participant:
    """The participant ``ref`` (returned as is when it is one), read with ``related``;
    NotFound otherwise."""
    if isinstance(ref, Participant):
        return ref
    try:
        return Participant.unscoped.select_related(*related).get(
            study_id=str(ref).strip().upper()
        )
    except Participant.DoesNotExist:
        raise NotFound("study_id", f"participant {shown(ref)}") from None
