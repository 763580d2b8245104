"""Data-capture actions, one module per noun: :mod:`.visits` (schedule, missed, the status
clock) and :mod:`.forms` (save, verify, lock, unlock)."""
