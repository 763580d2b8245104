from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "combat_norse.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from combat_norse.audit import checks  # noqa: F401 - registers the system checks
