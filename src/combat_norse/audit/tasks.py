"""Background task of the audit app (django-tasks; see settings.TASKS).

``make run`` seals in the background with ``combat-norse audit seal --every 2``; a periodic
scheduler may instead enqueue :data:`seal_audit_trail` (or call
:func:`combat_norse.audit.seal.seal_pending` itself): sealing is idempotent and two sealers at
once are safe.
"""

from __future__ import annotations

from django_tasks import task


@task()
def seal_audit_trail() -> int:
    """Seal every committed audit event into the Merkle tree and sign a checkpoint."""
    from combat_norse.audit.seal import seal_pending

    return seal_pending()
