from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "combat_norse.audit"
    label = "audit"
    verbose_name = "Audit trail"
