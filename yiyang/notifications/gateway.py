"""The one interface every outbound message goes through, and its adapters.

A gateway takes an :class:`OutboundMessage` and says what the provider did with
it (:class:`Delivery`). It never touches the database: ``services.deliver_due``
records the attempt. Adapters:

* ``LoggingGateway`` (``YIYANG_NOTIFY_GATEWAY=logging``, the default): writes one
  log line and reports the message sent. For development, demos, and cities
  that have not connected a provider yet.
* ``WebhookGateway`` (``webhook``): POSTs signed JSON to the city's own SMS/voice
  platform (政务短信平台) or to a bridge in front of a commercial provider.
* any class by dotted path, for other providers (see docs/notifications.md).
"""

from __future__ import annotations

import abc
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from yiyang.core.masking import mask_phone

logger = logging.getLogger("yiyang.notifications")

SIGNATURE_HEADER = "X-Yiyang-Signature"
WEBHOOK_TIMEOUT_SECONDS = 5.0
MAX_ERROR = 255
MAX_REF = 100


@dataclass(frozen=True)
class OutboundMessage:
    """What an adapter needs to send one message. ``key`` is the same on every retry."""

    key: str
    channel: str
    to: str
    text: str
    subject: str = ""
    recipient_label: str = ""
    attempt: int = 1


@dataclass(frozen=True)
class Delivery:
    """The provider's answer: accepted (with its reference) or failed (with why).

    ``delivered`` is for providers that know at once that the message arrived;
    most only accept it and confirm later with a receipt.
    """

    accepted: bool
    provider_ref: str = ""
    error: str = ""
    delivered: bool = False

    @classmethod
    def ok(cls, provider_ref: str = "", *, delivered: bool = False) -> Delivery:
        return cls(accepted=True, provider_ref=str(provider_ref)[:MAX_REF], delivered=delivered)

    @classmethod
    def failed(cls, error: str) -> Delivery:
        return cls(accepted=False, error=(error or "failed")[:MAX_ERROR])


class Gateway(abc.ABC):
    """An outbound channel to a provider. Subclasses set ``name`` and implement ``send``.

    ``send`` may raise: the worker records the exception as a failed attempt.
    A gateway built from a dotted path is constructed without arguments and
    reads its own settings.
    """

    name: str = ""

    @abc.abstractmethod
    def send(self, message: OutboundMessage) -> Delivery:
        """Hand ``message`` to the provider and say what it answered."""


class LoggingGateway(Gateway):
    """Writes one line to the ``yiyang.notifications`` log and reports the message sent.

    A warning, not info: nobody receives these messages, and a production site
    still on the default must see that in its logs (the number is masked).
    """

    name = "logging"

    def send(self, message: OutboundMessage) -> Delivery:
        logger.warning("notify (logging gateway, not sent to anyone) %s to %s (%s) key=%s: %s", message.channel,
                       mask_phone(message.to) or "-", message.recipient_label or "-", message.key, message.text)
        return Delivery.ok(f"log-{uuid.uuid4().hex[:12]}")


def sign(body: bytes, secret: str) -> str:
    """The signature of a webhook or receipt body: hex HMAC-SHA256 under the shared secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(body: bytes, signature: str | None, secret: str) -> bool:
    """True when ``signature`` is the body's signature; never true without a secret."""
    if not secret or not signature:
        return False
    return hmac.compare_digest(sign(body, secret), signature.strip().lower())


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer we did not ask for: a POST must not silently turn into a GET elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class WebhookGateway(Gateway):
    """POST ``{"key", "channel", "to", "text"}`` as JSON, signed, to the city's platform or a bridge.

    Accepted means a 2xx answer whose JSON carries ``"id"`` (the provider's
    reference); anything else is a failed attempt with the reason.
    """

    name = "webhook"

    def __init__(self, url: str | None = None, secret: str | None = None,
                 timeout: float = WEBHOOK_TIMEOUT_SECONDS):
        self.url = url if url is not None else settings.NOTIFY_WEBHOOK_URL
        self.secret = secret if secret is not None else settings.NOTIFY_WEBHOOK_SECRET
        self.timeout = timeout
        if urllib.parse.urlsplit(self.url or "").scheme not in ("http", "https"):
            raise ImproperlyConfigured("YIYANG_NOTIFY_WEBHOOK_URL must be an http:// or https:// address")
        if not self.secret:
            raise ImproperlyConfigured("YIYANG_NOTIFY_WEBHOOK_SECRET must be set for the webhook gateway")
        self._opener = urllib.request.build_opener(_NoRedirects)

    def body(self, message: OutboundMessage) -> bytes:
        payload = {"key": message.key, "channel": message.channel, "to": message.to, "text": message.text}
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

    def send(self, message: OutboundMessage) -> Delivery:
        body = self.body(message)
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: sign(body, self.secret),
            "User-Agent": "yiyang-notifications/1"})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, answer = response.status, response.read(64 * 1024)
        except urllib.error.HTTPError as exc:
            detail = exc.read(200).decode("utf-8", "replace").strip() if exc.fp else ""
            return Delivery.failed(f"the gateway answered HTTP {exc.code}" + (f": {detail}" if detail else ""))
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                return Delivery.failed(f"no answer from the gateway within {self.timeout:g} s")
            return Delivery.failed(f"cannot reach the gateway: {exc.reason}")
        except TimeoutError:
            return Delivery.failed(f"no answer from the gateway within {self.timeout:g} s")
        except OSError as exc:
            return Delivery.failed(f"connection to the gateway failed: {exc}")
        if not 200 <= status < 300:
            return Delivery.failed(f"the gateway answered HTTP {status}")
        try:
            data = json.loads(answer)
        except ValueError:
            return Delivery.failed(f"the gateway answered HTTP {status} but not with JSON")
        ref = data.get("id") if isinstance(data, dict) else None
        if ref in (None, ""):
            return Delivery.failed(f'the gateway answered HTTP {status} without an "id"')
        return Delivery.ok(str(ref))


BUILT_IN = {"logging": LoggingGateway, "webhook": WebhookGateway}


def get_gateway(name: str | None = None) -> Gateway:
    """The configured gateway (``YIYANG_NOTIFY_GATEWAY``): logging, webhook, or a dotted class path."""
    name = (name if name is not None else settings.NOTIFY_GATEWAY) or "logging"
    if name in BUILT_IN:
        return BUILT_IN[name]()
    try:
        cls = import_string(name)
    except ImportError as exc:
        raise ImproperlyConfigured(f"YIYANG_NOTIFY_GATEWAY: cannot import {name!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Gateway)):
        raise ImproperlyConfigured(f"YIYANG_NOTIFY_GATEWAY: {name!r} is not a Gateway subclass")
    return cls()
