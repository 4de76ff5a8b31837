"""Corrections of released months (recovery, adjustment) and moves inside the platform (费随人走)."""

import datetime as dt

import pytest

from yiyang.benefits import bankfile, corrections, release, services, suspensions
from yiyang.benefits.models import (
    BankStatus,
    Entitlement,
    PaymentLine,
    PayrollRecheck,
    Programme,
    Tier,
)
from yiyang.benefits.rules import RuleError
from yiyang.conftest import make_id_number
from yiyang.core.errors import PermissionDenied
from yiyang.core.models import AuditEntry
from yiyang.people import services as people
from yiyang.people.models import Elder, ResidenceMove

from .conftest import MONTH, TODAY

NOVEMBER = dt.date(2026, 11, 1)
SEPTEMBER = dt.date(2026, 9, 1)


def _run_and_release(city, month, county="510703", user="county_a"):
    run = services.run_payroll(programme_code="gaoling", month=month, area_code=county, today=TODAY).run
    release.approve_county(run, county_code=county, acting_user=city.user(user))
    return release.release(run, acting_user=city.user(user))


@pytest.fixture
def old(city, gaoling):
    """An 85-year-old of 涪城区 001 village, paid 25 yuan a month."""
    return people.register_elder(acting_user=city.user("city"), today=TODAY, data={
        "name": "高龄甲", "id_number": make_id_number("510703", dt.date(1941, 3, 5), 401, "F"),
        "area_code": "510703001001"})


def _lines(elder, **filters):
    return list(PaymentLine.objects.filter(elder=elder, **filters).order_by("month", "kind")
                .values_list("month", "kind", "amount_fen"))


def test_a_death_recorded_late_is_recovered_once_in_the_next_month(city, old):
    _run_and_release(city, SEPTEMBER)
    _run_and_release(city, MONTH)
    people.record_death(old, acting_user=city.user("county_a"), death_date=dt.date(2026, 8, 20))
    assert PayrollRecheck.objects.filter(elder=old, settled_by__isnull=True).count() == 1
    for _ in range(2):  # recomputing the month replaces its corrections
        services.run_payroll(programme_code="gaoling", month=NOVEMBER, area_code="510703", today=TODAY)
    assert _lines(old, run__month=NOVEMBER) == [(SEPTEMBER, "recovery", -2_500), (MONTH, "recovery", -2_500)]
    run = release.release(_approved(city, NOVEMBER), acting_user=city.user("county_a"))
    assert set(run.lines.filter(elder=old).values_list("bank_status", flat=True)) == {BankStatus.RECOVER}
    assert not PayrollRecheck.objects.filter(elder=old, settled_by__isnull=True).exists()
    _, content = bankfile.bank_file(run, acting_user=city.user("county_a"))
    assert old.name not in content.decode("utf-8-sig")
    line = run.lines.filter(elder=old).first()
    with pytest.raises(PermissionDenied):
        corrections.mark_recovered(line, acting_user=city.user("county_b"), note="收据001")
    with pytest.raises(RuleError, match="recovered"):
        corrections.mark_recovered(line, acting_user=city.user("county_a"), note=" ")
    assert corrections.mark_recovered(line, acting_user=city.user("county_a"), note="收据001").bank_status == "recovered"


def _approved(city, month, county="510703", user="county_a"):
    run = services.run_payroll(programme_code="gaoling", month=month, area_code=county, today=TODAY).run
    release.approve_county(run, county_code=county, acting_user=city.user(user))
    return run


def test_a_corrected_birth_date_pays_the_difference_and_nothing_twice(city, old):
    _run_and_release(city, MONTH)
    id_number = make_id_number("510703", dt.date(1935, 3, 5), 401, "F")  # 91, not 85: tier 90-99
    people.update_elder(old, acting_user=city.user("county_a"), data={"id_number": id_number}, today=TODAY)
    _run_and_release(city, NOVEMBER)
    assert _lines(old) == [(MONTH, "adjustment", 7_500), (MONTH, "regular", 2_500), (NOVEMBER, "regular", 10_000)]
    services.run_payroll(programme_code="gaoling", month=dt.date(2026, 12, 1), area_code="510703",
                         today=dt.date(2026, 12, 2))
    assert not PaymentLine.objects.filter(elder=old, kind__in=["adjustment", "recovery"], run__month__gt=NOVEMBER).exists()


def test_a_recheck_opened_after_computing_waits_for_the_next_run(city, old):
    _run_and_release(city, MONTH)
    run = services.run_payroll(programme_code="gaoling", month=NOVEMBER, area_code="510703", today=TODAY).run
    people.record_death(old, acting_user=city.user("county_a"), death_date=dt.date(2026, 9, 30))
    release.approve_county(run, county_code="510703", acting_user=city.user("county_a"))
    release.release(run, acting_user=city.user("county_a"))
    assert PayrollRecheck.objects.filter(elder=old, settled_by__isnull=True).exists()


