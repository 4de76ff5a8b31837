"""Survival certification (生存认证): payments pause when it lapses and resume with arrears, paid once."""

import datetime as dt

import pytest
from django.http import Http404

from yiyang.benefits import services, survival
from yiyang.benefits.models import PaymentLine, SurvivalCertification
from yiyang.conftest import make_id_number
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditEntry
from yiyang.people.models import Elder
from yiyang.people.services import register_elder

from .conftest import TODAY
from .test_payroll import actual_lines, expected_lines

AUG, SEP, OCT, NOV = (dt.date(2026, m, 1) for m in (8, 9, 10, 11))


@pytest.fixture
def required(gaoling):
    gaoling.survival_certification_months = 12
    gaoling.save()
    return gaoling


def _elder(city, seq, birth=dt.date(1941, 3, 3), area="510703001001"):
    return register_elder(acting_user=city.user("city"), today=TODAY, data={
        "name": f"认{seq}", "id_number": make_id_number(area[:6], birth, 300 + seq), "area_code": area})


def _certify(elder, day, user=None, method="medical_insurance"):
    return survival.record_survival_certification(elder, acting_user=user, certified_on=day, method=method, today=TODAY)


def _run(month):
    return services.run_payroll(programme_code="gaoling", month=month, today=TODAY)


def _lines(elder):
    return sorted((line.month, line.kind, line.amount_fen, line.run.month)
                  for line in PaymentLine.objects.filter(elder=elder).select_related("run"))


def test_programme_without_requirement_is_unaffected(population):
    assert population[0].survival_certifications.count() == 0
    _run(dt.date(2026, 10, 1))
    assert actual_lines() == expected_lines()  # the demo contract: nobody certified, everybody paid


def test_certified_is_paid_and_lapsed_is_not(city, required):
    current, lapsed, never = _elder(city, 1), _elder(city, 2), _elder(city, 3)
    _certify(current, dt.date(2026, 2, 1))
    _certify(lapsed, dt.date(2025, 8, 15))
    _run(AUG)
    _run(SEP)
    assert _lines(current) == [(AUG, "regular", 2_500, AUG), (SEP, "regular", 2_500, SEP)]
    assert _lines(lapsed) == [(AUG, "regular", 2_500, AUG)]  # 2025-08-15 covers August 2026, not September
    assert _lines(never) == []


def test_recertification_pays_the_month_and_the_arrears_once(city, required):
    elder = _elder(city, 4)
    _certify(elder, dt.date(2025, 7, 20))
    _run(AUG)
    _run(SEP)
    assert _lines(elder) == []  # lapsed since August
    _certify(elder, dt.date(2026, 10, 10), user=city.user("village_a"), method="village_visit")
    result = _run(OCT)
    expected = [(AUG, "back_pay", 2_500, OCT), (SEP, "back_pay", 2_500, OCT), (OCT, "regular", 2_500, OCT)]
    assert _lines(elder) == expected
    assert result.line_count == 3 and result.total_fen == 7_500
    _run(OCT)  # re-run: the same, nothing more
    assert _lines(elder) == expected
    _run(SEP)  # a lapsed month run again pays nothing: the certification does not cover it
    _run(NOV)
    assert _lines(elder) == [*expected, (NOV, "regular", 2_500, NOV)]


def test_late_data_covering_a_past_month_is_back_paid_not_paid_twice(city, required):
    elder = _elder(city, 5)
    _certify(elder, dt.date(2025, 8, 1))
    _run(AUG)
    _run(SEP)
    _certify(elder, dt.date(2026, 9, 20))  # a data source reports September late
    _run(OCT)
    expected = [(AUG, "regular", 2_500, AUG), (SEP, "back_pay", 2_500, OCT), (OCT, "regular", 2_500, OCT)]
    assert _lines(elder) == expected
    _run(SEP)  # September is now covered, but it is already back-paid
    assert _lines(elder) == expected


def test_arrears_stop_at_death_and_skip_uncovered_months(city, required):
    elder = _elder(city, 6)
    _certify(elder, dt.date(2025, 7, 1))
    _run(SEP)  # no August run: August is never owed
    _certify(elder, dt.date(2026, 10, 2))
    Elder.objects.filter(pk=elder.pk).update(status="deceased", death_date=dt.date(2026, 10, 20))
    _run(OCT)
    assert _lines(elder) == [(SEP, "back_pay", 2_500, OCT), (OCT, "regular", 2_500, OCT)]


def test_record_rules(city, required):
    elder = _elder(city, 7)
    with pytest.raises(ValidationError):
        _certify(elder, TODAY + dt.timedelta(days=1))
    with pytest.raises(ValidationError):
        _certify(elder, dt.date(1941, 3, 2))
    with pytest.raises(ValidationError):  # only a data source records without an official
        _certify(elder, TODAY, method="village_visit")
    with pytest.raises(Http404):
        _certify(elder, TODAY, user=city.user("county_b"), method="village_visit")
    with pytest.raises(PermissionDenied):
        _certify(elder, TODAY, user=city.user("agent"), method="village_visit")
    cert = _certify(elder, TODAY, user=city.user("county_a"), method="face_recognition")
    assert cert.recorded_by == city.user("county_a")
    assert AuditEntry.objects.filter(object_type="benefits.survivalcertification", object_id=str(cert.pk)).exists()
    Elder.objects.filter(pk=elder.pk).update(status="deceased", death_date=dt.date(2026, 11, 1))
    with pytest.raises(ValidationError):
        _certify(elder, dt.date(2026, 10, 1))
    assert SurvivalCertification.objects.count() == 1


def test_api_is_scoped(city, required, api_client_for):
    elder = _elder(city, 8)
    url = f"/api/v1/benefits/elders/{elder.pk}/survival-certifications/"
    village = api_client_for(city.user("village_a"))
    response = village.post(url, {"certified_on": "2026-11-20", "method": "village_visit"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["recorded_by"] == city.user("village_a").pk
    future = village.post(url, {"certified_on": "2099-01-01", "method": "village_visit"}, format="json")
    assert future.status_code == 400
    assert [row["certified_on"] for row in api_client_for(city.user("county_a")).get(url).json()] == ["2026-11-20"]
    other = api_client_for(city.user("county_b"))
    assert other.get(url).status_code == 404
    assert other.post(url, {"certified_on": "2026-11-20", "method": "village_visit"}, format="json").status_code == 404
    assert SurvivalCertification.objects.count() == 1


def test_application_programme_pays_entitled_months_only(city, required):
    from yiyang.benefits.models import Entitlement, Programme, Tier

    care = Programme.objects.create(code="care", name="护理补贴", kind="care_subsidy", area_id="5107",
                                    enrolment="application", survival_certification_months=12)
    Tier.objects.create(programme=care, label="80+", min_age=80, amount_fen=5_000, effective_from=dt.date(2017, 1, 1))
    elder = _elder(city, 9)
    Entitlement.objects.create(programme=care, elder=elder, source="application", start_month=SEP)
    _certify(elder, dt.date(2025, 7, 1))
    for month in (AUG, SEP):
        services.run_payroll(programme_code="care", month=month, today=TODAY)
    assert _lines(elder) == []
    _certify(elder, dt.date(2026, 10, 5))
    services.run_payroll(programme_code="care", month=OCT, today=TODAY)
    services.run_payroll(programme_code="care", month=OCT, today=TODAY)
    assert _lines(elder) == [(SEP, "back_pay", 5_000, OCT), (OCT, "regular", 5_000, OCT)]  # August: not entitled
