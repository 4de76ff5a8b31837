from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "yiyang.notifications"
    verbose_name = _("Outbound notifications")

    def ready(self):
        from . import checks  # noqa: F401  (registers the gateway configuration check)