# --- moves inside the platform ------------------------------------------------------------


def _move(city, elder, to, day):
    return people.move_within_platform(elder, acting_user=city.user("county_a"), to_area_code=to, moved_on=day,
                                       today=TODAY)


@pytest.mark.parametrize("day, october_payer", [(dt.date(2026, 10, 15), "510703"), (dt.date(2026, 10, 1), "510704")])
def test_each_month_is_paid_once_by_the_area_lived_in_on_its_first_day(city, old, day, october_payer):
    services.run_payroll(programme_code="gaoling", month=MONTH, area_code="510703", today=TODAY)
    _move(city, old, "510704001002", day)
    for county in ("510703", "510704", "510703"):  # re-runs in both counties after the move
        for month in (MONTH, NOVEMBER):
            services.run_payroll(programme_code="gaoling", month=month, area_code=county, today=TODAY)
    paid = {(line.month, line.area_code[:6]) for line in PaymentLine.objects.filter(elder=old)}
    assert paid == {(MONTH, october_payer), (NOVEMBER, "510704")}


def test_a_move_is_recorded_audited_and_refused_when_wrong(city, old):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as bad:
        _move(city, old, "510703001001", dt.date(2026, 10, 15))
    assert "to_area_code" in bad.value.message_dict
    with pytest.raises(ValidationError) as future:
        _move(city, old, "510704001001", TODAY + dt.timedelta(days=1))
    assert "moved_on" in future.value.message_dict
    move = _move(city, old, "510704001001", dt.date(2026, 10, 15))
    assert Elder.objects.get(pk=old.pk).area_id == "510704001001"
    assert ResidenceMove.objects.get(elder=old) == move
    assert AuditEntry.objects.filter(area_code="510704001001", object_type="people.residencemove").exists()
    assert not Elder.objects.for_user(city.user("county_a")).filter(pk=old.pk).exists()
    assert Elder.objects.for_user(city.user("county_b")).filter(pk=old.pk).exists()


def test_an_entitlement_ends_when_the_elder_leaves_the_programmes_area(city, old):
    local = Programme.objects.create(code="fucheng", name="涪城区补贴", kind="other", area_id="510703",
                                     enrolment="application")
    Tier.objects.create(programme=local, label="all", min_age=60, amount_fen=1_000, effective_from=dt.date(2020, 1, 1))
    city_wide = Entitlement.objects.create(programme=Programme.objects.get(code="gaoling"), elder=old,
                                           source="automatic", start_month=SEPTEMBER)
    county = Entitlement.objects.create(programme=local, elder=old, source="application", start_month=SEPTEMBER)
    _move(city, old, "510704001001", dt.date(2026, 10, 15))
    county.refresh_from_db()
    city_wide.refresh_from_db()
    assert (county.status, county.end_month) == ("stopped", MONTH)
    assert city_wide.status == "active"
    assert AuditEntry.objects.filter(object_type="benefits.entitlement", note__startswith="entitlement transferred").exists()


# --- suspension -------------------------------------------------------------------------------


def test_a_suspension_reaching_a_released_month_recovers_it_and_resumption_pays_from_then(city, old):
    _run_and_release(city, MONTH)
    with pytest.raises(PermissionDenied):
        suspensions.suspend(old, programme_code="gaoling", from_month=MONTH, reason="服刑", acting_user=city.user("county_b"))
    with pytest.raises(RuleError, match="why"):
        suspensions.suspend(old, programme_code="gaoling", from_month=MONTH, reason=" ", acting_user=city.user("county_a"))
    suspension = suspensions.suspend(old, programme_code="gaoling", from_month=MONTH, reason="服刑",
                                     acting_user=city.user("county_a"), today=TODAY)
    with pytest.raises(RuleError, match="already suspended"):
        suspensions.suspend(old, programme_code="gaoling", from_month=NOVEMBER, reason="服刑",
                            acting_user=city.user("county_a"), today=TODAY)
    _run_and_release(city, NOVEMBER)
    december = dt.date(2026, 12, 1)
    suspensions.resume(suspension, from_month=december, acting_user=city.user("county_a"), today=TODAY)
    services.run_payroll(programme_code="gaoling", month=december, area_code="510703", today=dt.date(2026, 12, 3))
    assert _lines(old) == [(MONTH, "recovery", -2_500), (MONTH, "regular", 2_500), (december, "regular", 2_500)]
