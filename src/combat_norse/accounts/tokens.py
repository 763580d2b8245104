"""Personal API tokens (issue 18): created, listed, revoked and checked here, for the API and
for the ``token`` command and the ``/me/tokens/`` page (faces never touch the model).

A token reads ``cn_<prefix>_<secret>``: ``prefix`` (8 hex characters) finds the row, ``secret``
is ``secrets.token_urlsafe(32)`` (256 bits). Only ``sha256(token)`` is stored, so the token is
shown once, at creation, and a copy of the database gives no usable token. Creation,
revocation, a use after expiry or revocation, and the first use from each client address are
audited (``token_*`` actions).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from combat_norse.accounts.models import ApiToken
from combat_norse.audit.api import Actor, record_event
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, NotFound, shown

DEFAULT_DAYS = 90
MAX_DAYS = 366
PREFIX_HEX = 8
#: draws of a public prefix before giving up (a collision is about 1 in 4 x 10^9 per draw)
PREFIX_DRAWS = 5
MAX_ADDRESSES = 50  # addresses remembered per token (the oldest is forgotten first)
_PREFIX = re.compile(f"[0-9a-f]{{{PREFIX_HEX}}}")  # as secrets.token_hex draws it


class TokenRejected(Exception):
    """The token is missing, malformed, unknown, expired or revoked; ``str`` says which (never
    whose)."""


@dataclass(frozen=True)
class NewToken:
    row: ApiToken
    token: str  # the whole token: shown once, never stored


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _expiry_days(days: int | None) -> int:
    if days is None:
        return DEFAULT_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise BadInput("expires_days", f"expires_days: a whole number of days from 1 to {MAX_DAYS}")
    return days


def do_create_token(actor: Actor, user: User, *, expires_days: int | None = None,
                    now: datetime | None = None) -> NewToken:  # fmt: skip
    """A new token for ``user`` (created by ``actor``: the user on the page, the server's
    operator on the command line); audited ``token_create``."""
    days = _expiry_days(expires_days)
    now = now or timezone.now()
    for attempt in range(PREFIX_DRAWS):
        prefix = secrets.token_hex(PREFIX_HEX // 2)
        token = f"cn_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                row = ApiToken.objects.create(user=user, prefix=prefix, digest=digest(token),
                                              created_at=now,
                                              expires_at=now + timedelta(days=days))  # fmt: skip
                record_event(actor=actor, action=AuditAction.TOKEN_CREATE, obj=row,
                             changes={"prefix": [None, prefix], "user": [None, user.username],
                                      "expires_at": [None, row.expires_at]})  # fmt: skip
        except IntegrityError:
            # another token holds this public prefix (about 1 in 4 x 10^9): draw again
            if attempt + 1 == PREFIX_DRAWS or not ApiToken.objects.filter(prefix=prefix).exists():
                raise
            continue
        return NewToken(row, token)
    raise AssertionError("unreachable")  # pragma: no cover


def tokens_of(user: User) -> QuerySet[ApiToken]:
    """A user's tokens, newest first (prefix and dates only: the token is not kept)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def do_revoke_token(actor: Actor, user: User, prefix: str,
                    now: datetime | None = None) -> ApiToken:  # fmt: skip
    """Revoke ``user``'s token ``prefix`` (NotFound for another user's or an unknown one);
    revoking a revoked token changes nothing. Audited ``token_revoke``."""
    with transaction.atomic():
        row = ApiToken.objects.select_for_update().filter(user=user, prefix=prefix).first()
        if row is None:
            raise NotFound("prefix", f"token {shown(prefix)!r}")
        if row.revoked_at is None:
            row.revoked_at = now or timezone.now()
            row.save(update_fields=["revoked_at"])
            record_event(actor=actor, action=AuditAction.TOKEN_REVOKE, obj=row,
                         changes={"revoked_at": [None, row.revoked_at]})  # fmt: skip
    return row


def token_state(row: ApiToken, now: datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at <= (now or timezone.now()):
        return "expired"
    return "active"


#: A refused use (expired or revoked token) is audited once per token, state and client address
#: in this window: a script retrying with an old token (or someone replaying a stolen one)
#: leaves one event an hour, not one a request that could flood the trail.
REFUSED_AUDIT_WINDOW = timedelta(hours=1)


def _refusal_audited_lately(row: ApiToken, state: str, address: str | None) -> bool:
    """Whether this token's refusal in this state from this address is already in the trail
    within :data:`REFUSED_AUDIT_WINDOW` (events are stamped with the real time)."""
    from combat_norse.audit.models import AuditEvent

    recent = AuditEvent.objects.filter(
        action=AuditAction.TOKEN_REFUSED, object_type="accounts.ApiToken",
        object_id=str(row.pk), occurred_at__gte=timezone.now() - REFUSED_AUDIT_WINDOW,
    ).values_list("changes", flat=True)  # fmt: skip
    return any(c.get("state", [None, None])[1] == state
               and c.get("address", [None, None])[1] == address for c in recent)  # fmt: skip


def authenticate_token(token: str, address: str | None,
                       now: datetime | None = None) -> User:  # fmt: skip
    """The active user a token acts as; :class:`TokenRejected` otherwise. A use of an expired
    or revoked token, and the first use from an address, are audited."""
    now = now or timezone.now()
    parts = token.split("_", 2)
    # the prefix is the shape it is drawn in (lower-case hex) before it reaches a lookup: a
    # NUL byte in a header was a PostgreSQL error (a 500) for anyone, without a token
    if len(parts) != 3 or parts[0] != "cn" or not _PREFIX.fullmatch(parts[1]):
        raise TokenRejected("not a COMBAT-NORSE API token")
    row = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if row is None or not hmac.compare_digest(row.digest, digest(token)):
        raise TokenRejected("unknown token")
    state = token_state(row, now)
    if state != "active":
        if not _refusal_audited_lately(row, state, address):
            with transaction.atomic():
                record_event(actor=row.user, action=AuditAction.TOKEN_REFUSED, obj=row,
                             changes={"state": [None, state], "address": [None, address]})
        raise TokenRejected(f"token {state}")
    if not row.user.is_active:
        raise TokenRejected("unknown token")
    address = (address or "")[:64]
    with transaction.atomic():
        fields = ["last_used_at"]
        row.last_used_at = now
        if address not in row.addresses:
            row.addresses = [*row.addresses, address][-MAX_ADDRESSES:]
            fields.append("addresses")
            record_event(actor=row.user, action=AuditAction.TOKEN_NEW_ADDRESS, obj=row,
                         changes={"address": [None, address]})  # fmt: skip
        ApiToken.objects.filter(pk=row.pk).update(**{f: getattr(row, f) for f in fields})
    return row.user
