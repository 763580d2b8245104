"""Sites of the trial (§12)."""

from __future__ import annotations

from django.db import models

from combat_norse.audit.history import trial_history
from combat_norse.sites.roles import CENTRAL_ROLES, SITE_ROLES, Role


class Region(models.TextChoices):
    NORTH_AMERICA = "north_america", "North America"
    EUROPE = "europe", "Europe"
    ASIA = "asia", "Asia"


class Site(models.Model):
    """A participating hospital. All day counting for its participants is in ``timezone``."""

    code = models.CharField(max_length=8, unique=True)
    name = models.CharField(max_length=120)
    city = models.CharField(max_length=80)
    state = models.CharField(max_length=80, blank=True)
    country = models.CharField(max_length=80)
    country_code = models.CharField(max_length=2)
    timezone = models.CharField(max_length=64, help_text="IANA time zone, e.g. America/New_York")
    region = models.CharField(max_length=16, choices=Region.choices)
    active = models.BooleanField(default=True)

    history = trial_history()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def as_json(self) -> dict[str, str]:
        return {
            "code": self.code,
            "name": self.name,
            "city": self.city,
            "country": self.country,
            "timezone": self.timezone,
            "region": self.region,
        }


class Membership(models.Model):
    """One (user, role, site) grant. ``site`` is empty for central roles (all sites)."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="memberships"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = trial_history()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "site"], name="membership_unique_user_role_site"
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(site__isnull=True),
                name="membership_unique_central_role",
            ),
        ]

    def __str__(self) -> str:
        where = self.site.code if self.site_id and self.site else "all sites"
        return f"{self.user} — {self.role} @ {where}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.role in SITE_ROLES and self.site_id is None:
            raise ValidationError({"site": f"role {self.role} needs a site"})
        if self.role in CENTRAL_ROLES and self.site_id is not None:
            raise ValidationError({"site": f"role {self.role} is central: leave site empty"})
