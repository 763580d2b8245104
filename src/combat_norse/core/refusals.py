"""The one refusal-auditing wrapper every action and guarded read uses (§13).

A refusal writes nothing but the audit of the attempt::

    attempt = Attempt.on(AuditAction.RANDOMIZE, participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        ...  # raise Refused(...) anywhere: the change rolls back, one event records the attempt

For reads (reports, exports, ``show``) :func:`read_refusals_audited` does the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import models, transaction

from combat_norse.audit.api import Actor, record_event
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import Refused

REASON_LIMIT = 500


@dataclasses.dataclass(frozen=True)
class Attempt:
    """What an audited refusal is about."""

    action: AuditAction
    object_type: str = ""
    object_id: str = ""
    site_code: str | None = None
    participant_ref: str | None = None

    @classmethod
    def on(cls, action: AuditAction, obj: models.Model) -> Attempt:
        """An attempt on a saved record; its ``audit_scope()`` names site and participant."""
        site_code, ref = None, None
        scope: Any = getattr(obj, "audit_scope", None)
        if callable(scope):
            site_code, ref = scope()
        return cls(action, obj._meta.label, str(obj.pk), site_code, ref)


def record_refusal(actor: Actor, attempt: Attempt, exc: Refused) -> None:
    """Write the ``<verb>_refused`` event of a refused attempt in its own transaction. What the
    attempt does not name (a refused read by id) comes from the refusal's ``subject``, which the
    access layer sets when it knows the record it refused."""
    object_type, object_id = attempt.object_type, attempt.object_id
    site_code, participant_ref = attempt.site_code, attempt.participant_ref
    if exc.subject is not None:
        s_type, s_id, s_site, s_ref = exc.subject
        object_type, object_id = object_type or s_type, object_id or s_id
        site_code, participant_ref = site_code or s_site, participant_ref or s_ref
    with transaction.atomic():
        record_event(
            actor=actor,
            action=attempt.action.refused,
            object_type=object_type,
            object_id=object_id,
            site_code=site_code,
            participant_ref=participant_ref,
            reason=exc.text[:REASON_LIMIT],
            changes={"code": [None, exc.code.value]},
        )


@contextmanager
def refusals_audited(actor: Actor, attempt: Attempt) -> Iterator[None]:
    """Run a change; if it is refused, the change rolls back (the caller's atomic block sits
    inside this one) and one ``<verb>_refused`` event records the attempt; the refusal then
    propagates unchanged, with its reason code."""
    try:
        yield
    except Refused as exc:
        record_refusal(actor, attempt, exc)
        raise


@contextmanager
def read_refusals_audited(actor: Actor, action: AuditAction) -> Iterator[None]:
    """For reads (reports, exports, records): a refusal leaves one ``<verb>_refused`` event."""
    with refusals_audited(actor, Attempt(action)):
        yield
