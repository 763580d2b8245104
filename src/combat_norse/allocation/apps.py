from django.apps import AppConfig


class AllocationConfig(AppConfig):
    name = "combat_norse.allocation"
    label = "allocation"
    verbose_name = "Randomization lists and allocations (IRT)"
    trial_data = True  # its models hold participant data (core.masking, audit admin)
