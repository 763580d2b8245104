from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "combat_norse.api"
    label = "api"
    verbose_name = "COMBAT-NORSE API"
