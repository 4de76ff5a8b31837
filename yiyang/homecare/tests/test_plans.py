"""Recurring plans: checked like an order when made; generation respects weekdays and last day, and is idempotent."""

import contextvars
import datetime as dt

import pytest
from django.utils import timezone

from yiyang import cli
from yiyang.benefits.models import VoucherAccount
from yiyang.core.errors import PermissionDenied, ValidationError
from yiyang.core.models import AuditEntry
from yiyang.homecare import plans
from yiyang.homecare.models import ServiceOrder, ServicePlan
from yiyang.homecare.rules import Status

from .conftest import DAY
from .visits import voucher_account

MONDAY = DAY  # 2026-11-23 is a Monday
assert MONDAY.isoweekday() == 1


def make_plan(city, care, user_key="county_a", **overrides):
    data = dict(elder_id=care.elder.pk, service_code="meal", provider_id=care.provider.pk, weekdays=[1, 3, 5],
                window_start=dt.time(11), window_end=dt.time(12), first_day=MONDAY)
    data.update(overrides)
    return plans.create_plan(acting_user=city.user(user_key), **data)


def test_a_plan_is_checked_like_an_order_and_audited(city, care):
    plan = make_plan(city, care, weekdays=["5", 1, 3, 3])
    assert plan.weekdays == [1, 3, 5] and plan.created_by == city.user("county_a")
    assert AuditEntry.objects.filter(object_type="homecare.serviceplan", object_id=str(plan.pk), action="create").exists()
    with pytest.raises(ValidationError) as refused:
        make_plan(city, care, elder_id=city.elders["510704"][1].pk)  # another county: not in scope
    assert "No such elder" in refused.value.message_dict["elder"][0]
    with pytest.raises(ValidationError) as refused:
        make_plan(city, care, user_key="city", elder_id=city.elders["510704"][1].pk)  # in scope, not served
    assert "does not serve" in refused.value.message_dict["provider"][0]
    with pytest.raises(ValidationError) as refused:
        make_plan(city, care, weekdays=[0, 8], window_end=dt.time(10), last_day=MONDAY - dt.timedelta(days=1))
    assert set(refused.value.message_dict) == {"weekdays", "window_end", "last_day"}
    care.profile.services.remove(care.meal)
    with pytest.raises(ValidationError) as refused:
        make_plan(city, care)
    assert "does not offer" in refused.value.message_dict["service"][0]
    assert ServicePlan.objects.count() == 1


def test_only_holders_of_the_permission_make_plans(city, care):
    with pytest.raises(PermissionDenied):
        make_plan(city, care, user_key="agent")
    assert not ServicePlan.objects.exists()


def test_generation_follows_weekdays_and_the_last_day_and_runs_twice_without_doubling(city, care):
    plan = make_plan(city, care, last_day=MONDAY + dt.timedelta(days=9))  # ends on Wednesday of the next week
    first = plans.generate_orders(today=MONDAY, until=MONDAY + dt.timedelta(days=13))
    days = sorted(ServiceOrder.objects.filter(plan=plan).values_list("plan_day", flat=True))
    assert days == [MONDAY, MONDAY + dt.timedelta(days=2), MONDAY + dt.timedelta(days=4),
                    MONDAY + dt.timedelta(days=7), MONDAY + dt.timedelta(days=9)]
    assert len(first.created) == 5 and first.existing == 0 and not first.failed
    order = ServiceOrder.objects.get(plan=plan, plan_day=MONDAY)
    assert (order.channel, order.status, order.created_by, order.price_fen) == ("plan", Status.REQUESTED, None, 1_500)
    assert timezone.localtime(order.window_start).hour == 11 and order.elder == care.elder and order.provider == care.provider
    again = plans.generate_orders(today=MONDAY, until=MONDAY + dt.timedelta(days=13))
    assert (len(again.created), again.existing) == (0, 5)
    assert ServiceOrder.objects.filter(plan=plan).count() == 5


