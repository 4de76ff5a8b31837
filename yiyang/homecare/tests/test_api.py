"""The service-order API: creation, one POST per step, refusals as 409/400/403/404, filters, schema."""

import datetime as dt

import pytest
from django.utils import timezone

from yiyang.homecare import services
from yiyang.homecare.models import OrderEvent, ServiceOrder, Worker

from .conftest import DAY, HOME, at

ORDERS = "/api/v1/homecare/orders/"


def url(order, step: str = "") -> str:
    return f"{ORDERS}{order.pk}/" + (f"{step}/" if step else "")


@pytest.fixture
def clients(city, care, api_client_for):
    """Token clients of the personas that act on orders."""
    return {
        "agent": api_client_for(city.user("agent")),
        "dispatcher": api_client_for(city.user("dispatcher")),
        "dispatcher2": api_client_for(care.second_dispatcher),
        "nurse": api_client_for(care.nurse.user),
        "helper": api_client_for(care.helper.user),
        "county_a": api_client_for(city.user("county_a")),
        "county_b": api_client_for(city.user("county_b")),
    }


def new_order(care, **overrides) -> dict:
    return {"elder": care.elder.pk, "service": "bath", "provider": care.provider.pk,
            "window_start": at(9).isoformat(), "window_end": at(11).isoformat(), **overrides}


def post(client, path, data=None):
    return client.post(path, data or {}, format="json")


def assigned(city, care, order, worker=None):
    dispatcher = city.user("dispatcher")
    return services.assign(services.accept(order, acting_user=dispatcher), worker or care.nurse, acting_user=dispatcher)


# --- creation -------------------------------------------------------------------------------------


def test_the_hotline_creates_an_order_and_gets_it_back_without_personal_data(city, care, clients):
    response = post(clients["agent"], ORDERS, new_order(care, note="  老人行动不便  "))
    assert response.status_code == 201, response.content
    body = response.json()
    order = ServiceOrder.objects.get(pk=body["id"])
    assert (order.status, order.channel, order.price_fen, order.note) == ("requested", "hotline", 8_000, "老人行动不便")
    assert body["service"] == "bath" and body["elder_name"] == care.elder.name and body["status"] == "requested"
    assert "id_number" not in body and "phone" not in body
    detail = clients["agent"].get(url(order))
    assert [(e["to_status"], e["actor"]) for e in detail.json()["events"]] == [("requested", "t-agent")]
    text = response.content.decode() + detail.content.decode()
    assert care.elder.id_number not in text and care.elder.phone not in text and care.elder.id_number[-6:] not in text
    assert body["next_statuses"] == ["cancelled"]  # the hotline may cancel; accepting is the provider's


@pytest.mark.parametrize("change, field, message", [
    ({"service": "no-such-service"}, "service", "Choose a service from the catalogue."),
    ({"window_start": at(11).isoformat(), "window_end": at(9).isoformat()}, "window_end", "must end after it starts"),
    ({"window_end": "tomorrow-ish"}, "window_end", "Datetime has wrong format"),
    ({"provider": "x"}, "provider", "A valid integer is required."),
    ({"payer": "neighbour"}, "payer", "is not a valid choice"),
])
def test_bad_input_is_refused_naming_the_field(city, care, clients, change, field, message):
    response = post(clients["agent"], ORDERS, new_order(care, **change))
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field] and message in response.json()[field][0]
    assert not ServiceOrder.objects.exists()


def test_a_provider_that_does_not_serve_the_elders_village_is_refused(city, care, clients):
    outside = city.elders["510704"][1]
    response = post(clients["agent"], ORDERS, new_order(care, elder=outside.pk, service="meal"))
    assert response.status_code == 400
    assert "does not serve the elder's village" in response.json()["provider"][0]
    assert not ServiceOrder.objects.exists()


