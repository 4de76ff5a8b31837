"""/api/v1/assessments/: the workflow over HTTP, scoped by jurisdiction; the score endpoint still answers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import resolve

from yiyang.core.models import AuditAction, AuditEntry

from .conftest import full_items

URL = "/api/v1/assessments/"


@pytest.fixture
def clients(city, assessors, api_client_for):
    return {key: api_client_for(user) for key, user in city.users.items()} | {
        key: api_client_for(a.user) for key, a in assessors.items()}


def ok(response, code=200):
    assert response.status_code == code, response.content[:800]
    return response.json() if response.content else None


def test_the_workflow_over_http(city, assessors, clients):
    elder = city.elders["510703"][0]
    created = ok(clients["village_a"].post(URL, {"elder": elder.pk, "reason": "first", "note": "家属电话申请",
                                                 "on_behalf_of": "family"}, format="json"), 201)
    assert (created["status"], created["requester_kind"], created["area_code"]) == ("requested", "family", elder.area_id)
    detail = f"{URL}{created['id']}/"

    candidates = ok(clients["county_a"].get(detail + "candidates/"))
    assert [c["name"] for c in candidates] == ["t-assessor-a1", "t-assessor-a2", "t-assessor-a3", "t-assessor-a4"]
    refused = clients["county_a"].post(detail + "assign/", {"assessors": [assessors["a1"].pk, assessors["b1"].pk]},
                                       format="json")
    assert refused.status_code == 400 and str(assessors["b1"].pk) in refused.json()["assessors"][0]
    body = ok(clients["county_a"].post(detail + "assign/", {"assessors": [assessors["a1"].pk, assessors["a2"].pk]},
                                       format="json"))
    assert body["status"] == "assigned" and [a["name"] for a in body["assessors"]] == ["t-assessor-a1", "t-assessor-a2"]

    items = full_items(**{"B.1.1": 2})
    del items["B.4.5"]
    a1 = clients["a1"]
    ok(a1.post(detail + "save_draft/", {"items": {"B.1.1": 2}}, format="json"))
    ok(clients["a2"].post(detail + "save_draft/", {"items": items, "risk_events_30d": 1}, format="json"))
    assert ok(a1.get(detail + "form/"))["items"] == items
    assert "answers" not in ok(a1.get(detail)) and "items" not in ok(a1.get(detail))
    bad = a1.post(detail + "save_draft/", {"items": {"B.2.4": 4, "X.9": 1}}, format="json")
    assert bad.status_code == 400 and set(bad.json()["items"]) == {"B.2.4", "X.9"}
    missing = a1.post(detail + "submit/")
    assert missing.status_code == 400 and missing.json() == {"items": {"B.4.5": "missing"}}

    ok(a1.post(detail + "save_draft/", {"items": {"B.4.5": 4}}, format="json"))
    ok(a1.post(detail + "sign/", {"signed_as": "assessor"}, format="json"), 201)
    unsigned = a1.post(detail + "submit/")
    assert unsigned.status_code == 400 and len(unsigned.json()["signatures"]) == 2
    ok(clients["a2"].post(detail + "sign/", {"signed_as": "assessor"}, format="json"), 201)
    guardian = elder.contacts.get(is_guardian=True)
    signature = ok(a1.post(detail + "sign/", {"signed_as": "guardian", "contact": guardian.pk,
                                              "image": "data:image/png;base64,AAAA"}, format="json"), 201)
    assert signature["signed_as"] == "guardian" and signature["name"] == guardian.name
    submitted = ok(a1.post(detail + "submit/"))
    assert (submitted["status"], submitted["total"], submitted["grade"], submitted["grade_name"]) == (
        "submitted", 88, 1, "轻度失能")

    assert clients["village_a"].post(detail + "review/", {"decision": "approve"}, format="json").status_code == 403
    approved = ok(clients["township_a"].post(detail + "review/", {"decision": "approve"}, format="json"))
    assert approved["status"] == "approved" and approved["valid_from"] and approved["valid_until"]
    assert approved["reviewed_by"] == "t-township-a"

    history = ok(clients["elder"].get(f"{URL}history/?elder={elder.pk}"))
    assert history["current"]["assessment_id"] == created["id"] and history["current"]["grade"] == 1
    assert [r["grade_change"] for r in history["results"]] == [None]

    again = ok(clients["elder"].post(detail + "request_review/", {"note": "不同意"}, format="json"), 201)
    assert (again["reason"], again["review_of"], again["requester_kind"]) == ("review", created["id"], "elder")
    assert [c["name"] for c in ok(clients["county_a"].get(f"{URL}{again['id']}/candidates/"))] == [
        "t-assessor-a3", "t-assessor-a4"]


def test_transition_errors_name_the_status(city, assessors, clients):
    created = ok(clients["county_a"].post(URL, {"elder": city.elders["510703"][1].pk}, format="json"), 201)
    response = clients["county_a"].post(f"{URL}{created['id']}/review/", {"decision": "approve"}, format="json")
    assert response.status_code == 400 and "requested" in response.json()["status"][0]


def test_sibling_county_can_neither_see_nor_act(city, assessors, clients):
    elder_a = city.elders["510703"][0]
    created = ok(clients["county_a"].post(URL, {"elder": elder_a.pk}, format="json"), 201)
    detail = f"{URL}{created['id']}/"
    ok(clients["county_a"].post(detail + "assign/", {"assessors": [assessors["a1"].pk, assessors["a2"].pk]},
                                format="json"))
    b = clients["county_b"]
    assert ok(b.get(URL))["count"] == 0
    assert b.get(detail).status_code == 404
    for action, payload in (("assign/", {"assessors": [assessors["b1"].pk]}), ("review/", {"decision": "approve"}),
                            ("cancel/", {"reason": "x"}), ("request_review/", {})):
        assert b.post(detail + action, payload, format="json").status_code == 404, action
    assert b.get(detail + "candidates/").status_code == 404
    assert b.get(detail + "form/").status_code == 404
    assert b.get(f"{URL}history/?elder={elder_a.pk}").status_code == 404
    assert b.post(URL, {"elder": elder_a.pk}, format="json").status_code == 404
    # Assessors see only what is assigned to them, even inside their area.
    assert clients["b1"].get(detail).status_code == 404
    assert clients["b1"].post(detail + "save_draft/", {"items": {"B.1.1": 1}}, format="json").status_code == 404
    assert ok(clients["a3"].get(URL))["count"] == 0
    assert ok(clients["a1"].get(URL))["count"] == 1
    assert ok(clients["county_a"].get(f"{URL}?elder={elder_a.pk}&status=assigned"))["count"] == 1


def test_roles_without_the_permission_are_refused(city, assessors, clients):
    elder = city.elders["510703"][0]
    assert clients["a1"].post(URL, {"elder": elder.pk}, format="json").status_code == 403
    assert clients["dispatcher"].get(URL).status_code == 403
    assert clients["a1"].get(f"{URL}due/").status_code == 403


def test_form_reveal_is_audited(city, assessors, clients):
    created = ok(clients["county_a"].post(URL, {"elder": city.elders["510703"][0].pk}, format="json"), 201)
    detail = f"{URL}{created['id']}/"
    ok(clients["county_a"].post(detail + "assign/", {"assessors": [assessors["a1"].pk, assessors["a2"].pk]},
                                format="json"))
    ok(clients["a1"].post(detail + "save_draft/", {"items": {"B.1.1": 1}, "coma": False}, format="json"))
    assert clients["village_a"].get(detail + "form/").status_code == 403
    ok(clients["county_a"].get(detail + "form/"))
    entry = AuditEntry.objects.filter(action=AuditAction.REVEAL, object_id=str(created["id"])).get()
    assert entry.actor == city.user("county_a") and entry.note == "answers"


def test_due_list_is_paginated_and_scoped(city, assessors, clients):
    from yiyang.assessments import services
    from yiyang.assessments.instruments import MZ_T_039_2013

    for county, official in (("510703", "county_a"), ("510704", "county_b")):
        services.record_historic(city.elders[county][1], acting_user=city.user(official), instrument=MZ_T_039_2013.code,
                                 items={"adl": 1, "mental": 0, "perception": 0, "social": 0},
                                 assessed_on=dt.date(2025, 1, 1))
    body = ok(clients["county_a"].get(f"{URL}due/?on=2025-12-15"))
    assert body["count"] == 1
    assert body["results"][0]["elder_id"] == city.elders["510703"][1].pk and body["results"][0]["days_left"] == 16
    assert ok(clients["city"].get(f"{URL}due/?on=2025-12-15&within_days=10"))["count"] == 0
    assert ok(clients["city"].get(f"{URL}due/?on=2025-12-15"))["count"] == 2


def test_score_endpoint_is_not_shadowed(city, assessors, clients):
    assert resolve("/api/v1/assessments/score").url_name == "assessment-score"
    assert resolve("/api/v1/assessments/7/").url_name == "assessment-detail"
    payload = {"instrument": "GB/T 42195-2022", "items": full_items(), "coma": False, "dementia": False,
               "risk_events_30d": 0}
    assert ok(clients["assessor"].post("/api/v1/assessments/score", payload, format="json"))["grade"] == 0
    historic = {"instrument": "MZ/T 039-2013", "items": {"adl": 3, "mental": 0, "perception": 0, "social": 0}}
    body = ok(clients["county_a"].post("/api/v1/assessments/score", historic, format="json"))
    assert (body["total"], body["grade"], body["grade_name"]) == (None, 3, "重度失能")
    assert clients["county_a"].get("/api/v1/assessments/score/").status_code == 404
