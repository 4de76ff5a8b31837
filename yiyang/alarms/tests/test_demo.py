"""The demo devices of CONTRACT.md: demo-dev-1 … demo-dev-50, secrets demo-secret-1 …, bound to demo elders."""

from __future__ import annotations

import datetime as dt

from yiyang.alarms.demo import build_devices
from yiyang.alarms.ingest import Processor
from yiyang.alarms.models import Alarm, Device
from yiyang.people.models import Elder

from .conftest import envelope


def test_fifty_demo_devices_bound_to_elders_and_usable(city):
    elder_ids = list(Elder.objects.values_list("pk", flat=True))
    build_devices(elder_ids)
    devices = Device.objects.all()
    assert sorted(d.device_id for d in devices) == sorted(f"demo-dev-{n}" for n in range(1, 51))
    assert all(d.secret == f"demo-secret-{d.device_id.rsplit('-', 1)[1]}" for d in devices)
    assert all(d.elder_id in elder_ids and d.area_id == d.elder.area_id for d in devices)
    assert {d.area_id[:6] for d in devices} == {"510703", "510704"}  # spread over the elders, not piled on one
    body = {"msg_id": "demo-1", "ts": dt.datetime.now(dt.UTC).isoformat(), "type": "sos"}
    outcome = Processor().process("yiyang/devices/demo-dev-7/events", envelope(body, "demo-secret-7"))
    assert outcome.status == "stored" and Alarm.objects.get().elder_id == Device.objects.get(pk="demo-dev-7").elder_id
