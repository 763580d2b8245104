from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    name = "combat_norse.participants"
    label = "participants"
    verbose_name = "Participants: screening, consent, enrollment"
    trial_data = True  # its models hold participant data (core.masking, audit admin)
