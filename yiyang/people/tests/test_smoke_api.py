"""Contract endpoints of CONTRACT.md, exercised once end to end."""

from yiyang.conftest import birth_for_age, make_id_number


def test_token_login_and_masked_list(city, client):
    response = client.post("/api/v1/auth/token", {"username": "t-county-a", "password": "test-pass-2026"},
                           content_type="application/json")
    assert response.status_code == 200
    token = response.json()["token"]
    listing = client.get("/api/v1/elders/", HTTP_AUTHORIZATION=f"Token {token}").json()
    assert listing["count"] == 4
    for row in listing["results"]:
        assert row["area_code"].startswith("510703")
        assert len(row["id_number"]) == 18
        assert row["id_number"][4:17] == "*" * 13


def test_create_rejects_out_of_scope_area(city, api_client_for):
    client = api_client_for(city.user("county_a"))
    number = make_id_number("510704", birth_for_age(70), 77)
    response = client.post("/api/v1/elders/", {"name": "越界", "id_number": number, "area_code": "510704001001"}, format="json")
    assert response.status_code in (400, 403)
    assert "area_code" in response.json()
