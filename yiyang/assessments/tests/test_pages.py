"""Assessment pages through the Django test client, as the shared personas."""

from __future__ import annotations

import pytest

from yiyang.assessments import services
from yiyang.assessments.instruments import GB_T_42195_2022
from yiyang.assessments.models import Assessment
from yiyang.assessments.rules import Status

from .conftest import full_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def elder(city):
    return city.elders["510703"][0]  # has a guardian


@pytest.fixture
def requested(city, elder, assessors):
    return services.request_assessment(elder, acting_user=city.user("village_a"))


@pytest.fixture
def assigned(city, requested, assessors):
    return services.assign_assessors(requested, assessors=[assessors["a1"], assessors["a2"]],
                                     acting_user=city.user("county_a"))


def form_data(items: dict, action: str = "save", **extra) -> dict:
    return {**{code: str(v) for code, v in items.items()}, "risk_events_30d": "0", "action": action, **extra}


def html(response) -> str:
    return response.content.decode()


def test_list_and_detail_render_for_the_county(city, assigned, client_for):
    client = client_for(city.user("county_a"))
    listed = html(client.get("/assessments/"))
    assert "甲老人0" in listed and f"/assessments/{assigned.pk}/" in listed
    filtered = client.get("/assessments/", {"status": "approved"})
    assert "甲老人0" not in html(filtered)
    page = client.get(f"/assessments/{assigned.pk}/")
    assert page.status_code == 200
    text = html(page)
    assert "t-assessor-a1" in text and "t-assessor-a2" in text and 'data-testid="assign-form"' in text
    assert "Assessments" in html(client.get("/"))  # the nav link


def test_other_county_gets_404(city, assigned, client_for):
    client = client_for(city.user("county_b"))
    assert client.get(f"/assessments/{assigned.pk}/").status_code == 404
    assert client.post(f"/assessments/{assigned.pk}/cancel/", {"reason": "x"}).status_code == 404
    assert "甲老人0" not in html(client.get("/assessments/"))


def test_request_from_the_elder_page(city, elder, assessors, client_for):
    client = client_for(city.user("village_a"))
    card = html(client.get(f"/elders/{elder.pk}/"))
    assert 'data-testid="assessment-card"' in card and f"/assessments/new/?elder={elder.pk}" in card
    response = client.post(f"/assessments/new/?elder={elder.pk}", {"reason": "first", "requester_kind": "family",
                                                                   "note": "家属申请"})
    assessment = Assessment.objects.get(elder=elder)
    assert response.status_code == 302 and response.url == f"/assessments/{assessment.pk}/"
    assert (assessment.requester_kind, assessment.note) == ("family", "家属申请")
    again = client.post(f"/assessments/new/?elder={elder.pk}", {"reason": "first"})
    assert "already has an open assessment" in html(again)
    other = city.elders["510704"][0]
    assert client.get(f"/assessments/new/?elder={other.pk}").status_code == 404


def test_assign_through_the_page(city, requested, assessors, client_for):
    client = client_for(city.user("county_a"))
    page = html(client.get(f"/assessments/{requested.pk}/"))
    assert "t-assessor-a3" in page and "t-assessor-b1" not in page  # eligible_assessors only
    refused = client.post(f"/assessments/{requested.pk}/assign/", {"assessors": [assessors["a1"].pk]})
    assert "Assign exactly 2 assessors" in html(refused)
    done = client.post(f"/assessments/{requested.pk}/assign/",
                       {"assessors": [assessors["a1"].pk, assessors["a3"].pk]})
    assert done.status_code == 302
    requested.refresh_from_db()
    assert requested.status == Status.ASSIGNED


def test_only_the_assigned_assessor_opens_the_form(city, assigned, assessors, client_for):
    url = f"/assessments/{assigned.pk}/form/"
    assert client_for(assessors["a3"].user).get(url).status_code == 404  # not assigned: not even visible
    assert client_for(city.user("county_a")).get(url).status_code == 403  # sees it, may not record
    response = client_for(assessors["a1"].user).get(url)
    assert response.status_code == 200
    text = html(response)
    for code in GB_T_42195_2022.items:
        assert f'name="{code}"' in text
    assert "完全依赖他人协助，且不能给予配合" in text and "可独立上下楼梯" in text


def test_partial_draft_is_saved_and_resumed(city, assigned, assessors, client_for):
    client = client_for(assessors["a1"].user)
    url = f"/assessments/{assigned.pk}/form/"
    response = client.post(url, form_data({"B.1.1": 3, "B.2.4": 1}, dementia="on"))
    assert response.status_code == 302 and response.url == url
    assigned.refresh_from_db()
    assert assigned.status == Status.IN_PROGRESS
    assert services.read_form(assigned)["items"] == {"B.1.1": 3, "B.2.4": 1}
    resumed = html(client_for(assessors["a2"].user).get(url))
    assert 'id="item-B-1-1-3" value="3" autocomplete="off" checked' in resumed
    assert 'id="item-B-2-4-1" value="1" autocomplete="off" checked' in resumed
    assert 'id="item-B-1-1-4" value="4" autocomplete="off" checked' not in resumed
    assert 'name="dementia" id="id_dementia" autocomplete="off" checked' in resumed


