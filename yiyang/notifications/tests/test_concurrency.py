"""Two workers at once never send the same notification (PostgreSQL: FOR UPDATE SKIP LOCKED and the lease)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection

from yiyang.notifications import services
from yiyang.notifications.gateway import Delivery
from yiyang.notifications.models import Notification, NotificationAttempt

from .conftest import NOW, ScriptedGateway, sms

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer at a time; "
                       "concurrent claims are a PostgreSQL matter"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


class SlowGateway(ScriptedGateway):
    """Takes a moment per message, so both workers are busy at the same time."""

    def send(self, message):
        with self.lock:
            self.sent.append(message)
        time.sleep(0.03)
        return Delivery.ok(f"ref-{message.key}")


def test_two_workers_at_once_send_each_notification_exactly_once():
    keys = [f"alarm:{n}:son" for n in range(16)]
    for key in keys:
        sms(key)
    gateway = SlowGateway()
    start = threading.Barrier(2)
    made: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            start.wait()
            made.append(services.deliver_due(now=NOW, gateway=gateway))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    sent = Counter(m.key for m in gateway.sent)
    assert sent == Counter(keys)  # every key once, none twice
    assert sum(made) == len(keys) and len(made) == 2
    assert set(Notification.objects.values_list("state", "attempts")) == {("sent", 1)}
    assert NotificationAttempt.objects.count() == len(keys)
