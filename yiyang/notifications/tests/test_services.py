"""The outbox: queueing in the caller's transaction, delivery with retries, every attempt kept, in-app push."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role
from yiyang.core.errors import ValidationError
from yiyang.notifications import services
from yiyang.notifications.gateway import Delivery, LoggingGateway, WebhookGateway, get_gateway
from yiyang.notifications.models import Notification, NotificationAttempt

from .conftest import NOW, ScriptedGateway, sms

pytestmark = pytest.mark.django_db

SECONDS = dt.timedelta(seconds=1)


def outcomes(notification) -> list[str]:
    return list(NotificationAttempt.objects.filter(notification=notification).order_by("at", "id")
                .values_list("outcome", flat=True))


def staff(username: str) -> User:
    return User.objects.create(username=username, role=Role.COUNTY_OFFICIAL, scope_area_id="510703")


# --- queueing ---------------------------------------------------------------------------------------


def test_the_same_key_again_returns_the_first_notification_unchanged():
    first = sms("alarm:7:son", text="first text")
    again = sms("alarm:7:son", text="second text", address="13700000000")
    assert again.pk == first.pk
    assert Notification.objects.filter(key="alarm:7:son").count() == 1
    assert Notification.objects.get(key="alarm:7:son").text == "first text"


def test_a_rolled_back_caller_leaves_nothing_to_send():
    with pytest.raises(RuntimeError), transaction.atomic():
        sms("alarm:8:son")
        raise RuntimeError("the alarm transaction failed")
    assert not Notification.objects.exists()
    assert services.deliver_due(now=NOW, gateway=ScriptedGateway()) == 0


def test_a_notification_is_queued_due_now_with_the_number_encrypted_and_masked():
    notification = sms("alarm:9:son", address=" 13900000001 ")
    assert (notification.state, notification.attempts, notification.next_attempt_at) == ("queued", 0, NOW)
    assert notification.address_hint == "139****0001"
    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM notifications_notification WHERE id = %s", [notification.pk])
        stored = cursor.fetchone()[0]
    assert "13900000001" not in stored
    assert Notification.objects.get(pk=notification.pk).address == "13900000001"


@pytest.mark.parametrize("change, field", [
    ({"address": ""}, "address"),
    ({"channel": "voice", "address": ""}, "address"),
    ({"channel": "fax"}, "channel"),
    ({"text": "  "}, "text"),
    ({"area_code": "abc"}, "area_code"),
    ({"channel": "push"}, "recipient_user"),
    ({"subject": "x" * 65}, "subject"),
])
def test_incomplete_notifications_are_refused(change, field):
    with pytest.raises(ValidationError) as refused:
        sms("alarm:10:son", **change)
    assert field in refused.value.message_dict
    assert not Notification.objects.exists()


def test_state_of_reports_known_keys_only():
    sms("a:1")
    sms("a:2")
    services.deliver_due(now=NOW, limit=1, gateway=ScriptedGateway())
    assert services.state_of(["a:1", "a:2", "a:unknown"]) == {"a:1": "sent", "a:2": "queued"}
    assert services.state_of([]) == {}


# --- delivering -------------------------------------------------------------------------------------


def test_the_logging_gateway_sends_due_notifications_once(caplog, settings):
    settings.NOTIFY_GATEWAY = "logging"
    son = sms("alarm:1:son")
    daughter = sms("alarm:1:daughter", channel="voice", address="13800000002", recipient_label="女儿")
    with caplog.at_level(logging.INFO, logger="yiyang.notifications"):
        assert services.deliver_due(now=NOW) == 2
    assert services.deliver_due(now=NOW + 60 * SECONDS) == 0
    for notification in (son, daughter):
        notification.refresh_from_db()
        assert (notification.state, notification.attempts, notification.provider) == ("sent", 1, "logging")
        assert notification.provider_ref.startswith("log-") and notification.sent_at == NOW
        assert notification.next_attempt_at is None and notification.lease_until is None
        assert outcomes(notification) == ["accepted"]
    lines = [r.getMessage() for r in caplog.records if r.name == "yiyang.notifications"]
    assert len(lines) == 2
    assert any("139****0001" in line and "alarm:1:son" in line for line in lines)
    assert not any("13900000001" in line for line in lines)


def test_nothing_is_sent_before_it_is_due():
    sms("later", at=NOW + 5 * SECONDS)
    assert services.deliver_due(now=NOW, gateway=ScriptedGateway()) == 0
    assert services.deliver_due(now=NOW + 5 * SECONDS, gateway=ScriptedGateway()) == 1


def test_a_failing_provider_is_retried_after_30s_2min_10min_then_given_up_with_every_attempt_kept():
    notification = sms("alarm:2:son")
    gateway = ScriptedGateway(*[Delivery.failed(f"provider busy {n}") for n in range(1, 5)])
    at = NOW
    for n, wait in enumerate((30, 120, 600), start=1):
        assert services.deliver_due(now=at, gateway=gateway) == 1
        notification.refresh_from_db()
        assert (notification.state, notification.attempts, notification.error) == ("queued", n, f"provider busy {n}")
        assert notification.next_attempt_at == at + wait * SECONDS
        assert services.deliver_due(now=at + (wait - 1) * SECONDS, gateway=gateway) == 0
        at += wait * SECONDS
    assert services.deliver_due(now=at, gateway=gateway) == 1
    notification.refresh_from_db()
    assert (notification.state, notification.attempts, notification.error) == ("failed", 4, "provider busy 4")
    assert notification.result_at == at and notification.next_attempt_at is None
    assert services.deliver_due(now=at + dt.timedelta(days=1), gateway=gateway) == 0
    attempts = list(notification.attempt_log.order_by("at"))
    assert [(a.outcome, a.error, a.provider) for a in attempts] == [
        ("failed", f"provider busy {n}", "scripted") for n in range(1, 5)]
    assert [a.at for a in attempts] == [NOW, NOW + 30 * SECONDS, NOW + 150 * SECONDS, NOW + 750 * SECONDS]
    assert [m.attempt for m in gateway.sent] == [1, 2, 3, 4]
    assert {m.key for m in gateway.sent} == {"alarm:2:son"}


def test_a_retry_that_goes_through_ends_sent():
    notification = sms("alarm:3:son")
    gateway = ScriptedGateway(Delivery.failed("timeout"), Delivery.ok("P-42"))
    services.deliver_due(now=NOW, gateway=gateway)
    services.deliver_due(now=NOW + 30 * SECONDS, gateway=gateway)
    notification.refresh_from_db()
    assert (notification.state, notification.attempts, notification.provider_ref, notification.error) == (
        "sent", 2, "P-42", "")
    assert outcomes(notification) == ["failed", "accepted"]


def test_a_gateway_that_raises_or_answers_nonsense_is_a_failed_attempt_not_a_dead_worker():
    raising, odd, fine = sms("k:raise"), sms("k:odd"), sms("k:fine")

    class Odd(ScriptedGateway):
        def send(self, message):
            return None if message.key == "k:odd" else super().send(message)

    gateway = Odd(RuntimeError("boom"))
    assert services.deliver_due(now=NOW, gateway=gateway) == 3
    for notification in (raising, odd, fine):
        notification.refresh_from_db()
    assert (raising.state, raising.error) == ("queued", "RuntimeError: boom")
    assert (odd.state, odd.error) == ("queued", "the gateway returned NoneType, not a Delivery")
    assert fine.state == "sent"
    assert outcomes(raising) == ["failed"]


def test_an_adapters_overlong_answer_is_cut_to_fit_not_a_stuck_row():
    notification = sms("k:long")
    services.deliver_due(now=NOW, gateway=ScriptedGateway(Delivery(accepted=True, provider_ref="R" * 300)))
    notification.refresh_from_db()
    assert (notification.state, notification.provider_ref) == ("sent", "R" * 100)


def test_a_provider_that_knows_delivery_at_once_settles_it_delivered():
    notification = sms("k:delivered")
    services.deliver_due(now=NOW, gateway=ScriptedGateway(Delivery.ok("D-1", delivered=True)))
    notification.refresh_from_db()
    assert (notification.state, notification.result_at, notification.provider_ref) == ("delivered", NOW, "D-1")
    assert outcomes(notification) == ["delivered"]


def test_a_send_cut_off_by_a_dead_worker_is_recorded_and_sent_again_after_the_lease():
    notification = sms("k:crash")
    claimed = services._claim_next(NOW, "scripted")  # the worker took it, then died before recording anything
    assert (claimed.pk, claimed.state) == (notification.pk, "sending")
    gateway = ScriptedGateway()
    assert services.deliver_due(now=NOW + 30 * SECONDS, gateway=gateway) == 0
    assert services.deliver_due(now=NOW + services.LEASE_SECONDS * SECONDS, gateway=gateway) == 1
    notification.refresh_from_db()
    assert (notification.state, notification.attempts) == ("sent", 2)
    assert outcomes(notification) == ["interrupted", "accepted"]


def test_a_dead_worker_on_the_last_attempt_fails_the_notification_without_another_send():
    notification = sms("k:crash-last")
    Notification.objects.filter(pk=notification.pk).update(attempts=services.MAX_ATTEMPTS - 1)
    services._claim_next(NOW, "scripted")
    gateway = ScriptedGateway()
    assert services.deliver_due(now=NOW + dt.timedelta(hours=1), gateway=gateway) == 0
    notification.refresh_from_db()
    assert (notification.state, notification.attempts) == ("failed", services.MAX_ATTEMPTS)
    assert gateway.sent == [] and outcomes(notification) == ["interrupted"]


def test_a_receipt_that_arrives_while_the_worker_is_still_sending_is_not_overwritten():
    notification = sms("k:quick")

    class QuickProvider(ScriptedGateway):
        def send(self, message):
            services.record_receipt(key=message.key, status="delivered", now=NOW)
            return Delivery.ok("Q-1")

    services.deliver_due(now=NOW, gateway=QuickProvider())
    notification.refresh_from_db()
    assert (notification.state, notification.provider_ref, notification.sent_at) == ("delivered", "Q-1", NOW)
    assert [a.kind for a in notification.attempt_log.order_by("id")] == ["receipt", "send"]


def test_the_limit_bounds_one_run():
    for n in range(5):
        sms(f"k:{n}")
    assert services.deliver_due(now=NOW, limit=3, gateway=ScriptedGateway()) == 3
    assert Notification.objects.filter(state="queued").count() == 2


# --- in-app push ------------------------------------------------------------------------------------


def test_push_to_staff_is_delivered_in_app_at_once_and_read_by_its_recipient_only():
    supervisor, other = staff("t-supervisor"), staff("t-other")
    first = sms("alarm:4:supervisor", channel="push", address="", recipient_user=supervisor, recipient_label="值班")
    second = sms("alarm:5:supervisor", channel="push", address="", recipient_user=supervisor, at=NOW + SECONDS)
    assert (first.state, first.provider, first.result_at) == ("delivered", "in_app", NOW)
    assert outcomes(first) == ["delivered"]
    assert services.deliver_due(now=NOW + dt.timedelta(hours=1), gateway=ScriptedGateway()) == 0
    assert list(services.unread_push_for(supervisor)) == [second, first]
    assert list(services.unread_push_for(other)) == []
    assert services.mark_read(other, [first.pk]) == 0
    assert services.mark_read(supervisor, [first.pk], now=NOW) == 1
    assert list(services.unread_push_for(supervisor)) == [second]
    assert services.mark_read(supervisor) == 1
    assert not services.unread_push_for(supervisor).exists()
    first.refresh_from_db()
    assert first.read_at == NOW


# --- configuration ----------------------------------------------------------------------------------


def test_the_gateway_is_chosen_by_setting(settings):
    settings.NOTIFY_GATEWAY = "logging"
    assert isinstance(get_gateway(), LoggingGateway)
    settings.NOTIFY_GATEWAY = "yiyang.notifications.tests.conftest.ScriptedGateway"
    assert isinstance(get_gateway(), ScriptedGateway)
    settings.NOTIFY_GATEWAY, settings.NOTIFY_WEBHOOK_URL, settings.NOTIFY_WEBHOOK_SECRET = (
        "webhook", "https://sms.example.gov.cn/send", "s3cret")
    assert isinstance(get_gateway(), WebhookGateway)


@pytest.mark.parametrize("name, url, secret", [
    ("webhook", "", "s3cret"),
    ("webhook", "file:///etc/passwd", "s3cret"),
    ("webhook", "https://sms.example.gov.cn/send", ""),
    ("yiyang.notifications.tests.conftest.NotAGateway", "", ""),
    ("yiyang.notifications.nowhere.Gateway", "", ""),
])
def test_a_gateway_setting_the_worker_cannot_use_is_refused_and_reported_by_check(settings, name, url, secret):
    settings.NOTIFY_GATEWAY, settings.NOTIFY_WEBHOOK_URL, settings.NOTIFY_WEBHOOK_SECRET = name, url, secret
    with pytest.raises(ImproperlyConfigured):
        get_gateway()
    assert "notifications.E001" in [e.id for e in checks.run_checks()]
