"""The demo city: deterministic, and its payroll is what CONTRACT.md's demo rules give from the registry."""

import datetime as dt

import pytest

from yiyang.accounts.models import User
from yiyang.assessments.models import Assessment
from yiyang.benefits import facts, rules, services
from yiyang.benefits.models import PaymentLine, Programme
from yiyang.demo import builder
from yiyang.people.models import Elder

TODAY = dt.date(2026, 11, 22)
MONTH = dt.date(2026, 11, 1)


@pytest.fixture
def demo(db):
    return builder.build(elders=1_500, seed=7, today=TODAY, home_care=False)


def _reference(programme: Programme) -> dict[int, int]:
    tiers = services.tiers_in_force(programme, MONTH)
    paid = {}
    for elder in Elder.objects.filter(area__code__startswith="5107"):
        tier = rules.payment_for(birth_date=elder.birth_date, status=elder.status, death_date=elder.death_date,
                                 month=MONTH, tiers=tiers, grade=facts.grade_on(elder, programme, MONTH),
                                 hardship_ok=facts.hardship_ok(elder, programme, MONTH))
        if tier is not None:
            paid[elder.pk] = tier.amount_fen
    return paid


def test_each_demo_programme_pays_what_its_rules_give(demo):
    for code in ("gaoling", "huli", "fuwu"):
        programme = Programme.objects.get(code=code)
        services.run_payroll(programme_code=code, month=MONTH, today=TODAY)
        paid = dict(PaymentLine.objects.filter(programme=programme, month=MONTH).values_list("elder_id", "amount_fen"))
        assert paid == _reference(programme), code
        assert paid, f"the demo city must give {code} someone to pay"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # reset_database flushes: no test transaction
def test_the_demo_is_deterministic_and_complete():
    builder.build(elders=1_500, seed=7, today=TODAY, home_care=False)
    first = sorted(Elder.objects.values_list("name", "birth_date", "area"))[:50]
    assert Assessment.objects.filter(status="approved").exists()
    assert {"city", "agent", "inspector", "assessor"} <= set(User.objects.values_list("username", flat=True))
    builder.reset_database()
    builder.build(elders=1_500, seed=7, today=TODAY, home_care=False)
    assert sorted(Elder.objects.values_list("name", "birth_date", "area"))[:50] == first


def test_the_demo_home_care_went_through_the_real_services(db):
    from django.contrib.auth import authenticate

    from yiyang.homecare.models import OrderEvent, ServiceOrder

    builder.build(elders=800, seed=7, today=TODAY)
    statuses = set(ServiceOrder.objects.values_list("status", flat=True))
    assert {"requested", "accepted", "assigned", "checked_out", "confirmed"} <= statuses
    for order in ServiceOrder.objects.select_related("provider__provider_profile", "elder"):
        assert order.provider.provider_profile.serves(order.elder.area_id)
        assert OrderEvent.objects.filter(order=order).latest("id").to_status == order.status
    assert authenticate(username="worker-1", password=builder.DEFAULT_PASSWORD) is not None