def test_an_elder_outside_the_callers_jurisdiction_is_refused_as_unknown(city, care, clients):
    response = post(clients["county_b"], ORDERS, new_order(care))
    assert response.status_code == 400
    assert response.json() == {"elder": ["No such elder in your jurisdiction."]}


def test_a_caregiver_may_not_create_orders(city, care, clients):
    assert post(clients["nurse"], ORDERS, new_order(care)).status_code == 403
    assert not ServiceOrder.objects.exists()


# --- each step ------------------------------------------------------------------------------------


def test_the_whole_visit_through_the_api(city, care, order, clients):
    steps = [
        ("dispatcher", "accept", {}, "accepted"),
        ("dispatcher", "assign", {"worker": care.nurse.pk}, "assigned"),
        ("nurse", "start-trip", {}, "on_the_way"),
        ("nurse", "check-in", {"latitude": HOME[0] + 0.0005, "longitude": HOME[1]}, "checked_in"),
        ("nurse", "check-out", {"latitude": HOME[0], "longitude": HOME[1], "notes": "洗浴完成"}, "checked_out"),
        ("agent", "confirm", {"note": "老人电话确认"}, "confirmed"),
    ]
    for who, step, data, expected in steps:
        response = post(clients[who], url(order, step), data)
        assert response.status_code == 200, (step, response.content)
        assert response.json()["status"] == expected
    order.refresh_from_db()
    assert order.worker == care.nurse and order.check_in_distance_m == 56 and order.service_notes == "洗浴完成"
    body = clients["nurse"].get(url(order)).json()
    assert body["check_in_distance_m"] == 56 and body["service_notes"] == "洗浴完成"
    assert [e["to_status"] for e in body["events"]] == ["requested", "accepted", "assigned", "on_the_way",
                                                         "checked_in", "checked_out", "confirmed"]
    assert body["events"][4]["latitude"] == pytest.approx(HOME[0] + 0.0005)
    assert body["events"][-1]["note"] == "老人电话确认"


def test_unassign_puts_the_order_back_to_accepted(city, care, order, clients):
    assigned(city, care, order)
    response = post(clients["dispatcher"], url(order, "unassign"), {"note": "改派"})
    assert response.status_code == 200
    assert response.json()["status"] == "accepted" and response.json()["worker"] is None
    assert ServiceOrder.objects.get(pk=order.pk).worker is None


def test_a_worker_who_finds_nobody_home_records_a_no_show(city, care, order, clients):
    assigned(city, care, order)
    assert post(clients["nurse"], url(order, "no-show"), {"reason": ""}).json() == {
        "reason": ["Say why (a reason is required)."]}
    response = post(clients["nurse"], url(order, "no-show"), {"reason": "敲门无人应答", "latitude": HOME[0],
                                                               "longitude": HOME[1]})
    assert response.status_code == 200 and response.json()["status"] == "no_show"
    assert OrderEvent.objects.get(order=order, to_status="no_show").note == "敲门无人应答"


def test_a_completed_visit_can_be_disputed_with_a_reason(city, care, order, clients):
    assigned(city, care, order)
    services.check_in(order, acting_user=care.nurse.user, latitude=HOME[0], longitude=HOME[1], at=at(9))
    services.check_out(order, acting_user=care.nurse.user, latitude=HOME[0], longitude=HOME[1], at=at(10))
    assert post(clients["agent"], url(order, "dispute"), {}).status_code == 400
    response = post(clients["agent"], url(order, "dispute"), {"reason": "老人说没有洗浴"})
    assert response.status_code == 200 and response.json()["status"] == "disputed"


def test_cancel_needs_a_reason_and_a_cancelled_order_cannot_be_accepted(city, care, order, clients):
    refused = post(clients["agent"], url(order, "cancel"), {})
    assert refused.status_code == 400 and list(refused.json()) == ["reason"]
    assert post(clients["agent"], url(order, "cancel"), {"reason": "老人住院"}).json()["status"] == "cancelled"
    late = post(clients["dispatcher"], url(order, "accept"))
    assert late.status_code == 409
    assert late.json() == {"detail": "An order that is “cancelled” cannot become “accepted by the provider”."}


