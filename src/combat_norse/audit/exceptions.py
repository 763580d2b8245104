"""Exceptions of the audit trail; all derive from :class:`AuditError`."""

from __future__ import annotations


class AuditError(Exception):
    """Base class of every audit-trail error."""


class AppendOnlyError(AuditError, RuntimeError):
    """An attempt to change or remove an audit event, or to create one outside record_event()."""


class ReasonRequired(AuditError, ValueError):
    """A change to data already saved (update or delete) was attempted without a reason."""


class TransactionRequired(AuditError, RuntimeError):
    """record_event() was called outside ``transaction.atomic()``: the event must commit or roll
    back together with the change it records (DESIGN.md principle 5)."""
