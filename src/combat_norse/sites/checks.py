"""System checks (DESIGN.md principle 7): misconfiguration fails ``manage.py check``.

- combat_norse.E001: a model of a trial-data app does not declare ``arm_revealing``.
- combat_norse.E002: a model of a trial-data app has a manager named ``objects`` (participant
  data is read only through ``access_*`` functions; the manager is named ``unscoped``).
- combat_norse.E003: COMBAT_NORSE_MASKED_ROLES names an unknown role or leaves outcome
  assessors unmasked (the registration masks them).
- combat_norse.E106: COMBAT_NORSE_TWO_FACTOR_ROLES names an unknown role.
- combat_norse.E107: COMBAT_NORSE_AUDIT_EXPORT_ROLES names an unknown role, or a masked one
  (the trail holds the arms; a masked exporter would always be refused).

The type of each trial setting is checked by combat_norse.core (E101 … E104); these checks
look at role codes, which this app owns, and skip a setting whose type is already wrong.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.checks import Error, register

from combat_norse.core.conf import SettingError, setting_value
from combat_norse.core.masking import declaration_of, trial_data_app_labels
from combat_norse.sites.roles import Role


@register()
def check_trial_data_models(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    # Django passes the apps to inspect (`manage.py check LABEL`); None means all of them.
    configs = apps.get_app_configs() if app_configs is None else app_configs
    for config in configs:
        if config.label not in trial_data_app_labels():
            continue
        for model in config.get_models():
            if model._meta.auto_created or getattr(model, "__module__", "").endswith("history"):
                continue
            if model.__name__.startswith("Historical"):
                continue
            if declaration_of(model) is None:
                errors.append(
                    Error(
                        f"{model._meta.label} does not declare arm_revealing",
                        hint="Add `arm_revealing = ArmRevealing(...)` or NOT_ARM_REVEALING.",
                        obj=model,
                        id="combat_norse.E001",
                    )
                )
            if any(m.name == "objects" for m in model._meta.managers):
                errors.append(
                    Error(
                        f"{model._meta.label} has a manager named 'objects'",
                        hint="Name it `unscoped` and read through access_* functions.",
                        obj=model,
                        id="combat_norse.E002",
                    )
                )
    return errors


def _configured_roles(setting: str) -> frozenset[str] | None:
    """The role codes a setting holds now, or None when its type is wrong (E102–E104)."""
    try:
        roles: frozenset[str] = setting_value(setting)
    except SettingError:
        return None
    return roles


def _unknown(roles: frozenset[str]) -> list[str]:
    return sorted(roles - {r.value for r in Role})


@register()
def check_masked_roles(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    masked = _configured_roles("COMBAT_NORSE_MASKED_ROLES")
    if masked is None:
        return []
    errors = []
    if unknown := _unknown(masked):
        errors.append(
            Error(
                f"COMBAT_NORSE_MASKED_ROLES names unknown roles {unknown}", id="combat_norse.E003"
            )
        )
    if Role.OUTCOME_ASSESSOR not in masked:
        errors.append(
            Error(
                "COMBAT_NORSE_MASKED_ROLES must include outcome_assessor "
                "(the registration masks outcome assessors)",
                id="combat_norse.E003",
            )
        )
    return errors


@register()
def check_two_factor_and_export_roles(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    two_factor = _configured_roles("COMBAT_NORSE_TWO_FACTOR_ROLES")
    if two_factor is not None and (unknown := _unknown(two_factor)):
        errors.append(
            Error(
                f"COMBAT_NORSE_TWO_FACTOR_ROLES names unknown roles {unknown}",
                id="combat_norse.E106",
            )
        )
    export = _configured_roles("COMBAT_NORSE_AUDIT_EXPORT_ROLES")
    if export is not None and (unknown := _unknown(export)):
        errors.append(
            Error(
                f"COMBAT_NORSE_AUDIT_EXPORT_ROLES names unknown roles {unknown}",
                id="combat_norse.E107",
            )
        )
    masked = _configured_roles("COMBAT_NORSE_MASKED_ROLES")
    if export is not None and masked is not None and (both := sorted(export & masked)):
        errors.append(
            Error(
                f"COMBAT_NORSE_AUDIT_EXPORT_ROLES names masked roles {both} "
                "(the audit trail reveals arms)",
                id="combat_norse.E107",
            )
        )
    return errors
