"""Sending help to an alarm: where to go, who is near and free, and the urgent order it creates.

The scene: the home-care provider of the homecare tests (serving 涪城区) and a second one
serving one township, both offering 助急; caregivers at known distances from the elder's
home, on shift 08:00–18:00 on Monday ``DAY``; the clock is 10:00 that day.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yiyang.accounts.roles import Role
from yiyang.alarms import response
from yiyang.alarms import services as alarm_services
from yiyang.alarms.models import Alarm, AlarmEvent, Telemetry
from yiyang.alarms.response import LocationSource, PositionSource
from yiyang.areas.models import Area
from yiyang.conftest import _user
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditEntry
from yiyang.homecare import rules as care_rules
from yiyang.homecare import services as care_services
from yiyang.homecare.models import (
    Leave,
    OrderEvent,
    ProviderProfile,
    ServiceOrder,
    ServiceType,
    Shift,
    Skill,
    Worker,
    WorkerSkill,
)
from yiyang.homecare.rules import Status
from yiyang.homecare.tests.conftest import DAY, HOME, at, care  # noqa: F401 (the homecare scene, reused)
from yiyang.organizations.models import Organization, OrganizationKind
from yiyang.people.models import Elder

NOW = at(10)


def north(metres: float) -> tuple[float, float]:
    """A point ``metres`` north of the elder's home."""
    return HOME[0] + metres / 111_195, HOME[1]


@dataclass
class Scene:
    care: object
    sos: ServiceType
    first_aid: Skill
    other_provider: Organization
    near: Worker  # 500 m
    mid: Worker  # 1.2 km
    far: Worker  # 3 km
    other: Worker  # 2 km, of the other provider
    watch: object  # the elder's GPS watch
    elder: Elder


def make_worker(provider, name: str, metres: float, first_aid: Skill, *, shift=(8, 18), login: bool = False) -> Worker:
    lat, lon = north(metres)
    user = _user(f"t-cg-{name}", Role.CAREGIVER, organization=provider) if login else None
    worker = Worker.objects.create(provider=provider, name=name, base_latitude=lat, base_longitude=lon, user=user)
    WorkerSkill.objects.create(worker=worker, skill=first_aid)
    if shift:
        Shift.objects.create(worker=worker, day=DAY, start=dt.time(shift[0]), end=dt.time(shift[1]))
    return worker


@pytest.fixture
def scene(city, care) -> Scene:  # noqa: F811 (the fixture imported above)
    first_aid = Skill.objects.create(code="first_aid", name="急救")
    sos = ServiceType.objects.create(code="sos-help", name="紧急援助", kind="emergency", duration_minutes=30,
                                     unit_price_fen=0)
    sos.skills.add(first_aid)
    care.profile.services.add(sos)
    other_provider = Organization.objects.create(name="第二服务站", kind=OrganizationKind.PROVIDER,
                                                 area_id="510703001002")
    profile = ProviderProfile.objects.create(organization=other_provider, service_areas=["510703001"])
    profile.services.add(sos)
    _user("t-dispatcher-other", Role.PROVIDER_DISPATCHER, organization=other_provider)
    watch, _secret = alarm_services.register_device(acting_user=None, device_id="t-resp-watch", kind="gps_watch",
                                                    elder=care.elder)
    return Scene(care, sos, first_aid, other_provider,
                 near=make_worker(care.provider, "近", 500, first_aid, login=True),
                 mid=make_worker(care.provider, "中", 1200, first_aid),
                 far=make_worker(care.provider, "远", 3000, first_aid, login=True),
                 other=make_worker(other_provider, "他", 2000, first_aid),
                 watch=watch, elder=care.elder)


def raise_alarm(scene: Scene, msg_id: str = "fall-1", *, gps=None, minutes_ago: float = 1, elder=None,
                device=True, type: str = "fall") -> Alarm:
    elder = elder or scene.elder
    when = NOW - dt.timedelta(minutes=minutes_ago)
    return Alarm.objects.create(
        device=scene.watch if device else None, source="device" if device else "agent", msg_id=msg_id, type=type,
        elder=elder, area_code=elder.area_id, received_at=when, device_time=when,
        payload={"lat": gps[0], "lon": gps[1]} if gps else {})


