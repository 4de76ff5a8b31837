"""``POST /api/v1/assessments/score`` (CONTRACT.md)."""

from yiyang.assessments.instruments import GB_T_42195_2022 as STANDARD


def form(**overrides):
    items = {code: item.max_score for code, item in STANDARD.items.items()}
    items.update(overrides)
    return {"instrument": "GB/T 42195-2022", "items": items, "coma": False, "dementia": False, "risk_events_30d": 0}


def test_scores_a_form_without_saving(city, api_client_for):
    client = api_client_for(city.user("assessor") if "assessor" in city.users else city.user("county_a"))
    response = client.post("/api/v1/assessments/score", form(**{"B.1.1": 0, "B.1.2": 0}), format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 82
    assert body["dimensions"] == {"B.1": 24, "B.2": 15, "B.3": 28, "B.4": 15}
    assert body["preliminary_grade"] == 1 and body["grade"] == 1


def test_coma_overrides(city, api_client_for):
    payload = form()
    payload["coma"] = True
    body = api_client_for(city.user("county_a")).post("/api/v1/assessments/score", payload, format="json").json()
    assert body["preliminary_grade"] == 0 and body["grade"] == 4


def test_errors_name_the_item(city, api_client_for):
    client = api_client_for(city.user("county_a"))
    payload = form(**{"B.2.4": 4})
    del payload["items"]["B.4.5"]
    payload["items"]["X.1"] = 1
    response = client.post("/api/v1/assessments/score", payload, format="json")
    assert response.status_code == 400
    errors = response.json()["items"]
    assert set(errors) == {"B.2.4", "B.4.5", "X.1"}


def test_needs_authentication(db, client):
    assert client.post("/api/v1/assessments/score", form(), content_type="application/json").status_code in (401, 403)
