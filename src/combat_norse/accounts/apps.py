from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "combat_norse.accounts"
    label = "accounts"
    verbose_name = "Accounts and sign-in"

    def ready(self) -> None:
        from combat_norse.accounts import signals  # noqa: F401  (connects the login audit)
