"""The pages' HTTP statuses of the shared errors: the one table is
:mod:`combat_norse.core.http` (shared with the API, which may not import this package)."""

from combat_norse.core.http import (
    BAD_INPUT_STATUS,
    HTTP_STATUS,
    NOT_FOUND_STATUS,
    error_body,
    error_response,
    status_for,
)

__all__ = [
    "BAD_INPUT_STATUS", "HTTP_STATUS", "NOT_FOUND_STATUS", "error_body", "error_response",
    "status_for",
]  # fmt: skip
