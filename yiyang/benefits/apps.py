from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BenefitsConfig(AppConfig):
    name = "yiyang.benefits"
    verbose_name = _("Benefits")

    def ready(self):
        from yiyang.people import signals

        from . import transfers

        signals.elder_moved.connect(transfers.follow_move, dispatch_uid="benefits.follow_move")
        signals.eligibility_changed.connect(transfers.recheck_paid_months, dispatch_uid="benefits.recheck")
