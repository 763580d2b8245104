"""Background tasks of the participants app (django-tasks; see settings.TASKS)."""

from __future__ import annotations

from django_tasks import task


@task()
def send_unmasking_notice(unmasking_id: int) -> None:
    """E-mail the coordinating centre about a deliberate unmasking."""
    from combat_norse.participants.actions import notify_unmasking

    notify_unmasking(unmasking_id)