def reading(scene: Scene, msg_id: str, point, minutes_ago: float) -> Telemetry:
    when = NOW - dt.timedelta(minutes=minutes_ago)
    return Telemetry.objects.create(device=scene.watch, msg_id=msg_id, type="location", received_at=when,
                                    device_time=when, data={"lat": point[0], "lon": point[1]})


def by_name(candidates) -> dict[str, response.Candidate]:
    return {c.worker.name: c for c in candidates}


# --- where help should go ------------------------------------------------------------------------


def test_the_alarms_own_recent_gps_comes_first(scene):
    alarm = raise_alarm(scene, gps=north(800), minutes_ago=2)
    reading(scene, "loc-1", north(100), minutes_ago=1)
    lat, lon, source = response.alarm_location(alarm, now=NOW)
    assert (lat, lon, source) == (pytest.approx(north(800)[0]), pytest.approx(HOME[1]), LocationSource.GPS)
    assert response.locate(alarm, now=NOW).describe(NOW) == "alarm GPS 2 min ago"


def test_without_gps_the_devices_position_of_the_last_15_minutes_is_used(scene):
    alarm = raise_alarm(scene)
    reading(scene, "loc-old", north(300), minutes_ago=10)
    reading(scene, "loc-new", north(200), minutes_ago=4)
    reading(scene, "loc-later", north(900), minutes_ago=-3)  # after "now": not known yet at that time
    assert response.alarm_location(alarm, now=NOW) == (pytest.approx(north(200)[0]), HOME[1], LocationSource.TELEMETRY)
    assert response.locate(alarm, now=NOW).describe(NOW) == "device position 4 min ago"


def test_a_fresh_device_position_beats_an_old_alarm_gps_which_beats_the_home(scene):
    alarm = raise_alarm(scene, gps=north(800), minutes_ago=40)
    assert response.alarm_location(alarm, now=NOW)[2] == LocationSource.GPS  # where it happened, 40 min ago
    reading(scene, "loc-1", north(100), minutes_ago=5)
    assert response.alarm_location(alarm, now=NOW)[2] == LocationSource.TELEMETRY


def test_stale_readings_are_ignored_then_the_home_then_the_village(scene):
    alarm = raise_alarm(scene)
    reading(scene, "loc-stale", north(300), minutes_ago=16)
    assert response.alarm_location(alarm, now=NOW) == (HOME[0], HOME[1], LocationSource.HOME)
    assert response.locate(alarm, now=NOW).describe(NOW) == "home address"
    Elder.objects.filter(pk=scene.elder.pk).update(latitude=None, longitude=None)
    alarm = Alarm.objects.get(pk=alarm.pk)
    assert response.alarm_location(alarm, now=NOW) == (31.45, 104.72, LocationSource.VILLAGE)  # the fixture's areas
    Area.objects.filter(code=alarm.area_code).update(latitude=None)
    assert response.alarm_location(alarm, now=NOW) == (None, None, LocationSource.UNKNOWN)


def test_a_malformed_gps_in_the_payload_is_not_a_position(scene):
    alarm = raise_alarm(scene)
    Alarm.objects.filter(pk=alarm.pk).update(payload={"lat": "31.5", "lon": 104.6, "_problems": ["lat"]})
    assert response.alarm_location(Alarm.objects.get(pk=alarm.pk), now=NOW)[2] == LocationSource.HOME


# --- who is near and free ------------------------------------------------------------------------


def test_available_caregivers_come_first_nearest_first(scene):
    candidates = response.nearby_caregivers(raise_alarm(scene), now=NOW, limit=None)
    names = [c.worker.name for c in candidates]
    assert names[:4] == ["近", "中", "他", "远"]
    assert [c.available for c in candidates[:4]] == [True] * 4
    assert candidates[0].distance_m == 500 and candidates[0].position_source == PositionSource.BASE
    assert candidates[2].provider == scene.other_provider and candidates[2].service == scene.sos
    # the homecare scene's own two workers have no shift that day
    assert {c.worker.name: c.reason for c in candidates[4:]} == {
        "护理员甲": "护理员甲 has no shift now.", "助理乙": "助理乙 has no shift now."}
    assert len(response.nearby_caregivers(raise_alarm(scene, "fall-2"), now=NOW)) == 5  # the default limit


