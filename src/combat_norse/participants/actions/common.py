"""What the participant actions share: who may do what, clocks, per-site numbering."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from combat_norse.core.errors import BadInput
from combat_norse.participants.models import SiteCounter
from combat_norse.sites.models import Site
from combat_norse.sites.roles import Role

CLOCK_SKEW = timedelta(minutes=5)  # bedside clocks run a little fast; more is a typing error

# Who may do what (§11, §13). Central data managers correct data but do not
# screen, consent or enroll at the bedside.
SCREENING_ROLES = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR})
CONSENT_ROLES = SCREENING_ROLES
ENROLL_ROLES = SCREENING_ROLES
FOLLOW_UP_ROLES = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR, Role.DATA_MANAGER})
ASSIGN_ROLES = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR, Role.DATA_MANAGER})
OUTCOME_ROLES = frozenset({Role.OUTCOME_ASSESSOR})
UNMASKING_RECORDER_ROLES = frozenset(
    {Role.OUTCOME_ASSESSOR, Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR, Role.DATA_MANAGER}
)
ONSET_CORRECTION_ROLES = frozenset({Role.DATA_MANAGER})


def next_number(site: Site, kind: str) -> int:
    """The next per-site sequence number of ``kind`` (screening or study), under a row lock."""
    counter, _ = SiteCounter.unscoped.get_or_create(site=site, kind=kind)
    counter = SiteCounter.unscoped.select_for_update(no_key=True).get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def as_aware(value: datetime | None) -> datetime:
    """``value`` (now when None); a time without a UTC offset is bad input."""
    if value is None:
        return timezone.now()
    if timezone.is_naive(value):
        raise BadInput("time", "must carry a UTC offset")
    return value

