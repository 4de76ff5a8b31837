"""Gateways that fail on cue, and a fixed clock for the worker."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.utils import timezone

from yiyang.notifications import services
from yiyang.notifications.gateway import Delivery, Gateway, OutboundMessage

SECRET = "receipt-secret-for-tests"
NOW = timezone.now().replace(microsecond=0)


class ScriptedGateway(Gateway):
    """Answers each send from a script (Delivery, or an exception to raise), then accepts; keeps what it got."""

    name = "scripted"

    def __init__(self, *script):
        self.script = list(script)
        self.sent: list[OutboundMessage] = []
        self.lock = threading.Lock()

    def send(self, message: OutboundMessage) -> Delivery:
        with self.lock:
            self.sent.append(message)
            step = self.script.pop(0) if self.script else Delivery.ok(f"ref-{len(self.sent)}")
        if isinstance(step, BaseException):
            raise step
        return step


class NotAGateway:
    """For the configuration check: a class that is not a Gateway."""


def sms(key: str = "alarm:1:son", *, area_code: str = "510703001001", at: dt.datetime = NOW, **kw):
    fields = dict(channel="sms", text="紧急呼叫：甲老人0 按下了呼救按钮", subject="alarm:1", area_code=area_code,
                  key=key, address="13900000001", recipient_label="儿子 张伟", now=at)
    fields.update(kw)
    return services.queue(**fields)


@pytest.fixture
def secret(settings):
    settings.NOTIFY_WEBHOOK_SECRET = SECRET
    return SECRET
