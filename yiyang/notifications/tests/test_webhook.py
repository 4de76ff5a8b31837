"""The webhook adapter against a real HTTP server on 127.0.0.1: body, signature, and every kind of refusal."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from yiyang.notifications import services
from yiyang.notifications.gateway import OutboundMessage, WebhookGateway

from .conftest import NOW, SECRET, sms

MESSAGE = OutboundMessage(key="alarm:1:son", channel="sms", to="13900000001", text="紧急呼叫：请尽快联系老人",
                          subject="alarm:1", recipient_label="儿子")


class Provider:
    """A provider's HTTP endpoint: records each request and answers as told."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status, self.body, self.delay, self.headers = 200, b'{"id": "prov-1"}', 0.0, {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                provider.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                          "body": self.rfile.read(length)})
                time.sleep(provider.delay)
                self.send_response(provider.status)
                for name, value in provider.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(provider.body)))
                self.end_headers()
                self.wfile.write(provider.body)

            do_POST = do_GET = _answer

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # the client that timed out has gone: writing the late answer fails, as it should

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider():
    with Provider() as running:
        yield running


def test_the_message_is_posted_as_signed_json_and_the_providers_id_is_kept(provider):
    delivery = WebhookGateway(url=provider.url, secret=SECRET).send(MESSAGE)
    assert (delivery.accepted, delivery.provider_ref, delivery.error) == (True, "prov-1", "")
    [request] = provider.requests
    assert (request["method"], request["path"]) == ("POST", "/sms/send")
    assert json.loads(request["body"]) == {"key": "alarm:1:son", "channel": "sms", "to": "13900000001",
                                           "text": "紧急呼叫：请尽快联系老人"}
    expected = hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Yiyang-Signature"] == expected
    assert request["headers"]["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("status, body, error", [
    (500, b'{"message": "down"}', 'the gateway answered HTTP 500: {"message": "down"}'),
    (401, b"", "the gateway answered HTTP 401"),
    (200, b"OK", "the gateway answered HTTP 200 but not with JSON"),
    (200, b'{"status": "ok"}', 'the gateway answered HTTP 200 without an "id"'),
    (202, b'["prov-1"]', 'the gateway answered HTTP 202 without an "id"'),
])
def test_anything_but_2xx_with_an_id_is_a_failure_with_the_reason(provider, status, body, error):
    provider.status, provider.body = status, body
    delivery = WebhookGateway(url=provider.url, secret=SECRET).send(MESSAGE)
    assert (delivery.accepted, delivery.error) == (False, error)


def test_a_redirect_is_not_followed(provider):
    provider.status, provider.body, provider.headers = 302, b"", {"Location": provider.url + "/elsewhere"}
    delivery = WebhookGateway(url=provider.url, secret=SECRET).send(MESSAGE)
    assert (delivery.accepted, delivery.error) == (False, "the gateway answered HTTP 302")
    assert [r["method"] for r in provider.requests] == ["POST"]


def test_a_provider_slower_than_the_timeout_is_a_failure(provider):
    provider.delay = 1.0
    delivery = WebhookGateway(url=provider.url, secret=SECRET, timeout=0.2).send(MESSAGE)
    assert (delivery.accepted, delivery.error) == (False, "no answer from the gateway within 0.2 s")


def test_an_unreachable_provider_is_a_failure():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again at once: nothing listens there
    delivery = WebhookGateway(url=f"http://127.0.0.1:{port}/", secret=SECRET).send(MESSAGE)
    assert not delivery.accepted
    assert delivery.error.startswith("cannot reach the gateway:")


def test_the_default_timeout_is_5_seconds_and_only_http_addresses_are_accepted():
    assert WebhookGateway(url="https://sms.example.gov.cn/send", secret=SECRET).timeout == 5
    with pytest.raises(ImproperlyConfigured):
        WebhookGateway(url="ftp://sms.example.gov.cn/", secret=SECRET)


@pytest.mark.django_db
def test_the_worker_delivers_through_the_configured_webhook(provider, settings):
    settings.NOTIFY_GATEWAY, settings.NOTIFY_WEBHOOK_URL, settings.NOTIFY_WEBHOOK_SECRET = (
        "webhook", provider.url, SECRET)
    notification = sms("alarm:1:son")
    provider.status, provider.body = 503, b""
    assert services.deliver_due(now=NOW) == 1
    provider.status, provider.body = 200, b'{"id": "prov-1"}'
    assert services.deliver_due(now=NOW + services.backoff(1)) == 1
    notification.refresh_from_db()
    assert (notification.state, notification.provider, notification.provider_ref) == ("sent", "webhook", "prov-1")
    assert [(a.outcome, a.error) for a in notification.attempt_log.order_by("id")] == [
        ("failed", "the gateway answered HTTP 503"), ("accepted", "")]
    assert all(a.duration_ms is not None for a in notification.attempt_log.all())
    assert [json.loads(r["body"])["key"] for r in provider.requests] == ["alarm:1:son", "alarm:1:son"]
