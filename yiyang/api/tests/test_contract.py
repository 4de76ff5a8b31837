"""The HTTP endpoints of /work/shared/CONTRACT.md, as outside scripts use them."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.regex_helper import normalize
from rest_framework.test import APIClient

from yiyang.api.urls import router
from yiyang.areas.models import Area, Level
from yiyang.conftest import PASSWORD, TODAY, birth_for_age, make_id_number
from yiyang.core.masking import mask_id_number
from yiyang.people import services
from yiyang.people.models import Elder

MASKED_ID = re.compile(r"^\d{4}\*{13}[\dX]$")


@pytest.fixture
def county_a(city, api_client_for):
    return api_client_for(city.user("county_a"))


def rows(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    return response.json()["results"]


# --- health and tokens ---------------------------------------------------------------------------

def test_healthz(db, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_token_login(city):
    client = APIClient()
    response = client.post("/api/v1/auth/token", {"username": "t-county-a", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert isinstance(token, str) and len(token) >= 20
    again = client.post("/api/v1/auth/token", {"username": "t-county-a", "password": PASSWORD}, format="json")
    assert again.json()["token"] == token
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/elders/").json()["count"] == 4


@pytest.mark.parametrize("payload", [
    {"username": "t-county-a", "password": "wrong-password"},
    {"username": "no-such-user", "password": PASSWORD},
    {"username": "T-COUNTY-A", "password": PASSWORD},
])
def test_token_refused_for_bad_credentials(city, payload):
    response = APIClient().post("/api/v1/auth/token", payload, format="json")
    assert response.status_code in (400, 401)
    assert "token" not in response.json()


@pytest.mark.parametrize("payload", [{}, {"username": "t-county-a"}, {"password": PASSWORD}, {"username": "", "password": ""}])
def test_token_needs_both_fields(city, payload):
    response = APIClient().post("/api/v1/auth/token", payload, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()


def test_token_refused_for_inactive_account(city):
    user = city.user("county_b")
    user.is_active = False
    user.save()
    response = APIClient().post("/api/v1/auth/token", {"username": "t-county-b", "password": PASSWORD}, format="json")
    assert response.status_code in (400, 401, 403)


def test_api_needs_authentication(city):
    assert APIClient().get("/api/v1/elders/").status_code in (401, 403)
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert bad.get("/api/v1/elders/").status_code == 401


# --- schema --------------------------------------------------------------------------------------

def api_route_templates() -> set[str]:
    """Every endpoint under /api/v1/ as '/api/v1/elders/{}/reveal/' (parameters anonymised)."""
    found = set()

    def walk(patterns, prefix):
        for p in patterns:
            fmt, params = normalize(p.pattern.regex.pattern)[0]
            path = prefix + (fmt % {name: "{}" for name in params} if params else fmt.replace("%%", "%"))
            if isinstance(p, URLResolver):
                walk(p.url_patterns, path)
            elif isinstance(p, URLPattern) and path.startswith("api/v1/") and "format" not in params:
                found.add("/" + path)

    walk(get_resolver().url_patterns, "")
    return found - {"/api/v1/", "/api/v1/schema/", "/api/v1/docs/"}


def test_schema_is_openapi_3_and_lists_every_endpoint(city, county_a):
    response = county_a.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    documented = {re.sub(r"\{[^}]+\}", "{}", path) for path in schema["paths"]}
    expected = api_route_templates()
    for prefix, _viewset, _basename in router.registry:
        expected.add(f"/api/v1/{prefix}/")
    assert {"/api/v1/elders/", "/api/v1/elders/{}/", "/api/v1/elders/{}/reveal/", "/api/v1/areas/",
            "/api/v1/areas/{}/", "/api/v1/auth/token", "/api/v1/audit/", "/api/v1/users/",
            "/api/v1/organizations/"} <= expected
    missing = expected - documented
    assert not missing, f"endpoints missing from the OpenAPI schema: {sorted(missing)}"
    assert "post" in schema["paths"]["/api/v1/elders/"]
    assert "post" in schema["paths"]["/api/v1/auth/token"]


def test_schema_is_served_anonymously_as_yaml_too(db):
    response = APIClient().get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"openapi: 3." in response.content


# --- pagination ----------------------------------------------------------------------------------

def test_pagination_shape_and_absolute_links(city, county_a):
    first = county_a.get("/api/v1/elders/?page_size=1").json()
    assert set(first) >= {"count", "next", "previous", "results"}
    assert first["count"] == 4 and len(first["results"]) == 1 and first["previous"] is None
    assert re.match(r"^https?://testserver/api/v1/elders/\?", first["next"])
    assert "page=2" in first["next"] and "page_size=1" in first["next"]
    second = county_a.get(first["next"]).json()
    assert second["previous"].startswith("http://testserver/api/v1/elders/")
    assert second["results"][0]["id"] != first["results"][0]["id"]
    last = county_a.get("/api/v1/elders/?page_size=1&page=4").json()
    assert last["next"] is None
    assert county_a.get("/api/v1/elders/?page=9").status_code == 404
    seen = {row["id"] for page in (1, 2, 3, 4) for row in county_a.get(f"/api/v1/elders/?page_size=1&page={page}").json()["results"]}
    assert len(seen) == 4


def test_page_size_up_to_1000(city, county_a):
    for township in ("510703002", "510703003"):  # 12-digit codes allow 999 villages per township
        Area.objects.create(code=township, name=f"街道{township}", level=Level.TOWNSHIP, parent_id="510703")
        Area.objects.bulk_create(Area(code=f"{township}{n:03d}", name=f"新村{township}{n}", level=Level.VILLAGE,
                                      parent_id=township) for n in range(1, 601))
    total = 2 + 1200
    default = county_a.get("/api/v1/areas/?level=5").json()
    assert default["count"] == total and len(default["results"]) == 50
    full = county_a.get("/api/v1/areas/?level=5&page_size=1000").json()
    assert len(full["results"]) == 1000 and full["next"] is not None
    clamped = county_a.get("/api/v1/areas/?level=5&page_size=1001").json()
    assert len(clamped["results"]) == 1000 and "page=2" in clamped["next"]
    rest = county_a.get(clamped["next"]).json()
    assert len(rest["results"]) == total - 1000 and rest["next"] is None
    assert all(len(row["code"]) == 12 for row in full["results"] + rest["results"])


# --- areas ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("user_key, top", [
    ("city", ["5107"]), ("county_a", ["510703"]), ("county_b", ["510704"]), ("township_a", ["510703001"]),
    ("village_a", ["510703001001"]), ("agent", ["5107"]),
])
def test_areas_without_parent_give_the_callers_top_area(city, api_client_for, user_key, top):
    results = rows(api_client_for(city.user(user_key)).get("/api/v1/areas/"))
    assert [r["code"] for r in results] == top
    assert all({"code", "name", "level"} <= set(r) for r in results)


def test_areas_with_parent_give_the_children(city, county_a):
    townships = rows(county_a.get("/api/v1/areas/?parent=510703"))
    assert [(r["code"], r["name"], r["level"]) for r in townships] == [("510703001", "涪城区一街道", Level.TOWNSHIP)]
    assert [r["code"] for r in rows(county_a.get("/api/v1/areas/?parent=510703001"))] == ["510703001001", "510703001002"]
    assert [r["code"] for r in rows(county_a.get("/api/v1/areas/?parent=5107"))] == ["510703"]  # not the sibling
    assert rows(county_a.get("/api/v1/areas/?parent=510704")) == []
    assert rows(county_a.get("/api/v1/areas/?parent=510704001")) == []


def test_area_detail_is_scoped(city, county_a):
    assert county_a.get("/api/v1/areas/510703001001/").json()["name"] == "涪城区001社区"
    assert county_a.get("/api/v1/areas/510704001001/").status_code == 404
    assert county_a.get("/api/v1/areas/510704/").status_code == 404


# --- elders: list --------------------------------------------------------------------------------

def test_elder_list_fields(city, county_a):
    results = rows(county_a.get("/api/v1/elders/"))
    by_id = {e.pk: e for e in city.elders["510703"]}
    assert sorted(r["id"] for r in results) == sorted(by_id)
    for row in results:
        elder = by_id[row["id"]]
        assert {"id", "name", "id_number", "birth_date", "sex", "area_code", "status", "death_date"} <= set(row)
        assert row["name"] == elder.name
        assert MASKED_ID.match(row["id_number"]), row["id_number"]
        assert row["id_number"] == mask_id_number(elder.id_number)
        assert len(row["id_number"]) == len(elder.id_number)
        assert row["birth_date"] == elder.birth_date.isoformat()
        assert row["sex"] == elder.sex
        assert re.fullmatch(r"\d{12}", row["area_code"]) and row["area_code"] == elder.area_id
        assert row["status"] == "alive" and row["death_date"] is None
        assert row.get("phone") in (None, elder.phone_masked)


def test_elder_list_never_carries_clear_personal_data(city, county_a):
    body = county_a.get("/api/v1/elders/?page_size=1000").content.decode()
    detail = county_a.get(f"/api/v1/elders/{city.elders['510703'][0].pk}/").content.decode()
    for elder in city.elders["510703"]:
        for text in (body, detail):
            assert elder.id_number not in text and elder.phone not in text
    assert "13900000000" not in detail  # the contact's phone is masked too


def test_elder_list_filters(city, county_a):
    a = city.elders["510703"]
    services.record_death(a[1], acting_user=city.user("county_a"), death_date=TODAY - dt.timedelta(days=2))
    assert sorted(r["id"] for r in rows(county_a.get("/api/v1/elders/?area=510703001002"))) == [a[2].pk, a[3].pk]
    assert len(rows(county_a.get("/api/v1/elders/?area=510703"))) == 4
    assert rows(county_a.get("/api/v1/elders/?area=510704")) == []
    assert rows(county_a.get("/api/v1/elders/?area=510704001001")) == []
    deceased = rows(county_a.get("/api/v1/elders/?status=deceased"))
    assert [(r["id"], r["status"], r["death_date"]) for r in deceased] == [
        (a[1].pk, "deceased", (TODAY - dt.timedelta(days=2)).isoformat())]
    assert len(rows(county_a.get("/api/v1/elders/?status=alive"))) == 3
    assert rows(county_a.get("/api/v1/elders/?area=510703001001&status=deceased"))[0]["id"] == a[1].pk
    assert rows(county_a.get("/api/v1/elders/?area=510703001002&status=deceased")) == []
    assert county_a.get("/api/v1/elders/?status=zombie").status_code == 400


def test_portal_account_lists_only_its_elder(city, api_client_for):
    results = rows(api_client_for(city.user("elder")).get("/api/v1/elders/"))
    assert [r["id"] for r in results] == [city.elders["510703"][0].pk]


# --- elders: create ------------------------------------------------------------------------------

def new_payload(**kw):
    payload = {"name": "新登记", "id_number": make_id_number("510703", birth_for_age(75), 210, "F"),
               "area_code": "510703001002"}
    payload.update(kw)
    return payload


def test_create_elder(city, county_a):
    payload = new_payload(phone="13612345678")
    response = county_a.post("/api/v1/elders/", payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "新登记"
    assert body["id_number"] == mask_id_number(payload["id_number"])
    assert body["area_code"] == "510703001002"
    assert body["birth_date"] == birth_for_age(75).isoformat() and body["sex"] == "F"
    assert body["status"] == "alive" and body["death_date"] is None
    assert payload["id_number"] not in response.content.decode() and "13612345678" not in response.content.decode()
    elder = Elder.objects.get(pk=body["id"])
    assert (elder.id_number, elder.phone) == (payload["id_number"], "13612345678")
    assert county_a.get(f"/api/v1/elders/{elder.pk}/").json()["id_number"] == body["id_number"]


def test_create_without_phone(city, county_a):
    assert county_a.post("/api/v1/elders/", new_payload(), format="json").status_code == 201


@pytest.mark.parametrize("bad", ["510703194503120010", "51070319450312001", "51070319451301001X", "abc", ""])
def test_create_with_bad_id_number_is_400_on_the_field(city, county_a, bad):
    before = Elder.objects.count()
    response = county_a.post("/api/v1/elders/", new_payload(id_number=bad), format="json")
    assert response.status_code == 400
    assert "id_number" in response.json()
    assert Elder.objects.count() == before


def test_create_duplicate_is_refused(city, county_a):
    existing = city.elders["510703"][1]
    for number in (existing.id_number, existing.id_number[:6] + existing.id_number[8:17]):
        response = county_a.post("/api/v1/elders/", new_payload(id_number=number), format="json")
        assert response.status_code in (400, 409)
        assert "id_number" in response.json()
    assert Elder.objects.count() == 8


@pytest.mark.parametrize("user_key, code", [("county_a", "510704001001"), ("village_a", "510703001002"),
                                            ("county_b", "510703001001")])
def test_create_outside_jurisdiction_is_refused(city, api_client_for, user_key, code):
    response = api_client_for(city.user(user_key)).post("/api/v1/elders/", new_payload(area_code=code), format="json")
    assert response.status_code in (400, 403)
    assert Elder.objects.count() == 8


@pytest.mark.parametrize("user_key", ["elder", "agent", "dispatcher"])
def test_create_needs_the_permission(city, api_client_for, user_key):
    response = api_client_for(city.user(user_key)).post("/api/v1/elders/", new_payload(), format="json")
    assert response.status_code == 403
    assert Elder.objects.count() == 8


def test_patch_is_scoped_and_validated(city, api_client_for, county_a):
    a0, b0 = city.elders["510703"][0], city.elders["510704"][0]
    assert county_a.patch(f"/api/v1/elders/{b0.pk}/", {"name": "越界"}, format="json").status_code == 404
    assert Elder.objects.get(pk=b0.pk).name == b0.name
    response = county_a.patch(f"/api/v1/elders/{a0.pk}/", {"area_code": "510704001001"}, format="json")
    assert response.status_code in (400, 403) and Elder.objects.get(pk=a0.pk).area_id == a0.area_id
    response = county_a.patch(f"/api/v1/elders/{a0.pk}/", {"status": "deceased"}, format="json")
    assert response.status_code == 400 and "death_date" in response.json()
    assert county_a.get(f"/api/v1/elders/{b0.pk}/").status_code == 404


# --- reveal --------------------------------------------------------------------------------------

@pytest.mark.parametrize("user_key", ["county_a", "city", "township_a", "village_a", "agent"])
def test_reveal_for_entitled_users(city, api_client_for, user_key):
    elder = city.elders["510703"][0]
    client = api_client_for(city.user(user_key))
    response = client.post(f"/api/v1/elders/{elder.pk}/reveal/", {"field": "id_number"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"field": "id_number", "value": elder.id_number}
    phone = client.post(f"/api/v1/elders/{elder.pk}/reveal/", {"field": "phone", "reason": "回访"}, format="json")
    assert phone.json()["value"] == elder.phone


def test_reveal_refused_for_the_elder_role(city, api_client_for):
    elder = city.elders["510703"][0]  # the portal account's own elder: visible, but not revealable
    client = api_client_for(city.user("elder"))
    assert client.get(f"/api/v1/elders/{elder.pk}/").status_code == 200
    response = client.post(f"/api/v1/elders/{elder.pk}/reveal/", {"field": "id_number"}, format="json")
    assert response.status_code == 403
    assert elder.id_number not in response.content.decode()


@pytest.mark.parametrize("user_key", ["county_b", "dispatcher"])
def test_reveal_outside_scope_is_404(city, api_client_for, user_key):
    elder = city.elders["510703"][0]
    response = api_client_for(city.user(user_key)).post(f"/api/v1/elders/{elder.pk}/reveal/", {"field": "id_number"}, format="json")
    assert response.status_code == 404
    assert elder.id_number not in response.content.decode()


def test_reveal_of_other_fields_is_400(city, county_a):
    elder = city.elders["510703"][0]
    response = county_a.post(f"/api/v1/elders/{elder.pk}/reveal/", {"field": "name"}, format="json")
    assert response.status_code == 400 and "field" in response.json()


def test_browsable_api_does_not_show_clear_values(city, client):
    """The HTML API renders edit forms pre-filled with the record: they must not carry clear values."""
    elder = city.elders["510703"][0]
    client.force_login(city.user("county_a"))
    body = client.get(f"/api/v1/elders/{elder.pk}/", HTTP_ACCEPT="text/html").content.decode()
    assert elder.name in body
    assert elder.id_number not in body and elder.phone not in body
