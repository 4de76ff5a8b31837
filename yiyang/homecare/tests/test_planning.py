"""Planning a provider's day with the route planner and applying it as assignments, all or nothing."""

import datetime as dt

import pytest
from django.test import Client

from yiyang.core.errors import PermissionDenied
from yiyang.dispatch import planner
from yiyang.homecare import planning, services
from yiyang.homecare.models import Leave, ServiceOrder, Shift
from yiyang.homecare.rules import TransitionError
from yiyang.people.models import Elder

from .conftest import DAY, at

pytestmark = pytest.mark.django_db

SECONDS = 0.3
EARLY = at(7)  # "now" for planning DAY: before any window


@pytest.fixture
def day(city, care, order):
    """Both workers on shift 08:00–17:00 with lunch; a bath (only the certified nurse), three meals,
    one of them for an elder whose home has no location."""
    dispatcher = city.user("dispatcher")
    for worker in (care.nurse, care.helper):
        Shift.objects.create(worker=worker, day=DAY, start=dt.time(8), end=dt.time(17), break_start=dt.time(12),
                             break_minutes=30)
    elders = city.elders["510703"]
    for n, elder in enumerate(elders[2:4]):
        Elder.objects.filter(pk=elder.pk).update(latitude=31.47 + 0.01 * n, longitude=104.68 + 0.01 * n)
    meals = [services.create_order(acting_user=city.user("agent"), elder_id=elder.pk, service_code="meal",
                                   provider_id=care.provider.pk, window_start=at(10), window_end=at(12))
             for elder in (elders[2], elders[3], elders[0])]
    bath = services.accept(order, acting_user=dispatcher)
    meals = [services.accept(m, acting_user=dispatcher) for m in meals]
    return bath, meals


def test_the_plan_assigns_every_plannable_order_to_a_fit_worker_and_reports_the_rest(city, care, day):
    bath, (first, second, nowhere) = day
    outcome = planning.plan_and_apply(acting_user=city.user("dispatcher"), day=DAY, seconds=SECONDS, now=EARLY)
    orders = {o.pk: o for o in ServiceOrder.objects.filter(pk__in=[bath.pk, first.pk, second.pk, nowhere.pk])}
    assert orders[bath.pk].worker == care.nurse  # the only one with a valid nursing certificate
    assert orders[first.pk].worker in (care.nurse, care.helper) and orders[second.pk].worker in (care.nurse, care.helper)
    assert orders[nowhere.pk].worker is None and orders[nowhere.pk].status == "accepted"
    assert any(f"#{nowhere.pk}" in p and "no location" in p for p in outcome.problems)
    assert {o.pk for o, _w in outcome.assigned} == {bath.pk, first.pk, second.pk}
    times = outcome.planned_times()
    assert set(times) == {bath.pk, first.pk, second.pk}
    assert 9 * 3600 <= times[bath.pk]["start"] <= 10 * 3600  # its window 09:00–11:00 less the hour of service
    assert all(t["worker"] == orders[pk].worker_id for pk, t in times.items())
    assert bath.events.filter(to_status="assigned", note="route plan").exists()


def test_a_worker_on_leave_or_without_a_shift_gets_nothing(city, care, day):
    bath, meals = day
    Leave.objects.create(worker=care.helper, first_day=DAY, last_day=DAY)
    planning.plan_and_apply(acting_user=city.user("dispatcher"), day=DAY, seconds=SECONDS, now=EARLY)
    assert not ServiceOrder.objects.filter(worker=care.helper).exists()
    Shift.objects.filter(worker=care.nurse).delete()
    outcome = planning.plan_and_apply(acting_user=city.user("dispatcher"), day=DAY, seconds=SECONDS, now=EARLY)
    assert outcome.assigned == [] and any("no worker is on shift" in p for p in outcome.problems)


def test_an_expired_certificate_keeps_the_bath_unplanned_with_the_reason(city, care, day):
    bath, _meals = day
    care.nurse.worker_skills.filter(skill__code="nursing").update(valid_until=DAY - dt.timedelta(days=1))
    outcome = planning.plan_and_apply(acting_user=city.user("dispatcher"), day=DAY, seconds=SECONDS, now=EARLY)
    assert ServiceOrder.objects.get(pk=bath.pk).worker is None
    assert any(f"#{bath.pk}" in p and "nursing" in p for p in outcome.problems)


def test_a_change_made_while_planning_cancels_the_whole_plan(city, care, day, monkeypatch):
    bath, (first, *_rest) = day
    real = planner.plan_day

    def meanwhile(*args, **kwargs):
        plan = real(*args, **kwargs)
        services.assign(ServiceOrder.objects.get(pk=first.pk), care.helper, acting_user=care.second_dispatcher)
        return plan

    monkeypatch.setattr(planner, "plan_day", meanwhile)
    monkeypatch.setattr(planning.planner, "plan_day", meanwhile)
    with pytest.raises(TransitionError, match="Someone else changed this order"):
        planning.plan_and_apply(acting_user=city.user("dispatcher"), day=DAY, seconds=SECONDS, now=EARLY)
    assert ServiceOrder.objects.get(pk=bath.pk).worker is None  # nothing of the plan was applied
    assert ServiceOrder.objects.get(pk=first.pk).worker == care.helper  # the other dispatcher's change stands


def test_only_dispatchers_plan_and_never_a_past_day(city, care, day):
    with pytest.raises(PermissionDenied):
        planning.plan_and_apply(acting_user=care.nurse.user, day=DAY, seconds=SECONDS, now=EARLY)
    with pytest.raises(PermissionDenied):
        planning.plan_and_apply(acting_user=city.user("county_a"), day=DAY, seconds=SECONDS, now=EARLY)
    with pytest.raises(TransitionError, match="past"):
        planning.plan_and_apply(acting_user=city.user("dispatcher"), day=DAY, seconds=SECONDS, now=at(8, day=DAY + dt.timedelta(days=1)))


def test_the_plan_button_applies_the_plan_and_the_day_page_shows_planned_times(city, care, day, settings, monkeypatch):
    settings.HOMECARE_PLAN_SECONDS = SECONDS
    monkeypatch.setattr("django.utils.timezone.now", lambda: EARLY)  # the page plans "today" = DAY
    bath, _meals = day
    client = Client()
    client.force_login(city.user("dispatcher"))
    response = client.post("/homecare/provider/day/plan/", {"day": DAY.isoformat()}, follow=True)
    html = response.content.decode()
    assert "The day is planned: 3 orders assigned" in html and "the elder&#x27;s home has no location" in html
    assert ServiceOrder.objects.get(pk=bath.pk).worker == care.nurse
    assert html.count(">planned</span>") == 3
    past = client.post("/homecare/provider/day/plan/", {"day": "2020-01-01"}, follow=True).content.decode()
    assert "A day in the past cannot be planned." in past
    assert Client().post("/homecare/provider/day/plan/", {"day": DAY.isoformat()}).status_code == 302  # to login
