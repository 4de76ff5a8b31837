"""The message pipeline against the real database, without the broker: what is stored, what is refused."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from yiyang.alarms import offline, services
from yiyang.alarms.ingest import Processor
from yiyang.alarms.models import Alarm, Device, Geofence, RejectedMessage, Telemetry, VitalThreshold

from .conftest import envelope

PREFIX = "yiyang/devices"
T0 = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def processor(clock):
    return Processor(topic_prefix=PREFIX, clock=clock)


def topic(device_id):
    return f"{PREFIX}/{device_id}/events"


def body(msg_id, kind="sos", at=T0, **fields):
    return {"msg_id": msg_id, "ts": at.isoformat(), "type": kind, **fields}


def send(processor, device_id, secret, data, at=T0):
    return processor.process(topic(device_id), envelope(data, secret), received_at=at)


def test_an_sos_is_stored_with_the_devices_elder_area_and_status(processor, devices, city):
    outcome = send(processor, "t-a-sos", "secret-a_sos", body("m1", battery=64))
    assert outcome.status == "stored" and outcome.ack() == {"msg_id": "m1", "status": "stored"}
    alarm = Alarm.objects.get(pk=outcome.alarm_id)
    assert (alarm.type, alarm.msg_id, alarm.status, alarm.priority) == ("sos", "m1", "new", 1)
    assert alarm.elder == city.elders["510703"][0] and alarm.area_code == city.elders["510703"][0].area_id
    assert alarm.device_time == T0 and not alarm.clock_skew_flag and alarm.payload["battery"] == 64
    device = Device.objects.get(pk="t-a-sos")
    assert device.last_seen_at == T0 and device.battery == 64
    assert device.offline_after == T0 + dt.timedelta(seconds=180)


def test_a_replay_is_the_same_alarm(processor, devices):
    first = send(processor, "t-a-sos", "secret-a_sos", body("m1"))
    again = send(processor, "t-a-sos", "secret-a_sos", body("m1"), at=T0 + dt.timedelta(seconds=5))
    assert again.status == "duplicate" and again.alarm_id == first.alarm_id
    assert Alarm.objects.count() == 1
    # The same msg_id from another device is another alarm.
    assert send(processor, "t-b-sos", "secret-b_sos", body("m1")).status == "stored"
    assert Alarm.objects.count() == 2


def test_several_alarms_close_together_are_each_stored(processor, devices):
    for n in range(5):
        assert send(processor, "t-a-sos", "secret-a_sos", body(f"burst-{n}", kind="fall")).status == "stored"
    assert Alarm.objects.filter(type="fall").count() == 5


@pytest.mark.parametrize("device_id, secret, reason", [
    ("t-nobody", "secret-a_sos", "unknown_device"),
    ("t-a-sos", "secret-b_sos", "bad_signature"),
])
def test_unknown_device_or_wrong_signature_is_never_an_alarm(processor, devices, device_id, secret, reason):
    outcome = send(processor, device_id, secret, body("m1"))
    assert outcome.status == "rejected" and outcome.reason == reason
    assert not Alarm.objects.exists()
    row = RejectedMessage.objects.get()
    assert (row.reason, row.device_ref, row.topic) == (reason, device_id, topic(device_id))
    # A known device's rejections carry its area, so its officials can see them; unknown ones none.
    assert row.area_code == ("" if reason == "unknown_device" else devices["a_sos"].area_id)
    assert "m1" in row.raw and row.size > 0


def test_a_deactivated_device_is_refused(processor, devices):
    Device.objects.filter(pk="t-a-sos").update(is_active=False)
    assert send(processor, "t-a-sos", "secret-a_sos", body("m1")).reason == "inactive_device"
    assert not Alarm.objects.exists()


def test_a_clock_years_off_is_kept_and_flagged(processor, devices):
    years_ago = T0 - dt.timedelta(days=3 * 365)
    outcome = send(processor, "t-a-sos", "secret-a_sos", body("old-clock", kind="fall", at=years_ago))
    alarm = Alarm.objects.get(pk=outcome.alarm_id)
    assert alarm.clock_skew_flag and alarm.device_time == years_ago and alarm.received_at == T0
    assert not send(processor, "t-a-sos", "secret-a_sos", body("ok-clock", at=T0 - dt.timedelta(seconds=60))).reason
    assert not Alarm.objects.get(msg_id="ok-clock").clock_skew_flag


def test_an_alarm_with_a_broken_ts_and_msg_id_is_still_an_alarm(processor, devices):
    text = json.dumps({"ts": "noon", "type": "sos"})
    payload = envelope(text, "secret-a_sos")
    first = processor.process(topic("t-a-sos"), payload, received_at=T0)
    again = processor.process(topic("t-a-sos"), payload, received_at=T0)
    alarm = Alarm.objects.get()
    assert first.status == "stored" and again.status == "duplicate"
    assert alarm.device_time is None and alarm.clock_skew_flag and alarm.msg_id.startswith("@body:")
    assert alarm.payload["_problems"]


def test_malformed_json_goes_to_the_rejected_log(processor, devices):
    outcome = processor.process(topic("t-a-sos"), b'{"body": "x", "sig": ', received_at=T0)
    assert outcome.reason == "not_json"
    assert RejectedMessage.objects.get().raw == '{"body": "x", "sig": '
    bad_body = envelope("{not json", "secret-a_sos")
    assert processor.process(topic("t-a-sos"), bad_body, received_at=T0).reason == "bad_body"
    nul = processor.process(topic("t-a-sos"), b"\x00\x01{", received_at=T0)
    assert nul.reason == "not_json" and RejectedMessage.objects.filter(raw__startswith="\\x00").exists()


def test_a_megabyte_is_refused_unread_and_only_its_start_kept(processor, devices):
    payload = b'{"body": "' + b"x" * (1024 * 1024) + b'", "sig": "00"}'
    outcome = processor.process(topic("t-a-sos"), payload, received_at=T0)
    assert outcome.reason == "too_large"
    row = RejectedMessage.objects.get()
    assert row.size == len(payload) and len(row.raw) == 2000


def test_telemetry_is_rate_limited_per_device_but_alarms_never(processor, devices, clock):
    outcomes = []
    for n in range(40):
        outcomes.append(send(processor, "t-a-mattress", "secret-a_mattress",
                             body(f"v{n}", kind="vitals", heart_rate=70)).status)
        if n == 20:
            assert send(processor, "t-a-mattress", "secret-a_mattress", body("sos-mid", kind="sos")).status == "stored"
    assert outcomes[:5] == ["stored"] * 5 and set(outcomes[5:]) == {"rejected"}
    assert Telemetry.objects.count() == 5 and Alarm.objects.filter(msg_id="sos-mid").exists()
    # Another device is not slowed by this one.
    assert send(processor, "t-a-watch", "secret-a_watch", body("w1", kind="location", lat=31.4, lon=104.7)).status == "stored"
    # A flood is logged once a minute per device, with the count of the rest.
    rows = RejectedMessage.objects.filter(reason="rate_limited")
    assert rows.count() == 1
    processor.flush_suppressed()
    assert rows.get().suppressed == 34
    clock.now += 1.0
    assert send(processor, "t-a-mattress", "secret-a_mattress", body("v-later", kind="vitals", heart_rate=70)).status == "stored"


def test_a_flood_of_garbage_does_not_write_a_row_each(processor, devices):
    for _ in range(100):
        processor.process(topic("t-nobody"), b"garbage", received_at=T0)
    assert RejectedMessage.objects.count() == 20
    processor.flush_suppressed()
    assert sum(RejectedMessage.objects.values_list("suppressed", flat=True)) == 80


def test_vitals_out_of_the_elders_limits_raise_one_alarm_per_crossing(processor, devices, city, clock):
    elder = city.elders["510703"][0]
    VitalThreshold.objects.create(elder=elder, metric="heart_rate", min_value=50, max_value=100)
    readings = [110, 115, 80, 120]
    for n, rate in enumerate(readings):
        clock.now += 2
        assert send(processor, "t-a-mattress", "secret-a_mattress", body(f"v{n}", kind="vitals", heart_rate=rate)).status == "stored"
    alarms = list(Alarm.objects.filter(type="vitals_out_of_range").order_by("id"))
    assert [a.msg_id for a in alarms] == ["@vitals_out_of_range:v0", "@vitals_out_of_range:v3"]
    assert alarms[0].payload["breaches"]["heart_rate"] == {"value": 110, "min": 50, "max": 100}
    assert alarms[0].elder == elder and alarms[0].priority == 1
    assert Telemetry.objects.filter(type="vitals").count() == 4
    # The reading sent again is a duplicate, not a second alarm.
    clock.now += 2
    assert send(processor, "t-a-mattress", "secret-a_mattress", body("v3", kind="vitals", heart_rate=120)).status == "duplicate"
    assert Alarm.objects.filter(type="vitals_out_of_range").count() == 2


def test_leaving_the_safe_zone_raises_an_alarm_once(processor, devices, city, clock):
    Geofence.objects.create(elder=city.elders["510703"][0], name="家", latitude=31.46, longitude=104.68, radius_m=300)
    positions = [(31.4605, 104.6805), (31.47, 104.68), (31.471, 104.68), (31.46, 104.68), (31.48, 104.68)]
    for n, (lat, lon) in enumerate(positions):
        clock.now += 2
        send(processor, "t-a-watch", "secret-a_watch", body(f"p{n}", kind="location", lat=lat, lon=lon))
    alarms = Alarm.objects.filter(type="geofence_exit").order_by("id")
    assert [a.msg_id for a in alarms] == ["@geofence_exit:p1", "@geofence_exit:p4"]
    assert alarms[0].payload["nearest_zone"] == "家" and alarms[0].payload["metres_outside"] > 700


def test_a_heartbeat_updates_the_device_without_a_row(processor, devices):
    send(processor, "t-a-watch", "secret-a_watch", body("hb1", kind="heartbeat", battery=15))
    device = Device.objects.get(pk="t-a-watch")
    assert device.battery == 15 and device.last_seen_at == T0
    assert not Telemetry.objects.exists() and not Alarm.objects.exists()


def test_a_changed_secret_is_picked_up(processor, devices, clock):
    assert send(processor, "t-a-sos", "secret-a_sos", body("m1")).status == "stored"
    new = services.change_secret(devices["a_sos"], acting_user=None)
    clock.now += 10
    assert send(processor, "t-a-sos", new, body("m2")).status == "stored"
    assert send(processor, "t-a-sos", "secret-a_sos", body("m3")).reason == "bad_signature"


def test_silent_devices_raise_device_offline_once_per_outage(processor, devices):
    send(processor, "t-a-watch", "secret-a_watch", body("hb1", kind="heartbeat"))
    assert not offline.find_offline_devices(T0 + dt.timedelta(seconds=179)).exists()
    later = T0 + dt.timedelta(seconds=181)
    assert list(offline.find_offline_devices(later)) == [Device.objects.get(pk="t-a-watch")]
    raised = offline.raise_offline_alarms(later)
    assert [(a.type, a.device_id, a.priority) for a in raised] == [("device_offline", "t-a-watch", 3)]
    assert offline.raise_offline_alarms(later + dt.timedelta(hours=1)) == []
    # Devices never heard from are not watched; the device speaks again, then falls silent again: a new outage.
    back = T0 + dt.timedelta(hours=2)
    processor.clock.now += 7200
    send(processor, "t-a-watch", "secret-a_watch", body("hb2", kind="heartbeat", at=back), at=back)
    assert offline.raise_offline_alarms(back + dt.timedelta(seconds=100)) == []
    assert len(offline.raise_offline_alarms(back + dt.timedelta(seconds=200))) == 1
    assert Alarm.objects.filter(type="device_offline").count() == 2


def test_a_batch_stores_each_alarm_once_and_touches_each_device_once(processor, devices, django_assert_max_num_queries):
    items = [processor.prepare(topic("t-a-sos"), envelope(body(f"b{n % 3}"), "secret-a_sos"), received_at=T0)
             for n in range(6)]
    items.append(processor.prepare(topic("t-b-sos"), envelope(body("b0", battery=50), "secret-b_sos"), received_at=T0))
    items.append(processor.prepare(topic("t-nobody"), b"{}", received_at=T0))
    with django_assert_max_num_queries(12):
        outcomes = processor.store_batch(items)
    assert [o.status for o in outcomes] == ["stored"] * 3 + ["duplicate"] * 3 + ["stored", "rejected"]
    assert outcomes[3].alarm_id == outcomes[0].alarm_id
    assert Alarm.objects.count() == 4 and Device.objects.get(pk="t-b-sos").battery == 50
