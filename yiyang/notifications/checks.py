"""``manage.py check`` refuses a gateway setting the worker could not use, before the first alarm needs it."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register()
def gateway_configured(app_configs, **kwargs):
    from .gateway import get_gateway

    try:
        get_gateway()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), hint="See docs/notifications.md.", id="notifications.E001")]
    return []
