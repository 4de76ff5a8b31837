"""The monthly anomaly report finds what changed in the registry after a run."""

import datetime as dt

from yiyang.benefits import services
from yiyang.benefits.anomalies import monthly_anomalies
from yiyang.benefits.models import PaymentLine
from yiyang.people.models import Elder

from .conftest import MONTH, TODAY


def test_clean_run_has_no_findings(population, city):
    services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    report = monthly_anomalies(user=city.user("city"), programme_code="gaoling", month=MONTH)
    assert all(not findings for findings in report.values()), report


def test_registry_changes_after_the_run_are_reported(population, city):
    services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    lines = list(PaymentLine.objects.filter(month=MONTH).order_by("elder_id"))
    dead, moved, relocated, misdated = (line.elder for line in lines[:4])
    Elder.objects.filter(pk=dead.pk).update(status="deceased", death_date=MONTH - dt.timedelta(days=5))
    Elder.objects.filter(pk=moved.pk).update(status="moved_away", moved_to="成都市")
    other_village = "510703001002" if relocated.area_id != "510703001002" else "510703001001"
    Elder.objects.filter(pk=relocated.pk).update(area_id=other_village)
    Elder.objects.filter(pk=misdated.pk).update(birth_date=misdated.birth_date - dt.timedelta(days=1))
    report = monthly_anomalies(user=city.user("city"), programme_code="gaoling", month=MONTH)
    assert [f["elder_id"] for f in report["paid_after_death"]] == [dead.pk]
    assert [f["elder_id"] for f in report["paid_after_move"]] == [moved.pk]
    assert [f["elder_id"] for f in report["village_changed"]] == [relocated.pk]
    assert [f["elder_id"] for f in report["age_inconsistent"]] == [misdated.pk]


def test_tier_jumps_against_the_previous_month(population, city):
    services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    previous = (MONTH - dt.timedelta(days=1)).replace(day=1)
    line = PaymentLine.objects.filter(month=MONTH, tier="100+").first()
    PaymentLine.objects.create(run=line.run, programme=line.programme, elder=line.elder, month=previous,
                               tier="80-89", amount_fen=2500, area_code=line.area_code)
    report = monthly_anomalies(user=city.user("city"), programme_code="gaoling", month=MONTH)
    assert [f["detail"] for f in report["tier_jump"]] == ["80-89 → 100+"]


def test_report_is_scoped(population, city):
    services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    dead = PaymentLine.objects.filter(month=MONTH, area_code__startswith="510704").first().elder
    Elder.objects.filter(pk=dead.pk).update(status="deceased", death_date=MONTH - dt.timedelta(days=5))
    assert monthly_anomalies(user=city.user("county_a"), programme_code="gaoling", month=MONTH)["paid_after_death"] == []
    assert len(monthly_anomalies(user=city.user("county_b"), programme_code="gaoling", month=MONTH)["paid_after_death"]) == 1
