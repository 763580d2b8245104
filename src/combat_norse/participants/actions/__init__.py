"""State changes of participants (``do_*``), one module per noun (zulip's ``zerver/actions``):

- :mod:`.screening` — the screening log and each §5 decision;
- :mod:`.consent` — consent, re-consent, optional consents, ``valid_consent``;
- :mod:`.enrollment` — study ids, cohort routing, the day-8 move;
- :mod:`.follow_up` — withdrawal, death, loss to follow-up;
- :mod:`.masking` — assessor assignment, incidental and deliberate unmasking;
- :mod:`.onset` — correction of the seizure onset (cohort and stratum kept).

Outcome entries and the unmasking report belong to data capture (``combat_norse.crf``: the
outcome forms and ``crf.actions.reports``), which this app may not import.

Each action checks, changes and audits in one transaction and raises the shared errors of
:mod:`combat_norse.core.errors`; a refusal writes nothing but the audit of the attempt. The UI,
the API and the command line all call these. The names below are re-exported for callers.
"""

from combat_norse.core.errors import BadInput, Refused
from combat_norse.core.errors import BadInput as BadRequest
from combat_norse.participants.actions.common import (
    ASSIGN_ROLES,
    CONSENT_ROLES,
    ENROLL_ROLES,
    FOLLOW_UP_ROLES,
    OUTCOME_ROLES,
    SCREENING_ROLES,
    UNMASKING_RECORDER_ROLES,
)
from combat_norse.participants.actions.consent import do_record_consent, valid_consent
from combat_norse.participants.actions.enrollment import (
    do_enroll,
    do_move_to_observational,
    expire_unrandomized,
)
from combat_norse.participants.actions.follow_up import do_end_follow_up, do_withdraw
from combat_norse.participants.actions.masking import (
    do_assign_assessor,
    do_record_assessor_unmasked,
    do_unmask,
    notify_unmasking,
)
from combat_norse.participants.actions.onset import do_correct_onset
from combat_norse.participants.actions.screening import (
    check_screening_record,
    do_record_not_enrolled,
    do_rescreen,
    do_screen,
)

__all__ = [
    "ASSIGN_ROLES",
    "CONSENT_ROLES",
    "ENROLL_ROLES",
    "FOLLOW_UP_ROLES",
    "OUTCOME_ROLES",
    "SCREENING_ROLES",
    "UNMASKING_RECORDER_ROLES",
    "BadInput",
    "BadRequest",
    "Refused",
    "check_screening_record",
    "do_assign_assessor",
    "do_correct_onset",
    "do_end_follow_up",
    "do_enroll",
    "do_move_to_observational",
    "do_record_assessor_unmasked",
    "do_record_consent",
    "do_record_not_enrolled",
    "do_rescreen",
    "do_screen",
    "do_unmask",
    "do_withdraw",
    "expire_unrandomized",
    "notify_unmasking",
    "valid_consent",
]
