from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "combat_norse.safety"
    label = "safety"
    verbose_name = "Treatment and safety: dose plans, SAE clocks, lab alerts"
    trial_data = True  # its models hold participant data (core.masking, audit admin)

    def ready(self) -> None:
        from combat_norse.safety import checks, receivers  # noqa: F401  (checks; domain events)