def test_why_a_caregiver_cannot_go(scene):
    home_care = scene.care
    Leave.objects.create(worker=scene.near, first_day=DAY, last_day=DAY)
    Shift.objects.filter(worker=scene.mid).update(break_start=dt.time(9, 50), break_minutes=30)
    ServiceOrder.objects.create(  # 远 is in the middle of a visit
        elder=home_care.elder, service_type=home_care.meal, provider=home_care.provider, worker=scene.far, status=Status.CHECKED_IN,
        channel="provider", window_start=at(9, 30), window_end=at(11), duration_minutes=30, price_fen=0,
        checked_in_at=at(9, 40), check_in_latitude=north(5000)[0], check_in_longitude=HOME[1])
    Shift.objects.filter(worker=scene.other).update(start=dt.time(6), end=dt.time(10))  # ended at 10:00
    Shift.objects.create(worker=home_care.helper, day=DAY, start=dt.time(8), end=dt.time(18))  # no first-aid skill
    candidates = by_name(response.nearby_caregivers(raise_alarm(scene), now=NOW, limit=None))
    assert not any(c.available for c in candidates.values())
    assert candidates["近"].reason == "近 is on leave on 2026-11-23."
    assert candidates["中"].reason == "中 is on a break until 10:20."
    assert candidates["远"].reason == f"远 is on a visit (order #{ServiceOrder.objects.get(worker=scene.far).pk})."
    assert candidates["远"].position_source == PositionSource.CHECK_IN  # where the visit is, 5 km away
    assert candidates["远"].distance_m == 5000 and candidates["远"].position_at == at(9, 40)
    assert (candidates["远"].latitude, candidates["远"].longitude) == (north(5000)[0], HOME[1])
    assert candidates["他"].reason == "他 has no shift now."
    assert candidates["助理乙"].reason == "助理乙 lacks the skill 急救."
    # half an hour later the break is over
    assert by_name(response.nearby_caregivers(raise_alarm(scene, "fall-2"), now=at(10, 30), limit=None))["中"].available


def test_a_caregiver_is_placed_where_they_last_checked_out_today(scene, city):
    from yiyang.homecare.tests.visits import visit

    visit(city, scene.care, day=DAY, worker=scene.far, minutes=40)  # a meal at the home 09:05–09:45
    far = by_name(response.nearby_caregivers(raise_alarm(scene), now=NOW, limit=None))["远"]
    assert (far.available, far.position_source, far.distance_m) == (True, PositionSource.CHECK_OUT, 0)
    assert far.position_at == at(9, 45)
    assert response.nearby_caregivers(raise_alarm(scene, "fall-2"), now=NOW)[0].worker == scene.far
    # earlier that morning the visit had not happened yet: home base
    early = by_name(response.nearby_caregivers(raise_alarm(scene, "fall-3"), now=at(9), limit=None))["远"]
    assert (early.position_source, early.distance_m) == (PositionSource.BASE, 3000)


