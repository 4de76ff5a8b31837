"""Live console updates: who hears about which alarm, only after the commit, over the real Redis layer.

The Redis tests use their own database number and key prefix (per test run), so parallel
runs and a developer's Redis data never meet; they are skipped only when Redis is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role
from yiyang.alarms import live, services
from yiyang.alarms.consumers import CLOSE_FORBIDDEN, AlarmConsumer
from yiyang.alarms.models import Alarm, AlarmSource
from yiyang.conftest import _user
from yiyang.people.models import ElderAccess

from .conftest import envelope, now_iso

REDIS_URL = "redis://127.0.0.1:6379/13"  # a database of its own; keys carry a per-run prefix too


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_layer(settings):
    """The real Redis channel layer for this test, under a prefix no other run uses."""
    if not _redis_up():
        pytest.skip("Redis is unreachable at 127.0.0.1:6379")
    prefix = f"yytest-{uuid.uuid4().hex[:10]}"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {
        "hosts": [REDIS_URL], "prefix": prefix, "expiry": 10}}}
    yield get_channel_layer()
    live.flush()
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):  # groups of sockets that went away without leaving them
        client.delete(key)


def make_alarm(area_code: str, *, elder=None, organization=None, msg_id: str | None = None) -> Alarm:
    return Alarm.objects.create(device=None, source=AlarmSource.PLATFORM, msg_id=msg_id or f"@t:{uuid.uuid4().hex[:8]}",
                                type="sos", priority=1, elder=elder, area_code=area_code, organization=organization)


# --- groups: the one place that scopes live updates -------------------------------------------------


def test_an_alarm_belongs_to_every_area_level_above_it_its_organisation_its_elder_and_all():
    assert live.groups_for_alarm("510703001002", 7, 42) == [
        "alarms.area.51", "alarms.area.5107", "alarms.area.510703", "alarms.area.510703001",
        "alarms.area.510703001002", "alarms.org.7", "alarms.elder.42", "alarms.all"]
    assert live.groups_for_alarm("510703", None, None) == ["alarms.area.51", "alarms.area.5107",
                                                           "alarms.area.510703", "alarms.all"]


def _personas(city) -> dict[str, User | AnonymousUser]:
    """One account of each kind of scope, and the edge cases of each."""
    family = _user("t-family", Role.ELDER)
    for elder in (city.elders["510703"][1], city.elders["510704"][2]):
        ElderAccess.objects.create(user=family, elder=elder, relation="son")
    admin = User.objects.create_superuser("t-admin", password="x" * 12)
    inactive = _user("t-gone", Role.COUNTY_OFFICIAL, scope_area_id="510703", is_active=False)
    return {**{key: city.user(key) for key in ("city", "county_a", "county_b", "township_a", "village_a", "agent",
                                               "dispatcher", "elder")},
            "family": family, "admin": admin, "inactive": inactive, "anonymous": AnonymousUser(),
            "lonely_elder": _user("t-lonely", Role.ELDER), "orphan_caregiver": _user("t-orphan", Role.CAREGIVER)}


def test_groups_for_user_per_kind_of_scope(city):
    people = _personas(city)
    a0, a1 = city.elders["510703"][0], city.elders["510703"][1]
    b2 = city.elders["510704"][2]
    assert live.groups_for_user(people["admin"]) == ["alarms.all"]
    assert live.groups_for_user(people["city"]) == ["alarms.area.5107"]
    assert live.groups_for_user(people["county_a"]) == ["alarms.area.510703"]
    assert live.groups_for_user(people["township_a"]) == ["alarms.area.510703001"]
    assert live.groups_for_user(people["village_a"]) == ["alarms.area.510703001001"]
    assert live.groups_for_user(people["agent"]) == ["alarms.area.5107"]
    assert live.groups_for_user(people["dispatcher"]) == [f"alarms.org.{city.provider.pk}"]
    assert live.groups_for_user(people["elder"]) == [f"alarms.elder.{a0.pk}"]
    assert live.groups_for_user(people["family"]) == sorted([f"alarms.elder.{a1.pk}", f"alarms.elder.{b2.pk}"],
                                                            key=lambda g: int(g.rsplit(".", 1)[1]))
    for nobody in ("inactive", "anonymous", "lonely_elder", "orphan_caregiver"):
        assert live.groups_for_user(people[nobody]) == [], nobody
    assert live.groups_for_user(None) == []


def test_a_user_hears_of_exactly_the_alarms_their_pages_show(city):
    """Exhaustive over the personas and alarms of every shape: group overlap == for_user visibility."""
    people = _personas(city)
    alarms = []
    for county in ("510703", "510704"):
        for elder in city.elders[county]:
            alarms.append(make_alarm(elder.area_id, elder=elder))
            alarms.append(make_alarm(elder.area_id, elder=elder, organization=city.provider))
        alarms.append(make_alarm(f"{county}001002"))  # no elder (an unbound device)
        alarms.append(make_alarm(county, organization=city.provider))  # a county-level device
    checked = 0
    for key, user in people.items():
        heard = set(live.groups_for_user(user))
        visible = set(Alarm.objects.for_user(user).values_list("pk", flat=True))
        for alarm in alarms:
            groups = set(live.groups_for_alarm(alarm.area_code, alarm.organization_id, alarm.elder_id))
            assert bool(heard & groups) == (alarm.pk in visible), (key, alarm.area_code, alarm.organization_id)
            checked += 1
    assert checked == len(people) * len(alarms)
    assert any(Alarm.objects.for_user(people["family"]).filter(pk=a.pk).exists() for a in alarms)  # not vacuous


def test_messages_group_a_batch_by_audience():
    messages = live.messages_for([(1, "510703001001", None, 5), (2, "510703001002", 9, None),
                                  (3, "510704001001", None, None)], at=12.5)
    assert messages["alarms.area.510703"] == {"type": "alarm.changed", "alarms": [1, 2], "at": 12.5}
    assert messages["alarms.area.510703001001"]["alarms"] == [1]
    assert messages["alarms.org.9"]["alarms"] == [2]
    assert messages["alarms.elder.5"]["alarms"] == [1]
    assert messages["alarms.all"]["alarms"] == [1, 2, 3]
    assert messages["alarms.area.5107"]["alarms"] == [1, 2, 3]
    assert "alarms.area.510704" in messages and messages["alarms.area.510704"]["alarms"] == [3]


def test_without_a_channel_layer_nothing_is_queued(settings, city, django_capture_on_commit_callbacks):
    settings.CHANNEL_LAYERS = {}
    alarm = make_alarm("510703001001")
    with django_capture_on_commit_callbacks() as callbacks:
        live.announce_on_commit([alarm.pk])
    assert callbacks == []


# --- over Redis ----------------------------------------------------------------------------------


async def _receive(layer, channel, timeout: float):
    try:
        return await asyncio.wait_for(layer.receive(channel), timeout)
    except TimeoutError:
        return None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_announcements_go_out_after_the_commit_and_never_after_a_rollback(city, redis_layer):
    alarm = make_alarm("510703001001", elder=city.elders["510703"][0])

    def rolled_back():
        try:
            with transaction.atomic():
                live.announce_on_commit([alarm.pk])
                raise RuntimeError("the write failed")
        except RuntimeError:
            pass
        return live.flush()

    def committed():
        with transaction.atomic():
            live.announce_on_commit([alarm.pk])
        return live.flush()

    async def scenario():
        channel = await redis_layer.new_channel()
        await redis_layer.group_add("alarms.area.510703", channel)
        assert await sync_to_async(rolled_back)()
        assert await _receive(redis_layer, channel, 1.0) is None
        assert await sync_to_async(committed)()
        message = await _receive(redis_layer, channel, 5.0)
        assert message["type"] == "alarm.changed" and message["alarms"] == [alarm.pk]
        assert abs(message["at"] - time.time()) < 10

    async_to_sync(scenario)()


def _as(user, application):
    """The consumer with ``user`` in its scope, as the auth middleware would put it."""
    async def app(scope, receive, send):
        return await application({**scope, "user": user}, receive, send)
    return app


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_socket_refuses_who_may_not_see_alarms(city, redis_layer):
    async def closed_with(user):
        communicator = WebsocketCommunicator(_as(user, AlarmConsumer.as_asgi()), "/ws/alarms/")
        await communicator.connect()
        output = await communicator.receive_output(timeout=5)
        await communicator.wait()
        return output

    for user in (AnonymousUser(), city.user("dispatcher"), city.user("elder")):  # no alarms.view_alarm
        output = async_to_sync(closed_with)(user)
        assert output == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}, user


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_alarm_reaches_the_consoles_of_its_jurisdiction_only(city, redis_layer):
    alarm = make_alarm("510703001002", elder=city.elders["510703"][2])

    def announce():
        with transaction.atomic():
            live.announce_on_commit([alarm.pk])
        return live.flush()

    async def scenario():
        sockets = {}
        for key in ("county_a", "township_a", "agent", "county_b", "village_a"):
            communicator = WebsocketCommunicator(_as(city.user(key), AlarmConsumer.as_asgi()), "/ws/alarms/")
            connected, _ = await communicator.connect()
            assert connected
            assert await communicator.receive_json_from(timeout=5) == {"ready": True}
            sockets[key] = communicator
        assert await sync_to_async(announce)()
        for key in ("county_a", "township_a", "agent"):
            message = await sockets[key].receive_json_from(timeout=5)
            assert message["alarm"] == alarm.pk and isinstance(message["at"], float), key
        for key in ("county_b", "village_a"):  # another county; another village of the same township
            assert await sockets[key].receive_nothing(timeout=0.5), key
        for communicator in sockets.values():
            await communicator.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_live_server_takes_the_session_cookie_from_another_port_of_the_same_host(city, redis_layer, client):
    """yiyang.asgi: the page on :8000 opens the socket on :8001 with the same login; a foreign page may not."""
    from yiyang.asgi import application

    client.force_login(city.user("agent"))
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"

    async def attempt(origin: bytes, cookie: str):
        communicator = WebsocketCommunicator(application, "/ws/alarms/", headers=[
            (b"host", b"127.0.0.1:8001"), (b"origin", origin), (b"cookie", cookie.encode())])
        connected, code = await communicator.connect(timeout=5)
        first = await communicator.receive_output(timeout=5) if connected else None
        await communicator.disconnect()
        return connected, code, first

    connected, _code, first = async_to_sync(attempt)(b"http://127.0.0.1:8000", cookie)
    assert connected and first == {"type": "websocket.send", "text": '{"ready": true}'}
    connected, _code, first = async_to_sync(attempt)(b"http://127.0.0.1:8000", "sessionid=forged")
    assert connected and first == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}
    connected, _code, _first = async_to_sync(attempt)(b"https://evil.example", cookie)
    assert not connected


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_redis_failure_never_breaks_or_delays_storing_an_alarm(city, settings, caplog):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}}  # nothing listens there
    agent = city.user("agent")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="yiyang.alarms"):
        alarm = services.raise_alarm(acting_user=agent, elder_id=city.elders["510703"][0].pk, note="跌倒")
        took = time.monotonic() - started
        assert live.flush(10)
    assert took < 1.0
    assert Alarm.objects.filter(pk=alarm.pk).exists()
    assert "live alarm update" in caplog.text


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_listener_announces_what_it_stored(city, redis_layer, devices, device_side, listeners):
    device = devices["a_sos"]
    listeners.start()

    async def scenario():
        channel = await redis_layer.new_channel()
        await redis_layer.group_add(f"alarms.elder.{device.elder_id}", channel)
        await sync_to_async(device_side.send)(device.device_id, "secret-a_sos",
                                              {"msg_id": "live-1", "ts": now_iso(), "type": "sos"})
        message = await _receive(redis_layer, channel, 10.0)
        stored = await sync_to_async(lambda: Alarm.objects.get(device=device, msg_id="live-1").pk)()
        assert message is not None and message["alarms"] == [stored]
        # The same message again is the same alarm, announced again (its first news may have been lost).
        await sync_to_async(device_side.publish)(device.device_id, envelope(
            {"msg_id": "live-1", "ts": now_iso(), "type": "sos"}, "secret-a_sos"))
        again = await _receive(redis_layer, channel, 10.0)
        assert again is not None and again["alarms"] == [stored]

    async_to_sync(scenario)()


def test_serve_live_refuses_to_start_without_redis(settings, capsys):
    from argparse import Namespace

    from yiyang.web import serve_live

    settings.CHANNEL_LAYERS = {}
    assert serve_live.run(Namespace(port=None, host="127.0.0.1", verbosity=0)) == 2
    assert "REDIS_URL" in capsys.readouterr().err
