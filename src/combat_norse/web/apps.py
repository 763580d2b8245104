from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "combat_norse.web"
    label = "web"
    verbose_name = "Web pages (shared templates)"