OFFSET = st.floats(min_value=-0.05, max_value=0.05, allow_nan=False)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(positions=st.lists(st.tuples(OFFSET, OFFSET, st.booleans()), min_size=4, max_size=4))
def test_the_first_available_candidate_is_the_nearest_available_one(scene, positions):
    workers = [scene.near, scene.mid, scene.far, scene.other]
    for worker, (dlat, dlon, on_shift) in zip(workers, positions, strict=True):
        Worker.objects.filter(pk=worker.pk).update(base_latitude=HOME[0] + dlat, base_longitude=HOME[1] + dlon)
        Shift.objects.filter(worker=worker).update(end=dt.time(18) if on_shift else dt.time(9))
    alarm = Alarm.objects.filter(msg_id="prop").first() or raise_alarm(scene, "prop")
    candidates = response.nearby_caregivers(alarm, now=NOW, limit=None)
    free = {w.pk: care_rules.distance_m(*HOME, HOME[0] + dlat, HOME[1] + dlon)
            for w, (dlat, dlon, on_shift) in zip(workers, positions, strict=True) if on_shift}
    assert [c.available for c in candidates] == sorted((c.available for c in candidates), reverse=True)
    assert {c.worker.pk for c in candidates if c.available} == set(free)
    if free:
        assert abs(free[candidates[0].worker.pk] - min(free.values())) <= 1  # metres: rounding only
    shown = [c.distance_m for c in candidates if c.available]
    assert shown == sorted(shown)


# --- sending one ---------------------------------------------------------------------------------


def test_dispatch_sends_the_nearest_with_an_assigned_urgent_order(scene):
    alarm = raise_alarm(scene, gps=north(100), minutes_ago=2)
    order = response.dispatch_nearest(alarm, now=NOW)
    order.refresh_from_db()
    assert (order.status, order.worker, order.provider, order.service_type) == (
        Status.ASSIGNED, scene.near, scene.care.provider, scene.sos)
    assert (order.window_start, order.window_end, order.channel) == (NOW, at(11), ServiceOrder.Channel.HOTLINE)
    assert order.note.startswith(f"Emergency alarm #{alarm.pk} (fall). Go to 31.46890, 104.67900 (alarm GPS 2 min ago)")
    steps = list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status", "actor", "note"))
    assert steps == [("", "requested", None, ""), ("requested", "accepted", None, ""),
                     ("accepted", "assigned", None, f"emergency alarm #{alarm.pk}")]
    alarm.refresh_from_db()
    assert alarm.service_order == order
    step = AlarmEvent.objects.get(alarm=alarm)
    assert (step.status, step.actor, step.at) == ("dispatched", None, NOW)
    assert step.note == f"Sent 近 of 测试居家养老服务中心, 400 m away (order #{order.pk})."
    created = AuditEntry.objects.get(object_type="homecare.serviceorder", object_id=str(order.pk))
    linked = AuditEntry.objects.get(object_type="alarms.alarm", object_id=str(alarm.pk))
    assert (created.action, created.actor_name, linked.actor_name) == ("create", "system", "system")
    assert linked.after == {"service_order": order.pk, "worker": scene.near.pk, "distance_m": 400, "location": "gps"}


def test_an_agent_dispatches_and_may_pick_the_caregiver(scene, city):
    agent = city.user("agent")
    alarm = raise_alarm(scene)
    order = response.dispatch_nearest(alarm, acting_user=agent, now=NOW, worker=scene.other)
    assert (order.worker, order.provider, order.created_by) == (scene.other, scene.other_provider, agent)
    assert AlarmEvent.objects.get(alarm=alarm).actor == agent
    assert AuditEntry.objects.get(object_type="alarms.alarm", object_id=str(alarm.pk)).actor == agent


def test_a_picked_caregiver_who_cannot_go_is_refused_with_why(scene, city):
    Leave.objects.create(worker=scene.mid, first_day=DAY, last_day=DAY)
    alarm = raise_alarm(scene)
    with pytest.raises(ValidationError) as refused:
        response.dispatch_nearest(alarm, acting_user=city.user("agent"), now=NOW, worker=scene.mid)
    assert refused.value.message_dict == {"worker": ["中 is on leave on 2026-11-23."]}
    with pytest.raises(ValidationError, match="does not work for a provider offering emergency help"):
        response.dispatch_nearest(alarm, now=NOW, worker=Worker.objects.create(
            provider=Organization.objects.create(name="别处", kind="provider", area_id="510704001001"),
            name="外人", base_latitude=HOME[0], base_longitude=HOME[1]))
    assert not ServiceOrder.objects.exists() and Alarm.objects.get(pk=alarm.pk).service_order is None


