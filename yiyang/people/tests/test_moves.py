"""Moves inside the platform through the API: recorded by the area left, refused clearly when wrong."""

import datetime as dt

from yiyang.people.models import Elder, ResidenceMove


def _url(elder):
    return f"/api/v1/elders/{elder.pk}/move/"


def test_the_county_left_records_the_move(city, api_client_for):
    elder = city.elders["510703"][1]
    day = dt.date.today() - dt.timedelta(days=3)
    response = api_client_for(city.user("county_a")).post(
        _url(elder), {"to_area_code": "510704001002", "moved_on": day.isoformat()}, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"elder": elder.pk, "from_area_code": elder.area_id, "to_area_code": "510704001002",
                               "moved_on": day.isoformat()}
    assert Elder.objects.get(pk=elder.pk).area_id == "510704001002"


def test_moves_outside_jurisdiction_or_to_nowhere_are_refused(city, api_client_for):
    elder = city.elders["510703"][1]
    neighbour = api_client_for(city.user("county_b"))
    assert neighbour.post(_url(elder), {"to_area_code": "510704001002", "moved_on": "2026-01-05"},
                          format="json").status_code == 404
    own = api_client_for(city.user("county_a"))
    bad = own.post(_url(elder), {"to_area_code": "510704", "moved_on": "2026-01-05"}, format="json")
    assert bad.status_code == 400 and "to_area_code" in bad.json()
    later = own.post(_url(elder), {"to_area_code": "510704001002", "moved_on": "2099-01-05"}, format="json")
    assert later.status_code == 400 and "moved_on" in later.json()
    assert not ResidenceMove.objects.exists()
