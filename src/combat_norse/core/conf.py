"""The trial settings (``COMBAT_NORSE_*``): one place for each name, default, type and check.

Django settings are read **at call time** (``override_settings`` and a changed deployment take
effect without a restart; DESIGN.md: no settings read at import). Code asks
:func:`trial_settings` for a frozen, validated :class:`TrialSettings`; it never calls
``getattr(settings, "COMBAT_NORSE_...", default)`` itself, so a default cannot differ between
two call sites and a bad value cannot silently become a default.

A bad value is reported twice: :func:`setting_errors` feeds the system checks
(``combat_norse.E101`` … ``E105``, registered by :mod:`combat_norse.core.checks`), so
``manage.py check`` and every server start fail naming the setting; and
:func:`trial_settings` raises ``ImproperlyConfigured`` if the code runs anyway (fail closed:
an unknown ``COMBAT_NORSE_ENVIRONMENT`` never becomes ``production``).

Whether role codes name real roles is checked by the sites app (``combat_norse.E003``,
``E106``, ``E107``), which owns the roles; this module imports nothing but ``django.conf``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ENVIRONMENTS: Final = ("production", "test")
"""Which randomization list is live (``allocation.models.Environment`` has the same values)."""


class SettingError(ValueError):
    """A trial setting's value is unusable; ``str(error)`` names the setting."""


@dataclass(frozen=True)
class TrialSettings:
    """The validated trial settings, read from ``django.conf.settings`` by
    :func:`trial_settings` on each call."""

    environment: str
    """``COMBAT_NORSE_ENVIRONMENT``: ``production`` or ``test`` (which list is live)."""
    masked_roles: frozenset[str]
    """``COMBAT_NORSE_MASKED_ROLES``: roles that never see arm-revealing data."""
    two_factor_roles: frozenset[str]
    """``COMBAT_NORSE_TWO_FACTOR_ROLES``: roles that must sign in with TOTP."""
    audit_export_roles: frozenset[str]
    """``COMBAT_NORSE_AUDIT_EXPORT_ROLES``: central roles that may export the audit trail."""
    regulator_days: dict[str, tuple[int, int]]
    """``COMBAT_NORSE_REGULATOR_DAYS``: per ISO country code, the calendar days a regulator
    allows for a SUSAR report, ``[fatal or life-threatening, other]``; merged over the
    protocol's table (7 and 15 days for US, CA, GB, FR, IT, SE, KR)."""


def _environment(name: str, value: object) -> str:
    if not isinstance(value, str) or value not in ENVIRONMENTS:
        raise SettingError(f"{name}: one of {', '.join(ENVIRONMENTS)}, got {_shown(value)}")
    return value


def _roles(name: str, value: object) -> frozenset[str]:
    # A bare string is iterable too: "outcome_assessor" would become a set of letters.
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise SettingError(f"{name}: a list or set of role codes, got {type(value).__name__}")
    roles = list(value)
    if not all(isinstance(role, str) and role for role in roles):
        raise SettingError(f"{name}: every role code must be a non-empty string")
    return frozenset(roles)


def _regulator_days(name: str, value: object) -> dict[str, tuple[int, int]]:
    if not isinstance(value, dict):
        raise SettingError(f"{name}: a mapping of country code to [fatal days, other days]")
    out = {}
    for country, days in value.items():
        if not isinstance(country, str) or len(country) != 2 or not country.isalpha() \
                or not country.isupper():  # fmt: skip
            raise SettingError(f"{name}: {_shown(country)} is not an ISO alpha-2 code (e.g. FR)")
        if not isinstance(days, list | tuple) or len(days) != 2 or not all(
            isinstance(d, int) and not isinstance(d, bool) for d in days
        ) or not 0 < days[0] <= days[1] <= 365:  # fmt: skip
            raise SettingError(f"{name}: {country}: [fatal days, other days], "
                               f"0 < fatal <= other <= 365, got {_shown(days)}")  # fmt: skip
        out[country] = (days[0], days[1])
    return out


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


@dataclass(frozen=True)
class _Spec:
    field: str
    setting: str
    check_id: str
    default: Any
    parse: Callable[[str, object], Any]


SPECS: Final[tuple[_Spec, ...]] = (
    _Spec("environment", "COMBAT_NORSE_ENVIRONMENT", "combat_norse.E101", "production",
          _environment),
    _Spec("masked_roles", "COMBAT_NORSE_MASKED_ROLES", "combat_norse.E102",
          frozenset({"outcome_assessor", "sponsor_viewer"}), _roles),
    _Spec("two_factor_roles", "COMBAT_NORSE_TWO_FACTOR_ROLES", "combat_norse.E103",
          frozenset({"site_coordinator", "site_investigator", "pharmacist", "data_manager",
                     "monitor", "statistician", "dsmb_member", "admin"}), _roles),
    _Spec("audit_export_roles", "COMBAT_NORSE_AUDIT_EXPORT_ROLES", "combat_norse.E104",
          frozenset({"statistician", "data_manager"}), _roles),
    _Spec("regulator_days", "COMBAT_NORSE_REGULATOR_DAYS", "combat_norse.E105", {},
          _regulator_days),
)  # fmt: skip
"""Every trial setting: dataclass field, Django setting name, check id, default, parser."""

DEFAULTS: Final[dict[str, Any]] = {spec.setting: spec.default for spec in SPECS}


def setting_value(setting: str) -> Any:
    """The parsed current value of one trial setting; :class:`SettingError` when unusable."""
    for spec in SPECS:
        if spec.setting == setting:
            return spec.parse(setting, getattr(settings, setting, spec.default))
    raise KeyError(setting)


def setting_errors() -> list[tuple[str, str]]:
    """``(check id, message)`` for every trial setting whose current value is unusable."""
    errors = []
    for spec in SPECS:
        try:
            spec.parse(spec.setting, getattr(settings, spec.setting, spec.default))
        except SettingError as exc:
            errors.append((spec.check_id, str(exc)))
    return errors


def trial_settings() -> TrialSettings:
    """The trial settings as they are now; ``ImproperlyConfigured`` naming a bad one."""
    values = {}
    for spec in SPECS:
        try:
            values[spec.field] = spec.parse(
                spec.setting, getattr(settings, spec.setting, spec.default)
            )
        except SettingError as exc:
            raise ImproperlyConfigured(f"{exc} ({spec.check_id})") from None
    return TrialSettings(**values)
