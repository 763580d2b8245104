from django.apps import AppConfig


class CrfConfig(AppConfig):
    name = "combat_norse.crf"
    label = "crf"
    verbose_name = "Data capture: visits, forms, queries"
    trial_data = True  # its models hold participant data (core.masking, audit admin)

    def ready(self) -> None:
        from combat_norse.crf import checks, receivers  # noqa: F401  (checks; domain events)
