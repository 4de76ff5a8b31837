"""County approval and release: every county signs its own figures; released runs are frozen."""

import datetime as dt

import pytest

from yiyang.benefits import release, services
from yiyang.benefits.models import PayrollRun
from yiyang.benefits.rules import RuleError
from yiyang.core.errors import PermissionDenied
from yiyang.core.models import AuditEntry
from yiyang.people.models import Elder

from .conftest import MONTH, TODAY


@pytest.fixture
def city_run(population):
    return services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY).run


def test_release_needs_every_county(city_run, city):
    release.approve_county(city_run, county_code="510703", acting_user=city.user("county_a"))
    with pytest.raises(RuleError, match="510704"):
        release.release(city_run, acting_user=city.user("city"))
    release.approve_county(city_run, county_code="510704", acting_user=city.user("county_b"))
    released = release.release(city_run, acting_user=city.user("city"))
    assert released.status == PayrollRun.Status.RELEASED
    assert AuditEntry.objects.filter(object_type="benefits.payrollrun", note="payroll release").count() == 1


def test_a_county_cannot_approve_its_neighbour(city_run, city):
    with pytest.raises(PermissionDenied):
        release.approve_county(city_run, county_code="510704", acting_user=city.user("county_a"))
    with pytest.raises(PermissionDenied):
        release.approve_county(city_run, county_code="510703", acting_user=city.user("township_a"))


def test_recompute_after_approval_requires_a_new_approval(city_run, city):
    for county, user in (("510703", "county_a"), ("510704", "county_b")):
        release.approve_county(city_run, county_code=county, acting_user=city.user(user))
    paid = city_run.lines.filter(area_code__startswith="510703").first().elder
    Elder.objects.filter(pk=paid.pk).update(status="deceased", death_date=MONTH - dt.timedelta(days=2))
    services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    with pytest.raises(RuleError, match="changed after approval in: 510703"):
        release.release(city_run, acting_user=city.user("city"))
    release.approve_county(city_run, county_code="510703", acting_user=city.user("county_a"))
    assert release.release(city_run, acting_user=city.user("city")).status == PayrollRun.Status.RELEASED


def test_released_runs_cannot_be_approved_or_released_again(city_run, city):
    for county, user in (("510703", "county_a"), ("510704", "county_b")):
        release.approve_county(city_run, county_code=county, acting_user=city.user(user))
    release.release(city_run, acting_user=city.user("city"))
    with pytest.raises(RuleError, match="already"):
        release.approve_county(city_run, county_code="510703", acting_user=city.user("county_a"))
    with pytest.raises(RuleError, match="already"):
        release.release(city_run, acting_user=city.user("city"))
    with pytest.raises(RuleError, match="already"):
        services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)


def test_county_without_lines_cannot_approve(city_run, city):
    with pytest.raises(RuleError, match="no payments"):
        release.approve_county(city_run, county_code="510705", acting_user=city.user("city"))


def test_a_run_without_payments_cannot_be_released(gaoling, city):
    run = services.run_payroll(programme_code="gaoling", month=MONTH, area_code="510705", today=TODAY).run
    assert run.line_count == 0
    with pytest.raises(RuleError, match="no payments"):
        release.release(run, acting_user=city.user("city"))
