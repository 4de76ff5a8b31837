from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlarmsConfig(AppConfig):
    name = "yiyang.alarms"
    verbose_name = _("Emergency alarms and devices")