def test_only_people_who_handle_alarms_in_their_jurisdiction_dispatch(scene, city):
    alarm = raise_alarm(scene)
    with pytest.raises(PermissionDenied):
        response.dispatch_nearest(alarm, acting_user=scene.near.user, now=NOW)
    with pytest.raises(PermissionDenied):
        response.dispatch_nearest(alarm, acting_user=city.user("county_b"), now=NOW)  # another county's alarm
    assert not ServiceOrder.objects.exists()


def test_a_closed_alarm_sends_nobody(scene):
    alarm = raise_alarm(scene)
    Alarm.objects.filter(pk=alarm.pk).update(status="closed", closed_at=NOW, outcome="false_alarm")
    with pytest.raises(ValidationError, match="This alarm is closed"):
        response.dispatch_nearest(alarm, now=NOW)
    assert not ServiceOrder.objects.exists()


def test_an_alarm_about_nobody_known_sends_nobody(scene):
    alarm = raise_alarm(scene)
    Alarm.objects.filter(pk=alarm.pk).update(elder=None)
    with pytest.raises(ValidationError, match="about no registered elder"):
        response.dispatch_nearest(alarm, now=NOW)
    assert response.nearby_caregivers(Alarm.objects.get(pk=alarm.pk), now=NOW) == []


def test_a_second_dispatch_is_refused_while_the_first_order_is_open(scene):
    alarm = raise_alarm(scene)
    first = response.dispatch_nearest(alarm, now=NOW)
    with pytest.raises(ValidationError) as refused:
        response.dispatch_nearest(alarm, now=NOW)
    assert refused.value.message_dict == {"alarm": [
        f"Order #{first.pk} (近, assigned to a worker) is already open for this alarm."]}
    care_services.cancel(first, acting_user=None, reason="elder went to hospital by ambulance")
    again = response.dispatch_nearest(alarm, now=NOW)
    assert again.pk != first.pk and again.worker == scene.near  # free again once the first order is over
    assert Alarm.objects.get(pk=alarm.pk).service_order == again
    assert AlarmEvent.objects.filter(alarm=alarm, status="dispatched").count() == 2


def test_a_caregiver_already_sent_to_an_emergency_is_not_sent_again(scene, city):
    other_elder = city.elders["510703"][0]
    Elder.objects.filter(pk=other_elder.pk).update(latitude=HOME[0], longitude=HOME[1])
    first = response.dispatch_nearest(raise_alarm(scene), now=NOW)
    second_alarm = raise_alarm(scene, "fall-2", elder=Elder.objects.get(pk=other_elder.pk), device=False, type="call")
    assert by_name(response.nearby_caregivers(second_alarm, now=NOW, limit=None))["近"].reason == \
        f"近 has already been sent to an emergency (order #{first.pk})."
    assert response.dispatch_nearest(second_alarm, now=NOW).worker == scene.mid


def test_nobody_available_or_no_provider_is_refused_so_the_ladder_alerts_the_supervisor(scene):
    alarm = raise_alarm(scene)
    Shift.objects.filter(day=DAY).delete()
    with pytest.raises(ValidationError) as refused:
        response.dispatch_nearest(alarm, now=NOW)
    assert refused.value.message_dict["alarm"] == [
        "Nobody is available: no caregiver of 测试居家养老服务中心, 第二服务站 is on shift and free now."]
    ProviderProfile.objects.get(organization=scene.other_provider).services.clear()
    scene.care.profile.services.remove(scene.sos)
    with pytest.raises(ValidationError, match="No provider offers emergency help in 涪城区001社区"):
        response.dispatch_nearest(alarm, now=NOW)
    assert not ServiceOrder.objects.exists() and not AlarmEvent.objects.filter(alarm=alarm).exists()


