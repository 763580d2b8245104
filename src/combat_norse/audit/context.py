"""Who operates the process that writes events: the operating-system user of a command line.

The local command line is the server operators' tool: whoever runs it can read the database
anyway, and ``--as USER`` runs as any user without a password. So every event the command line
writes names the operating-system account that ran it (``os:<login>``), set once for the whole
command by :func:`combat_norse.cli.main.main` with :func:`operating`. Web requests and background
tasks leave it empty.

:func:`combat_norse.audit.api.record_event` reads :data:`operator`: an event without an actor is
recorded as the operator's (``actor_username`` = ``os:<login>``); an event with an actor keeps
the actor and stores the operator in ``AuditEvent.operator``.
"""

from __future__ import annotations

import contextvars
import getpass
from collections.abc import Iterator
from contextlib import contextmanager

OPERATOR_PREFIX = "os:"
OPERATOR_LIMIT = 150

#: The operator of the running command (``""`` outside the command line).
operator: contextvars.ContextVar[str] = contextvars.ContextVar("audit_operator", default="")


def os_operator() -> str:
    """``os:<login>`` of the operating-system user running this process (``os:unknown`` when the
    platform cannot tell)."""
    try:
        login = getpass.getuser()
    except Exception:  # no USER/LOGNAME and no passwd entry (a bare container)
        login = "unknown"
    return (OPERATOR_PREFIX + login)[:OPERATOR_LIMIT]


def current_operator() -> str:
    return operator.get()


@contextmanager
def operating(name: str) -> Iterator[None]:
    """Record ``name`` as the operator of every event written inside the block."""
    token = operator.set(name[:OPERATOR_LIMIT])
    try:
        yield
    finally:
        operator.reset(token)