def test_generation_starts_today_and_skips_plans_not_started_or_ended(city, care):
    make_plan(city, care, weekdays=[1, 2, 3, 4, 5, 6, 7], first_day=MONDAY - dt.timedelta(days=30))
    make_plan(city, care, first_day=MONDAY + dt.timedelta(days=30))  # later than `until`
    make_plan(city, care, first_day=MONDAY - dt.timedelta(days=30), last_day=MONDAY - dt.timedelta(days=1))
    result = plans.generate_orders(today=MONDAY + dt.timedelta(days=2), until=MONDAY + dt.timedelta(days=4))
    assert sorted(o.plan_day for o in result.created) == [MONDAY + dt.timedelta(days=n) for n in (2, 3, 4)]


def test_a_concurrent_run_that_made_the_order_first_is_counted_not_doubled(city, care, monkeypatch):
    plan = make_plan(city, care, weekdays=[1])
    plans.generate_orders(today=MONDAY, until=MONDAY)
    # The second run read "nothing ordered yet" before the first run committed.
    real = ServiceOrder.objects.filter
    monkeypatch.setattr(ServiceOrder.objects, "filter",
                        lambda *a, **kw: real(pk=-1) if "plan_day__in" in kw else real(*a, **kw))
    result = plans.generate_orders(today=MONDAY, until=MONDAY)
    assert (len(result.created), result.existing) == (0, 1)
    assert ServiceOrder.objects.filter(plan=plan).count() == 1


def test_a_voucher_plan_draws_each_day_and_stops_where_the_balance_ends(city, care):
    voucher_account(care.elder, 10_000)
    plan = make_plan(city, care, service_code="bath", weekdays=[1, 2], payer="voucher")
    result = plans.generate_orders(today=MONDAY, until=MONDAY + dt.timedelta(days=1))
    assert [o.plan_day for o in result.created] == [MONDAY]
    assert [(p, d) for p, d, _m in result.failed] == [(plan, MONDAY + dt.timedelta(days=1))]
    assert "does not cover" in result.failed[0][2]
    assert VoucherAccount.objects.get(elder=care.elder).balance_fen == 2_000
    assert ServiceOrder.objects.filter(plan=plan).count() == 1  # the refused day left nothing behind


def test_a_voucher_plan_needs_a_voucher_account(city, care):
    with pytest.raises(ValidationError) as refused:
        make_plan(city, care, service_code="bath", payer="voucher")
    assert "voucher" in refused.value.message_dict["payer"][0]


def test_ending_a_plan_cancels_its_later_orders_not_started(city, care):
    plan = make_plan(city, care, weekdays=[1, 3, 5])
    plans.generate_orders(today=MONDAY, until=MONDAY + dt.timedelta(days=6))
    plans.end_plan(plan, acting_user=city.user("county_a"), last_day=MONDAY + dt.timedelta(days=2),
                   reason="老人入住机构", today=MONDAY)
    statuses = dict(ServiceOrder.objects.filter(plan=plan).values_list("plan_day", "status"))
    assert statuses == {MONDAY: "requested", MONDAY + dt.timedelta(days=2): "requested",
                        MONDAY + dt.timedelta(days=4): "cancelled"}
    result = plans.generate_orders(today=MONDAY, until=MONDAY + dt.timedelta(days=13))
    assert not result.created
    with pytest.raises(PermissionDenied):
        plans.end_plan(plan, acting_user=city.user("county_b"), last_day=MONDAY, reason="x")


def test_the_cli_generates_orders(city, care, capsys):
    plan = make_plan(city, care, weekdays=[1, 2, 3, 4, 5, 6, 7])
    argv = ["homecare", "generate-orders", "--days", "3", "--today", MONDAY.isoformat()]
    assert contextvars.copy_context().run(cli.main, argv) == 0
    assert "3 orders created" in capsys.readouterr().out
    assert ServiceOrder.objects.filter(plan=plan).count() == 3
    assert contextvars.copy_context().run(cli.main, argv) == 0
    assert "0 orders created, 3 already there" in capsys.readouterr().out
    assert AuditEntry.objects.filter(object_type="homecare.serviceorder", channel="cli").count() == 3
