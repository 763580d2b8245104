"""System checks of the trial settings (DESIGN.md principle 7): ``combat_norse.E101`` …
``E104``, one per setting of :data:`combat_norse.core.conf.SPECS`, fail ``manage.py check``
(and every server start) when a value is unusable."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from combat_norse.core.conf import setting_errors


@register()
def check_trial_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return [
        Error(message, hint="See combat_norse.core.conf for each setting's type.", id=check_id)
        for check_id, message in setting_errors()
    ]
