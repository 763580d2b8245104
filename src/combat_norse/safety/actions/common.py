"""What the safety actions share: role sets, the participant's zone and drug facts."""

from __future__ import annotations

from collections.abc import Iterable

from combat_norse.allocation.models import Allocation
from combat_norse.crf.metadata import stored_datetime
from combat_norse.crf.models import FormInstance
from combat_norse.participants.models import Participant
from combat_norse.sites.roles import Role

# the treating team and the central unmasked roles that follow it (§11): doses, plans,
# deviations and lab alerts are arm-revealing, so a masked holder is refused in any case
TREATMENT_READ_ROLES = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR, Role.PHARMACIST,
                                  Role.DATA_MANAGER, Role.MONITOR})  # fmt: skip
PLAN_ROLES = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR, Role.PHARMACIST})
# lab alerts are e-mailed to the site's treating team only
ALERT_RECIPIENT_ROLES = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR,
                                   Role.PHARMACIST})  # fmt: skip
# SAE clocks name no drug: the site, the data manager and the monitor follow them
CLOCK_READ_ROLES = frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR, Role.DATA_MANAGER,
                              Role.MONITOR})  # fmt: skip
# the site reports to the coordinating centre (whose data manager may record its receipt);
# the coordinating centre (data manager) or the site investigator reports to the regulator
REPORT_ROLES = {
    "coordinating_centre_24h": frozenset({Role.SITE_COORDINATOR, Role.SITE_INVESTIGATOR,
                                          Role.DATA_MANAGER}),
    "regulator": frozenset({Role.DATA_MANAGER, Role.SITE_INVESTIGATOR}),
}  # fmt: skip


def given_doses(participant: Participant,
                records: Iterable[FormInstance] | None = None) -> list[FormInstance]:  # fmt: skip
    """The participant's dose records of doses given (not held or missed), by time given
    (``records``: the dose records already read, else they are read here)."""
    if records is None:
        records = FormInstance.unscoped.filter(participant=participant, form="dose")
    doses = [
        fi for fi in records
        if fi.values.get("administered", "given") == "given"
        and stored_datetime(fi.values.get("given_at"))
    ]  # fmt: skip
    return sorted(doses, key=lambda fi: (stored_datetime(fi.values["given_at"]), fi.pk))


def allocated_arm(participant: Participant) -> str | None:
    """The randomized arm (None: observational, not yet randomized, or allocated in error)."""
    found = Allocation.unscoped.filter(participant=participant, in_error=False).first()
    return found.arm if found is not None else None
