"""The payroll run against the database: agrees with the reference rule, idempotent, never pays twice."""

import datetime as dt

import pytest

from yiyang.benefits import rules, services
from yiyang.benefits.models import PaymentLine, PayrollRun, Programme, Tier
from yiyang.core.errors import PermissionDenied
from yiyang.core.scoping import area_prefix_q
from yiyang.people.models import Elder

from .conftest import MONTH, TODAY


def expected_lines(area_prefix="5107"):
    tiers = services.tiers_in_force(Programme.objects.get(code="gaoling"), MONTH)
    out = {}
    for e in Elder.objects.filter(area_prefix_q("area", area_prefix)):
        tier = rules.payment_for(birth_date=e.birth_date, status=e.status, death_date=e.death_date, month=MONTH, tiers=tiers)
        if tier:
            out[e.pk] = (tier.label, tier.amount_fen)
    return out


def actual_lines():
    return {line.elder_id: (line.tier, line.amount_fen) for line in PaymentLine.objects.filter(month=MONTH)}


def test_run_agrees_with_the_reference_rule(population):
    result = services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    expected = expected_lines()
    assert actual_lines() == expected
    assert result.line_count == len(expected) > 10
    assert result.total_fen == sum(fen for _, fen in expected.values())


def test_rerun_is_idempotent_and_follows_registry_changes(population, city):
    services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    first = actual_lines()
    services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    assert actual_lines() == first
    victim = next(pk for pk in first)
    Elder.objects.filter(pk=victim).update(status="deceased", death_date=MONTH - dt.timedelta(days=3))
    services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    assert victim not in actual_lines()
    assert actual_lines() == expected_lines()


def test_county_run_after_city_run_never_pays_twice(population):
    services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    city_total = sum(fen for _, fen in actual_lines().values())
    services.run_payroll(programme_code="gaoling", month=MONTH, area_code="510703", today=TODAY)
    assert sum(fen for _, fen in actual_lines().values()) == city_total
    assert PaymentLine.objects.filter(month=MONTH).count() == len(expected_lines())


def test_released_month_is_immutable(population):
    result = services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    PayrollRun.objects.filter(pk=result.run.pk).update(status=PayrollRun.Status.RELEASED)
    with pytest.raises(rules.RuleError, match="already"):
        services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    # A county run inside a released city month adds nothing: those lines are paid.
    services.run_payroll(programme_code="gaoling", month=MONTH, area_code="510703", today=TODAY)
    assert PaymentLine.objects.filter(month=MONTH, run__area_code="510703").count() == 0


def test_database_refuses_a_second_regular_line(population):
    from django.db import IntegrityError, transaction

    result = services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    line = PaymentLine.objects.filter(run=result.run).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentLine.objects.create(run=result.run, programme=line.programme, elder=line.elder, month=MONTH,
                                   tier=line.tier, amount_fen=line.amount_fen, area_code=line.area_code)


def test_future_month_and_outside_areas_are_refused(population, city):
    with pytest.raises(rules.RuleError, match="has not begun"):
        services.run_payroll(programme_code="gaoling", month=dt.date(2026, 12, 1), today=TODAY)
    with pytest.raises(rules.RuleError, match="outside the programme"):
        services.run_payroll(programme_code="gaoling", month=MONTH, area_code="5108", today=TODAY)
    with pytest.raises(PermissionDenied):
        services.run_payroll(programme_code="gaoling", month=MONTH, area_code="510704",
                             acting_user=city.user("county_a"), today=TODAY)
    with pytest.raises(PermissionDenied):
        services.run_payroll(programme_code="gaoling", month=MONTH, acting_user=city.user("village_a"), today=TODAY)
    assert not PaymentLine.objects.exists()


def test_overlapping_tiers_stop_the_run(population, gaoling):
    Tier.objects.create(programme=gaoling, label="85+", min_age=85, max_age=None, amount_fen=1, effective_from=dt.date(2020, 1, 1))
    with pytest.raises(rules.RuleError, match="overlap"):
        services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    assert not PaymentLine.objects.exists()


def test_summary_is_scoped(population, city, api_client_for):
    services.run_payroll(programme_code="gaoling", month=MONTH, today=TODAY)
    expected_a = expected_lines("510703")
    body = api_client_for(city.user("county_a")).get("/api/v1/benefits/payroll/2026-10/summary?programme=gaoling").json()
    assert body["count"] == len(expected_a)
    assert body["total_fen"] == sum(fen for _, fen in expected_a.values())
    assert sum(t["count"] for t in body["by_tier"].values()) == body["count"]
    assert list(body["by_area"]) == ["510703001"]  # county A's township
    assert body["by_area"]["510703001"] == {"count": body["count"], "total_fen": body["total_fen"]}
    whole = api_client_for(city.user("city")).get("/api/v1/benefits/payroll/2026-10/summary?programme=gaoling").json()
    assert whole["count"] == len(expected_lines())
    assert set(whole["by_area"]) == {"510703", "510704"}
    assert sum(a["total_fen"] for a in whole["by_area"].values()) == whole["total_fen"]
    bad = api_client_for(city.user("city")).get("/api/v1/benefits/payroll/2026-13/summary?programme=gaoling")
    assert bad.status_code == 400
