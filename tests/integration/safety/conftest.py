"""Safety tests share data capture's in-process runner and form-save fixture."""

from __future__ import annotations

from tests.integration.crf.conftest import run, save

__all__ = ["run", "save"]
