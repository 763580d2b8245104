"""Background tasks of the allocation app (django-tasks; see settings.TASKS)."""

from __future__ import annotations

from django_tasks import task


@task()
def send_list_alert(alert_id: int) -> None:
    """E-mail the statisticians that a stratum's randomization list runs low."""
    from combat_norse.allocation.actions import mail_statisticians

    mail_statisticians(alert_id)
