"""What the allocation actions share: the statistician gate, seeds, the active list."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import User
from django.utils.crypto import salted_hmac

from combat_norse.allocation.models import RandomizationList
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.conf import trial_settings
from combat_norse.core.errors import Reason
from combat_norse.core.refusals import read_refusals_audited
from combat_norse.sites.access import AccessDenied, Scope, scope_for
from combat_norse.sites.roles import Role

STATISTICIAN_ROLES = frozenset({Role.STATISTICIAN})
DEFAULT_BLOCKS_PER_STRATUM = 60  # about 180 slots per stratum; the alert asks for more in time

#: Bits of a production seed, drawn from the operating system's CSPRNG. The algorithms are
#: public, so a list is concealed only by its seed: 2^128 seeds cannot be tried one by one
#: against the codes and arms that sites see.
PRODUCTION_SEED_BITS = 128


def require_statistician(actor: User | Scope) -> Scope:
    """The unblinded statistician, and only while no other role masks the user (a statistician
    who is also an outcome assessor or a sponsor viewer must not read lists or arms)."""
    scope = actor if isinstance(actor, Scope) else scope_for(actor)
    if Role.STATISTICIAN not in scope.central_roles:
        raise AccessDenied(Reason.ROLE, "needs statistician")
    if scope.masked_anywhere:
        raise AccessDenied(Reason.MASKED, "the statistician also holds a masked role")
    return scope


def check_statistician(actor: User, action: AuditAction) -> Scope:
    """The statistician-only gate for reads (verify, export, balance); a refusal is audited."""
    with read_refusals_audited(actor, action):
        return require_statistician(actor)


def seed_digest(seed: int) -> str:
    """A keyed digest of the seed (HMAC with the server's SECRET_KEY): it shows later that the
    stored seed is the one set up, yet cannot be searched back to the seed from the trail."""
    return salted_hmac("combat_norse.allocation.seed", str(seed), algorithm="sha256").hexdigest()


def random_seed() -> int:
    """A production seed: PRODUCTION_SEED_BITS bits from the operating system's CSPRNG."""
    return secrets.randbits(PRODUCTION_SEED_BITS)


def current_environment() -> str:
    """``production`` or ``test`` (COMBAT_NORSE_ENVIRONMENT); anything else is a configuration
    error, never silently production."""
    return str(trial_settings().environment)


def active_list(environment: str | None = None) -> RandomizationList | None:
    return RandomizationList.unscoped.filter(
        environment=environment or current_environment(), active=True
    ).first()
