"""``GET /api/v1/alarms/?since=``, acknowledging and closing, and the device registry API, in jurisdiction."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role
from yiyang.alarms import services
from yiyang.alarms.models import Alarm, AlarmEvent, Device
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditEntry

NOW = timezone.now()


def alarm(device: Device, msg_id: str, minutes_ago: float, type: str = "sos") -> Alarm:
    return Alarm.objects.create(device=device, msg_id=msg_id, type=type, received_at=NOW - dt.timedelta(minutes=minutes_ago),
                                device_time=NOW - dt.timedelta(minutes=minutes_ago), elder=device.elder,
                                area_code=device.area_id)


@pytest.fixture
def alarms(devices):
    return {
        "a_old": alarm(devices["a_sos"], "a-old", 120),
        "a_new": alarm(devices["a_sos"], "a-new", 5, type="fall"),
        "a_newer": alarm(devices["a_watch"], "a-newer", 1, type="geofence_exit"),
        "b_new": alarm(devices["b_sos"], "b-new", 4),
    }


def ids(response):
    assert response.status_code == 200, response.content
    return [row["msg_id"] for row in response.json()["results"]]


def test_since_lists_alarms_received_from_then_on_oldest_first(api_client_for, city, alarms):
    client = api_client_for(city.user("city"))
    since = (NOW - dt.timedelta(minutes=10)).isoformat()
    response = client.get("/api/v1/alarms/", {"since": since})
    assert ids(response) == ["a-new", "b-new", "a-newer"]
    row = response.json()["results"][0]
    assert {"id", "device_id", "msg_id", "type", "status", "received_at"} <= set(row)
    assert (row["device_id"], row["type"], row["status"]) == ("t-a-sos", "fall", "new")
    assert ids(client.get("/api/v1/alarms/")) == ["a-newer", "b-new", "a-new", "a-old"]  # newest first without it
    assert client.get("/api/v1/alarms/", {"since": "last tuesday"}).status_code == 400


def test_a_county_sees_only_its_own_alarms(api_client_for, city, alarms):
    since = (NOW - dt.timedelta(days=1)).isoformat()
    assert ids(api_client_for(city.user("county_a")).get("/api/v1/alarms/", {"since": since})) == ["a-old", "a-new", "a-newer"]
    assert ids(api_client_for(city.user("county_b")).get("/api/v1/alarms/", {"since": since})) == ["b-new"]
    assert api_client_for(city.user("county_b")).get(f"/api/v1/alarms/{alarms['a_new'].pk}/").status_code == 404
    assert api_client_for(city.user("county_a")).get(f"/api/v1/alarms/{alarms['a_new'].pk}/").status_code == 200


def test_roles_without_alarm_duties_get_403(api_client_for, city, alarms):
    assert api_client_for(city.user("dispatcher")).get("/api/v1/alarms/").status_code == 403
    assert api_client_for(city.user("elder")).get("/api/v1/alarms/").status_code == 403
    assert api_client_for(city.user("agent")).get("/api/v1/alarms/").status_code == 200


def test_pagination(api_client_for, city, alarms):
    body = api_client_for(city.user("city")).get("/api/v1/alarms/", {"page_size": 2}).json()
    assert body["count"] == 4 and len(body["results"]) == 2 and body["next"].startswith("http")


def test_acknowledge_then_close_with_outcome(api_client_for, city, alarms):
    client = api_client_for(city.user("county_a"))
    pk = alarms["a_new"].pk
    response = client.post(f"/api/v1/alarms/{pk}/acknowledge/", {"note": "已电话联系"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "acknowledged"
    assert client.post(f"/api/v1/alarms/{pk}/close/", {}, format="json").status_code == 400
    response = client.post(f"/api/v1/alarms/{pk}/close/", {"outcome": "false_alarm"}, format="json")
    assert response.status_code == 200 and response.json()["outcome"] == "false_alarm"
    assert client.post(f"/api/v1/alarms/{pk}/acknowledge/", {}, format="json").status_code == 409
    closed = Alarm.objects.get(pk=pk)
    assert closed.closed_by == city.user("county_a") and closed.acknowledged_by == city.user("county_a")
    assert list(AlarmEvent.objects.filter(alarm=closed).values_list("status", flat=True)) == ["acknowledged", "closed"]
    assert AuditEntry.objects.filter(object_type="alarms.alarm", object_id=str(pk)).count() == 2


def test_another_countys_alarm_cannot_be_touched(api_client_for, city, alarms):
    client = api_client_for(city.user("county_b"))
    pk = alarms["a_new"].pk
    assert client.post(f"/api/v1/alarms/{pk}/acknowledge/", {}, format="json").status_code == 404
    assert client.post(f"/api/v1/alarms/{pk}/close/", {"outcome": "test"}, format="json").status_code == 404
    assert Alarm.objects.get(pk=pk).status == "new"


def test_devices_list_shows_status_never_the_secret(api_client_for, city, devices):
    Device.objects.filter(pk="t-a-sos").update(battery=12, last_seen_at=NOW)
    response = api_client_for(city.user("county_a")).get("/api/v1/alarms/devices/")
    rows = {row["device_id"]: row for row in response.json()["results"]}
    assert set(rows) == {"t-a-sos", "t-a-watch", "t-a-mattress"}
    assert rows["t-a-sos"]["battery"] == 12 and "secret" not in rows["t-a-sos"]
    assert b"secret-a" not in response.content
    assert api_client_for(city.user("county_b")).get("/api/v1/alarms/devices/t-a-sos/").status_code == 404


def test_registering_a_device_returns_its_secret_once(api_client_for, city):
    client = api_client_for(city.user("county_a"))
    elder = city.elders["510703"][1]
    response = client.post("/api/v1/alarms/devices/", {"device_id": "new-button-1", "kind": "sos_button",
                                                       "elder": elder.pk, "heartbeat_seconds": 600}, format="json")
    assert response.status_code == 201, response.content
    secret = response.json()["secret"]
    device = Device.objects.get(pk="new-button-1")
    assert device.secret == secret and len(secret) >= 24 and device.area_id == elder.area_id
    assert secret not in client.get("/api/v1/alarms/devices/new-button-1/").content.decode()
    again = client.post("/api/v1/alarms/devices/", {"device_id": "new-button-1", "kind": "sos_button",
                                                    "elder": elder.pk}, format="json")
    assert again.status_code == 400 and "device_id" in again.json()


def test_a_device_cannot_be_registered_outside_the_jurisdiction(api_client_for, city):
    client = api_client_for(city.user("county_a"))
    other = city.elders["510704"][0]
    response = client.post("/api/v1/alarms/devices/", {"device_id": "x1", "kind": "sos_button", "elder": other.pk},
                           format="json")
    assert response.status_code == 400 and "elder" in response.json()
    response = client.post("/api/v1/alarms/devices/", {"device_id": "x2", "kind": "sos_button", "area_code": "510704001001"},
                           format="json")
    assert response.status_code == 400 and "area" in response.json()
    assert not Device.objects.filter(pk__in=["x1", "x2"]).exists()


def test_the_secret_is_encrypted_at_rest(devices):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM alarms_device WHERE device_id = %s", ["t-a-sos"])
        stored = cursor.fetchone()[0]
    assert stored and "secret-a_sos" not in stored
    assert Device.objects.get(pk="t-a-sos").secret == "secret-a_sos"


def test_register_device_checks_its_input(city):
    official = city.user("county_a")
    with pytest.raises(ValidationError) as caught:
        services.register_device(acting_user=official, device_id="bad id!", kind="toaster", area_code="999")
    assert set(caught.value.message_dict) == {"device_id", "kind", "area"}
    helper = User.objects.create(username="t-vol", role=Role.VOLUNTEER)
    with pytest.raises(PermissionDenied) as denied:
        services.register_device(acting_user=helper, device_id="ok-1", kind="sos_button", area_code="510703001001")
    assert "permission" in str(denied.value)
