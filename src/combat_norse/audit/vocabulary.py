"""The closed vocabulary of audit actions (zulip's ``AuditLogEventType``).

Every event's ``action`` is a member of :class:`AuditAction`; ``record_event`` refuses any other
value, so a new kind of change is added here first, with one line saying what it records. An
attempt refused by a rule or a permission is recorded as ``<verb>_refused`` (§13):
it changed nothing but the trail.
"""

from __future__ import annotations

import enum


class AuditAction(enum.StrEnum):
    # rows edited through the admin or a generic tool (changes: field -> [old, new])
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    # screening, consent, enrollment (§3-§6)
    SCREEN = "screen"  # a patient entered the screening log with the §5 decision
    RESCREEN = "rescreen"  # the screening record was re-evaluated with new data
    NOT_ENROLLED = "not_enrolled"  # why a screened patient was not enrolled (CONSORT)
    CONSENT = "consent"  # a signed consent (or re-consent) was recorded
    ENROLL = "enroll"  # a participant was enrolled; study id issued, cohort routed
    COHORT_MOVE = "cohort_move"  # a randomized-cohort participant moved to observational
    ONSET_CORRECT = "onset_correct"  # the SE onset was corrected (data manager)
    # follow-up
    WITHDRAW = "withdraw"  # a participant withdrew (scope, effective time)
    END_FOLLOW_UP = "end_follow_up"  # follow-up ended (died, lost to follow-up, withdrawn)
    OUTCOME = "outcome"  # an outcome assessment was recorded
    OUTCOME_FLAG = "outcome_flag"  # an outcome was flagged assessed_unmasked
    # masking (§11)
    ASSIGN_ASSESSOR = "assign_assessor"  # an outcome assessor was assigned to a participant
    RECORD_UNMASKING = "record_unmasking"  # an assessor learned a participant's arm
    UNMASK = "unmask"  # a masked user was unmasked on purpose (reason, re-authentication)
    UNMASKING_NOTIFIED = "unmasking_notified"  # the coordinating centre was e-mailed
    # randomization lists and allocation (§6, §13)
    RANDOMIZATION_SETUP = "randomization_setup"  # a list was generated (seed digest, design)
    LIST_EXTEND = "list_extend"  # blocks were added to a list
    LIST_RETIRE = "list_retire"  # a list was retired
    LIST_ALERT = "list_alert"  # a stratum's list runs low; statisticians alerted
    LIST_VERIFY = "list_verify"  # the stored list was checked against its seed
    RANDOMIZE = "randomize"  # a participant was allocated an arm (arm-revealing)
    ALLOCATION_ERROR = "allocation_error"  # an allocation was marked as given in error
    # reports and exports
    EXPORT = "export"  # data left the system as a file (what, filters)
    LIST_EXPORT = "list_export"  # the statistician exported a randomization list
    BALANCE_REPORT = "balance_report"  # the statistician read the balance report
    UNMASKING_REPORT = "unmasking_report"  # the unmasking report was read
    CLOSED_REPORT = "closed_report"  # by-arm aggregates read (DSMB closed report, §11)
    # accounts
    USER_CREATE = "user_create"  # a user account was created (one-time password)
    ROLE_GRANT = "role_grant"  # a role (membership) was granted
    ROLE_REVOKE = "role_revoke"  # a role (membership) was withdrawn
    PASSWORD_RESET = "password_reset"  # noqa: S105 — a password was set by someone else (must change)
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 — a user changed their own password
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"  # no password recorded
    LOGOUT = "logout"
    TWO_FACTOR_ENROLLED = "two_factor_enrolled"
    TWO_FACTOR_FAILED = "two_factor_failed"
    MEMBERSHIP_CHANGE = "membership_change"  # a grant edited in the admin
    # data capture (§14)
    VISIT_MISSED = "visit_missed"  # a visit declared missed, with a reason
    FORM_SAVE = "form_save"  # a form's items saved (changes: item -> [old, new])
    FORM_VERIFY = "form_verify"  # source data verified by a monitor
    FORM_LOCK = "form_lock"  # a form locked by the data manager
    FORM_UNLOCK = "form_unlock"  # a form unlocked (reason required)
    QUERY_OPEN = "query_open"  # a data query opened (by a rule or by hand)
    QUERY_CLOSE = "query_close"  # a data query closed (by the rule when corrected, or by hand)
    QUERY_ANSWER = "query_answer"  # the site answered a data query (text kept as a message)
    QUERY_REOPEN = "query_reopen"  # an answered or closed data query was opened again
    # treatment and safety (§7, §10, §14)
    DOSE_PLAN = "dose_plan"  # a suggested regimen started or replaced (arm-revealing)
    DOSE_DEVIATION = "dose_deviation"  # a dose deviation flagged or cleared (arm-revealing)
    SAFETY_CLOCK = "safety_clock"  # an SAE clock opened, moved or withdrawn
    SAFETY_REPORT = "safety_report"  # a report to the coordinating centre or a regulator
    SAFETY_CLOCK_ALERT = "safety_clock_alert"  # the one alert before a clock lapses was sent
    SAFETY_CLOCK_LAPSED = "safety_clock_lapsed"  # a clock passed its due time unreported
    LAB_ALERT = "lab_alert"  # a §10 lab alert raised or cleared (arm-revealing)
    LAB_ALERT_SENT = "lab_alert_sent"  # the treating team was e-mailed a lab alert
    # the audit trail itself (issue 19)
    TRAIL_START = "trail_start"  # the first seal created the trail id and its signing key
    # refused attempts (a refusal writes nothing but this event)
    DOSE_PLAN_REFUSED = "dose_plan_refused"
    SAFETY_REPORT_REFUSED = "safety_report_refused"
    SCREEN_REFUSED = "screen_refused"
    RESCREEN_REFUSED = "rescreen_refused"
    NOT_ENROLLED_REFUSED = "not_enrolled_refused"
    CONSENT_REFUSED = "consent_refused"
    ENROLL_REFUSED = "enroll_refused"
    COHORT_MOVE_REFUSED = "cohort_move_refused"
    ONSET_CORRECT_REFUSED = "onset_correct_refused"
    WITHDRAW_REFUSED = "withdraw_refused"
    END_FOLLOW_UP_REFUSED = "end_follow_up_refused"
    OUTCOME_REFUSED = "outcome_refused"
    ASSIGN_ASSESSOR_REFUSED = "assign_assessor_refused"
    RECORD_UNMASKING_REFUSED = "record_unmasking_refused"
    UNMASK_REFUSED = "unmask_refused"
    RANDOMIZATION_SETUP_REFUSED = "randomization_setup_refused"
    LIST_EXTEND_REFUSED = "list_extend_refused"
    LIST_RETIRE_REFUSED = "list_retire_refused"
    LIST_VERIFY_REFUSED = "list_verify_refused"
    RANDOMIZE_REFUSED = "randomize_refused"
    ALLOCATION_ERROR_REFUSED = "allocation_error_refused"
    EXPORT_REFUSED = "export_refused"
    LIST_EXPORT_REFUSED = "list_export_refused"
    BALANCE_REPORT_REFUSED = "balance_report_refused"
    UNMASKING_REPORT_REFUSED = "unmasking_report_refused"
    CLOSED_REPORT_REFUSED = "closed_report_refused"
    VISIT_MISSED_REFUSED = "visit_missed_refused"
    FORM_SAVE_REFUSED = "form_save_refused"
    FORM_VERIFY_REFUSED = "form_verify_refused"
    FORM_LOCK_REFUSED = "form_lock_refused"
    FORM_UNLOCK_REFUSED = "form_unlock_refused"
    READ_REFUSED = "read_refused"  # a scoped read (show, list) was refused
    USER_CREATE_REFUSED = "user_create_refused"
    ROLE_GRANT_REFUSED = "role_grant_refused"
    ROLE_REVOKE_REFUSED = "role_revoke_refused"
    PASSWORD_RESET_REFUSED = "password_reset_refused"  # noqa: S105
    # a password change with a wrong current password (re-authentication failed)
    PASSWORD_CHANGED_REFUSED = "password_changed_refused"  # noqa: S105
    # data queries raised (query_open), answered, closed or reopened by hand (§14)
    QUERY_OPEN_REFUSED = "query_open_refused"
    QUERY_ANSWER_REFUSED = "query_answer_refused"
    QUERY_CLOSE_REFUSED = "query_close_refused"
    QUERY_REOPEN_REFUSED = "query_reopen_refused"

    # electronic signatures (§14, 21 CFR 11.50/11.200)
    SIGN = "sign"  # a site investigator signed eligibility or a casebook (re-authenticated)
    SIGNATURE_INVALIDATED = "signature_invalidated"  # signed data changed after the signature
    SIGN_REFUSED = "sign_refused"

    # personal API tokens (issue 18): the secret is never recorded, only its public prefix
    TOKEN_CREATE = "token_create"  # noqa: S105 — a token was issued (prefix, user, expiry)
    TOKEN_REVOKE = "token_revoke"  # noqa: S105 — a token was revoked
    TOKEN_REFUSED = "token_refused"  # noqa: S105 — an expired or revoked token was presented
    TOKEN_NEW_ADDRESS = "token_new_address"  # noqa: S105 — first use of a token from an address

    @property
    def refused(self) -> AuditAction:
        """The ``<verb>_refused`` action for this verb (ValueError if there is none)."""
        if self.value.endswith("_refused"):
            return self
        return AuditAction(f"{self.value}_refused")


#: Events whose changes reveal an arm, a list's content or the next allocation (§11): an export
#: shows their values only to the unblinded statistician, and withholds their hashes from
#: everyone else (with two arms, a hash over the arm would give the arm away).
ARM_REVEALING_ACTIONS: frozenset[AuditAction] = frozenset(
    {
        AuditAction.RANDOMIZE,
        AuditAction.ALLOCATION_ERROR,
        AuditAction.RANDOMIZATION_SETUP,
        AuditAction.LIST_EXTEND,
        AuditAction.LIST_RETIRE,
        AuditAction.LIST_ALERT,
        AuditAction.LIST_EXPORT,
        AuditAction.UNMASK,
        AuditAction.DOSE_PLAN,
        AuditAction.DOSE_DEVIATION,
        AuditAction.LAB_ALERT,
        AuditAction.LAB_ALERT_SENT,
    }
)


def audit_action(value: AuditAction | str) -> AuditAction:
    """``value`` as a member of the vocabulary; ValueError naming it otherwise."""
    try:
        return AuditAction(value)
    except ValueError:
        raise ValueError(f"unknown audit action {value!r}: add it to AuditAction") from None
