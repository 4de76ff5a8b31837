"""Outbound notifications (SMS, voice call, app push) and every attempt to deliver them.

A ``Notification`` is written by the caller inside its own transaction (the
outbox); the worker (``services.deliver_due``) sends it afterwards through the
configured gateway and writes one ``NotificationAttempt`` per try and per
delivery receipt, so what was tried, when, through which provider and with what
result is never overwritten by the next try.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiyang.core.fields import EncryptedTextField
from yiyang.core.scoping import ScopedManager, ScopePolicy


class Channel(models.TextChoices):
    SMS = "sms", _("text message")
    VOICE = "voice", _("voice call")
    PUSH = "push", _("app notification")


class State(models.TextChoices):
    """Queued → sending → sent (the provider took it) → delivered; or failed. Push is delivered at once."""

    QUEUED = "queued", _("queued")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")


# States the worker may still act on; the others are settled (a receipt may still correct them).
OPEN_STATES = (State.QUEUED, State.SENDING)


class Notification(models.Model):
    """One message to one recipient, about one thing (``subject``), sent at least once."""

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    recipient_label = models.CharField(_("recipient"), max_length=100, blank=True,
                                       help_text=_('Who it is for, e.g. "son 张伟" or "township duty officer 李娜".'))
    recipient_user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recipient account"), null=True,
                                       blank=True, on_delete=models.PROTECT, related_name="notifications")
    # A phone number is personal data: encrypted at rest, shown masked (address_hint).
    address = EncryptedTextField(_("phone number"), blank=True)
    address_hint = models.CharField(_("phone number (masked)"), max_length=20, blank=True)
    text = models.TextField(_("text"))
    subject = models.CharField(_("about"), max_length=64, db_index=True,
                               help_text=_('What it is about, e.g. "alarm:123".'))
    area_code = models.CharField(_("area"), max_length=12)
    key = models.CharField(_("idempotency key"), max_length=150, unique=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When the worker may (re)try it: a queued row's due time, a sending row's lease end.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    provider = models.CharField(_("gateway"), max_length=40, blank=True)
    provider_ref = models.CharField(_("gateway reference"), max_length=100, blank=True, db_index=True)
    error = models.CharField(_("error"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    result_at = models.DateTimeField(_("result at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="area_code")

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(state__in=["queued", "sending"]),
                         name="notification_due"),
            models.Index(fields=["area_code", "created_at"], name="notification_area_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(channel="push") | Q(recipient_user__isnull=False),
                                   name="notification_push_has_user"),
        ]

    def __str__(self):
        return f"{self.channel} {self.recipient_label or self.address_hint} {self.key}"


class AttemptKind(models.TextChoices):
    SEND = "send", _("send")
    RECEIPT = "receipt", _("delivery receipt")


class Outcome(models.TextChoices):
    ACCEPTED = "accepted", _("accepted by the gateway")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")
    NO_ANSWER = "no_answer", _("no answer")
    INTERRUPTED = "interrupted", _("interrupted (worker stopped)")


class ReceiptStatus(models.TextChoices):
    """What a provider's delivery receipt may say (not stored: receipts are attempts with an ``Outcome``)."""

    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")
    NO_ANSWER = "no_answer", _("no answer")


class NotificationAttempt(models.Model):
    """One try to send, or one receipt from the provider: append-only, never updated."""

    notification = models.ForeignKey(Notification, verbose_name=_("notification"), on_delete=models.CASCADE,
                                     related_name="attempt_log")
    at = models.DateTimeField(_("time"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=8, choices=AttemptKind.choices, default=AttemptKind.SEND)
    provider = models.CharField(_("gateway"), max_length=40, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    provider_ref = models.CharField(_("gateway reference"), max_length=100, blank=True)
    error = models.CharField(_("error"), max_length=255, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)

    objects = ScopedManager()
    scope = ScopePolicy(area="notification__area_code")

    class Meta:
        verbose_name = _("notification attempt")
        verbose_name_plural = _("notification attempts")
        ordering = ["notification", "at", "id"]

    def __str__(self):
        return f"{self.notification_id} {self.kind} {self.outcome}"