def test_a_step_that_is_not_the_callers_is_a_409_with_the_reason(city, care, order, clients):
    response = post(clients["agent"], url(order, "accept"))
    assert response.status_code == 409
    assert response.json()["detail"] == ("The hotline may not move an order from “requested” to "
                                         "“accepted by the provider”.")
    assert ServiceOrder.objects.get(pk=order.pk).status == "requested"


def test_an_unfit_worker_is_refused_with_the_reason(city, care, order, clients):
    services.accept(order, acting_user=city.user("dispatcher"))
    response = post(clients["dispatcher"], url(order, "assign"), {"worker": care.helper.pk})
    assert response.status_code == 409 and "lacks the skill" in response.json()["detail"]
    unknown = post(clients["dispatcher"], url(order, "assign"), {"worker": 999_999})
    assert unknown.status_code == 400 and list(unknown.json()) == ["worker"]


# --- the assignment race ---------------------------------------------------------------------------


def test_two_dispatchers_assigning_the_same_order_the_second_gets_409(city, care, order, clients):
    services.accept(order, acting_user=city.user("dispatcher"))
    first = post(clients["dispatcher"], url(order, "assign"), {"worker": care.nurse.pk, "expected_worker": None})
    second = post(clients["dispatcher2"], url(order, "assign"), {"worker": care.nurse.pk})
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["detail"] == "Someone else changed this order just now: it is “assigned to a worker” (护理员甲)."
    assert OrderEvent.objects.filter(order=order, to_status="assigned").count() == 1


def test_reassigning_needs_the_current_worker_named(city, care, order, clients):
    other = Worker.objects.create(provider=care.provider, name="护理员丙", base_latitude=31.46, base_longitude=104.67)
    for held in care.nurse.worker_skills.all():
        other.worker_skills.create(skill=held.skill, valid_until=held.valid_until)
    assigned(city, care, order)
    blind = post(clients["dispatcher"], url(order, "assign"), {"worker": other.pk})
    assert blind.status_code == 409 and "护理员甲" in blind.json()["detail"]
    response = post(clients["dispatcher"], url(order, "assign"), {"worker": other.pk, "expected_worker": care.nurse.pk})
    assert response.status_code == 200 and response.json()["worker_name"] == "护理员丙"


def test_when_the_other_dispatcher_wins_between_check_and_update_the_loser_gets_409(city, care, order, clients,
                                                                                     monkeypatch):
    """Both requests pass the expected-worker check; the guarded UPDATE lets only one through."""
    services.accept(order, acting_user=city.user("dispatcher"))
    real_unfit = services.worker_unfit

    def first_dispatcher_wins_meanwhile(worker, seen):
        monkeypatch.setattr(services, "worker_unfit", real_unfit)
        services.assign(seen, care.nurse, acting_user=city.user("dispatcher"))
        return real_unfit(worker, seen)

    monkeypatch.setattr(services, "worker_unfit", first_dispatcher_wins_meanwhile)
    response = post(clients["dispatcher2"], url(order, "assign"), {"worker": care.nurse.pk, "expected_worker": None})
    assert response.status_code == 409 and response.json()["detail"].startswith("Someone else changed this order")
    assert OrderEvent.objects.filter(order=order, to_status="assigned").count() == 1


# --- who may see and act ---------------------------------------------------------------------------


def test_a_worker_cannot_check_in_to_someone_elses_order(city, care, order, clients):
    assigned(city, care, order)
    assert post(clients["helper"], url(order, "check-in"), {"latitude": HOME[0], "longitude": HOME[1]}).status_code == 404
    assert clients["helper"].get(url(order)).status_code == 404
    refused = post(clients["dispatcher"], url(order, "check-in"), {"latitude": HOME[0], "longitude": HOME[1]})
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Only the worker assigned to this order may do this."}
    assert ServiceOrder.objects.get(pk=order.pk).status == "assigned"


