"""Fixtures for the back-office page tests: logged-in clients and one more persona."""

import pytest

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role
from yiyang.conftest import PASSWORD


@pytest.fixture
def client_for(client):
    """``client_for(user)`` → the test client, logged in as ``user``."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def assessor(city) -> User:
    """An assessor of county A: reads the registry but may not reveal personal data."""
    user = User(username="t-assessor-a", role=Role.ASSESSOR, full_name="t-assessor-a", scope_area_id="510703")
    user.set_password(PASSWORD)
    user.save()
    return user
