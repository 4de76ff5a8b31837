"""Token authentication: DRF's answers, from one plain statement per request."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import exceptions
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient, APIRequestFactory

from yiyang.api.authentication import TokenAuthentication


def authenticate(key: str):
    request = APIRequestFactory().get("/api/v1/elders/", HTTP_AUTHORIZATION=f"Token {key}")
    return TokenAuthentication().authenticate(request)


def test_a_known_token_gives_its_user_and_the_token_with_one_statement(city):
    user = city.user("county_a")
    token = Token.objects.create(user=user)
    with CaptureQueriesContext(connection) as queries:
        found_user, found_token = authenticate(token.key)
    assert len(queries) == 1
    assert found_user == user and found_user.role == user.role and found_user.scope_area_id == user.scope_area_id
    assert found_token.key == token.key and found_token.user is found_user
    assert found_token.created == token.created  # read when asked for


def test_unknown_tokens_and_inactive_users_are_refused_as_drf_does(city):
    with pytest.raises(exceptions.AuthenticationFailed, match="Invalid token."):
        authenticate("0" * 40)
    user = city.user("county_b")
    token = Token.objects.create(user=user)
    user.is_active = False
    user.save()
    with pytest.raises(exceptions.AuthenticationFailed, match="User inactive or deleted."):
        authenticate(token.key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get("/api/v1/elders/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


def test_the_api_uses_it_and_scopes_by_the_user_it_found(city, api_client_for):
    from django.conf import settings

    assert settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"][0] == "yiyang.api.authentication.TokenAuthentication"
    assert api_client_for(city.user("county_a")).get("/api/v1/elders/").json()["count"] == 4
    assert api_client_for(city.user("county_b")).get("/api/v1/elders/").json()["count"] == 4
    rows_a = api_client_for(city.user("county_a")).get("/api/v1/elders/").json()["results"]
    rows_b = api_client_for(city.user("county_b")).get("/api/v1/elders/").json()["results"]
    assert {r["id"] for r in rows_a}.isdisjoint({r["id"] for r in rows_b})
