"""Data-capture actions, one module per noun: :mod:`.visits` (schedule, missed, the status
clock), :mod:`.forms` (save, verify, lock, unlock), :mod:`.outcomes` (assessed unmasked) and
:mod:`.reports` (the unmasking report)."""
