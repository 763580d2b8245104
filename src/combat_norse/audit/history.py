"""Row history (django-simple-history) for trial-data models, next to the audit trail.

The audit trail records *who changed what and why* as one chained event per write; row history
keeps *every version of the row* for the screens that show how a record looked at a time. A
data model opts in with a field::

    from combat_norse.audit.history import trial_history

    class Consent(models.Model):
        ...
        history = trial_history()

and ``makemigrations`` adds its ``Historical…`` table. :func:`trial_history` is
``HistoricalRecords`` with the change reason kept as text (simple-history's default is 100
characters, too short for the reasons of the audit trail).
:func:`combat_norse.audit.api.audited_save` and ``audited_delete`` pass the actor
(``history_user``) and the reason (``history_change_reason``) to the historical row; in a web
request the
``HistoryRequestMiddleware`` (in settings) supplies the user as well.

For a model that is not ours (no field can be added), :func:`register_history` calls
``simple_history.register`` with the history table kept in the model's own app.
"""

from __future__ import annotations

from typing import Any

from django.db import models


def trial_history(**kwargs: Any) -> Any:
    """``HistoricalRecords(**kwargs)`` with a text change reason; use as ``history = ...``."""
    from simple_history.models import HistoricalRecords

    kwargs.setdefault("history_change_reason_field", models.TextField(null=True))
    return HistoricalRecords(**kwargs)


def register_history(model: type[models.Model], **kwargs: Any) -> None:
    """Give ``model`` row history (``model.history``); run at import time of its app's models."""
    from simple_history import register

    kwargs.setdefault("app", model._meta.app_label)
    kwargs.setdefault("history_change_reason_field", models.TextField(null=True))
    register(model, **kwargs)


def has_history(model: type[models.Model]) -> bool:
    """Whether ``model`` keeps row history through django-simple-history."""
    return hasattr(model._meta, "simple_history_manager_attribute")


def history_reason_limit(model: type[models.Model]) -> int | None:
    """Max length of the model's ``history_change_reason`` (None: unlimited or no history)."""
    if not has_history(model):
        return None
    manager = getattr(model, model._meta.simple_history_manager_attribute)  # type: ignore[attr-defined]
    field = manager.model._meta.get_field("history_change_reason")
    limit: int | None = getattr(field, "max_length", None)
    return limit
