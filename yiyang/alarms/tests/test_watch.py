"""Alarms from what did not happen: no movement for hours (``no_movement``), not back by a set time (``late_return``).

Pure rules first (with hypothesis around the boundaries), then the listener's
pipeline and ``watch`` against the database.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from yiyang.alarms import escalation, rules, store, watch
from yiyang.alarms.ingest import Processor
from yiyang.alarms.models import Alarm, Device, EscalationStep, EscalationTask, Geofence, Telemetry
from yiyang.alarms.validation import Message

from .conftest import envelope

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
PREFIX = "yiyang/devices"
T0 = dt.datetime(2026, 5, 1, 0, 0, tzinfo=dt.UTC)
HOME = (31.45, 104.72)
FAR = (31.50, 104.72)  # about 5.6 km north of HOME


def metres_north(point, metres):
    return point[0] + metres / 111_195.0, point[1]


# --- pure rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, fields, moved", [
    ("door", {"state": "open"}, True),
    ("door", {"state": "closed"}, True),
    ("sos", {}, True),
    ("fall", {"confidence": 0.9}, True),
    ("out_of_bed", {"minutes": 30}, True),
    ("vitals", {"heart_rate": 70, "in_bed": False}, True),
    ("vitals", {"heart_rate": 70, "in_bed": True}, False),
    ("vitals", {"heart_rate": 70}, False),
    ("heartbeat", {"battery": 80}, False),
    ("smoke", {}, False),
    ("gas", {"ppm": 900}, False),
])
def test_which_messages_count_as_movement(kind, fields, moved):
    assert rules.activity_of(kind, fields).moved is moved


def test_a_position_moves_only_50_m_from_where_the_watch_last_moved():
    first = rules.activity_of("location", {"lat": HOME[0], "lon": HOME[1]}, None)
    assert first.moved and first.anchor == HOME  # the first position starts the clock
    near = metres_north(HOME, 45)
    jitter = rules.activity_of("location", {"lat": near[0], "lon": near[1]}, first.anchor)
    assert not jitter.moved and jitter.anchor == HOME
    away = metres_north(HOME, 60)
    walk = rules.activity_of("location", {"lat": away[0], "lon": away[1]}, first.anchor)
    assert walk.moved and walk.anchor == away


@given(steps=st.lists(st.floats(0, 120), min_size=1, max_size=40))
def test_slow_drift_counts_once_it_adds_up_to_50_m(steps):
    """Creeping 10 m at a time still counts: distance is measured from the last place the watch moved."""
    anchor, position, travelled = HOME, HOME, 0.0
    for step in steps:
        position = metres_north(position, step)
        activity = rules.activity_of("location", {"lat": position[0], "lon": position[1]}, anchor)
        travelled += step
        expected = rules.distance_m(*anchor, *position) >= rules.MOVE_METRES
        assert activity.moved is expected
        assert activity.anchor == (position if expected else anchor)
        anchor = activity.anchor


@given(last=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1), timezones=st.just(dt.UTC)),
       hours=st.integers(1, 720))
def test_the_stillness_deadline_is_exactly_the_hours_after_the_last_movement(last, hours):
    deadline = rules.still_deadline(last, hours)
    assert deadline - last == dt.timedelta(hours=hours)
    assert not rules.is_still(deadline, deadline)  # at the deadline: not yet
    assert rules.is_still(deadline, deadline + dt.timedelta(microseconds=1))
    assert not rules.is_still(None, deadline + dt.timedelta(days=365))  # raised already: cleared


def test_a_device_without_hours_has_no_deadline():
    assert rules.still_deadline(T0, None) is None and rules.still_deadline(T0, 0) is None


local_times = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2030, 12, 31))
times_of_day = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@given(now=local_times, return_by=times_of_day, checked=st.sampled_from([None, -2, -1, 0]))
def test_a_return_time_is_due_once_a_day_from_its_moment_until_midnight(now, return_by, checked):
    now = now.replace(tzinfo=SHANGHAI)
    checked_on = None if checked is None else now.date() + dt.timedelta(days=checked)
    due = rules.return_due(return_by, checked_on, now)
    judged_today = checked_on is not None and checked_on >= now.date()
    if judged_today or now.time() < return_by:
        assert due is None
    else:
        assert due == now.date()


@pytest.mark.parametrize("now, return_by, checked_on, due", [
    # midnight itself: a return time of 00:00 is due the moment the day begins, even if judged yesterday
    (dt.datetime(2026, 5, 2, 0, 0), dt.time(0, 0), dt.date(2026, 5, 1), dt.date(2026, 5, 2)),
    (dt.datetime(2026, 5, 1, 23, 58, 59), dt.time(23, 59), None, None),
    (dt.datetime(2026, 5, 1, 23, 59), dt.time(23, 59), None, dt.date(2026, 5, 1)),
    # missed yesterday at 23:59: it is not judged after midnight (today's 23:59 is still ahead)
    (dt.datetime(2026, 5, 2, 0, 0, 30), dt.time(23, 59), dt.date(2026, 4, 30), None),
    (dt.datetime(2026, 5, 1, 19, 59, 59), dt.time(20, 0), None, None),
    (dt.datetime(2026, 5, 1, 20, 0), dt.time(20, 0), None, dt.date(2026, 5, 1)),
    (dt.datetime(2026, 5, 1, 20, 0), dt.time(20, 0), dt.date(2026, 5, 1), None),
])
def test_return_time_boundaries(now, return_by, checked_on, due):
    assert rules.return_due(return_by, checked_on, now.replace(tzinfo=SHANGHAI)) == due


@given(day=st.dates(dt.date(2025, 1, 1), dt.date(2030, 12, 31)), return_by=times_of_day)
def test_positions_count_from_midnight_or_12_hours_before_the_return_time(day, return_by):
    start = rules.position_window_start(day, return_by, SHANGHAI)
    midnight = dt.datetime.combine(day, dt.time(0, 0), tzinfo=SHANGHAI)
    moment = rules.return_moment(day, return_by, SHANGHAI)
    assert start <= midnight and moment - start >= rules.RETURN_LOOKBACK
    assert start in (midnight, moment - rules.RETURN_LOOKBACK)


def test_judging_a_return():
    zones = [rules.Zone("家", *HOME, 500)]
    assert rules.judge_return(None, zones) == {"no_position": True}
    assert rules.judge_return(metres_north(HOME, 400), zones) is None
    late = rules.judge_return(FAR, zones)
    assert late["nearest_zone"] == "家" and late["metres_outside"] > 5000


# --- the pipeline: movement ---------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_ladders():
    escalation.forget_ladders()
    yield
    escalation.forget_ladders()


def watched(device_id: str, hours: int = 12, last_activity_at=None, **fields) -> None:
    Device.objects.filter(pk=device_id).update(inactivity_hours=hours, last_activity_at=last_activity_at,
                                               still_after=rules.still_deadline(last_activity_at, hours)
                                               if last_activity_at else None, **fields)


def send(device_id: str, secret: str, kind: str, at: dt.datetime, msg_id: str, **fields):
    body = {"msg_id": msg_id, "ts": at.isoformat(), "type": kind, **fields}
    # A new processor each time: the device cache must see inactivity_hours as the test set it.
    return Processor(topic_prefix=PREFIX).process(f"{PREFIX}/{device_id}/events", envelope(body, secret),
                                                  received_at=at)


def mattress_up(at, msg_id):
    return send("t-a-mattress", "secret-a_mattress", "vitals", at, msg_id, heart_rate=72, in_bed=False)


def ladder_size(alarm_type: str) -> int:
    return EscalationStep.objects.filter(alarm_type=alarm_type, is_active=True).count()


def test_stillness_raises_once_then_again_only_after_movement_and_new_stillness(devices):
    watched("t-a-mattress", 12)
    assert mattress_up(T0, "v1").status == "stored"
    device = Device.objects.get(pk="t-a-mattress")
    assert device.last_activity_at == T0 and device.still_after == T0 + dt.timedelta(hours=12)

    assert watch.raise_still_alarms(T0 + dt.timedelta(hours=11, minutes=59)) == []
    [alarm] = watch.raise_still_alarms(T0 + dt.timedelta(hours=12, seconds=30))
    assert (alarm.type, alarm.source, alarm.priority, alarm.status) == ("no_movement", "platform", 2, "new")
    assert alarm.msg_id == f"@still:{T0.isoformat()}" and alarm.device_id == "t-a-mattress"
    assert alarm.elder_id == devices["a_mattress"].elder_id and alarm.area_code == devices["a_mattress"].area_id
    assert alarm.payload["inactivity_hours"] == 12 and alarm.payload["last_activity_at"] == T0.isoformat()
    assert ladder_size("no_movement") >= 1
    assert EscalationTask.objects.filter(alarm=alarm).count() == ladder_size("no_movement")
    assert Device.objects.get(pk="t-a-mattress").still_after is None

    assert watch.raise_still_alarms(T0 + dt.timedelta(hours=30)) == []  # the same stillness: once

    later = T0 + dt.timedelta(hours=31)
    mattress_up(later, "v2")
    assert watch.raise_still_alarms(later + dt.timedelta(hours=11)) == []
    [second] = watch.raise_still_alarms(later + dt.timedelta(hours=12, seconds=1))
    assert second.msg_id == f"@still:{later.isoformat()}"
    assert Alarm.objects.filter(type="no_movement").count() == 2


def test_devices_without_hours_are_never_still(devices):
    send("t-a-sos", "secret-a_sos", "sos", T0, "s1")
    send("t-a-mattress", "secret-a_mattress", "vitals", T0, "v1", heart_rate=70, in_bed=False)
    assert Device.objects.filter(last_activity_at__isnull=False).count() == 0
    assert Device.objects.filter(still_after__isnull=False).count() == 0
    # Even a deadline left over from when it was watched raises nothing once the hours are cleared.
    Device.objects.filter(pk="t-a-mattress").update(still_after=T0, last_activity_at=T0 - dt.timedelta(hours=1))
    assert watch.raise_still_alarms(T0 + dt.timedelta(days=3)) == []


def test_an_unwatched_device_costs_no_extra_write(devices):
    """store_reading for a door event: no UPDATE of the device unless it is watched for stillness."""
    Device.objects.filter(pk="t-a-sos").update(inactivity_hours=None)

    def updates(hours):
        info = store.DeviceInfo("t-a-sos", "x", True, devices["a_sos"].area_id, None, None, None, hours)
        msg = Message(msg_id=f"d-{hours}", type="door", device_time=T0, fields={"state": "open"})
        with CaptureQueriesContext(connection) as queries:
            store.store_reading(store.Accepted(info, msg, T0, False))
        return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]

    assert updates(None) == []
    assert len(updates(24)) == 1
    assert Device.objects.get(pk="t-a-sos").last_activity_at == T0


BEFORE = T0 - dt.timedelta(hours=1)


@pytest.mark.parametrize("kind, fields, moved", [
    ("door", {"state": "open"}, True),
    ("vitals", {"heart_rate": 70, "in_bed": False}, True),
    ("vitals", {"heart_rate": 70, "in_bed": True}, False),
    ("location", {"lat": FAR[0], "lon": FAR[1]}, True),
    ("location", {"lat": metres_north(HOME, 20)[0], "lon": HOME[1]}, False),
    ("heartbeat", {"battery": 90}, False),
    ("sos", {}, True),
    ("fall", {}, True),
    ("out_of_bed", {"minutes": 20}, True),
    ("smoke", {}, False),
])
def test_each_message_kind_moves_the_last_activity_or_not(devices, kind, fields, moved):
    watched("t-a-watch", 6, last_activity_at=BEFORE, alert_state={"anchor": list(HOME)})
    assert send("t-a-watch", "secret-a_watch", kind, T0, "m1", **fields).status == "stored"
    device = Device.objects.get(pk="t-a-watch")
    assert device.last_activity_at == (T0 if moved else BEFORE)
    assert device.still_after == (T0 if moved else BEFORE) + dt.timedelta(hours=6)


def test_a_watch_that_moved_measures_from_its_new_place(devices):
    watched("t-a-watch", 6, last_activity_at=BEFORE, alert_state={"anchor": list(HOME)})
    send("t-a-watch", "secret-a_watch", "location", T0, "p1", lat=FAR[0], lon=FAR[1])
    assert Device.objects.get(pk="t-a-watch").alert_state["anchor"] == list(FAR)
    near_far = metres_north(FAR, 30)
    send("t-a-watch", "secret-a_watch", "location", T0 + dt.timedelta(minutes=5), "p2", lat=near_far[0], lon=near_far[1])
    assert Device.objects.get(pk="t-a-watch").last_activity_at == T0


def test_a_mattress_out_of_bed_all_evening_writes_its_movement_once_a_minute(devices):
    watched("t-a-mattress", 12, last_activity_at=BEFORE)
    mattress_up(T0, "v1")
    mattress_up(T0 + dt.timedelta(seconds=30), "v2")
    assert Device.objects.get(pk="t-a-mattress").last_activity_at == T0
    mattress_up(T0 + dt.timedelta(seconds=61), "v3")
    assert Device.objects.get(pk="t-a-mattress").last_activity_at == T0 + dt.timedelta(seconds=61)


def test_a_watched_device_that_never_moved_starts_its_clock_at_its_first_message(devices):
    watched("t-a-mattress", 12)
    send("t-a-mattress", "secret-a_mattress", "heartbeat", T0, "h1")
    device = Device.objects.get(pk="t-a-mattress")
    assert device.last_activity_at == T0 and device.still_after == T0 + dt.timedelta(hours=12)
    send("t-a-mattress", "secret-a_mattress", "heartbeat", T0 + dt.timedelta(hours=1), "h2")
    assert Device.objects.get(pk="t-a-mattress").last_activity_at == T0  # a heartbeat is not movement


def test_an_sos_in_a_batch_moves_its_device(devices):
    watched("t-a-sos", 24, last_activity_at=BEFORE)
    processor = Processor(topic_prefix=PREFIX)
    items = [processor.prepare(f"{PREFIX}/t-a-sos/events", envelope(
        {"msg_id": f"b{n}", "ts": T0.isoformat(), "type": "sos"}, "secret-a_sos"), received_at=T0 + dt.timedelta(seconds=n))
        for n in range(3)]
    assert [o.status for o in processor.store_batch(items)] == ["stored"] * 3
    assert Device.objects.get(pk="t-a-sos").last_activity_at == T0 + dt.timedelta(seconds=2)


# --- late return --------------------------------------------------------------------------------

DAY = dt.date(2026, 5, 1)


def local(hour, minute=0, day=DAY):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


@pytest.fixture
def zone(devices):
    elder = devices["a_watch"].elder
    return Geofence.objects.create(elder=elder, name="家附近", latitude=HOME[0], longitude=HOME[1], radius_m=500,
                                   return_by=dt.time(20, 0))


def position(at, point, device_id="t-a-watch", msg_id=None):
    return Telemetry.objects.create(device_id=device_id, msg_id=msg_id or f"loc-{at.timestamp()}", type="location",
                                    device_time=at, received_at=at, data={"lat": point[0], "lon": point[1]})


def test_inside_at_the_return_time_raises_nothing_and_the_day_is_judged(zone):
    position(local(19, 40), metres_north(HOME, 300))
    assert watch.raise_late_returns(local(19, 59)) == []
    assert Geofence.objects.get(pk=zone.pk).return_checked_on is None  # not yet its time
    assert watch.raise_late_returns(local(20, 0)) == []
    assert Geofence.objects.get(pk=zone.pk).return_checked_on == DAY


def test_outside_at_the_return_time_raises_once_a_day(zone, devices):
    position(local(15, 0), HOME)
    position(local(19, 50), FAR)
    [alarm] = watch.raise_late_returns(local(20, 1))
    assert (alarm.type, alarm.source, alarm.priority) == ("late_return", "platform", 2)
    assert alarm.msg_id == f"@late:{zone.pk}:2026-05-01" and alarm.device_id == "t-a-watch"
    assert alarm.elder_id == zone.elder_id and alarm.area_code == devices["a_watch"].area_id
    assert alarm.payload["zone"] == "家附近" and alarm.payload["return_by"] == "20:00"
    assert alarm.payload["metres_outside"] > 5000 and "no_position" not in alarm.payload
    assert EscalationTask.objects.filter(alarm=alarm).count() == ladder_size("late_return") >= 1
    assert watch.raise_late_returns(local(20, 2)) == []
    assert watch.raise_late_returns(local(23, 59)) == []
    assert Alarm.objects.filter(type="late_return").count() == 1


def test_no_position_today_is_an_alarm_too(zone):
    position(local(19, 50, day=DAY - dt.timedelta(days=1)), HOME)  # yesterday's: does not count today
    [alarm] = watch.raise_late_returns(local(21, 0))
    assert alarm.payload["no_position"] is True and "position_at" not in alarm.payload
    assert alarm.payload["positions_since"] == local(0, 0).isoformat()


def test_each_day_is_judged_on_its_own(zone):
    position(local(19, 50), FAR)
    assert len(watch.raise_late_returns(local(20, 5))) == 1
    next_day = DAY + dt.timedelta(days=1)
    position(local(19, 0, day=next_day), HOME)
    assert watch.raise_late_returns(local(20, 5, day=next_day)) == []
    assert Geofence.objects.get(pk=zone.pk).return_checked_on == next_day
    third = next_day + dt.timedelta(days=1)
    position(local(19, 0, day=third), FAR)
    [alarm] = watch.raise_late_returns(local(20, 5, day=third))
    assert alarm.msg_id == f"@late:{zone.pk}:{third.isoformat()}"


def test_inside_another_of_the_elders_zones_is_inside(zone):
    Geofence.objects.create(elder=zone.elder, name="女儿家", latitude=FAR[0], longitude=FAR[1], radius_m=300)
    position(local(19, 50), FAR)
    assert watch.raise_late_returns(local(20, 5)) == []


def test_zones_without_a_watch_or_inactive_or_without_a_time_are_not_judged(zone, city, devices):
    Device.objects.filter(pk="t-a-watch").update(is_active=False)
    assert watch.raise_late_returns(local(20, 5)) == []  # no active watch: nothing can say where the elder is
    Device.objects.filter(pk="t-a-watch").update(is_active=True)
    Geofence.objects.filter(pk=zone.pk).update(is_active=False, return_checked_on=None)
    Geofence.objects.create(elder=zone.elder, name="无时间", latitude=HOME[0], longitude=HOME[1], radius_m=500)
    assert watch.raise_late_returns(local(20, 5, day=DAY + dt.timedelta(days=1))) == []
    assert Alarm.objects.count() == 0


def test_an_evening_position_counts_for_a_return_time_after_midnight(zone):
    Geofence.objects.filter(pk=zone.pk).update(return_by=dt.time(0, 30))
    position(local(22, 0, day=DAY), HOME)  # the evening before: inside
    assert watch.raise_late_returns(local(0, 31, day=DAY + dt.timedelta(days=1))) == []
    assert Geofence.objects.get(pk=zone.pk).return_checked_on == DAY + dt.timedelta(days=1)


def test_the_demo_watches_mattresses_and_one_watchs_return_time(city):
    from yiyang.alarms.demo import build_devices
    from yiyang.people.models import Elder

    Elder.objects.update(latitude=HOME[0], longitude=HOME[1])
    build_devices(sorted(Elder.objects.values_list("pk", flat=True)))
    mattresses = Device.objects.filter(kind="smart_mattress")
    assert mattresses.exists() and set(mattresses.values_list("inactivity_hours", flat=True)) == {12}
    assert set(Device.objects.exclude(kind="smart_mattress").values_list("inactivity_hours", flat=True)) == {None}
    zones = Geofence.objects.order_by("pk")
    assert zones.count() >= 2
    assert [z.return_by for z in zones] == [dt.time(20, 0)] + [None] * (zones.count() - 1)
