"""Mail written to files (the default backend, ``var/mail``), readable only by the server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.mail.backends.filebased import EmailBackend

from combat_norse.core.files import PRIVATE_FILE_MODE, private_dir


class PrivateFileEmailBackend(EmailBackend):
    """Django's file backend, with the directory 0700 and each message file 0600 (an
    unmasking notice or a list alert is trial data)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        private_dir(Path(self.file_path))  # type: ignore[attr-defined]  # set by the base class

    def open(self) -> bool:
        if self.stream is None:
            fd = os.open(
                self._get_filename(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE_MODE
            )
            self.stream = os.fdopen(fd, "ab")
            return True
        return False