def test_a_caregiver_taken_meanwhile_is_skipped_for_the_next(scene, city, monkeypatch):
    """Dispatch A ranked the caregivers; before it claims the nearest, dispatch B sends them elsewhere."""
    other_elder = city.elders["510703"][0]
    Elder.objects.filter(pk=other_elder.pk).update(latitude=HOME[0], longitude=HOME[1])
    alarm_a = raise_alarm(scene, "fall-a")
    alarm_b = raise_alarm(scene, "call-b", elder=Elder.objects.get(pk=other_elder.pk), device=False, type="call")
    seen_by_a = response._rank(response._options(scene.elder), response.locate(alarm_a, now=NOW), NOW)
    assert seen_by_a[0].worker == scene.near and seen_by_a[0].available
    assert response.dispatch_nearest(alarm_b, now=NOW).worker == scene.near
    monkeypatch.setattr(response, "_rank", lambda options, fix, now: seen_by_a)  # A's view, from before B
    order = response.dispatch_nearest(alarm_a, now=NOW)
    assert order.worker == scene.mid
    assert ServiceOrder.objects.filter(elder=scene.elder).count() == 1  # no order left for the lost candidate
    assert "Sent 中 of" in AlarmEvent.objects.get(alarm=alarm_a).note


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_dispatches_at_once_send_two_different_caregivers(scene, city, monkeypatch):
    """Real concurrency (PostgreSQL row locks): both rank 近 first; one gets 近, the other waits, then 中."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks: one writer at a time, so dispatches cannot interleave")
    other_elder = city.elders["510703"][0]
    Elder.objects.filter(pk=other_elder.pk).update(latitude=HOME[0], longitude=HOME[1])
    alarms = [raise_alarm(scene, "fall-a"),
              raise_alarm(scene, "call-b", elder=Elder.objects.get(pk=other_elder.pk), device=False, type="call")]
    both_ranked = threading.Barrier(2)
    real_claim, local = response._claim, threading.local()

    def claim_after_both_ranked(candidate, now):
        if not getattr(local, "waited", False):
            local.waited = True
            both_ranked.wait(timeout=20)
        return real_claim(candidate, now)

    monkeypatch.setattr(response, "_claim", claim_after_both_ranked)
    results, errors = {}, []

    def run(alarm):
        try:
            results[alarm.pk] = response.dispatch_nearest(alarm, now=NOW)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(alarm,)) for alarm in alarms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sorted(order.worker.name for order in results.values()) == sorted(["近", "中"])
    assert ServiceOrder.objects.filter(status=Status.ASSIGNED).count() == 2


def test_an_assignment_refused_at_the_last_moment_leaves_no_order_and_tries_the_next(scene, monkeypatch):
    real_assign = care_services.assign

    def assign(order, worker, **kwargs):
        if worker == scene.near:  # e.g. another dispatcher changed the order or the worker meanwhile
            raise care_rules.TransitionError("Someone else changed this order just now.")
        return real_assign(order, worker, **kwargs)

    monkeypatch.setattr(care_services, "assign", assign)
    alarm = raise_alarm(scene)
    order = response.dispatch_nearest(alarm, now=NOW)
    assert order.worker == scene.mid
    assert list(ServiceOrder.objects.values_list("pk", flat=True)) == [order.pk]  # the first try was rolled back
    assert Alarm.objects.get(pk=alarm.pk).service_order == order


def test_a_picked_caregiver_taken_meanwhile_is_refused_not_replaced(scene, city, monkeypatch):
    other_elder = city.elders["510703"][0]
    Elder.objects.filter(pk=other_elder.pk).update(latitude=HOME[0], longitude=HOME[1])
    alarm_a = raise_alarm(scene, "fall-a")
    alarm_b = raise_alarm(scene, "call-b", elder=Elder.objects.get(pk=other_elder.pk), device=False, type="call")
    seen_on_the_console = response._rank(response._options(scene.elder), response.locate(alarm_a, now=NOW), NOW)
    response.dispatch_nearest(alarm_b, now=NOW)  # the ladder sends 近 to B first
    monkeypatch.setattr(response, "_rank", lambda options, fix, now: seen_on_the_console)
    with pytest.raises(ValidationError) as refused:
        response.dispatch_nearest(alarm_a, acting_user=city.user("agent"), now=NOW, worker=scene.near)
    assert refused.value.message_dict == {"worker": ["近 has just been sent elsewhere."]}
    assert not ServiceOrder.objects.filter(elder=scene.elder).exists()
