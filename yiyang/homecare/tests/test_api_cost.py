"""What one call of the order API costs, so that it cannot creep back (issue 4: the API's latency).

Each count is every statement the request sends, the token lookup and the
transaction's own statements included (under pytest the transaction is a
savepoint: one statement to open it, one to release it, as BEGIN and COMMIT).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers

from yiyang.homecare import services
from yiyang.homecare.models import OrderEvent, ServiceOrder
from yiyang.homecare.rules import Party, next_statuses
from yiyang.homecare.serializers import OrderDetailSerializer, OrderSerializer

from .conftest import at
from .test_api import ORDERS, new_order, post, url


@pytest.fixture
def clients(city, care, api_client_for):
    return {"agent": api_client_for(city.user("agent")), "dispatcher": api_client_for(city.user("dispatcher"))}


def sent(client, path, data=None):
    """The response and the SQL statements the request sent."""
    with CaptureQueriesContext(connection) as queries:
        response = post(client, path, data)
    assert response.status_code in (200, 201), response.content
    return response, [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("service, assign_budget", [("meal", 9), ("bath", 10)])
def test_each_step_of_an_order_sends_a_fixed_small_number_of_statements(city, care, clients, service,
                                                                       assign_budget):
    """create: token, BEGIN, elder, provider with profile, the service among the provider's, order, event,
    audit, COMMIT. accept: token, BEGIN, order with its names, guarded UPDATE, event, COMMIT. assign: token,
    worker, order, leave, required skills (and, when there are any, the worker's), BEGIN, guarded UPDATE,
    event, COMMIT. cancel: as accept, plus the audit entry."""
    created, statements = sent(clients["agent"], ORDERS, new_order(care, service=service))
    assert len(statements) == 9, statements
    order = ServiceOrder.objects.get(pk=created.json()["id"])
    _, statements = sent(clients["dispatcher"], url(order, "accept"))
    assert len(statements) == 6, statements
    _, statements = sent(clients["dispatcher"], url(order, "assign"), {"worker": care.nurse.pk})
    assert len(statements) == assign_budget, statements
    assert sum(s.startswith("UPDATE") for s in statements) == 1  # the guarded one, nothing else
    cancelled, statements = sent(clients["agent"], url(order, "cancel"), {"reason": "老人住院"})
    assert len(statements) == 7, statements
    assert cancelled.json()["status"] == "cancelled"
    assert [e.to_status for e in OrderEvent.objects.filter(order=order).order_by("pk")] == [
        "requested", "accepted", "assigned", "cancelled"]


def test_creation_refusals_still_tell_which_check_failed(city, care, clients):
    """The happy path no longer asks the whole catalogue; each refusal still names its reason."""
    care.profile.services.remove(care.meal)
    not_offered = post(clients["agent"], ORDERS, new_order(care, service="meal"))
    assert not_offered.status_code == 400 and "does not offer" in not_offered.json()["service"][0]
    unknown = post(clients["agent"], ORDERS, new_order(care, service="no-such-service"))
    assert unknown.json() == {"service": ["Choose a service from the catalogue."]}
    care.meal.is_active = False
    care.meal.save()
    inactive = post(clients["agent"], ORDERS, new_order(care, service="meal"))
    assert inactive.json() == {"service": ["Choose a service from the catalogue."]}
    outside = post(clients["agent"], ORDERS, new_order(care, service="no-such-service",
                                                       elder=city.elders["510704"][1].pk))
    assert list(outside.json()) == ["service", "provider"]  # both named, in the usual order
    assert not ServiceOrder.objects.exists()


# --- the order as the API answers it ---------------------------------------------------------------


def drf_rendering(serializer_class, order, party) -> dict:
    """What DRF's own Serializer.to_representation makes of the order (fields copied per instance)."""
    serializer = serializer_class(order, context={"party": party})
    return serializers.Serializer.to_representation(serializer, order)


def test_the_shared_field_answer_is_exactly_drfs(city, care, order):
    dispatcher = city.user("dispatcher")
    states = [services._visible(dispatcher, order.pk)]
    services.accept(order, acting_user=dispatcher)
    services.assign(order, care.nurse, acting_user=dispatcher)
    services.check_in(order, acting_user=care.nurse.user, latitude=None, longitude=None, at=at(9, 5))
    states.append(services._visible(dispatcher, order.pk))  # a worker, a check-in time, a flag
    assert states[1].flags == ["no_location"] and states[1].worker is not None
    for state in states:
        for party in (Party.PROVIDER, Party.HOTLINE, None):
            answer = OrderSerializer(state, context={"party": party}).data
            assert answer == drf_rendering(OrderSerializer, state, party)
            assert list(answer) == list(OrderSerializer().fields)  # same keys, same order
    assert OrderSerializer(states[0], context={"party": Party.PROVIDER}).data["next_statuses"] != \
        OrderSerializer(states[0], context={"party": Party.HOTLINE}).data["next_statuses"]


def test_each_answer_uses_its_own_context_and_lists_render_alike(city, care, order):
    """The fields are shared between instances; the caller's party (context) is not."""
    provider = OrderSerializer(order, context={"party": Party.PROVIDER})
    hotline = OrderSerializer(order, context={"party": Party.HOTLINE})
    for_provider, for_hotline = next_statuses(order.status, Party.PROVIDER), next_statuses(order.status, Party.HOTLINE)
    assert "accepted" in for_provider and "accepted" not in for_hotline
    assert provider.data["next_statuses"] == for_provider and hotline.data["next_statuses"] == for_hotline
    listed = OrderSerializer([order, order], many=True, context={"party": Party.HOTLINE}).data
    assert [row["next_statuses"] for row in listed] == [for_hotline, for_hotline]
    assert listed[0] == hotline.data


def test_the_detail_with_its_events_renders_the_usual_way(city, care, order, api_client_for):
    """Nested serializers are not shared: the detail falls back to DRF's own rendering."""
    assert OrderDetailSerializer._shared_fields() is None
    body = api_client_for(city.user("agent")).get(url(order)).json()
    assert [e["to_status"] for e in body["events"]] == ["requested"] and body["service_notes"] == ""
    assert body["check_in_latitude"] is None  # no visit yet
