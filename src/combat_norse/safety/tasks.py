"""Background tasks of the safety app (django-tasks; see settings.TASKS)."""

from __future__ import annotations

from django_tasks import task


@task()
def send_clock_alert(clock_id: int) -> None:
    """E-mail the site and the coordinating centre that an SAE clock is about to lapse."""
    from combat_norse.safety.actions.clocks import mail_clock_alert

    mail_clock_alert(clock_id)


@task()
def send_lab_alert(alert_id: int) -> None:
    """E-mail the site's treating team a lab alert (once)."""
    from combat_norse.safety.actions.alerts import mail_lab_alert

    mail_lab_alert(alert_id)
