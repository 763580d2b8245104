"""Account state beyond Django's user: whether the password must be changed."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class PasswordState(models.Model):
    """A user created with a one-time password must choose their own at first sign-in."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="password_state")  # fmt: skip
    must_change = models.BooleanField(default=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"password state of {self.user_id}: must change {self.must_change}"


def must_change_password(user: object) -> bool:
    user_id = getattr(user, "pk", None)
    if not isinstance(user_id, int):
        return False
    states = PasswordState.objects.filter(user_id=user_id)
    state = states.values_list("must_change", flat=True).first()
    return bool(state)


class ApiToken(models.Model):
    """A personal API token (issue 18). Only the SHA-256 of the token is stored, with a short
    public ``prefix`` (part of the token itself) to find the row; the token is shown once, at
    creation. A token acts as its user with the user's memberships of the moment of each
    request; it expires (``expires_at``) and can be revoked (``revoked_at``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")  # fmt: skip
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)  # sha256 hex of the whole token
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    addresses = models.JSONField(default=list, blank=True)  # client addresses seen (audited once)

    def __str__(self) -> str:
        return f"api token {self.prefix} of {self.user_id}"