def test_a_county_official_out_of_scope_gets_404(city, care, order, clients):
    assert clients["county_b"].get(url(order)).status_code == 404
    assert post(clients["county_b"], url(order, "cancel"), {"reason": "x"}).status_code == 404
    services.accept(order, acting_user=city.user("dispatcher"))
    assert post(clients["county_b"], url(order, "assign"), {"worker": care.nurse.pk}).status_code == 404
    assert post(clients["county_a"], f"{ORDERS}999999/cancel/", {"reason": "x"}).status_code == 404
    assert clients["county_b"].get(ORDERS).json()["count"] == 0
    assert ServiceOrder.objects.get(pk=order.pk).status == "accepted"
    mine = clients["county_a"].get(url(order))
    assert mine.status_code == 200 and mine.json()["id"] == order.pk
    assert [e["to_status"] for e in mine.json()["events"]] == ["requested", "accepted"]


def test_bad_coordinates_are_refused_naming_the_field(city, care, order, clients):
    assigned(city, care, order)
    response = post(clients["nurse"], url(order, "check-in"), {"latitude": 131.4, "longitude": HOME[1]})
    assert response.status_code == 400 and list(response.json()) == ["latitude"]


# --- lists and filters ------------------------------------------------------------------------------


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_list_filters(city, care, order, clients):
    agent = city.user("agent")
    other_elder = city.elders["510703"][2]
    next_day = services.create_order(acting_user=agent, elder_id=other_elder.pk, service_code="meal",
                                     provider_id=care.provider.pk, window_start=at(11, day=DAY + dt.timedelta(days=1)),
                                     window_end=at(12, day=DAY + dt.timedelta(days=1)))
    late_evening = services.create_order(acting_user=agent, elder_id=care.elder.pk, service_code="meal",
                                         provider_id=care.provider.pk, window_start=at(23, 30),
                                         window_end=at(23, 59))
    assigned(city, care, order)
    county = clients["county_a"]
    assert set(ids(county.get(ORDERS))) == {order.pk, next_day.pk, late_evening.pk}
    assert ids(county.get(ORDERS, {"status": "assigned"})) == [order.pk]
    assert set(ids(county.get(f"{ORDERS}?status=assigned&status=requested"))) == {order.pk, next_day.pk,
                                                                                  late_evening.pk}
    assert ids(county.get(ORDERS, {"worker": care.nurse.pk})) == [order.pk]
    assert ids(county.get(ORDERS, {"elder": other_elder.pk})) == [next_day.pk]
    assert ids(county.get(ORDERS, {"provider": care.provider.pk + 1000})) == []
    assert set(ids(county.get(ORDERS, {"provider": care.provider.pk}))) == {order.pk, next_day.pk, late_evening.pk}
    # The day is the local (Asia/Shanghai) day: 23:30 belongs to DAY, not to the next UTC day.
    assert ids(county.get(ORDERS, {"date": DAY.isoformat()})) == [late_evening.pk, order.pk]
    assert ids(county.get(ORDERS, {"date": (DAY + dt.timedelta(days=1)).isoformat()})) == [next_day.pk]
    assert county.get(ORDERS, {"date": "23/11/2026"}).status_code == 400
    assert county.get(ORDERS, {"status": "lost"}).status_code == 400


def test_since_lists_what_changed_oldest_change_first(city, care, order, clients):
    second = services.create_order(acting_user=city.user("agent"), elder_id=care.elder.pk, service_code="meal",
                                   provider_id=care.provider.pk, window_start=at(12), window_end=at(13))
    cutoff = timezone.now()
    ServiceOrder.objects.filter(pk__in=[order.pk, second.pk]).update(updated_at=cutoff - dt.timedelta(minutes=5))
    services.accept(second, acting_user=city.user("dispatcher"))
    services.accept(order, acting_user=city.user("dispatcher"))
    county = clients["county_a"]
    assert ids(county.get(ORDERS, {"since": cutoff.isoformat()})) == [second.pk, order.pk]
    ServiceOrder.objects.filter(pk=second.pk).update(updated_at=cutoff - dt.timedelta(minutes=1))
    assert ids(county.get(ORDERS, {"since": cutoff.isoformat()})) == [order.pk]


