from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "yiyang.core"
    verbose_name = _("Core")

    def ready(self):
        from . import signals  # noqa: F401 - connects the login audit receivers
