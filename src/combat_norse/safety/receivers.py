"""Safety reacts to the core's and data capture's domain events inside their transactions:
a dose plan on ``randomized``; deviations, SAE clocks and lab alerts on ``form_saved``."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from combat_norse.core import events


@receiver(events.randomized, dispatch_uid="safety.plan_at_randomization")
def _plan(sender: Any, participant: Any, allocation: Any, actor: Any, **kwargs: Any) -> None:
    from combat_norse.safety.actions.treatment import plan_at_randomization

    plan_at_randomization(participant, allocation.arm, actor)


@receiver(events.form_saved, dispatch_uid="safety.on_form_saved")
def _form_saved(sender: Any, participant: Any, instance: Any, before: Any, actor: Any,
                **kwargs: Any) -> None:  # fmt: skip
    from combat_norse.safety.actions import alerts, clocks, treatment

    values = instance.values
    if "weight_kg" in values and values.get("weight_kg") != before.get("weight_kg"):
        treatment.plan_on_weight(participant, values["weight_kg"], actor)
    if instance.form == "dose":
        treatment.on_dose_saved(participant, instance, actor)
    if instance.form == "adverse_event":
        clocks.sync_clocks(participant, instance, actor)
    if instance.form in ("labs", "adverse_event", "dose"):
        alerts.evaluate_alerts(participant, actor)
