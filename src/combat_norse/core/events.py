"""Domain events: Django signals sent INSIDE the action's transaction, so a receiver's writes
commit or roll back with the change (data capture creates visits on ``enrolled``; safety starts
a dose plan on ``randomized``) and the core never imports the apps that react.

Every signal is sent with ``sender`` = the model class and these keyword arguments:

=================== ==========================================================================
signal              keyword arguments
=================== ==========================================================================
``enrolled``        ``participant``, ``actor``
``randomized``      ``participant``, ``allocation``, ``actor``
``unmasked``        ``participant``, ``user`` (the masked user), ``kind``, ``actor``
``withdrawn``       ``participant``, ``withdrawal``, ``actor``
``follow_up_ended`` ``participant``, ``status``, ``actor``
``onset_corrected`` ``participant``, ``old``, ``new`` (aware datetimes), ``actor``
``form_saved``      ``participant``, ``instance`` (the saved form), ``before`` (its values
                    before the save), ``actor``
=================== ==========================================================================

A receiver must not send e-mail or call out of the process (queue a task instead) and must not
swallow errors: an exception rolls the whole action back.
"""

from __future__ import annotations

from django.dispatch import Signal

enrolled = Signal()
randomized = Signal()
unmasked = Signal()
withdrawn = Signal()
follow_up_ended = Signal()
onset_corrected = Signal()
form_saved = Signal()
