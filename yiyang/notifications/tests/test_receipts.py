"""``POST /api/v1/notifications/receipts/``: signed by the provider, no user; every receipt kept."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from yiyang.notifications import services
from yiyang.notifications.gateway import Delivery, sign
from yiyang.notifications.models import Notification

from .conftest import NOW, SECRET, ScriptedGateway, sms

pytestmark = pytest.mark.django_db
URL = "/api/v1/notifications/receipts/"


def post(payload, *, secret=SECRET, signature=None, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {} if signature is False else {"HTTP_X_YIYANG_SIGNATURE": signature or sign(body, secret)}
    return APIClient().post(URL, data=body, content_type="application/json", **headers)


@pytest.fixture
def sent(secret):
    notification = sms("alarm:1:son")
    services.deliver_due(now=NOW, gateway=ScriptedGateway(Delivery.ok("P-1")))
    notification.refresh_from_db()
    assert notification.state == "sent"
    return notification


def test_a_signed_delivered_receipt_by_key_settles_the_notification(sent):
    response = post({"key": "alarm:1:son", "status": "delivered"})
    assert response.status_code == 200, response.content
    assert response.json() == {"key": "alarm:1:son", "state": "delivered"}
    sent.refresh_from_db()
    assert sent.state == "delivered" and sent.result_at is not None
    receipt = sent.attempt_log.get(kind="receipt")
    assert (receipt.outcome, receipt.provider, receipt.provider_ref) == ("delivered", "scripted", "P-1")


def test_a_receipt_may_name_the_providers_reference_instead(sent):
    response = post({"provider_ref": "P-1", "status": "failed", "error": "handset off"})
    assert response.status_code == 200, response.content
    sent.refresh_from_db()
    assert (sent.state, sent.error) == ("failed", "handset off")


def test_a_call_nobody_answered_is_a_failure_with_no_answer(sent):
    Notification.objects.filter(pk=sent.pk).update(channel="voice")
    assert post({"key": "alarm:1:son", "status": "no_answer"}).json()["state"] == "failed"
    sent.refresh_from_db()
    assert (sent.state, sent.error) == ("failed", "no answer")
    assert sent.attempt_log.get(kind="receipt").outcome == "no_answer"


@pytest.mark.parametrize("signature", [False, "0" * 64, "not hex"])
def test_a_missing_or_wrong_signature_is_refused_and_changes_nothing(sent, signature):
    response = post({"key": "alarm:1:son", "status": "delivered"}, signature=signature)
    assert response.status_code == 403
    sent.refresh_from_db()
    assert sent.state == "sent" and not sent.attempt_log.filter(kind="receipt").exists()


def test_a_body_altered_after_signing_is_refused(sent):
    signed = json.dumps({"key": "alarm:1:son", "status": "failed"}).encode()
    altered = json.dumps({"key": "alarm:1:son", "status": "delivered"}).encode()
    assert post(None, raw=altered, signature=sign(signed, SECRET)).status_code == 403


def test_without_a_configured_secret_every_receipt_is_refused(sent, settings):
    settings.NOTIFY_WEBHOOK_SECRET = ""
    assert post({"key": "alarm:1:son", "status": "delivered"}, secret="").status_code == 403


def test_an_unknown_key_or_reference_is_404(sent):
    assert post({"key": "alarm:404:son", "status": "delivered"}).status_code == 404
    assert post({"provider_ref": "P-404", "status": "delivered"}).status_code == 404


@pytest.mark.parametrize("payload", [{"status": "delivered"}, {"key": "alarm:1:son", "status": "read"}, [1, 2]])
def test_invalid_receipts_are_400(sent, payload):
    assert post(payload).status_code == 400


def test_a_signed_body_that_is_not_json_is_400(sent):
    assert post(None, raw=b"status=delivered").status_code == 400


def test_a_failure_receipt_for_an_earlier_try_does_not_stop_the_pending_retry(secret):
    notification = sms("alarm:2:son")
    services.deliver_due(now=NOW, gateway=ScriptedGateway(Delivery.failed("timeout")))
    assert post({"key": "alarm:2:son", "status": "failed"}).json()["state"] == "queued"
    assert post({"key": "alarm:2:son", "status": "delivered"}).json()["state"] == "delivered"
    assert services.deliver_due(now=NOW + services.backoff(1), gateway=ScriptedGateway()) == 0
    notification.refresh_from_db()
    assert [a.outcome for a in notification.attempt_log.order_by("id")] == ["failed", "failed", "delivered"]


def test_a_late_failure_does_not_undo_a_delivery(sent):
    post({"key": "alarm:1:son", "status": "delivered"})
    assert post({"key": "alarm:1:son", "status": "failed"}).json()["state"] == "delivered"


def test_the_receipt_endpoint_is_in_the_openapi_schema(db):
    schema = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/notifications/receipts/"]["post"]
    assert {p["name"] for p in operation["parameters"]} == {"X-Yiyang-Signature"}
    assert {"200", "400", "403", "404"} <= set(operation["responses"])
    assert "/api/v1/notifications/" in schema["paths"]
