"""The outbox: queue in the caller's transaction, deliver afterwards, record every attempt.

``queue`` only writes a row, inside whatever transaction the caller holds (an
alarm's escalation step, say), so nothing leaves the building while locks are
held and a rollback sends nothing. ``deliver_due`` runs in the background worker
outside any transaction: it claims one due row at a time (a lease, and
``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never send the
same row at once), sends it through the gateway, and writes the attempt and the
new state. Delivery is at least once: a worker that dies after the provider took
a message but before the result was written sends it again when its lease ends.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Iterable

from django.db import IntegrityError, models, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.core.errors import ValidationError
from yiyang.core.masking import mask_phone

from .gateway import Delivery, Gateway, OutboundMessage, get_gateway
from .models import (
    OPEN_STATES,
    AttemptKind,
    Channel,
    Notification,
    NotificationAttempt,
    Outcome,
    ReceiptStatus,
    State,
)

logger = logging.getLogger("yiyang.notifications")

MAX_ATTEMPTS = 4
# Wait after the 1st, 2nd and 3rd failed attempt; the 4th failure is final.
BACKOFF_SECONDS = (30, 120, 600)
# How long a claimed row is the claiming worker's; longer than any gateway call (the webhook's is 5 s).
LEASE_SECONDS = 60
IN_APP = "in_app"


class UnknownNotification(LookupError):
    """A receipt names a key or provider reference that no notification has."""


# --- queueing (inside the caller's transaction) --------------------------------------------------


def _check(*, channel, text, subject, area_code, key, address, recipient_user) -> None:
    errors: dict[str, list[str]] = {}
    if channel not in Channel.values:
        errors["channel"] = [_("Unknown channel.")]
    if not text.strip():
        errors["text"] = [_("A notification needs a text.")]
    if not key or len(key) > Notification._meta.get_field("key").max_length:
        errors["key"] = [_("A notification needs a key of at most 150 characters.")]
    if len(subject) > Notification._meta.get_field("subject").max_length:
        errors["subject"] = [_("The subject is too long (at most 64 characters).")]
    if not (area_code.isdigit() and len(area_code) <= 12):
        errors["area_code"] = [_("Give the area code (digits) the notification belongs to.")]
    if channel in (Channel.SMS, Channel.VOICE) and not address:
        errors["address"] = [_("A text message or a voice call needs a phone number.")]
    if channel == Channel.PUSH and recipient_user is None:
        errors["recipient_user"] = [_("An app notification needs a recipient account.")]
    if errors:
        raise ValidationError(errors)


def queue(*, channel: str, text: str, subject: str, area_code: str, key: str, address: str = "",
          recipient_label: str = "", recipient_user=None, now: dt.datetime | None = None) -> Notification:
    """Put one message in the outbox, in the caller's transaction; the same ``key`` again returns the first row.

    SMS and voice wait for the worker. An app notification to a staff account
    (``push``) is delivered in-app at once: the row is the message, readable with
    ``unread_push_for`` as soon as the caller's transaction commits.
    """
    existing = Notification.objects.filter(key=key).first() if key else None
    if existing is not None:
        return existing
    address = (address or "").strip()
    _check(channel=channel, text=text, subject=subject, area_code=area_code, key=key, address=address,
           recipient_user=recipient_user)
    now = now or timezone.now()
    fields = dict(channel=channel, text=text, subject=subject, area_code=area_code, key=key,
                  recipient_label=recipient_label[:100], recipient_user=recipient_user, created_at=now)
    if channel == Channel.PUSH:
        fields.update(state=State.DELIVERED, attempts=1, provider=IN_APP, sent_at=now, result_at=now)
    else:
        fields.update(address=address, address_hint=mask_phone(address), state=State.QUEUED, next_attempt_at=now)
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin of this key must not spoil the caller's transaction
            notification = Notification.objects.create(**fields)
            if channel == Channel.PUSH:
                NotificationAttempt.objects.create(notification=notification, at=now, provider=IN_APP,
                                                   outcome=Outcome.DELIVERED, duration_ms=0)
    except IntegrityError:
        existing = Notification.objects.filter(key=key).first()
        if existing is None:
            raise
        return existing
    return notification


def state_of(keys: Iterable[str]) -> dict[str, str]:
    """Each known key's state (``queued``, ``sending``, ``sent``, ``delivered``, ``failed``); unknown keys are absent."""
    keys = list(keys)
    if not keys:
        return {}
    return dict(Notification.objects.filter(key__in=keys).values_list("key", "state"))


