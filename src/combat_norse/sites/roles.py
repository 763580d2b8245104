"""Roles of §11 and the policy questions the rest of the code asks about them.

Which roles are masked is a setting (``COMBAT_NORSE_MASKED_ROLES``), read at call time through
:func:`combat_norse.core.conf.trial_settings`; code asks :func:`is_masked`, never a hard-coded
list.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models

from combat_norse.core.conf import DEFAULTS, trial_settings


class Role(models.TextChoices):
    SITE_COORDINATOR = "site_coordinator", "Site coordinator"
    SITE_INVESTIGATOR = "site_investigator", "Site investigator"
    PHARMACIST = "pharmacist", "Unblinded pharmacist"
    OUTCOME_ASSESSOR = "outcome_assessor", "Blinded outcome assessor"
    DATA_MANAGER = "data_manager", "Central data manager"
    MONITOR = "monitor", "Monitor"
    STATISTICIAN = "statistician", "Unblinded trial statistician"
    DSMB_MEMBER = "dsmb_member", "DSMB member"
    SPONSOR_VIEWER = "sponsor_viewer", "Sponsor/PI viewer"
    ADMIN = "admin", "System administrator"


# Roles whose membership is tied to one site; the others are central (all sites).
SITE_ROLES: frozenset[str] = frozenset(
    {
        Role.SITE_COORDINATOR,
        Role.SITE_INVESTIGATOR,
        Role.PHARMACIST,
        Role.OUTCOME_ASSESSOR,
        Role.MONITOR,
    }
)
CENTRAL_ROLES: frozenset[str] = frozenset(r.value for r in Role) - SITE_ROLES

# Roles that read and write participant records (row level) at all.
PARTICIPANT_ROLES: frozenset[str] = frozenset(
    {
        Role.SITE_COORDINATOR,
        Role.SITE_INVESTIGATOR,
        Role.PHARMACIST,
        Role.OUTCOME_ASSESSOR,
        Role.DATA_MANAGER,
        Role.MONITOR,
        Role.STATISTICIAN,
    }
)
# Roles that see aggregates only (no participant rows).
AGGREGATE_ROLES: frozenset[str] = frozenset({Role.DSMB_MEMBER, Role.SPONSOR_VIEWER})
# Roles that may write participant data (monitors and statisticians read).
WRITER_ROLES: frozenset[str] = frozenset(
    {
        Role.SITE_COORDINATOR,
        Role.SITE_INVESTIGATOR,
        Role.PHARMACIST,
        Role.OUTCOME_ASSESSOR,
        Role.DATA_MANAGER,
    }
)
# Treating team: the only roles that may randomize (§13).
RANDOMIZER_ROLES: frozenset[str] = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR})

# The defaults live with the other trial settings (core/conf.py); named here for readers.
DEFAULT_MASKED_ROLES: frozenset[str] = DEFAULTS["COMBAT_NORSE_MASKED_ROLES"]
# Unblinded roles and administrators must use two-factor authentication.
DEFAULT_TWO_FACTOR_ROLES: frozenset[str] = DEFAULTS["COMBAT_NORSE_TWO_FACTOR_ROLES"]


def masked_roles() -> frozenset[str]:
    return trial_settings().masked_roles


def is_masked(role: str) -> bool:
    """True when ``role`` must never receive arm-revealing data."""
    return role in masked_roles()


def any_masked(roles: Iterable[str]) -> bool:
    """True when any of ``roles`` is masked: a user is masked at a site if any role they hold
    there (site or central) is masked (fail closed)."""
    return any(is_masked(r) for r in roles)


def unmasked_central_roles() -> frozenset[str]:
    """Central roles that are not masked (statistician, data manager, DSMB member, admin, by
    default): they reach every site's data or the arms, so granting one takes a second person
    (the server operators' command line, not the web admin alone)."""
    return frozenset(r for r in CENTRAL_ROLES if not is_masked(r))


def two_factor_roles() -> frozenset[str]:
    return trial_settings().two_factor_roles


#: Why an administrator alone may not grant a role (the admin's form and the web pages say it).
TWO_PERSON_MESSAGE = (
    "Role {role} reaches every site's data or the arms: it is granted by a second person on "
    "the server's command line (combat-norse user add USERNAME --role {role}), not here."
)
