"""The list page and API: in jurisdiction only, numbers masked, filters, and who may look at all."""

from __future__ import annotations

import pytest

from yiyang.notifications import services
from yiyang.notifications.gateway import Delivery

from .conftest import NOW, ScriptedGateway, sms


@pytest.fixture
def sent(city):
    """One notification per county; county A's failed once and waits for a retry."""
    a = sms("alarm:1:son", area_code="510703001001", address="13900000001", subject="alarm:1")
    b = sms("alarm:2:son", area_code="510704001002", address="13700000002", subject="alarm:2",
            recipient_label="女儿 李娜")
    services.deliver_due(now=NOW, gateway=ScriptedGateway(Delivery.failed("provider busy"), Delivery.ok("P-2")))
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.state, b.state) == ("queued", "sent")
    return {"a": a, "b": b}


@pytest.fixture
def page_as(client):
    def get(user, url="/notifications/", **params):
        client.force_login(user)
        return client.get(url, params)
    return get


def test_an_official_sees_only_their_countys_notifications_with_masked_numbers(city, sent, page_as):
    response = page_as(city.user("county_a"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "alarm:1:son" not in html  # the key is internal; the subject is shown
    assert "alarm:1" in html and "139****0001" in html and "儿子 张伟" in html
    assert "13900000001" not in html
    assert "alarm:2" not in html and "女儿 李娜" not in html and "137****0002" not in html
    assert 'data-testid="result-count">1 notification<' in html
    assert f'<a hx-boost="false" href="/notifications/{sent["a"].pk}/">' in html


def test_an_official_of_the_other_county_sees_nothing_of_the_first(city, sent, page_as):
    html = page_as(city.user("county_b")).content.decode()
    assert "alarm:2" in html and "alarm:1<" not in html and "139****0001" not in html
    assert page_as(city.user("county_b"), f"/notifications/{sent['a'].pk}/").status_code == 404


def test_the_city_wide_hotline_sees_both_and_can_filter(city, sent, page_as):
    agent = city.user("agent")
    html = page_as(agent).content.decode()
    assert "139****0001" in html and "137****0002" in html
    html = page_as(agent, state="queued").content.decode()
    assert "139****0001" in html and "137****0002" not in html
    html = page_as(agent, channel="voice").content.decode()
    assert "No notifications match these filters." in html
    html = page_as(agent, subject="alarm:2").content.decode()
    assert "137****0002" in html and "139****0001" not in html


def test_the_detail_page_shows_every_attempt(city, sent, page_as):
    response = page_as(city.user("village_a"), f"/notifications/{sent['a'].pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "provider busy" in html and "139****0001" in html and "13900000001" not in html
    assert html.count("<tr>") == 2  # the header and the one failed attempt


def test_accounts_without_the_permission_are_refused(city, sent, page_as):
    assert page_as(city.user("dispatcher")).status_code == 403
    assert page_as(city.user("elder")).status_code == 403


def test_the_api_is_scoped_too(city, sent, api_client_for):
    county_a, county_b = api_client_for(city.user("county_a")), api_client_for(city.user("county_b"))
    rows = county_a.get("/api/v1/notifications/").json()["results"]
    assert [(r["key"], r["address"], r["state"]) for r in rows] == [("alarm:1:son", "139****0001", "queued")]
    assert [a["outcome"] for a in rows[0]["attempt_log"]] == ["failed"]
    assert "13900000001" not in county_a.get("/api/v1/notifications/").content.decode()
    assert [r["key"] for r in county_b.get("/api/v1/notifications/").json()["results"]] == ["alarm:2:son"]
    assert county_b.get(f"/api/v1/notifications/{sent['a'].pk}/").status_code == 404
    assert county_a.get(f"/api/v1/notifications/{sent['a'].pk}/").status_code == 200
    agent = api_client_for(city.user("agent"))
    assert len(agent.get("/api/v1/notifications/", {"state": "sent"}).json()["results"]) == 1
    assert api_client_for(city.user("dispatcher")).get("/api/v1/notifications/").status_code == 403
