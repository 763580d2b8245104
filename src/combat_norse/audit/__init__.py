"""Audit trail: append-only, hash-chained events plus row history (DESIGN.md principle 5).

Public API (import after Django is set up):

* :mod:`combat_norse.audit.api`: ``record_event``, ``audited_save``, ``audited_delete``
* :mod:`combat_norse.audit.verify`: ``verify_chain`` -> ``VerifyResult``
* :mod:`combat_norse.audit.export`: ``write_csv``, ``ExportFilter``
* :mod:`combat_norse.audit.history`: ``trial_history``, ``register_history``
* :mod:`combat_norse.audit.exceptions`: ``AuditError``, ``AppendOnlyError``, ``ReasonRequired``,
  ``TransactionRequired``
"""