def test_a_caregiver_lists_only_their_own_orders(city, care, order, clients):
    assigned(city, care, order)
    assert ids(clients["nurse"].get(ORDERS)) == [order.pk]
    assert ids(clients["helper"].get(ORDERS)) == []
    assert clients["nurse"].get(ORDERS).json()["results"][0]["next_statuses"] == ["on_the_way", "checked_in", "no_show"]


# --- catalogue and workers --------------------------------------------------------------------------


def test_the_catalogue_is_read_only_and_filters_by_provider(city, care, clients):
    body = clients["agent"].get("/api/v1/homecare/services/").json()
    assert [row["code"] for row in body["results"]] == ["bath", "meal"]  # by kind: bathing, meals
    bath = clients["nurse"].get("/api/v1/homecare/services/bath/").json()
    assert bath["skills"] == ["bathing", "nursing"] and bath["unit_price_fen"] == 8_000
    care.profile.services.remove(care.meal)
    assert [r["code"] for r in clients["agent"].get(
        "/api/v1/homecare/services/", {"provider": care.provider.pk}).json()["results"]] == ["bath"]
    assert post(clients["county_a"], "/api/v1/homecare/services/", {"code": "x", "name": "x"}).status_code in (403, 405)


def test_workers_are_listed_for_their_provider_with_phones_masked(city, care, clients):
    care.nurse.phone = "13812345678"
    care.nurse.save()
    response = clients["dispatcher"].get("/api/v1/homecare/workers/")
    rows = {row["name"]: row for row in response.json()["results"]}
    assert set(rows) == {"护理员甲", "助理乙"}
    assert rows["护理员甲"]["phone"] == "138****5678" and "13812345678" not in response.content.decode()
    assert {s["skill"] for s in rows["护理员甲"]["skills"]} == {"bathing", "nursing"}
    assert ids(clients["dispatcher"].get("/api/v1/homecare/workers/", {"skill": "nursing"})) == [care.nurse.pk]
    assert clients["nurse"].get("/api/v1/homecare/workers/").status_code == 403
    assert clients["county_b"].get("/api/v1/homecare/workers/").json()["count"] == 0
    assert post(clients["dispatcher"], "/api/v1/homecare/workers/", {"name": "x"}).status_code == 405


# --- schema -----------------------------------------------------------------------------------------


def test_the_schema_documents_every_endpoint_with_its_bodies(city, clients):
    response = clients["county_a"].get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    base = "/api/v1/homecare/orders/"
    assert {"get", "post"} <= set(paths[base])
    for step in ("accept", "assign", "unassign", "start-trip", "check-in", "check-out", "confirm", "dispute",
                 "cancel", "no-show"):
        operation = paths[f"{base}{{id}}/{step}/"]["post"]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Order"), step
        assert "409" in operation["responses"], step
    assert "/api/v1/homecare/services/{code}/" in paths and "/api/v1/homecare/workers/{id}/" in paths
    assign_body = paths[f"{base}{{id}}/assign/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert assign_body["$ref"].endswith("/OrderAssignRequest")
    assert {"worker", "expected_worker"} <= set(schema["components"]["schemas"]["OrderAssignRequest"]["properties"])
    retrieve = paths[f"{base}{{id}}/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert retrieve["$ref"].endswith("/OrderDetail")
    filters = {p["name"] for p in paths[base]["get"]["parameters"]}
    assert {"status", "provider", "worker", "elder", "date", "since"} <= filters
    detail = schema["components"]["schemas"]["OrderDetail"]["properties"]
    assert "events" in detail and "id_number" not in detail and "phone" not in detail
