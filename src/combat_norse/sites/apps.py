from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "combat_norse.sites"
    label = "trial_sites"  # "sites" is django.contrib.sites' label
    verbose_name = "Trial sites and memberships"

    def ready(self) -> None:
        from combat_norse.sites import checks  # noqa: F401  (registers the system checks)
