from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HomecareConfig(AppConfig):
    name = "yiyang.homecare"
    verbose_name = _("Home and community care")

    def ready(self):
        from yiyang.people import signals

        from . import lifecycle

        signals.eligibility_changed.connect(lifecycle.end_care_after_death, dispatch_uid="homecare.death")
