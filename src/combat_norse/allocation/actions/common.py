"""What the allocation actions share: the statistician gate, seeds, the active list."""

from __future__ import annotations

from django.utils.crypto import salted_hmac

from combat_norse.allocation.models import RandomizationList
from combat_norse.core.conf import trial_settings
from combat_norse.randomization import NEW_SEED_BITS, new_seed

DEFAULT_BLOCKS_PER_STRATUM = 60  # about 180 slots per stratum; the alert asks for more in time

#: Bits of a production seed (the pure package's ``new_seed``: the one place it is drawn).
PRODUCTION_SEED_BITS = NEW_SEED_BITS


def seed_digest(seed: int) -> str:
    """A keyed digest of the seed (HMAC with the server's SECRET_KEY): it shows later that the
    stored seed is the one set up, yet cannot be searched back to the seed from the trail."""
    return salted_hmac("combat_norse.allocation.seed", str(seed), algorithm="sha256").hexdigest()


def random_seed() -> int:
    """A production seed: PRODUCTION_SEED_BITS bits from the operating system's CSPRNG."""
    return new_seed()


def current_environment() -> str:
    """``production`` or ``test`` (COMBAT_NORSE_ENVIRONMENT); anything else is a configuration
    error, never silently production."""
    return str(trial_settings().environment)


def active_list(environment: str | None = None) -> RandomizationList | None:
    return RandomizationList.unscoped.filter(
        environment=environment or current_environment(), active=True
    ).first()
