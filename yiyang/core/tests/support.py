"""Fixtures shared by the foundation's test packages (imported by their conftest.py)."""

import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The personas' passwords are hashed per test; PBKDF2 at production strength costs ~0.4 s each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
