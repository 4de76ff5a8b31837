"""Family care beds: opening rules, one active bed per elder, weekly visit compliance, counts."""

import datetime as dt

import pytest

from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditEntry
from yiyang.homecare import beds, plans, services
from yiyang.homecare.models import FamilyCareBed, ServiceOrder
from yiyang.organizations.models import Organization, OrganizationKind

from .conftest import DAY, at
from .visits import visit

MONDAY = DAY


@pytest.fixture
def institution(city):
    return Organization.objects.create(name="涪城区测试养老院", kind=OrganizationKind.INSTITUTION, area_id="510703001002")


def open_for(city, care, institution, user_key="county_a", **overrides):
    data = dict(elder_id=care.elder.pk, institution_id=institution.pk, contract_no="JC-2026-001",
                first_day=MONDAY - dt.timedelta(days=14), care_plan="每周上门护理三次", min_visits_per_week=3)
    data.update(overrides)
    return beds.open_bed(acting_user=city.user(user_key), **data)


def test_opening_a_bed_checks_the_institution_and_allows_one_active_bed(city, care, institution):
    bed = open_for(city, care, institution)
    assert bed.status == "active" and bed.institution == institution
    assert AuditEntry.objects.filter(object_type="homecare.familycarebed", object_id=str(bed.pk)).exists()
    with pytest.raises(ValidationError) as refused:
        open_for(city, care, institution, contract_no="JC-2")
    assert "already has an active" in refused.value.message_dict["elder"][0]
    other = city.elders["510703"][2]
    elsewhere = Organization.objects.create(name="游仙区养老院", kind=OrganizationKind.INSTITUTION, area_id="510704001001")
    with pytest.raises(ValidationError) as refused:
        open_for(city, care, elsewhere, elder_id=other.pk)
    assert "institution of the elder's county" in refused.value.message_dict["institution"][0]
    with pytest.raises(ValidationError) as refused:  # a provider is not a care institution
        open_for(city, care, city.provider, elder_id=other.pk)
    assert "institution" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        open_for(city, care, institution, elder_id=other.pk, contract_no=" ", care_plan="", min_visits_per_week=0)
    assert set(refused.value.message_dict) == {"contract_no", "care_plan", "min_visits_per_week"}
    assert FamilyCareBed.objects.count() == 1


def test_only_county_officials_in_scope_open_beds(city, care, institution):
    with pytest.raises(PermissionDenied):
        open_for(city, care, institution, user_key="township_a")
    with pytest.raises(ValidationError, match="No such elder"):
        open_for(city, care, institution, user_key="county_b")
    assert not FamilyCareBed.objects.exists()


def test_compliance_counts_only_the_weeks_completed_visits(city, care, institution):
    bed = open_for(city, care, institution)
    visit(city, care, day=MONDAY, bed=bed)
    done = visit(city, care, day=MONDAY + dt.timedelta(days=6), bed=bed)
    services.confirm(done, acting_user=city.user("agent"))  # confirmed still counts
    visit(city, care, day=MONDAY - dt.timedelta(days=1), bed=bed)  # the Sunday before
    visit(city, care, day=MONDAY + dt.timedelta(days=7), bed=bed)  # the Monday after
    visit(city, care, day=MONDAY + dt.timedelta(days=2))  # no bed: an ordinary order
    denied = visit(city, care, day=MONDAY + dt.timedelta(days=3), bed=bed)
    services.dispute(denied, acting_user=city.user("agent"), reason="老人说没来")
    planned = services.create_order(acting_user=city.user("agent"), elder_id=care.elder.pk, service_code="meal",
                                    provider_id=care.provider.pk, window_start=at(9, day=MONDAY + dt.timedelta(days=4)),
                                    window_end=at(10, day=MONDAY + dt.timedelta(days=4)), bed=bed)
    assert planned.status == "requested"
    result = beds.weekly_compliance(bed, MONDAY + dt.timedelta(days=3))  # any day of the week names the week
    assert (result.week, result.visits, result.required, result.met) == (MONDAY, 2, 3, False)
    visit(city, care, day=MONDAY + dt.timedelta(days=5), bed=bed)
    assert beds.weekly_compliance(bed, MONDAY).met


def test_the_report_shows_beds_in_scope_unmet_first(city, care, institution):
    unmet = open_for(city, care, institution)
    other_elder = city.elders["510703"][3]
    met = open_for(city, care, institution, elder_id=other_elder.pk, min_visits_per_week=1)
    visit(city, care, day=MONDAY, bed=met, elder=other_elder)
    open_for(city, care, institution, elder_id=city.elders["510703"][2].pk,
             first_day=MONDAY + dt.timedelta(days=7))  # starts after the week
    report = beds.compliance_report(city.user("county_a"), MONDAY)
    assert [(c.bed, c.visits, c.met) for c in report] == [(unmet, 0, False), (met, 1, True)]
    assert beds.compliance_report(city.user("county_b"), MONDAY) == []


def test_ending_a_bed_ends_its_plans_and_the_count(city, care, institution):
    bed = open_for(city, care, institution)
    plan = plans.create_plan(acting_user=city.user("county_a"), elder_id=care.elder.pk, service_code="meal",
                             provider_id=care.provider.pk, weekdays=[1, 2, 3, 4, 5], window_start=dt.time(9),
                             window_end=dt.time(10), first_day=MONDAY, bed_id=bed.pk)
    plans.generate_orders(today=MONDAY, until=MONDAY + dt.timedelta(days=4))
    assert ServiceOrder.objects.filter(bed=bed).count() == 5
    assert beds.bed_count("510703", MONDAY) == 1 and beds.bed_count("510704", MONDAY) == 0
    with pytest.raises(PermissionDenied):
        beds.end_bed(bed, acting_user=city.user("county_b"), last_day=MONDAY + dt.timedelta(days=1), reason="x")
    beds.end_bed(bed, acting_user=city.user("county_a"), last_day=MONDAY + dt.timedelta(days=1), reason="老人去世")
    bed.refresh_from_db()
    plan.refresh_from_db()
    assert (bed.status, plan.last_day) == ("ended", MONDAY + dt.timedelta(days=1))
    assert ServiceOrder.objects.filter(bed=bed, status="cancelled").count() == 3
    assert beds.bed_count("510703", MONDAY + dt.timedelta(days=1)) == 1
    assert beds.bed_count("510703", MONDAY + dt.timedelta(days=2)) == 0
    with pytest.raises(ValidationError, match="already ended"):
        beds.end_bed(bed, acting_user=city.user("county_a"), last_day=MONDAY + dt.timedelta(days=1), reason="x")
    assert not plans.generate_orders(today=MONDAY, until=MONDAY + dt.timedelta(days=13)).created
    # With the bed ended the elder may get a new one.
    assert open_for(city, care, institution, contract_no="JC-2026-002").status == "active"
