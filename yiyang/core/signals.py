"""Logins are part of the audit trail: who signed in, when and from where."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from . import audit
from .models import AuditAction


@receiver(user_logged_in)
def audit_login(sender, request, user, **kwargs):
    audit.record(AuditAction.LOGIN, actor=user, obj=user, area_code=getattr(user, "scope_code", ""), note="login")


@receiver(user_login_failed)
def audit_failed_login(sender, credentials, request=None, **kwargs):
    username = (credentials or {}).get("username", "")[:150]
    audit.record(AuditAction.LOGIN, actor=None, object_type="accounts.user", label=username, note="login failed")