# --- delivering (the background worker, outside any transaction) ---------------------------------


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after ``attempts`` failed tries before the next one."""
    return dt.timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


def _settled(state: str, at: dt.datetime, **extra) -> dict:
    return dict(state=state, result_at=at, next_attempt_at=None, lease_until=None, **extra)


def _claim_next(at: dt.datetime, provider: str) -> Notification | None:
    """Take the next due row for this worker (state ``sending``, leased), or None when nothing is due.

    A row still ``sending`` whose lease has ended belonged to a worker that
    stopped mid-send: that try is recorded as interrupted, and the row is sent
    again unless it has used up its attempts.
    """
    while True:
        with transaction.atomic():
            row = (Notification.objects.select_for_update(skip_locked=True)
                   .filter(state__in=OPEN_STATES, next_attempt_at__lte=at)
                   .order_by("next_attempt_at", "id").first())
            if row is None:
                return None
            if row.state == State.SENDING:
                reason = "the worker stopped before recording the result"
                NotificationAttempt.objects.create(notification=row, at=at, provider=row.provider or provider,
                                                   outcome=Outcome.INTERRUPTED, error=reason)
                if row.attempts >= MAX_ATTEMPTS:
                    Notification.objects.filter(pk=row.pk).update(**_settled(State.FAILED, at, error=reason))
                    continue
            row.state = State.SENDING
            row.attempts += 1
            row.lease_until = row.next_attempt_at = at + dt.timedelta(seconds=LEASE_SECONDS)
            row.save(update_fields=["state", "attempts", "lease_until", "next_attempt_at"])
            return row


def _call(gateway: Gateway, message: OutboundMessage) -> tuple[Delivery, int]:
    """The gateway's answer and how long it took; an exception is a failed delivery, not a dead worker."""
    started = time.monotonic()
    try:
        delivery = gateway.send(message)
        if not isinstance(delivery, Delivery):
            delivery = Delivery.failed(f"the gateway returned {type(delivery).__name__}, not a Delivery")
    except Exception as exc:  # any adapter bug must end as a recorded failed attempt
        logger.exception("notification %s: the gateway raised", message.key)
        delivery = Delivery.failed(f"{type(exc).__name__}: {exc}")
    # An adapter may build a Delivery by hand: keep what it says within the columns.
    delivery = dataclasses.replace(delivery, provider_ref=str(delivery.provider_ref or "")[:100],
                                   error=str(delivery.error or "")[:255])
    return delivery, int((time.monotonic() - started) * 1000)


def _record(row: Notification, delivery: Delivery, provider: str, duration_ms: int, at: dt.datetime) -> None:
    """Write the attempt, then the new state, only if this worker still holds the row.

    A receipt may have settled the row while the gateway call was in flight
    (providers can be quick): its state stands, the reference is still kept.
    """
    outcome = (Outcome.DELIVERED if delivery.delivered else Outcome.ACCEPTED) if delivery.accepted else Outcome.FAILED
    with transaction.atomic():
        NotificationAttempt.objects.create(notification=row, at=at, provider=provider, outcome=outcome,
                                           provider_ref=delivery.provider_ref, error=delivery.error,
                                           duration_ms=duration_ms)
        mine = Notification.objects.filter(pk=row.pk, state=State.SENDING, lease_until=row.lease_until)
        if delivery.accepted:
            if delivery.delivered:
                changes = _settled(State.DELIVERED, at)
            else:
                changes = dict(state=State.SENT, next_attempt_at=None, lease_until=None)
            if not mine.update(provider=provider, provider_ref=delivery.provider_ref, error="", sent_at=at,
                               **changes):
                Notification.objects.filter(pk=row.pk, provider_ref="").update(
                    provider=provider, provider_ref=delivery.provider_ref,
                    sent_at=Coalesce("sent_at", models.Value(at, output_field=models.DateTimeField())))
            return
        logger.warning("notification %s attempt %s failed: %s", row.key, row.attempts, delivery.error)
        if row.attempts >= MAX_ATTEMPTS:
            mine.update(provider=provider, **_settled(State.FAILED, at, error=delivery.error))
        else:
            mine.update(provider=provider, error=delivery.error, state=State.QUEUED,
                        next_attempt_at=at + backoff(row.attempts), lease_until=None)


