"""Project-wide plumbing that every app may use and that depends on no app: the trial
settings (:mod:`.conf`) and private files (:mod:`.files`, :mod:`.mail`)."""