def test_submit_with_a_missing_item_names_it_and_changes_nothing(city, assigned, assessors, client_for):
    client = client_for(assessors["a1"].user)
    url = f"/assessments/{assigned.pk}/form/"
    items = full_items()
    del items["B.4.5"]
    client.post(url, form_data(items))
    assigned.refresh_from_db()
    before = (assigned.status, assigned.answers, assigned.updated_at)
    response = client.post(url, form_data({**items, "B.1.1": 2}, action="submit"))
    assert response.status_code == 422
    text = html(response)
    assert 'data-testid="error-B.4.5"' in text and "B.4.5 社会交往能力: missing" in text
    assert 'id="item-B-1-1-2" value="2" autocomplete="off" checked' in text  # the posted answers stay on screen
    assigned.refresh_from_db()
    assert (assigned.status, assigned.answers, assigned.updated_at) == before
    signing = client.post(url, form_data(items, action="sign:assessor"))
    assert signing.status_code == 422 and "B.4.5" in html(signing) and not assigned.signatures.exists()


def test_live_total_endpoint(city, assigned, assessors, client_for):
    client = client_for(assessors["a1"].user)
    url = f"/assessments/{assigned.pk}/form/score/"
    response = client.post(url, {"B.1.1": "4", "B.1.2": "3", "B.2.4": "2", "B.3.9": "1", "risk_events_30d": "0"})
    text = html(response)
    assert response.status_code == 200
    assert 'data-testid="live-total">10<' in text
    assert "4 of 26 items answered" in text
    assert '<span class="fw-semibold">7</span>/32 <span class="text-body-secondary">(2/8)' in text
    complete = html(client.post(url, form_data(full_items(**{"B.1.1": 0}))))
    assert 'data-testid="live-total">86<' in complete and "轻度失能" in complete
    coma = html(client.post(url, {"B.1.1": "4", "coma": "on", "risk_events_30d": "0"}))
    assert "完全失能" in coma and "Provisional grade" in coma
    assert client_for(city.user("county_a")).post(url, {}).status_code == 403


def test_sign_submit_approve_shows_the_result_on_the_elder_card(city, elder, assigned, assessors, client_for):
    a1, a2 = assessors["a1"].user, assessors["a2"].user
    url = f"/assessments/{assigned.pk}/form/"
    items = full_items(**{"B.1.1": 0})
    assert client_for(a1).post(url, form_data(items)).status_code == 302
    assert client_for(a1).post(url, form_data(items, action="sign:assessor")).status_code == 302
    guardian = elder.contacts.get(is_guardian=True)
    assert client_for(a1).post(url, form_data(items, action="sign:guardian", contact=guardian.pk)).status_code == 302
    assert client_for(a2).post(url, form_data(items, action="sign:assessor")).status_code == 302
    assert assigned.signatures.count() == 3
    submitted = client_for(a2).post(url, form_data(items, action="submit"))
    assert submitted.status_code == 302 and submitted.url == f"/assessments/{assigned.pk}/"
    reviewer = client_for(city.user("township_a"))
    page = html(reviewer.get(f"/assessments/{assigned.pk}/"))
    assert 'data-testid="review-form"' in page and "轻度失能" in page
    returned = reviewer.post(f"/assessments/{assigned.pk}/review/", {"decision": "return", "reason": ""})
    assert "Say why the assessment is returned" in html(returned)
    approved = reviewer.post(f"/assessments/{assigned.pk}/review/", {"decision": "approve"})
    assert approved.status_code == 302
    assigned.refresh_from_db()
    assert (assigned.status, assigned.total, assigned.grade) == (Status.APPROVED, 86, 1)
    card = html(reviewer.get(f"/elders/{elder.pk}/"))
    assert 'data-testid="assessment-result"' in card and "轻度失能" in card and "<strong>86</strong>" in card
    detail = html(reviewer.get(f"/assessments/{assigned.pk}/"))
    assert "Request a re-assessment (复核)" in detail and "自理能力" in detail


def test_cancel_with_a_reason(city, requested, client_for):
    client = client_for(city.user("county_a"))
    missing = client.post(f"/assessments/{requested.pk}/cancel/", {"reason": " "})
    assert "Say why the assessment is cancelled" in html(missing)
    assert client.post(f"/assessments/{requested.pk}/cancel/", {"reason": "重复申请"}).status_code == 302
    requested.refresh_from_db()
    assert requested.status == Status.CANCELLED
