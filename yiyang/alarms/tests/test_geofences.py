"""Drawing safe zones: the service's rules, the trail page's forms, and ``/api/v1/alarms/geofences/``."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import translation

from yiyang.alarms import geofences
from yiyang.alarms.models import Geofence
from yiyang.core.models import AuditEntry

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
HOME = (31.45, 104.72)
GOOD = {"name": "家附近", "latitude": HOME[0], "longitude": HOME[1], "radius_m": 500}



@pytest.fixture
def elder(city):
    return city.elders["510703"][0]


def make(city, elder, user="county_a", **fields):
    return geofences.create_zone(acting_user=city.user(user), elder_id=elder.pk, **{**GOOD, **fields})


# --- the service --------------------------------------------------------------------------------


def test_a_zone_is_created_for_an_elder_in_scope_and_audited(city, elder):
    zone = make(city, elder, user="township_a", return_by="20:00")
    assert (zone.elder, zone.name, zone.radius_m, zone.return_by, zone.is_active) == (
        elder, "家附近", 500, dt.time(20, 0), True)
    entry = AuditEntry.objects.get(object_type="alarms.geofence", object_id=str(zone.pk))
    assert entry.action == "create" and entry.actor == city.user("township_a") and entry.area_code == elder.area_id
    assert entry.after["radius_m"] == 500 and entry.after["return_by"] == "20:00"


@pytest.mark.parametrize("fields, field, message", [
    ({"name": "  "}, "name", "Give the zone a name."),
    ({"name": "长" * 65}, "name", "A zone name has at most 64 characters."),
    ({"latitude": None}, "latitude", "Click the map to place the centre of the zone."),
    ({"latitude": 60.0}, "latitude", "The centre must lie in China."),
    ({"longitude": 10.0}, "longitude", "The centre must lie in China."),
    ({"longitude": "abc"}, "longitude", "The centre must lie in China."),
    ({"radius_m": 49}, "radius_m", "The radius is between 50 m and 20 km."),
    ({"radius_m": 20_001}, "radius_m", "The radius is between 50 m and 20 km."),
    ({"radius_m": None}, "radius_m", "The radius is between 50 m and 20 km."),
    ({"return_by": "25:00"}, "return_by", "Enter the return time as hours and minutes, e.g. 20:00."),
])
def test_each_rule_of_a_zone(city, elder, fields, field, message):
    with pytest.raises(ValidationError) as excinfo:
        make(city, elder, **fields)
    assert excinfo.value.message_dict == {field: [message]}
    assert not Geofence.objects.exists()


def test_the_radius_limits_themselves_are_allowed(city, elder):
    assert make(city, elder, radius_m=50).radius_m == 50
    assert make(city, elder, radius_m="20000").radius_m == 20_000


def test_out_of_scope_elders_and_users_without_the_permission_are_refused(city, elder):
    with pytest.raises(Http404):
        make(city, elder, user="county_b")
    with pytest.raises(PermissionDenied):  # agents see alarms but do not draw zones
        make(city, elder, user="agent")
    assert not Geofence.objects.exists()
    assert make(city, elder, user="village_a").elder == elder  # the village official draws them


def test_a_return_time_already_past_today_is_first_judged_tomorrow(city, elder):
    evening = dt.datetime(2026, 5, 1, 21, 0, tzinfo=SHANGHAI)
    late = geofences.create_zone(acting_user=city.user("county_a"), elder_id=elder.pk, return_by="20:00", now=evening,
                                 **{k: v for k, v in GOOD.items()})
    assert late.return_checked_on == dt.date(2026, 5, 1)
    early = geofences.create_zone(acting_user=city.user("county_a"), elder_id=elder.pk, return_by="22:00",
                                  now=evening, **GOOD)
    assert early.return_checked_on is None
    changed = geofences.change_zone(early.pk, acting_user=city.user("county_a"), return_by="19:00", now=evening)
    assert changed.return_checked_on == dt.date(2026, 5, 1)


def test_changing_a_zone_is_audited_with_before_and_after(city, elder):
    zone = make(city, elder)
    changed = geofences.change_zone(zone.pk, acting_user=city.user("county_a"), radius_m=800, return_by="21:30")
    assert (changed.radius_m, changed.return_by) == (800, dt.time(21, 30))
    entry = AuditEntry.objects.filter(object_id=str(zone.pk), action="update").get()
    assert entry.before == {"radius_m": 500, "return_by": None}
    assert entry.after == {"radius_m": 800, "return_by": "21:30"}
    with pytest.raises(ValidationError) as excinfo:
        geofences.change_zone(zone.pk, acting_user=city.user("county_a"), radius_m=10)
    assert "radius_m" in excinfo.value.message_dict
    with pytest.raises(Http404):
        geofences.change_zone(zone.pk, acting_user=city.user("county_b"), radius_m=900)
    assert Geofence.objects.get(pk=zone.pk).radius_m == 800


def test_a_deactivated_zone_stays_on_record_and_cannot_be_changed(city, elder):
    zone = make(city, elder)
    geofences.deactivate_zone(zone.pk, acting_user=city.user("county_a"))
    assert not Geofence.objects.get(pk=zone.pk).is_active
    entry = AuditEntry.objects.filter(object_id=str(zone.pk), action="update").get()
    assert entry.after == {"is_active": False} and "deactivated" in entry.note
    with pytest.raises(ValidationError):
        geofences.change_zone(zone.pk, acting_user=city.user("county_a"), radius_m=900)
    with pytest.raises(Http404):
        geofences.deactivate_zone(zone.pk, acting_user=city.user("county_b"))


def test_a_deceased_elder_gets_no_new_zone(city, elder):
    type(elder).objects.filter(pk=elder.pk).update(status="deceased", death_date=dt.date(2026, 1, 1))
    with pytest.raises(ValidationError) as excinfo:
        make(city, elder)
    assert "elder" in excinfo.value.message_dict


# --- the page's forms ---------------------------------------------------------------------------


def page(elder):
    return f"/alarms/elders/{elder.pk}/trail/"


def test_drawing_a_zone_on_the_page(client, city, elder):
    client.force_login(city.user("county_a"))
    response = client.post(page(elder) + "zones/", {"name": "村口", "latitude": "31.451", "longitude": "104.721",
                                                    "radius_m": "300", "return_by": "19:30", "day": ""})
    assert response.status_code == 302 and response["Location"].endswith(page(elder) + "#zones")
    zone = Geofence.objects.get()
    assert (zone.name, zone.latitude, zone.longitude, zone.radius_m, zone.return_by) == (
        "村口", 31.451, 104.721, 300, dt.time(19, 30))
    shown = client.get(page(elder)).content.decode()
    assert f'data-testid="zone-circle-{zone.pk}"' in shown and "The safe zone 村口 is drawn." in shown


@pytest.mark.parametrize("data, message", [
    ({"name": ""}, "Give the zone a name."),
    ({"latitude": ""}, "Click the map to place the centre of the zone."),
    ({"latitude": "70"}, "The centre must lie in China."),
    ({"radius_m": "30"}, "The radius is between 50 m and 20 km."),
    ({"radius_m": "25000"}, "The radius is between 50 m and 20 km."),
    ({"latitude": "north"}, "Enter a number."),
])
def test_each_error_shows_on_the_page(client, city, elder, data, message):
    client.force_login(city.user("county_a"))
    post = {"name": "村口", "latitude": "31.451", "longitude": "104.721", "radius_m": "300", **data}
    response = client.post(page(elder) + "zones/", post)
    assert response.status_code == 200 and message in response.content.decode()
    assert not Geofence.objects.exists()


def test_errors_are_in_chinese_on_a_chinese_page(client, city, elder, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client.force_login(city.user("county_a"))
    post = {"name": "村口", "latitude": "北", "longitude": "104.721", "radius_m": "30"}
    with translation.override("zh-hans"):
        html = client.post(page(elder) + "zones/", post).content.decode()
    assert "请输入数字" in html  # the form's type check (Django's own catalogue)
    post["latitude"] = "31.451"
    with translation.override("zh-hans"):
        html = client.post(page(elder) + "zones/", post).content.decode()
    assert "The radius is between" not in html and "半径须在 50 米到 20 千米之间" in html


def test_changing_and_deactivating_on_the_page(client, city, elder):
    zone = make(city, elder)
    client.force_login(city.user("county_a"))
    bad = client.post(page(elder) + f"zones/{zone.pk}/", {f"zone-{zone.pk}-radius_m": "10"})
    assert bad.status_code == 200 and "The radius is between 50 m and 20 km." in bad.content.decode()
    good = client.post(page(elder) + f"zones/{zone.pk}/", {f"zone-{zone.pk}-radius_m": "900",
                                                           f"zone-{zone.pk}-return_by": "20:15", "day": "2026-05-01"})
    assert good.status_code == 302 and good["Location"].endswith("?day=2026-05-01#zones")
    assert Geofence.objects.get(pk=zone.pk).radius_m == 900
    assert client.post(page(elder) + f"zones/{zone.pk}/deactivate/").status_code == 302
    assert not Geofence.objects.get(pk=zone.pk).is_active
    assert f'zone-circle-{zone.pk}"' not in client.get(page(elder)).content.decode()


def test_the_page_refuses_other_counties_and_non_drawers(client, city, elder):
    zone = make(city, elder)
    client.force_login(city.user("county_b"))
    assert client.post(page(elder) + "zones/", {**GOOD}).status_code == 404
    assert client.post(page(elder) + f"zones/{zone.pk}/deactivate/").status_code == 404
    client.force_login(city.user("agent"))
    html = client.get(page(elder)).content.decode()
    assert 'data-testid="zone-form"' not in html and f'deactivate-zone-{zone.pk}' not in html  # sees, cannot draw
    assert client.post(page(elder) + "zones/", {**GOOD}).status_code == 403
    assert client.post(page(elder) + f"zones/{zone.pk}/deactivate/").status_code == 403
    assert Geofence.objects.filter(is_active=True).count() == 1


# --- the API ------------------------------------------------------------------------------------

API = "/api/v1/alarms/geofences/"


def test_api_creates_lists_and_changes_zones(city, elder, api_client_for):
    api = api_client_for(city.user("county_a"))
    created = api.post(API, {"elder": elder.pk, **GOOD, "return_by": "20:00"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["radius_m"] == 500 and body["return_by"] == "20:00" and body["is_active"] is True
    listed = api.get(API, {"elder": elder.pk}).json()
    assert [z["id"] for z in listed["results"]] == [body["id"]]
    changed = api.patch(f"{API}{body['id']}/", {"radius_m": 1200, "return_by": None}, format="json")
    assert changed.status_code == 200 and changed.json()["radius_m"] == 1200 and changed.json()["return_by"] is None
    gone = api.patch(f"{API}{body['id']}/", {"is_active": False}, format="json")
    assert gone.status_code == 200 and gone.json()["is_active"] is False
    again = api.patch(f"{API}{body['id']}/", {"is_active": True}, format="json")
    assert again.status_code == 400 and "is_active" in again.json()
    assert AuditEntry.objects.filter(object_type="alarms.geofence", object_id=str(body["id"])).count() == 3


def test_api_field_errors_and_scope(city, elder, api_client_for):
    api = api_client_for(city.user("county_a"))
    bad = api.post(API, {"elder": elder.pk, **GOOD, "radius_m": 20, "latitude": 80}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()) >= {"radius_m", "latitude"}
    other = city.elders["510704"][0]
    refused = api.post(API, {"elder": other.pk, **GOOD}, format="json")
    assert refused.status_code == 400 and "elder" in refused.json()
    zone = make(city, elder)
    outsider = api_client_for(city.user("county_b"))
    assert outsider.get(API).json()["results"] == []
    assert outsider.patch(f"{API}{zone.pk}/", {"radius_m": 900}, format="json").status_code == 404
    agent = api_client_for(city.user("agent"))
    assert [z["id"] for z in agent.get(API).json()["results"]] == [zone.pk]  # sees, in scope
    assert agent.post(API, {"elder": elder.pk, **GOOD}, format="json").status_code == 403
    assert api_client_for(city.user("dispatcher")).get(API).status_code == 403
    assert api.delete(f"{API}{zone.pk}/").status_code == 405


def test_the_zones_are_in_the_openapi_schema(city, api_client_for):
    schema = api_client_for(city.user("county_a")).get("/api/v1/schema/", {"format": "json"}).json()
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/alarms/geofences/"])
    assert "patch" in schema["paths"]["/api/v1/alarms/geofences/{id}/"]
