"""Defining a programme: refused whole with reasons (overlapping or gapped tiers at any date), else saved whole."""

import datetime as dt

import pytest

from yiyang.benefits.models import Programme, Tier

URL = "/api/v1/benefits/programmes/"
START = "2026-01-01"


def _body(**overrides):
    body = {"code": "huli-fc", "name": "涪城区护理补贴", "kind": "care_subsidy", "area_code": "510703",
            "enrolment": "application", "tier_basis": "grade", "hardship_categories": ["dibao", "tekun"],
            "tiers": [{"label": "中度", "min_age": 60, "grade": 2, "amount_fen": 10_000, "effective_from": START},
                      {"label": "重度", "min_age": 60, "grade": 3, "amount_fen": 20_000, "effective_from": START}]}
    body.update(overrides)
    return body


def test_a_county_defines_a_grade_programme(city, api_client_for):
    response = api_client_for(city.user("county_a")).post(URL, _body(), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["tier_basis"] == "grade"
    assert Tier.objects.filter(programme__code="huli-fc").count() == 2


@pytest.mark.parametrize("tiers, problem", [
    ([{"label": "80-89", "min_age": 80, "max_age": 89, "amount_fen": 2500, "effective_from": START},
      {"label": "85+", "min_age": 85, "amount_fen": 5000, "effective_from": START}], "overlap"),
    ([{"label": "80-84", "min_age": 80, "max_age": 84, "amount_fen": 2500, "effective_from": START},
      {"label": "90+", "min_age": 90, "amount_fen": 5000, "effective_from": START}], "85–89"),
    ([{"label": "80-84", "min_age": 80, "max_age": 84, "amount_fen": 2500, "effective_from": START},
      {"label": "85-89", "min_age": 85, "max_age": 89, "amount_fen": 4000, "effective_from": START,
       "effective_to": "2026-06-30"},
      {"label": "90+", "min_age": 90, "amount_fen": 8000, "effective_from": START}],
     "from 2026-07-01: ages 85–89"),
])
def test_tiers_that_overlap_or_leave_gaps_at_any_date_are_refused(city, api_client_for, tiers, problem):
    response = api_client_for(city.user("county_a")).post(
        URL, _body(code="age-x", tier_basis="age", hardship_categories=[], tiers=tiers), format="json")
    assert response.status_code == 400
    assert problem in str(response.json()["tiers"])
    assert not Programme.objects.filter(code="age-x").exists() and not Tier.objects.exists()


def test_outside_the_area_without_the_role_or_with_unknown_values_nothing_is_saved(city, api_client_for):
    county_b = api_client_for(city.user("county_b"))
    assert "area_code" in county_b.post(URL, _body(), format="json").json()
    assert api_client_for(city.user("village_a")).post(URL, _body(), format="json").status_code == 403
    bad = api_client_for(city.user("county_a")).post(URL, _body(hardship_categories=["rich"]), format="json")
    assert bad.status_code == 400 and "hardship_categories" in bad.json()
    assert not Programme.objects.exists()
    assert dt.date.fromisoformat(START)  # the fixture's dates parse
