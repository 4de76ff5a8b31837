"""Shared test personas: every test starts from the same small city.

Two sibling counties (涪城区 510703 and 游仙区 510704) each with one township and
two villages, officials at each level, an organisation with staff, a portal
elder, and a few elders per village. Built fresh per test (fast: a few rows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role
from yiyang.areas.models import Area, Level
from yiyang.organizations.models import Organization, OrganizationKind
from yiyang.people import idnumber
from yiyang.people.models import Elder, ElderAccess
from yiyang.people.services import add_contact, add_hardship, register_elder

PASSWORD = "test-pass-2026"
TODAY = dt.date.today()


def make_id_number(county: str, birth: dt.date, seq: int, sex: str = "M") -> str:
    """A valid 18-digit ID number (odd sequence digit = male)."""
    seq = seq * 2 + (1 if sex == "M" else 0)
    first17 = f"{county}{birth:%Y%m%d}{seq:03d}"
    return first17 + idnumber.check_char(first17)


def birth_for_age(age: int, days_before: int = 10) -> dt.date:
    return TODAY.replace(year=TODAY.year - age) - dt.timedelta(days=days_before) if not (
        TODAY.month == 2 and TODAY.day == 29) else dt.date(TODAY.year - age, 2, 18)


@dataclass
class City:
    areas: dict[str, Area] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    elders: dict[str, list[Elder]] = field(default_factory=dict)  # by county code
    provider: Organization | None = None

    def user(self, key: str) -> User:
        return self.users[key]


def _area(code, name, level, urban=None):
    return Area.objects.update_or_create(
        code=code, defaults=dict(name=name, level=level, parent_id=code[: {3: 4, 4: 6, 5: 9}.get(level, 2)] if level > 2 else code[:2],
                                 is_urban=urban, latitude=31.45, longitude=104.72))[0]


def _user(username, role, **kw):
    user = User(username=username, role=role, full_name=username, **kw)
    user.set_password(PASSWORD)
    user.save()
    return user


def pytest_collection_modifyitems(items):
    """Every transactional test starts from the migrated data and gives it back (serialized rollback).

    Without it a plain ``transaction=True`` test flushes the reference areas, and on PostgreSQL
    the content types come back under new ids, so whichever test runs next on that database
    (in another order on each pytest-xdist worker) fails for a reason of not its own.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        transactional = (marker is not None and marker.kwargs.get("transaction")) or {
            "transactional_db", "live_server"} & set(getattr(item, "fixturenames", ()))
        if transactional and not (marker is not None and marker.kwargs.get("serialized_rollback")):
            kwargs = {**(marker.kwargs if marker is not None else {}), "serialized_rollback": True}
            item.add_marker(pytest.mark.django_db(*(marker.args if marker is not None else ()), **kwargs), append=False)


@pytest.fixture(autouse=True)
def english_messages(settings):
    """Tests assert on the English msgids; test_translations.py checks the Chinese catalogue itself."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Personas' passwords use a cheap hasher: no test here is about hashing strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def city(db) -> City:
    c = City()
    for county, name in (("510703", "涪城区"), ("510704", "游仙区")):
        c.areas[county] = Area.objects.get(code=county)
        township = _area(county + "001", name + "一街道", Level.TOWNSHIP, True)
        c.areas[township.code] = township
        for v in ("001", "002"):
            village = _area(township.code + v, f"{name}{v}社区", Level.VILLAGE, True)
            c.areas[village.code] = village
    c.users["city"] = _user("t-city", Role.CITY_OFFICIAL, scope_area_id="5107")
    c.users["county_a"] = _user("t-county-a", Role.COUNTY_OFFICIAL, scope_area_id="510703")
    c.users["county_b"] = _user("t-county-b", Role.COUNTY_OFFICIAL, scope_area_id="510704")
    c.users["township_a"] = _user("t-township-a", Role.TOWNSHIP_OFFICIAL, scope_area_id="510703001")
    c.users["village_a"] = _user("t-village-a", Role.VILLAGE_OFFICIAL, scope_area_id="510703001001")
    c.users["agent"] = _user("t-agent", Role.HOTLINE_AGENT, scope_area_id="5107")
    c.provider = Organization.objects.create(name="测试居家养老服务中心", kind=OrganizationKind.PROVIDER, area_id="510703001001")
    c.users["dispatcher"] = _user("t-dispatcher", Role.PROVIDER_DISPATCHER, organization=c.provider)
    system = c.users["city"]
    for county in ("510703", "510704"):
        c.elders[county] = []
        for i, village in enumerate(("001", "002")):
            for j in range(2):
                n = i * 2 + j
                elder = register_elder(acting_user=system, data={
                    "name": f"{'甲' if county == '510703' else '乙'}老人{n}",
                    "id_number": make_id_number(county, birth_for_age(62 + 10 * n), n, "M" if n % 2 else "F"),
                    "area_code": f"{county}001{village}",
                    "phone": f"1380000{county[-1]}{n:03d}",
                    "address": f"测试路{n}号",
                })
                c.elders[county].append(elder)
        add_hardship(c.elders[county][0], acting_user=system, category="tekun", start_date=TODAY - dt.timedelta(days=100),
                     source="civil_affairs", evidence="测试")
        add_contact(c.elders[county][0], acting_user=system, name="子女", relation="son", phone="13900000000", is_guardian=True)
    c.users["elder"] = _user("t-elder", Role.ELDER)
    ElderAccess.objects.create(user=c.users["elder"], elder=c.elders["510703"][0], relation="self")
    return c


@pytest.fixture
def api_client_for():
    """``api_client_for(user)`` → a DRF client authenticated with a token for ``user``."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def make(user):
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


@pytest.fixture
def browser():
    """One Chromium per test: a browser kept across tests loses the database's serialized
    rollback between them. Playwright's sync API keeps an event loop running in this
    thread while the test's own database calls stay synchronous, so Django's async guard
    is lifted for the test only."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (Debian package 'chromium')")
    from playwright.sync_api import expect, sync_playwright

    # CI runs both databases' suites side by side on two cores: a page may take seconds to answer.
    # A longer wait only slows a failing assertion, never a passing one.
    expect.set_options(timeout=15_000)
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # While Playwright runs, the test's queries go through connections of their own (Django keeps
        # connections per context) that its teardown does not close; left open, they kept
        # PostgreSQL from dropping the test database at the end of the run.
        from django.db import connections

        connections.close_all()