def deliver_due(*, now: dt.datetime | None = None, limit: int = 50, gateway: Gateway | None = None) -> int:
    """Send up to ``limit`` due notifications through ``gateway`` (default: the configured one).

    Call it outside any transaction (the background worker). Failed attempts
    are retried after 30 s, 2 min and 10 min; the 4th failure is final.
    Returns how many send attempts were made.
    """
    gateway = gateway if gateway is not None else get_gateway()
    provider = (getattr(gateway, "name", "") or type(gateway).__name__)[:40]
    clock = (lambda: now) if now is not None else timezone.now
    made = 0
    while made < limit:
        row = _claim_next(clock(), provider)
        if row is None:
            break
        message = OutboundMessage(key=row.key, channel=row.channel, to=row.address, text=row.text,
                                  subject=row.subject, recipient_label=row.recipient_label, attempt=row.attempts)
        delivery, duration_ms = _call(gateway, message)
        _record(row, delivery, provider, duration_ms, clock())
        made += 1
    return made


# --- receipts from the provider -------------------------------------------------------------------


def record_receipt(*, status: str, key: str = "", provider_ref: str = "", error: str = "",
                   now: dt.datetime | None = None) -> Notification:
    """Apply a provider's delivery receipt; it is always recorded as an attempt row.

    ``delivered`` settles the notification as delivered (also one waiting for a
    retry, or one given up on: the message did arrive). ``failed`` and
    ``no_answer`` (a voice call nobody picked up) fail a ``sent`` notification;
    for one already settled or waiting for a retry they are recorded only.
    """
    if status not in ReceiptStatus.values:
        raise ValidationError({"status": [_("Unknown receipt status.")]})
    at = now or timezone.now()
    if status == "no_answer":
        error = f"no answer: {error}" if error else "no answer"
    elif status == "failed":
        error = error or "not delivered"
    error = error[:255]
    with transaction.atomic():
        rows = Notification.objects.select_for_update()
        if key:
            row = rows.filter(key=key).first()
        elif provider_ref:
            row = rows.filter(provider_ref=provider_ref).order_by("-id").first()
        else:
            raise ValidationError({"key": [_("Give the key or the provider reference.")]})
        if row is None:
            raise UnknownNotification(key or provider_ref)
        NotificationAttempt.objects.create(
            notification=row, at=at, kind=AttemptKind.RECEIPT, provider=row.provider,
            outcome={"delivered": Outcome.DELIVERED, "failed": Outcome.FAILED, "no_answer": Outcome.NO_ANSWER}[status],
            provider_ref=provider_ref or row.provider_ref, error=error if status != "delivered" else "")
        if status == "delivered" and row.state != State.DELIVERED:
            changes = _settled(State.DELIVERED, at, error="")
        elif status != "delivered" and row.state == State.SENT:
            changes = _settled(State.FAILED, at, error=error)
        else:
            return row
        Notification.objects.filter(pk=row.pk).update(**changes)
        for name, value in changes.items():
            setattr(row, name, value)
        return row


# --- in-app notifications to staff ------------------------------------------------------------------


def unread_push_for(user) -> models.QuerySet:
    """The app notifications to ``user`` not yet marked read, newest first."""
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    return (Notification.objects.filter(channel=Channel.PUSH, recipient_user=user, read_at__isnull=True)
            .order_by("-created_at", "-id"))


def mark_read(user, ids: Iterable[int] | None = None, *, now: dt.datetime | None = None) -> int:
    """Mark ``user``'s own unread app notifications read (those in ``ids``, or all); returns how many."""
    unread = unread_push_for(user)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=now or timezone.now())
