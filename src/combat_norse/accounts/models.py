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
