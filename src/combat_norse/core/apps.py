from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "combat_norse.core"
    label = "combat_norse_core"
    verbose_name = "Trial settings"

    def ready(self) -> None:
        from combat_norse.core import checks  # noqa: F401 - registers the system checks
