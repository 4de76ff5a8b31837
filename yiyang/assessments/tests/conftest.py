"""Assessment personas: an agency per county, four qualified assessors in county A, one in B."""

from __future__ import annotations

import datetime as dt

import pytest

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role
from yiyang.assessments import services
from yiyang.assessments.instruments import GB_T_42195_2022
from yiyang.conftest import PASSWORD, TODAY
from yiyang.organizations.models import Organization, OrganizationKind


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Some workflow tests approve on fixed days of 2026 (for exact validity dates) after assigning on the real
# day: by default a certificate covers both, from a year back (or 2026-01-01 if earlier) to a year ahead.
CERTIFIED_SINCE = dt.date(2026, 1, 1)


def make_assessor(official, username: str, scope: str, organization, *, valid_from=None, valid_until=None):
    user = User(username=username, role=Role.ASSESSOR, full_name=username, scope_area_id=scope)
    user.set_password(PASSWORD)
    user.save()
    return services.qualify_assessor(
        user, acting_user=official, organization=organization, certificate_no=f"PG-{username}",
        valid_from=valid_from or min(TODAY - dt.timedelta(days=365), CERTIFIED_SINCE), valid_until=valid_until or TODAY + dt.timedelta(days=365))


@pytest.fixture
def assessors(city):
    """``assessors["a1"]`` … ``["a4"]`` work in county A, ``["b1"]`` in county B; ``city.user("assessor")`` is a1."""
    agency_a = Organization.objects.create(name="涪城评估中心", kind=OrganizationKind.ASSESSMENT_AGENCY, area_id="510703001001")
    agency_b = Organization.objects.create(name="游仙评估中心", kind=OrganizationKind.ASSESSMENT_AGENCY, area_id="510704001001")
    found = {f"a{n}": make_assessor(city.user("county_a"), f"t-assessor-a{n}", "510703", agency_a) for n in range(1, 5)}
    found["b1"] = make_assessor(city.user("county_b"), "t-assessor-b1", "510704", agency_b)
    city.users["assessor"] = found["a1"].user
    return found


def full_items(**overrides) -> dict[str, int]:
    items = {code: item.max_score for code, item in GB_T_42195_2022.items.items()}
    items.update(overrides)
    return items
